// npm run bench [-- --quick]: reaction latency, request economy, start-up and
// scale of the gate, each against its baseline in the same run, on loopback
// against the built-in simulator. Prints the Markdown tables and writes
// bench/results.json (not with --quick, unless --out FILE is given).
// See bench/README.md for what each figure means.

import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { startSimulator, type Simulator } from '../sim/simulator.js'
import { measureEconomy } from './economy.js'
import { measureSoak } from './soak.js'
import { ACTION, CLI } from './gated.js'
import { measureLatency } from './latency.js'
import { goals } from './goals.js'
import { RESULTS, renderMarkdown, writeFormatted } from './render.js'
import type { Results } from './results.js'
import { ROOT, distNode } from '../scripts/run-dist.js'
import { requireCommitted } from '../scripts/provenance.js'
import { round } from './stats.js'
import { measureScale } from './scale.js'
import { measureStartup } from './startup.js'
import { measureCost } from './cost.js'
import { measureFleet } from './fleet.js'

const INTERVALS_MS = [1000, 5000]

function parseArgs(argv: string[]): { quick: boolean; out?: string; allowDirty: boolean } {
  const quick = argv.includes('--quick')
  const allowDirty = argv.includes('--allow-dirty')
  const i = argv.indexOf('--out')
  const out = i >= 0 ? argv[i + 1] : quick ? undefined : RESULTS
  for (const a of argv) {
    if (a.startsWith('-') && !['--quick', '--out', '--allow-dirty'].includes(a)) {
      throw new Error(`unknown option ${a}; usage: bench.js [--quick] [--out FILE] [--allow-dirty]`)
    }
  }
  return { quick, out, allowDirty }
}

/** Files the bench writes itself: they do not make the tree dirty for it. */
const OUTPUTS = ['bench/results.json', 'bench/README.md', 'README.md']

async function withSimulator<T>(fn: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ host: '127.0.0.1', port: 0 })
  try {
    return await fn(sim)
  } finally {
    await sim.stop()
  }
}

async function main(): Promise<number> {
  const { quick, out, allowDirty } = parseArgs(process.argv.slice(2))
  for (const f of [ACTION, CLI]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build first`)
  }
  // Results describe a commit: refuse uncommitted code unless told to mark them
  // (a --quick run writes nothing, and is only for a look).
  const source = requireCommitted(ROOT, 'npm run bench', {
    outputs: OUTPUTS,
    allowDirty: allowDirty || (quick && !out),
  })
  const started = performance.now()
  const loadBefore = loadavg()[0]
  const progress = (line: string) => process.stderr.write(`${line}\n`)

  // Start-up first, while this process (which answers as the simulator) is fresh.
  const startup = await withSimulator((sim) =>
    measureStartup(sim, { runs: quick ? 5 : 20 }, progress),
  )
  const latency = await withSimulator((sim) =>
    measureLatency(
      sim,
      {
        actionRollouts: quick ? 20 : 100,
        blockingRollouts: quick ? 10 : 30,
        rollouts: quick ? 50 : 200,
        warmup: 20,
        cliRollouts: quick ? 10 : 30,
        pollerRollouts: quick ? 20 : 50,
        intervalsMs: INTERVALS_MS,
      },
      progress,
    ),
  )
  const economy = await withSimulator((sim) =>
    measureEconomy(
      sim,
      {
        changes: [1, 2, 5, 10, 20],
        repetitions: quick ? 1 : 3,
        spacingS: 10,
        intervalsMs: INTERVALS_MS,
      },
      progress,
    ),
  )
  const soak = await withSimulator((sim) =>
    measureSoak(sim, { soakMs: 1_000, intervalMs: 200, changes: [0, 1, 3] }, progress),
  )
  const scale = await measureScale(
    {
      groups: [1, 20, 200],
      allocsPerGroup: 25,
      updates: (groups) => (quick ? 10 : groups >= 200 ? 40 : groups >= 20 ? 80 : 120),
      warmup: 3,
    },
    progress,
  )

  const cost = await measureCost(
    {
      groups: quick ? [20, 200] : [20, 200, 2000],
      watches: ['blocking', 'events'],
      changes: (allocs) => (quick ? 5 : allocs >= 50_000 ? 5 : allocs >= 5_000 ? 20 : 40),
      warmup: 2,
    },
    progress,
  )
  const fleet = await measureFleet(
    {
      gates: quick ? 200 : 1000,
      perWorker: 250,
      watches: ['blocking', 'events'],
      pollerIntervalMs: 1000,
      quietMs: quick ? 3000 : 10_000,
      changes: quick ? 50 : 200,
    },
    progress,
  )

  const partial: Omit<Results, 'goals'> = {
    schema: 2,
    quick,
    generatedAt: new Date().toISOString(),
    runSeconds: Math.round((performance.now() - started) / 100) / 10,
    env: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cpus: cpus().length,
      loadAverage: [round(loadBefore), round(loadavg()[0])],
      distNode: distNode().version,
      commit: source.commit,
      dirty: source.dirty.length > 0,
    },
    latency,
    economy,
    soak,
    startup,
    scale,
    cost,
    fleet,
  }
  const results: Results = { ...partial, goals: goals(partial) }
  if (out) {
    await writeFormatted(out, `${JSON.stringify(results, null, 2)}\n`)
    progress(`wrote ${out}`)
  }
  process.stdout.write(`\n${renderMarkdown(results)}`)
  return 0
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  return 2
})
