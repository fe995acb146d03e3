// README.md's troubleshooting table, from the lines the gate printed: each row
// quotes one line of a real run of dist/index.js (the catalogue and the runs are
// __tests__/docs/troubleshooting-cases.ts and troubleshooting.test.ts, which
// writes the table with `npm run docs:troubleshooting` and otherwise compares).
// Here: what makes a line of one run the same as another's (normalise), the
// table, and the README section between its markers.

import { tmpdir } from 'node:os'

export const START = '<!-- troubleshooting:start -->'
export const END = '<!-- troubleshooting:end -->'

/** What the step says, as the table shows it. */
export type Said =
  /** The `::error::` annotation that failed the step, with the `result` output. */
  | { kind: 'error'; result: string }
  /** A `::warning::` annotation; `when` says when it comes, if not at the end. */
  | { kind: 'warning'; when?: string }
  /** A plain log line; `what` says what kind of line it is. */
  | { kind: 'log'; what: string }

export interface TroubleshootingRow {
  /** The line, normalised (normalise()). */
  line: string
  said: Said
  means: string
  todo: string
}

/**
 * What differs between two runs of the same case and is not the message: the
 * simulator's and the test servers' loopback ports (shown as Nomad's default
 * address), and this machine's temporary directory (a PEM file's path, as the
 * reliability report writes it). IDs need nothing here: the simulators run
 * with a seed (sim/ids.ts).
 */
export function normalise(line: string): string {
  return line
    .replace(/\b(https?):\/\/127\.0\.0\.1:\d+/g, '$1://nomad:4646')
    .split(tmpdir())
    .join('$TMPDIR')
}

/** A duration as src/duration.ts formatDuration writes it: 950ms, 8.1s, 2m05s, 1h30m. */
const DURATION = String.raw`\d+(?:\.\d+)?(?:ms|s|m\d\ds|h\d\dm)`

/**
 * The parts of a line that depend on how fast this machine ran it: how long
 * the step took (`failed: timed-out in 2.1s.`), when a log line came (its
 * `[ 156ms]` prefix) and how long was left then (`(1.4s left)`), and how many
 * attempts fit in a retry window (`tried 4 times in 8.1s`). Configured
 * durations (`Timed out after 2s`, `within 5s`) are not timing: they stay.
 */
const TIMING: ReadonlyArray<[RegExp, string]> = [
  [new RegExp(String.raw`\btried \d+ times? in ${DURATION}`, 'g'), 'tried # times in #'],
  [new RegExp(String.raw`\b((?:passed|failed): [\w-]+) in ${DURATION}\.`, 'g'), '$1 in #.'],
  [new RegExp(String.raw`\[ *${DURATION}\] `, 'g'), '[#] '],
  [new RegExp(String.raw`\(${DURATION} left\)`, 'g'), '(# left)'],
]

export function nonTiming(line: string): string {
  return TIMING.reduce((s, [re, by]) => s.replace(re, by), line)
}

/** An inline code span holding `text` as is, in a table cell (`|` escaped, as GFM wants). */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`
}

function saidCell(row: TroubleshootingRow): string {
  const { said } = row
  const after =
    said.kind === 'error'
      ? `(${codeSpan(`result=${said.result}`)})`
      : said.kind === 'warning'
        ? `(a warning${said.when ? ` ${said.when}` : ''})`
        : `(${said.what})`
  return `${codeSpan(row.line)} ${after}`
}

/** The table, unaligned (Prettier aligns it when the README is written). */
export function renderTable(rows: readonly TroubleshootingRow[]): string {
  return [
    '| the step says | what it means | what to do |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${saidCell(r)} | ${r.means} | ${r.todo} |`),
  ].join('\n')
}

function bounds(readme: string): [number, number] {
  const a = readme.indexOf(START)
  const b = readme.indexOf(END)
  if (a < 0 || b < a) throw new Error(`README.md: no ${START} ... ${END} markers`)
  return [a + START.length, b]
}

/** What the README has between the markers. */
export function section(readme: string): string {
  const [a, b] = bounds(readme)
  return readme.slice(a, b)
}

/** The README with `table` between the markers (to be formatted by Prettier). */
export function withSection(readme: string, table: string): string {
  const [a, b] = bounds(readme)
  return `${readme.slice(0, a)}\n\n${table}\n\n${readme.slice(b)}`
}

/**
 * A section's lines as they compare: table cells trimmed of Prettier's
 * padding, the delimiter row reduced to its column count, the timing parts
 * of each line left out (nonTiming). Two renderings of the same messages give
 * the same lines, whatever the padding and the machine's speed.
 */
export function comparable(markdown: string): string[] {
  return markdown
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      if (!line.startsWith('|')) return line
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim())
      if (cells.every((c) => /^:?-+:?$/.test(c))) return cells.map(() => '---').join(' | ')
      return nonTiming(cells.join(' | '))
    })
}
