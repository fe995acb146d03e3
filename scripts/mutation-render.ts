// The "Mutation testing" section of docs/reliability.md, from docs/mutation.json:
// what `npm run mutate` (StrykerJS on the pure core, scripts/mutate.ts) and
// `npm run mutate:e2e` (the catalogue of scripts/mutants/, scripts/mutate-e2e.ts)
// found when last run. Both commands write their part of docs/mutation.json and
// re-render the section; `npm run reliability:report` renders it after the
// reliability suite's sections, so regenerating either keeps the other.

import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const FIGURES = 'docs/mutation.json'
export const HEADING = '## Mutation testing'

/** One file's mutants by Stryker's status (mutation-testing-report-schema). */
export interface FileScore {
  file: string
  killed: number
  timeout: number
  survived: number
  noCoverage: number
  /** CompileError and RuntimeError: mutants that do not count either way. */
  errors: number
  /** Survivors listed in scripts/mutate/equivalent.ts. */
  equivalent: number
  /** Static mutants, which the vitest runner cannot activate (stryker.config.mjs ignoreStatic). */
  ignored: number
  /** The same file's score when first measured, before the tests written for it. */
  before?: number
}

export interface Survivor {
  file: string
  line: number
  mutator: string
  original: string
  replacement: string
  /** Why it is equivalent (scripts/mutate/equivalent.ts); absent: not explained. */
  why?: string
}

export interface CoreRun {
  commit: string
  dirty: boolean
  date: string
  node: string
  stryker: string
  cpus: number
  /** Wall time of the command, incremental reuse included. */
  ms: number
  /** Mutants tested in this run (the rest reused from the incremental file). */
  tested: number
  /** Commit at which `before` was measured. */
  beforeCommit?: string
  files: FileScore[]
  survivors: Survivor[]
}

export interface CatalogueResult {
  name: string
  file: string
  bug: string
  status: 'caught' | 'missed' | 'stale' | 'error'
  /** The first test that failed, or why the mutant did not run. */
  by: string
  ms: number
}

export interface E2eRun {
  commit: string
  dirty: boolean
  date: string
  node: string
  cpus: number
  ms: number
  /** The catalogue's tests on the unmutated build, run first. */
  baselineMs: number
  mutants: CatalogueResult[]
}

export interface MutationFigures {
  core?: CoreRun
  e2e?: E2eRun
}

export function readFigures(root: string): MutationFigures {
  const file = join(root, FIGURES)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as MutationFigures) : {}
}

/** Stryker's mutation score: detected (killed, timed out) of all valid mutants, in percent. */
export function score(f: Omit<FileScore, 'file'>, options: { equivalent?: boolean } = {}): number {
  const detected = f.killed + f.timeout
  const valid = detected + f.survived + f.noCoverage - (options.equivalent ? f.equivalent : 0)
  return valid === 0 ? 100 : (100 * detected) / valid
}

export function total(files: FileScore[]): Omit<FileScore, 'file'> {
  const sum = (k: keyof Omit<FileScore, 'file' | 'before'>) => files.reduce((n, f) => n + f[k], 0)
  return {
    killed: sum('killed'),
    timeout: sum('timeout'),
    survived: sum('survived'),
    noCoverage: sum('noCoverage'),
    errors: sum('errors'),
    equivalent: sum('equivalent'),
    ignored: sum('ignored'),
  }
}

const pct = (n: number) => `${n.toFixed(1)} %`
const cell = (v: unknown) =>
  String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
const code = (s: string) => `\`${s.replace(/`/g, "'").replace(/\s+/g, ' ').trim()}\``

export function duration(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
}

function table(header: string[], rows: unknown[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n')
}

function provenance(r: { commit: string; dirty: boolean; date: string; node: string }): string {
  const commit = r.commit ? `commit \`${r.commit}\`` : 'no recorded commit'
  return `${r.date}, ${commit}${r.dirty ? ' with uncommitted changes (the figures describe no commit)' : ''}, Node.js ${r.node}`
}

export function renderMutation(m: MutationFigures): string {
  const out: string[] = [
    HEADING,
    '',
    'How strong the suite is, measured by the bugs it catches: each mutant is the',
    'code with one small change, and a test must fail on it. Neither command is part',
    'of `npm test`; the figures below are those of their last run, written by them.',
    '',
  ]
  out.push(...renderCore(m.core), ...renderE2e(m.e2e))
  return out.join('\n')
}

function renderCore(r: CoreRun | undefined): string[] {
  const out = ['### The pure core (`npm run mutate`)', '']
  if (!r) return [...out, 'Not run yet.', '']
  const all = total(r.files)
  const withBefore = r.files.some((f) => f.before !== undefined)
  const unexplained = r.survivors.filter((s) => !s.why)
  out.push(
    `StrykerJS ${r.stryker} (\`stryker.config.mjs\`) mutates the readiness rule, the decisions,`,
    "the inputs' parsers, durations, the watch loop, retry, error classification and",
    'redaction, and judges each mutant with the in-process tests only (its `testFiles`):',
    'the tests that cover a mutant, run by vitest in the same process as Stryker.',
    'Incremental: a rerun tests only the mutants whose code or covering tests changed.',
    '',
    `Last run: ${provenance(r)}, ${r.cpus} CPUs; ${duration(r.ms)} for ${r.tested} mutants tested`,
    `(${all.killed + all.timeout + all.survived + all.noCoverage + all.errors + all.ignored} in all, the others reused from the incremental file).`,
    '',
    `Mutation score: **${pct(score(all))}** (killed or timed out, of all valid mutants);`,
    `${pct(score(all, { equivalent: true }))} without the ${all.equivalent} survivors judged equivalent below.`,
    '',
    table(
      [
        'file',
        'score',
        ...(withBefore ? [`before the new tests (${r.beforeCommit ?? ''})`] : []),
        'killed',
        'timeout',
        'survived',
        'no coverage',
        'errors',
        'static',
        'equivalent',
      ],
      [...r.files, { file: 'all files', ...all }].map((f) => [
        f.file === 'all files' ? 'all files' : code(f.file),
        pct(score(f)),
        ...(withBefore ? [f.before === undefined ? '' : pct(f.before)] : []),
        f.killed,
        f.timeout,
        f.survived,
        f.noCoverage,
        f.errors,
        f.ignored,
        f.equivalent,
      ]),
    ),
    '',
    'A mutant that times out counts as detected (an infinite loop, caught by the',
    "test's bound). Errors are mutants that do not load (a TypeScript-only construct",
    'mutated into invalid JavaScript); they count neither way. Static mutants',
    '(module-level code such as a regex constant) are not run: the vitest runner',
    'does not evaluate a module again for one, so each would survive whatever the',
    'tests do (`ignoreStatic` in `stryker.config.mjs`); they count neither way either.',
    '',
  )
  if (r.survivors.length === 0) return [...out, 'No mutant survived.', '']
  out.push(
    '#### Survivors',
    '',
    unexplained.length
      ? `${unexplained.length} survivors have no explanation yet: each wants a test, or a reason in \`scripts/mutate/equivalent.ts\`.`
      : 'Every survivor is judged equivalent (`scripts/mutate/equivalent.ts`): no test can tell it from the code, for the reason given.',
    '',
    table(
      ['file', 'line', 'mutator', 'code', 'mutant', 'why it survives'],
      r.survivors.map((s) => [
        code(s.file),
        s.line,
        s.mutator,
        code(s.original),
        code(s.replacement),
        s.why ?? '**not explained**',
      ]),
    ),
    '',
  )
  return out
}

function renderE2e(r: E2eRun | undefined): string[] {
  const out = ['### The spawned action (`npm run mutate:e2e`)', '']
  if (!r) return [...out, 'Not run yet.', '']
  const caught = r.mutants.filter((m) => m.status === 'caught').length
  out.push(
    'A catalogue of bugs in the paths only the spawned action or CLI runs (the fronts,',
    'signals, the one write, masking, outputs): `scripts/mutants/catalogue.ts`. Each is',
    'applied alone to a scratch copy of the work tree, the bundles it needs are rebuilt,',
    'and its test files run against that dist/.',
    '',
    `Last run: ${provenance(r)}, ${r.cpus} CPUs; ${duration(r.ms)} in all, of which ${duration(r.baselineMs)} for the tests on the unmutated build.`,
    '',
    `Caught: **${caught} of ${r.mutants.length}**.`,
    '',
    table(
      ['mutant', 'file', 'the bug', 'result', 'caught by', 'time'],
      r.mutants.map((m) => [
        code(m.name),
        code(m.file),
        m.bug,
        m.status,
        // A test's path and name as code: markdown would read __tests__ as bold.
        m.status === 'caught' ? code(m.by) : m.by,
        duration(m.ms),
      ]),
    ),
    '',
  )
  return out
}

/** The document with its mutation section (from HEADING to the end) replaced. */
export function replaceSection(doc: string, section: string): string {
  const at = doc.indexOf(`\n${HEADING}\n`)
  const head = (at < 0 ? doc : doc.slice(0, at)).replace(/\n*$/, '\n')
  return `${head}\n${section}`
}
