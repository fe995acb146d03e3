// npm run mutate:e2e [-- --allow-dirty] [-- --only name,name]: the catalogue
// of scripts/mutants/catalogue.ts against the spawned action and CLI. Each
// mutant is applied alone to a scratch copy of the work tree (this tree is
// never edited), the bundles it names are rebuilt there with ncc as
// build:dist builds them, and its test files run against that dist/: caught
// when a test fails, missed when all pass. The unmutated copy runs the
// catalogue's tests first, so a failure means the mutant, not the suite.
// Writes docs/mutation.json and the section of docs/reliability.md.

import { spawn, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { writeDistSources } from './dist-sources.js'
import { writeFigures } from './mutate.js'
import { CATALOGUE, type Mutant } from './mutants/catalogue.js'
import { FIGURES, type CatalogueResult, type E2eRun } from './mutation-render.js'
import { requireCommitted } from './provenance.js'
import { ROOT } from './run-dist.js'

/** How long one test run of a mutant may take before it counts as an error. */
const RUN_LIMIT_MS = 10 * 60_000

interface Outcome {
  code: number | null
  out: string
  ms: number
}

function run(cwd: string, args: string[], limitMs = RUN_LIMIT_MS): Promise<Outcome> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, ms: performance.now() - started })
    })
  })
}

/** The work tree as it is (tracked and untracked, not ignored), with node_modules, .cache and lib/ beside it. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mutate-e2e-'))
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  if (files.status !== 0) throw new Error(`git ls-files failed: ${files.stderr}`)
  for (const file of files.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(ROOT, file))) continue // deleted, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    copyFileSync(join(ROOT, file), join(dir, file))
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  if (existsSync(join(ROOT, '.cache')))
    symlinkSync(join(ROOT, '.cache'), join(dir, '.cache'), 'dir')
  // lib/ (the simulator and scripts the tests import) as compiled from the
  // unmutated tree, newer than every source so that scripts/ensure-built.mjs
  // leaves it: the mutants are in dist/, which is what these tests run.
  cpSync(join(ROOT, 'lib'), join(dir, 'lib'), { recursive: true })
  touchLib(dir)
  return dir
}

function touchLib(dir: string): void {
  const now = new Date(Date.now() + 86_400_000)
  utimesSync(join(dir, 'lib/scripts/run-dist.js'), now, now)
}

/** Applies a mutant's edits to the pristine text; undefined when one is not there exactly once. */
export function applyEdits(text: string, m: Mutant): string | undefined {
  let out = text
  for (const e of m.edits) {
    const at = out.indexOf(e.search)
    if (at < 0 || out.indexOf(e.search, at + 1) >= 0) return undefined
    out = out.slice(0, at) + e.replace + out.slice(at + e.search.length)
  }
  return out
}

const ENTRY = { action: ['src/main.ts', 'dist'], cli: ['src/cli.ts', 'dist/cli'] } as const

/** The bundle, as scripts/build-dist.ts builds it (without its licenses, which no test here reads). */
async function bundle(dir: string, which: keyof typeof ENTRY): Promise<Outcome> {
  const [entry, out] = ENTRY[which]
  const tmp = join(dir, '.mutant-build', which)
  rmSync(tmp, { recursive: true, force: true })
  const ncc = join(dir, 'node_modules/@vercel/ncc/dist/ncc/cli.js')
  const res = await run(dir, [ncc, 'build', entry, '-o', tmp, '--target', 'es2022', '-q'])
  if (res.code !== 0) return res
  // Replace the bundle's own files (index.js and its chunks), keep the rest (dist/cli/, licenses).
  for (const f of readdirSync(join(dir, out))) if (f.endsWith('.js')) rmSync(join(dir, out, f))
  for (const f of readdirSync(tmp))
    if (f.endsWith('.js')) copyFileSync(join(tmp, f), join(dir, out, f))
  return res
}

interface Failed {
  file: string
  /** The test's full name (its describe blocks and its own). */
  name: string
}

interface VitestRun extends Outcome {
  failed: Failed[]
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * Runs test files against the copy's dist/, one file at a time (the timing
 * bounds of the e2e tests hold on a loaded machine), bailing at the first failure.
 */
async function vitest(dir: string, tests: string[], only?: Failed): Promise<VitestRun> {
  const bin = join(dir, 'node_modules/vitest/vitest.mjs')
  const json = join(dir, '.mutant-build', 'vitest.json')
  rmSync(json, { force: true })
  const res = await run(dir, [
    bin,
    'run',
    '--project',
    'suite',
    '--no-file-parallelism',
    '--bail',
    '1',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${json}`,
    ...(only ? ['-t', `^${escapeRegExp(only.name)}$`, only.file] : tests),
  ])
  const failed: Failed[] = []
  if (existsSync(json)) {
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      testResults: Array<{
        name: string
        assertionResults: Array<{ fullName: string; status: string }>
      }>
    }
    for (const file of report.testResults) {
      const name = file.name.startsWith(dir) ? file.name.slice(dir.length + 1) : file.name
      for (const t of file.assertionResults) {
        if (t.status === 'failed') failed.push({ file: name, name: t.fullName })
      }
    }
  }
  return { ...res, failed }
}

const shown = (f: Failed) => `${f.file} > ${f.name}`

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',')
  let source
  try {
    source = requireCommitted(ROOT, 'npm run mutate:e2e', {
      outputs: ['docs/reliability.md', FIGURES],
      allowDirty: args.includes('--allow-dirty'),
    })
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(2)
  }
  const catalogue = only ? CATALOGUE.filter((m) => only.includes(m.name)) : CATALOGUE
  if (catalogue.length === 0) throw new Error(`no mutant named ${only?.join(', ')}`)
  const started = performance.now()
  const dir = scratchCopy()
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const results: CatalogueResult[] = []
  let baselineMs: number
  try {
    say(`scratch copy of the work tree made; ${catalogue.length} mutants`)
    const tests = [...new Set(catalogue.flatMap((m) => m.tests))]
    let base = await vitest(dir, tests)
    // A timing bound missed on a busy machine: that test alone, once more.
    if (base.code !== 0 && base.failed.length === 1) {
      const failed = base.failed[0]!
      const again = await vitest(dir, [], failed)
      say(
        `${shown(failed)} failed on the unmutated build, then ${again.code === 0 ? 'passed' : 'failed'} alone`,
      )
      if (again.code === 0) base = { ...again, ms: base.ms + again.ms }
    }
    baselineMs = base.ms
    if (base.code !== 0) {
      process.stdout.write(base.out.slice(-4000))
      throw new Error(
        `the catalogue's tests fail on the unmutated tree (${base.failed[0] ? shown(base.failed[0]) : `exit ${base.code}`}): fix that first`,
      )
    }
    say(`the catalogue's tests pass on the unmutated build (${Math.round(base.ms / 1000)} s)`)
    // Each mutant starts from the unmutated bundles: one rebuilds only the bundles it names.
    const pristineDist = join(dir, '.mutant-build', 'pristine-dist')
    cpSync(join(dir, 'dist'), pristineDist, { recursive: true })
    for (const m of catalogue) {
      const t0 = performance.now()
      const result = (status: CatalogueResult['status'], by: string): CatalogueResult => ({
        name: m.name,
        file: m.file,
        bug: m.bug,
        status,
        by,
        ms: performance.now() - t0,
      })
      const file = join(dir, m.file)
      const pristine = readFileSync(file, 'utf8')
      const mutated = applyEdits(pristine, m)
      let r: CatalogueResult
      let failed: Failed | undefined
      if (mutated === undefined) {
        r = result('stale', 'an edit no longer matches the file exactly once')
      } else {
        writeFileSync(file, mutated)
        try {
          let built: Outcome | undefined
          for (const b of m.bundles) {
            built = await bundle(dir, b)
            if (built.code !== 0) break
          }
          if (built && built.code !== 0) {
            r = result('error', `the bundle does not build: ${built.out.trim().split('\n')[0]}`)
          } else {
            writeDistSources(dir)
            touchLib(dir)
            const res = await vitest(dir, m.tests)
            failed = res.failed[0]
            r =
              res.code === 0
                ? result('missed', `all of ${m.tests.join(', ')} pass`)
                : failed
                  ? result('caught', shown(failed))
                  : result('error', `vitest exit ${res.code} with no failed test`)
          }
        } finally {
          writeFileSync(file, pristine)
          rmSync(join(dir, 'dist'), { recursive: true, force: true })
          cpSync(pristineDist, join(dir, 'dist'), { recursive: true })
        }
      }
      // Caught only if the test that failed passes without the mutant: else it failed
      // for another reason (a timing bound on a busy machine), and says nothing.
      if (r.status === 'caught' && failed) {
        const again = await vitest(dir, [], failed)
        if (again.code !== 0) r = result('error', `${shown(failed)} fails without the mutant too`)
      }
      results.push(r)
      say(`${r.status.padEnd(6)} ${m.name}  (${Math.round(r.ms / 1000)} s)  ${r.by}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const ms = performance.now() - started
  if (!only) {
    const e2e: E2eRun = {
      commit: source.commit,
      dirty: source.dirty.length > 0,
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      cpus: cpus().length,
      ms,
      baselineMs,
      mutants: results,
    }
    await writeFigures((all) => {
      all.e2e = e2e
    })
    say(`\nwrote ${FIGURES} and docs/reliability.md`)
  }
  const caught = results.filter((r) => r.status === 'caught').length
  say(`caught ${caught} of ${results.length} in ${Math.round(ms / 1000)} s`)
  if (caught < results.length) process.exitCode = 1
}

const invoked = process.argv[1]?.endsWith('mutate-e2e.js')
if (invoked) await main()
