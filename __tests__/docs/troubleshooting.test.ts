// README.md's troubleshooting table quotes what the gate prints, so it must be
// what the gate prints now. Each case of troubleshooting-cases.ts runs the
// built action (dist/index.js, on Node 24 when .cache/node24 has it) and must
// end with its result and print its line; then the table rendered from those
// lines must be the README's, but for what depends on timing
// (scripts/troubleshooting-render.ts comparable). With TROUBLESHOOTING_WRITE=1
// (npm run docs:troubleshooting) it writes the table instead.

import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import {
  comparable,
  normalise,
  renderTable,
  section,
  withSection,
  type Said,
  type TroubleshootingRow,
} from '../../scripts/troubleshooting-render.js'
import { distNode } from '../../scripts/run-dist.js'
import { formatted } from '../../src/config/docs.js'
import { Lab, type DistRun } from '../reliability/helpers.js'
import { hasOpenssl, makePki, type Pki } from '../reliability/pki.js'
import { CASES, type TroubleshootingCase } from './troubleshooting-cases.js'

const README = 'README.md'
const WRITE = process.env.TROUBLESHOOTING_WRITE === '1'

const pki: Pki | undefined = hasOpenssl ? makePki() : undefined
afterAll(() => pki?.remove())

/** The lines of a kind as the user sees them: annotations without their command, decoded. */
function linesOf(run: DistRun, from: TroubleshootingCase['quote']['from']): string[] {
  const lines = run.stdout.split(/\r?\n/)
  if (from === 'log') return lines.filter((l) => l !== '' && !l.startsWith('::'))
  const prefix = `::${from}::`
  return lines
    .filter((l) => l.startsWith(prefix))
    .map((l) =>
      l.slice(prefix.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'),
    )
}

function said(c: TroubleshootingCase): Said {
  if (c.quote.from === 'error') return { kind: 'error', result: c.result }
  if (c.quote.from === 'warning') return { kind: 'warning', when: c.note }
  return { kind: 'log', what: c.note ?? 'a log line' }
}

/** Each case's row, once its run has printed the line. */
const rows = new Map<string, TroubleshootingRow>()

describe.concurrent('the troubleshooting cases', () => {
  for (const c of CASES) {
    const skip = c.needs === 'openssl' && !pki
    it.skipIf(skip)(c.key, { timeout: 40_000 }, async (ctx) => {
      const run = await c.run({ lab: new Lab(ctx), pki })
      const out = `its output:\n${run.stdout}${run.stderr}`
      ctx.expect(run.outputs.result, `case "${c.key}": the result; ${out}`).toBe(c.result)
      const lines = linesOf(run, c.quote.from)
      const line = lines.find((l) => c.quote.match.test(l))
      ctx
        .expect(line, `case "${c.key}": a ${c.quote.from} line matching ${c.quote.match}; ${out}`)
        .toBeDefined()
      ctx.expect(line, `case "${c.key}": one line`).not.toMatch(/[\r\n]/)
      for (const re of c.alsoLogs ?? []) {
        ctx
          .expect(linesOf(run, 'log'), `case "${c.key}": a log line matching ${re}`)
          .toContainEqual(expect.stringMatching(re))
      }
      rows.set(c.key, { line: normalise(line!), said: said(c), means: c.means, todo: c.todo })
    })
  }
})

// Some lines hold Node's own words (a TLS error): the table is what Node 24,
// the runner's, prints. Elsewhere the cases still run, but the table is not compared.
const node = distNode({ quiet: true }).version

it('README.md has the troubleshooting table of these lines', async (ctx) => {
  if (!WRITE && !pki) ctx.skip(true, 'openssl is missing: the TLS cases did not run')
  if (!WRITE && !node.startsWith('v24.')) {
    ctx.skip(true, `dist/ ran on Node ${node}, not 24 (npm run node24 installs it)`)
  }
  expect(pki, 'openssl is needed to write the table (its TLS cases)').toBeDefined()
  expect(node, 'the table is written from dist/ on Node 24: run npm run node24').toMatch(/^v24\./)
  const failed = CASES.filter((c) => !rows.has(c.key)).map((c) => c.key)
  expect(failed, 'cases that failed above: the table cannot be rendered').toEqual([])
  const table = renderTable(CASES.map((c) => rows.get(c.key)!))
  const current = readFileSync(README, 'utf8')
  const same = JSON.stringify(comparable(section(current))) === JSON.stringify(comparable(table))
  if (WRITE) {
    // Only timings differ: keep the README as it is rather than churn every row.
    if (same) return
    const next = await formatted(README, withSection(current, table))
    if (next !== current) writeFileSync(README, next)
    return
  }
  expect(
    comparable(section(current)),
    'README troubleshooting table is out of date: run npm run docs:troubleshooting',
  ).toEqual(comparable(table))
})
