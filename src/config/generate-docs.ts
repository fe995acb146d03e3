// `npm run docs`: rewrites action.yml's inputs and outputs and the README's
// generated sections from src/config/ (see docs.ts), formatted by Prettier.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatted, renderActionYml, renderReadme } from './docs.js'

/** The repository: the nearest folder above this file (src/config or lib/src/config) with action.yml. */
function root(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'action.yml')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

const files: Array<[string, (current: string) => string]> = [
  ['action.yml', renderActionYml],
  ['README.md', renderReadme],
]
for (const [name, render] of files) {
  const path = join(root(), name)
  const current = readFileSync(path, 'utf8')
  const next = await formatted(path, render(current))
  if (next === current) continue
  writeFileSync(path, next)
  process.stdout.write(`${name} rewritten\n`)
}
