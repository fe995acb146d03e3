// Before any test: lib/ (the compiled simulator, scripts and bench) must exist;
// say once which Node runs dist/ (Node 24, the runner's, from .cache/node24
// when `npm run node24` installed it) and pass that choice to the workers; and
// say at the top when dist/ is stale. The tests that run dist/ refuse a stale
// bundle themselves (scripts/run-dist.ts), each failing with "run npm run
// build"; the others still run.

import { execFileSync } from 'node:child_process'
import { checkDistSources } from '../../scripts/dist-sources.js'
import { ROOT, distNode } from '../../scripts/run-dist.js'

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/ensure-built.mjs'], { stdio: 'inherit' })
  const node = distNode({ quiet: true })
  process.stderr.write(
    node.notice
      ? `notice: ${node.notice}\n`
      : `dist/ runs on Node ${node.version} (${node.path.startsWith(ROOT) ? node.path.slice(ROOT.length + 1) : node.path})\n`,
  )
  // The workers inherit it: one choice, no probe or notice per worker.
  process.env.DIST_NODE = node.path
  const stale = checkDistSources(ROOT)
  if (stale) process.stderr.write(`\nerror: ${stale}. The tests that run dist/ will fail.\n\n`)
}
