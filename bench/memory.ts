// npm run bench:memory [-- --runs N]: where the memory of the reliability
// suite's load scenario goes (__tests__/reliability/load.test.ts: 200 groups of
// 25 allocations, 500 health changes, the built action spawned as the runner
// spawns it, blocking queries; its bound is a peak RSS under 150 MB).
//
// Each variant runs the scenario `runs` times, with Node's own tools only:
//   - the peak RSS of the node process (scripts/run-dist.ts: /usr/bin/time or VmHWM);
//   - at that peak (memory-sampler.ts, loaded with --import): V8's heap by
//     space, external memory, and the resident memory that is file-backed
//     (the node binary) or anonymous (heap, malloc, stacks);
//   - with --trace-gc, the collections: how many, how long, and how large
//     the young generation grew.
// The variants are V8 flags on the command line: a runner passes none, so they
// show what would change, not what a user gets. Prints a Markdown table.

import { readFileSync, rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../sim/simulator.js'
import { ROOT, distNode, startAction } from '../scripts/run-dist.js'
import type { MemorySample } from './memory-sampler.js'
import { median } from './stats.js'
import { table } from './render.js'

const GROUPS = 200
const CANARIES = 2
const PER_GROUP = 25
const CHANGES = 500
const BATCH = 25
const LIMIT_MB = 150
const SAMPLER = join(ROOT, 'lib/bench/memory-sampler.js')

interface Run {
  peakRss: number
  sample?: MemorySample
  gc?: { scavenges: number; markCompacts: number; ms: number }
}

/** The load test's scenario, as it plays it; resolves with the action's run. */
async function loadScenario(nodeArgs: string[], samples?: string): Promise<Run> {
  const s = await startSimulator({ host: '127.0.0.1', port: 0 })
  try {
    const groups = Array.from({ length: GROUPS }, (_, i) => ({
      name: `g${String(i).padStart(3, '0')}`,
      count: PER_GROUP,
      canaries: CANARIES,
    }))
    s.registerJob({ id: 'big', groups, spec: 'v0', stable: true })
    const { deploymentId } = s.rollout('big', { spec: 'v1' })
    const canaries: string[] = []
    const others: string[] = []
    for (const g of groups) {
      canaries.push(...s.placeCanaries(deploymentId, g.name))
      others.push(...s.placeAllocs(deploymentId, g.name, PER_GROUP - CANARIES))
    }
    const changes: string[] = []
    const extra = others.slice(0, CHANGES - canaries.length)
    for (let i = 0; i < canaries.length; i++) {
      changes.push(canaries[i])
      if (i % 4 === 0 && extra.length > 0) changes.push(extra.pop()!)
    }
    changes.push(...extra)
    changes.push(changes.splice(changes.indexOf(canaries.at(-1)!), 1)[0])

    const run = startAction(
      { address: s.address, job: 'big', timeout: '60s' },
      {
        measure: true,
        limitMs: 120_000,
        nodeArgs,
        env: samples ? { MEMORY_SAMPLES: samples } : {},
      },
    )
    run.done.catch(() => undefined)
    const allocsQuery = (index: number) =>
      s.waitForRequest(
        (r) =>
          r.path.startsWith('/v1/deployment/allocations/') && Number(r.query.index ?? 0) >= index,
        60_000,
      )
    await allocsQuery(s.tableIndex('allocs'))
    for (let i = 0; i < changes.length; i += BATCH) {
      const seen = allocsQuery(s.tableIndex('allocs') + 1)
      for (const id of changes.slice(i, i + BATCH)) s.setAllocHealth(id, true)
      if (i + BATCH < changes.length) await seen
      else seen.catch(() => undefined)
    }
    const res = await run.done
    if (res.outputs.result !== 'promoted') {
      throw new Error(
        `the action ended ${res.outputs.result}: ${(res.stdout + res.stderr).slice(-1500)}`,
      )
    }
    let sample: MemorySample | undefined
    try {
      if (samples) sample = JSON.parse(readFileSync(samples, 'utf8')) as MemorySample
    } catch {
      // no sample written
    }
    return { peakRss: (res.maxRssKb ?? NaN) * 1024, sample, gc: traceGc(res.stdout) }
  } finally {
    await s.stop()
  }
}

/** Counts of --trace-gc's lines (`Scavenge ... 1.2 / 0.0 ms`, `Mark-Compact ...`), when there are any. */
function traceGc(stdout: string): Run['gc'] {
  const lines = stdout
    .split('\n')
    .filter((l) => /: (Scavenge|Mark-Compact|Minor Mark-Sweep)/.test(l))
  if (lines.length === 0) return undefined
  let ms = 0
  for (const l of lines) ms += Number(/MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//.exec(l)?.[1] ?? 0)
  return {
    scavenges: lines.filter((l) => /Scavenge|Minor/.test(l)).length,
    markCompacts: lines.filter((l) => /Mark-Compact/.test(l)).length,
    ms,
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs')
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 5
  const variants: Array<{ name: string; args: string[] }> = [
    { name: 'as the runner runs it', args: [] },
    { name: '--max-semi-space-size=16', args: ['--max-semi-space-size=16'] },
    { name: '--max-semi-space-size=8', args: ['--max-semi-space-size=8'] },
  ]
  const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'))
  const rows: string[][] = []
  const mb = (x: number) => (x / 2 ** 20).toFixed(0)
  try {
    for (const v of variants) {
      const results: Run[] = []
      for (let k = 0; k < runs; k++) {
        const file = join(dir, `${results.length}.json`)
        // Odd runs under --trace-gc (it prints a line per collection), even runs sampled.
        const traced = k % 2 === 1
        const args = traced ? [...v.args, '--trace-gc'] : ['--import', SAMPLER, ...v.args]
        results.push(await loadScenario(args, traced ? undefined : file))
        process.stderr.write(
          `memory: ${v.name}: run ${k + 1}: peak RSS ${mb(results.at(-1)!.peakRss)} MB\n`,
        )
      }
      const peaks = results.map((r) => r.peakRss)
      const sampled = results.flatMap((r) => (r.sample ? [r.sample] : []))
      const at = (f: (s: MemorySample) => number) => mb(median(sampled.map(f)))
      const gcs = results.flatMap((r) => (r.gc ? [r.gc] : []))
      rows.push([
        v.name,
        String(results.length),
        `${mb(Math.min(...peaks))} / ${mb(median(peaks))} / ${mb(Math.max(...peaks))}`,
        `${peaks.filter((p) => p >= LIMIT_MB * 2 ** 20).length}`,
        at((s) => s.file),
        at((s) => s.anon),
        at((s) => s.spaces.new_space ?? NaN),
        at((s) => s.heapTotal - (s.spaces.new_space ?? 0)),
        at((s) => s.external),
        gcs.length
          ? `${median(gcs.map((g) => g.scavenges))} / ${median(gcs.map((g) => g.markCompacts))}, ${median(gcs.map((g) => g.ms)).toFixed(0)} ms`
          : '-',
      ])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.stdout.write(
    `Load scenario (${GROUPS} groups × ${PER_GROUP} allocations, ${CHANGES} health changes), the action on Node ${distNode().version}, ${runs} runs per variant; MB = MiB.\n\n` +
      table(
        [
          'variant',
          'runs',
          'peak RSS min / median / max',
          `runs >= ${LIMIT_MB}`,
          'at the peak: file-backed',
          'anonymous',
          'V8 new space',
          'V8 rest of heap',
          'external',
          'GCs (scavenges / mark-compacts, time)',
        ],
        'lrrrrrrrrr',
        rows,
      ) +
      '\n\nAt the peak: medians over the sampled runs of the sample with the highest RSS; GCs: medians over the runs under --trace-gc.\n',
  )
}

await main()
