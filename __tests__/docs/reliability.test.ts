// docs/reliability.md is evidence only while it says what the suite does now.
// Its figures that do not depend on timing (scenarios, results, writes sent
// and applied, every count in the Figures table but the retries) must equal
// those of this run's reliability suite. vitest.config.ts runs this file after
// the suite (project "docs"), whose report lines the global setup collects;
// when this run was only part of the suite, it runs the reliability suite itself.
// Its last section, mutation testing, must be what docs/mutation.json renders
// (the mutate commands write both; they are not run here).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { readFigures, renderMutation } from '../../scripts/mutation-render.js'
import { nonTiming, render, type ReportLine } from '../../scripts/reliability-render.js'

function parse(text: string): ReportLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ReportLine)
}

/** The reliability suite on its own, as npm run reliability:report runs it. */
function runSuite(): ReportLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-docs-'))
  const file = join(dir, 'lines.jsonl')
  writeFileSync(file, '')
  try {
    const res = spawnSync(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--project', 'suite', '__tests__/reliability'],
      { env: { ...process.env, RELIABILITY_REPORT: file }, encoding: 'utf8', timeout: 240_000 },
    )
    expect(res.status, `the reliability suite failed:\n${res.stdout.slice(-3000)}`).toBe(0)
    return parse(readFileSync(file, 'utf8'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

it(
  'docs/reliability.md has the figures the reliability suite produces now',
  { timeout: 300_000 },
  () => {
    const lines =
      process.env.RELIABILITY_WHOLE_SUITE === '1'
        ? parse(readFileSync(process.env.RELIABILITY_REPORT!, 'utf8'))
        : runSuite()
    expect(lines.length, 'report lines from the reliability suite').toBeGreaterThan(0)
    const reliability = render(lines, { date: '', node: '', platform: '', cpus: 0, commit: 'x' })
    const now = nonTiming(`${reliability}\n${renderMutation(readFigures('.'))}`)
    const doc = nonTiming(readFileSync('docs/reliability.md', 'utf8'))
    expect(doc, 'docs/reliability.md is out of date: run npm run reliability:report').toEqual(now)
  },
)
