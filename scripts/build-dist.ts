// npm run build:dist: the committed bundles, from a clean dist/.
//   dist/index.js        the action (action.yml: runs.main), with dist/licenses.txt
//   dist/cli/index.js    the command line (package.json: bin), with dist/cli/licenses.txt
//   dist/sources.sha256  what they were built from (scripts/dist-sources.ts)
// dist/ is removed first: ncc never deletes a file it stopped producing (a
// chunk such as dist/413.index.js), and a stale file in dist/ ships.

import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeDistSources } from './dist-sources.js'
import { ROOT } from './run-dist.js'

const NCC = join(ROOT, 'node_modules/@vercel/ncc/dist/ncc/cli.js')

function ncc(entry: string, out: string): void {
  const args = [NCC, 'build', entry, '-o', out, '--license', 'licenses.txt', '--target', 'es2022']
  const res = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' })
  if (res.status !== 0) {
    process.stderr.write(`ncc build ${entry} failed\n`)
    process.exit(res.status ?? 1)
  }
}

rmSync(join(ROOT, 'dist'), { recursive: true, force: true })
ncc('src/main.ts', 'dist')
ncc('src/cli.ts', 'dist/cli')
writeDistSources(ROOT)
