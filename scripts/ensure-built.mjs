// Compile lib/ (simulator, demo, bench) when it is missing or older than its sources,
// so `npm run demo` works on a fresh clone after `npm ci`.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function newest(dir) {
  let t = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

const marker = 'lib/scripts/run-dist.js'
const sources = Math.max(...['src', 'sim', 'bench', 'scripts'].filter(existsSync).map(newest))
if (!existsSync(marker) || statSync(marker).mtimeMs < sources) {
  process.stderr.write('Compiling lib/ (tsc)...\n')
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  })
}
