// npm run reliability:report [-- --allow-dirty]: runs the reliability suite
// (__tests__/reliability) with RELIABILITY_REPORT set, so each scenario appends
// one JSON line (__tests__/reliability/helpers.ts report()), then renders those
// lines as docs/reliability.md (scripts/reliability-render.ts) with the commit
// they describe, followed by the mutation testing section as the mutate
// commands left it (docs/mutation.json, scripts/mutation-render.ts). Writes
// nothing when a test fails, and refuses a work tree with uncommitted changes
// unless --allow-dirty (then the report says so at the top).

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as prettier from 'prettier'
import { requireCommitted } from './provenance.js'
import { readFigures, renderMutation } from './mutation-render.js'
import { render, type ReportLine } from './reliability-render.js'
import { ROOT, distNode } from './run-dist.js'

export type { ReportLine }

const OUT = join(ROOT, 'docs/reliability.md')

function run(): ReportLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-'))
  const file = join(dir, 'lines.jsonl')
  writeFileSync(file, '')
  try {
    const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
    const res = spawnSync(
      process.execPath,
      [vitest, 'run', '--project', 'suite', '__tests__/reliability'],
      {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, RELIABILITY_REPORT: file },
      },
    )
    if (res.status !== 0) {
      process.stderr.write('\nreliability suite failed: docs/reliability.md left as it was\n')
      process.exit(res.status ?? 1)
    }
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ReportLine)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  let source
  try {
    source = requireCommitted(ROOT, 'npm run reliability:report', {
      outputs: ['docs/reliability.md'],
      allowDirty: process.argv.includes('--allow-dirty'),
    })
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(2)
  }
  const lines = run()
  const reliability = render(lines, {
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    distNode: distNode().version,
    platform: process.platform,
    cpus: cpus().length,
    commit: source.commit,
    dirty: source.dirty.length > 0,
  })
  const md = `${reliability}\n${renderMutation(readFigures(ROOT))}`
  const options = (await prettier.resolveConfig(OUT)) ?? {}
  mkdirSync(join(ROOT, 'docs'), { recursive: true })
  writeFileSync(OUT, await prettier.format(md, { ...options, parser: 'markdown' }))
  process.stdout.write(`\nwrote ${OUT} (${lines.length} scenarios, commit ${source.commit})\n`)
}

await main()
