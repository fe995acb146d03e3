// Before any test: lib/ (the compiled simulator and demo) must exist, and the
// committed dist/ bundles are what the end-to-end tests run; say so when the
// sources are newer than the bundle, since those tests would test old code.

import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/ensure-built.mjs'], { stdio: 'inherit' })
  if (newest('src') > statSync('dist/index.js').mtimeMs) {
    process.stderr.write(
      '\nwarning: src/ is newer than dist/index.js: the end-to-end tests run the old bundle. Run `npm run build`.\n\n',
    )
  }
}
