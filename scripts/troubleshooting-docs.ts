// npm run docs:troubleshooting: runs __tests__/docs/troubleshooting.test.ts
// with TROUBLESHOOTING_WRITE=1, which makes it write README.md's
// troubleshooting table from the lines the gate printed in its cases, instead
// of comparing the two. It writes nothing when a case fails.

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './run-dist.js'

const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
const res = spawnSync(
  process.execPath,
  [vitest, 'run', '--project', 'docs', '__tests__/docs/troubleshooting.test.ts'],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, TROUBLESHOOTING_WRITE: '1' } },
)
process.exit(res.status ?? 1)
