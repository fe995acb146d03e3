// npm run mutate [-- --allow-dirty] [-- <stryker options>]: StrykerJS on the
// pure core (stryker.config.mjs), then its figures into docs/mutation.json and
// the "Mutation testing" section of docs/reliability.md (scripts/mutation-render.ts).
// Incremental: a rerun tests only the mutants whose code or covering tests
// changed (`-- --force` tests them all again). Options after `--` other than
// --allow-dirty go to `stryker run`. `-- --explain` runs nothing: it judges the
// recorded survivors again against scripts/mutate/equivalent.ts.
//
// Like the reliability report and the bench, it refuses a work tree with
// uncommitted changes (its figures must describe a commit) unless --allow-dirty,
// which marks them as describing none. Not part of `npm test`.

import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import * as prettier from 'prettier'
import { EQUIVALENT, type Equivalent } from './mutate/equivalent.js'
import {
  FIGURES,
  readFigures,
  renderMutation,
  replaceSection,
  type CoreRun,
  type FileScore,
  type Survivor,
} from './mutation-render.js'
import { requireCommitted } from './provenance.js'
import { ROOT } from './run-dist.js'

const REPORT = join(ROOT, 'reports/mutation/mutation.json')
const DOC = join(ROOT, 'docs/reliability.md')

/** What this script reads of Stryker's JSON report (mutation-testing-report-schema). */
interface StrykerReport {
  files: Record<
    string,
    {
      source: string
      mutants: Array<{
        mutatorName: string
        replacement?: string
        status: string
        /** Run only while its module loads (a module-level constant). */
        static?: boolean
        location: { start: { line: number; column: number }; end: { line: number; column: number } }
      }>
    }
  >
}

/** The source text between two 1-based line / column positions. */
function span(source: string, loc: StrykerReport['files'][string]['mutants'][number]['location']) {
  const lines = source.split('\n')
  if (loc.start.line === loc.end.line) {
    return lines[loc.start.line - 1]!.slice(loc.start.column - 1, loc.end.column - 1)
  }
  return [
    lines[loc.start.line - 1]!.slice(loc.start.column - 1),
    ...lines.slice(loc.start.line, loc.end.line - 1),
    lines[loc.end.line - 1]!.slice(0, loc.end.column - 1),
  ].join('\n')
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim()

function explain(s: Omit<Survivor, 'why'>, list: readonly Equivalent[]): string | undefined {
  return list.find(
    (e) =>
      e.file === s.file &&
      (e.line === undefined || e.line === s.line) &&
      e.mutator === s.mutator &&
      squash(e.original) === squash(s.original) &&
      squash(e.replacement) === squash(s.replacement),
  )?.why
}

/** Per-file figures and the survivors of a Stryker report, with the equivalents' reasons. */
export function figures(
  report: StrykerReport,
  equivalent: readonly Equivalent[] = EQUIVALENT,
): { files: FileScore[]; survivors: Survivor[] } {
  const files: FileScore[] = []
  const survivors: Survivor[] = []
  for (const [file, f] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    const n: FileScore = {
      file,
      killed: 0,
      timeout: 0,
      survived: 0,
      noCoverage: 0,
      errors: 0,
      equivalent: 0,
      ignored: 0,
    }
    for (const m of f.mutants) {
      if (m.status === 'Killed') n.killed++
      else if (m.status === 'Timeout') n.timeout++
      else if (m.status === 'CompileError' || m.status === 'RuntimeError') n.errors++
      // A static mutant is never active with the vitest runner (it does not load
      // the module again for it), so no test can kill it: counted as ignored, as
      // ignoreStatic makes Stryker count it, even where a result was kept from
      // an incremental run made without that option.
      else if (m.status === 'Ignored' || m.static) n.ignored++
      else if (m.status === 'Survived' || m.status === 'NoCoverage') {
        if (m.status === 'Survived') n.survived++
        else n.noCoverage++
        const s = {
          file,
          line: m.location.start.line,
          mutator: m.mutatorName,
          original: span(f.source, m.location),
          replacement: m.replacement ?? '',
        }
        const why = explain(s, equivalent)
        if (why) n.equivalent++
        survivors.push(why ? { ...s, why } : s)
      }
    }
    files.push(n)
  }
  return { files, survivors }
}

/**
 * A recorded run with the survivors judged again against `equivalent` (the
 * list as it is now): what `npm run mutate -- --explain` writes, without
 * running Stryker. The figures stay those of the run and its commit.
 */
export function reexplain(run: CoreRun, equivalent: readonly Equivalent[] = EQUIVALENT): CoreRun {
  const survivors: Survivor[] = run.survivors.map(({ why: _, ...s }) => {
    const why = explain(s, equivalent)
    return why ? { ...s, why } : s
  })
  const files = run.files.map((f) => ({
    ...f,
    equivalent: survivors.filter((s) => s.file === f.file && s.why).length,
  }))
  return { ...run, files, survivors }
}

/** Runs a command with its output shown as it comes, and kept. */
function tee(command: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      process.stdout.write(chunk)
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout }))
  })
}

function strykerVersion(): string {
  const pkg = join(ROOT, 'node_modules/@stryker-mutator/core/package.json')
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version
}

/** docs/mutation.json and the section of docs/reliability.md it renders. */
export async function writeFigures(update: (f: ReturnType<typeof readFigures>) => void) {
  const all = readFigures(ROOT)
  update(all)
  writeFileSync(join(ROOT, FIGURES), `${JSON.stringify(all, null, 2)}\n`)
  const doc = replaceSection(readFileSync(DOC, 'utf8'), renderMutation(all))
  const options = (await prettier.resolveConfig(DOC)) ?? {}
  writeFileSync(DOC, await prettier.format(doc, { ...options, parser: 'markdown' }))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--explain')) {
    await writeFigures((all) => {
      if (!all.core) throw new Error('no run of npm run mutate is recorded in docs/mutation.json')
      all.core = reexplain(all.core)
    })
    const left = readFigures(ROOT).core!.survivors.filter((s) => !s.why).length
    process.stdout.write(`survivors judged again: ${left} not explained\n`)
    return
  }
  const allowDirty = args.includes('--allow-dirty')
  let source
  try {
    source = requireCommitted(ROOT, 'npm run mutate', {
      outputs: ['docs/reliability.md', FIGURES],
      allowDirty,
    })
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(2)
  }
  const stryker = join(ROOT, 'node_modules/@stryker-mutator/core/bin/stryker.js')
  const started = performance.now()
  const res = await tee(process.execPath, [
    stryker,
    'run',
    ...args.filter((a) => a !== '--allow-dirty'),
  ])
  const ms = performance.now() - started
  if (res.code !== 0) {
    process.stderr.write('\nstryker failed: docs/reliability.md left as it was\n')
    process.exit(res.code ?? 1)
  }
  // Stryker's incremental summary: "Result: X of Y mutant result(s) are reused."
  const reused = /Result:\s+(\d+) of (\d+) mutant result/.exec(res.stdout)
  const report = JSON.parse(readFileSync(REPORT, 'utf8')) as StrykerReport
  const { files, survivors } = figures(report)
  const mutants = files.reduce(
    (n, f) => n + f.killed + f.timeout + f.survived + f.noCoverage + f.errors + f.ignored,
    0,
  )
  await writeFigures((all) => {
    const before = new Map(all.core?.files.map((f) => [f.file, f.before]))
    const run: CoreRun = {
      commit: source.commit,
      dirty: source.dirty.length > 0,
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      stryker: strykerVersion(),
      cpus: cpus().length,
      ms,
      tested: reused ? mutants - Number(reused[1]) : mutants,
      ...(all.core?.beforeCommit ? { beforeCommit: all.core.beforeCommit } : {}),
      files: files.map((f) => {
        const b = before.get(f.file)
        return b === undefined ? f : { ...f, before: b }
      }),
      survivors,
    }
    all.core = run
  })
  const unexplained = survivors.filter((s) => !s.why).length
  process.stdout.write(
    `\nwrote ${FIGURES} and docs/reliability.md (${mutants} mutants, ${survivors.length} survivors, ${unexplained} not explained)\n`,
  )
}

const invoked = process.argv[1]?.endsWith('mutate.js')
if (invoked) await main()
