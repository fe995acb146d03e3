// Before any test: lib/ (the compiled simulator, scripts and bench) must exist;
// say once which Node runs dist/ (Node 24, the runner's, from .cache/node24
// when `npm run node24` installed it) and pass that choice to the workers; and
// say at the top when dist/ is stale. The tests that run dist/ refuse a stale
// bundle themselves (scripts/run-dist.ts), each failing with "run npm run
// build"; the others still run.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkDistSources } from '../../scripts/dist-sources.js'
import { ROOT, distNode } from '../../scripts/run-dist.js'

/**
 * Whether this run was asked for part of the suite only (file filters, a name
 * pattern, a project): then __tests__/docs/reliability.test.ts cannot use this
 * run's report lines and runs the reliability suite itself.
 */
function filtered(argv: string[]): boolean {
  const args = argv.slice(argv.findIndex((a) => /vitest(\.mjs)?$/.test(a)) + 1)
  return args.some(
    (a, i) =>
      (i > 0 || a !== 'run') &&
      (!a.startsWith('-') || /^(-t|--testNamePattern|--project)\b/.test(a)),
  )
}

let reportDir: string | undefined

export default function setup(): (() => void) | undefined {
  // Each vitest project runs the global setup; once is enough.
  if (process.env.GATE_TEST_SETUP_DONE) return undefined
  process.env.GATE_TEST_SETUP_DONE = '1'
  // The reliability suite's report lines of this run, for the docs project
  // (vitest.config.ts runs it after the suite). npm run reliability:report sets its own.
  if (!process.env.RELIABILITY_REPORT) {
    reportDir = mkdtempSync(join(tmpdir(), 'reliability-lines-'))
    process.env.RELIABILITY_REPORT = join(reportDir, 'lines.jsonl')
    writeFileSync(process.env.RELIABILITY_REPORT, '')
    process.env.RELIABILITY_WHOLE_SUITE = filtered(process.argv) ? '0' : '1'
  }
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
  return () => {
    if (reportDir) rmSync(reportDir, { recursive: true, force: true })
    reportDir = undefined
  }
}
