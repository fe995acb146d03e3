// npm run bench [-- --quick]: reaction latency, request economy, start-up and
// scale of the gate, each against its baseline in the same run, on loopback
// against the built-in simulator. Prints the Markdown tables and writes
// bench/results.json (not with --quick, unless --out FILE is given).
// See bench/README.md for what each figure means.

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { startSimulator, type Simulator } from '../sim/simulator.js'
import { measureEconomy } from './economy.js'
import { measureSoak } from './soak.js'
import { ACTION, CLI } from './gated.js'
import { measureLatency } from './latency.js'
import { RESULTS, ms, renderMarkdown, writeFormatted } from './render.js'
import type { Goal, Results } from './results.js'
import { round } from './stats.js'
import { measureScale } from './scale.js'
import { measureStartup } from './startup.js'

const INTERVALS_MS = [1000, 5000]

function parseArgs(argv: string[]): { quick: boolean; out?: string } {
  const quick = argv.includes('--quick')
  const i = argv.indexOf('--out')
  const out = i >= 0 ? argv[i + 1] : quick ? undefined : RESULTS
  for (const a of argv) {
    if (a.startsWith('-') && a !== '--quick' && a !== '--out') {
      throw new Error(`unknown option ${a}; usage: bench.js [--quick] [--out FILE]`)
    }
  }
  return { quick, out }
}

async function withSimulator<T>(fn: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ host: '127.0.0.1', port: 0 })
  try {
    return await fn(sim)
  } finally {
    await sim.stop()
  }
}

function git(args: string[]): string | undefined {
  try {
    const root = fileURLToPath(new URL('../..', import.meta.url))
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return undefined
  }
}

function goals(r: Omit<Results, 'goals'>): Goal[] {
  const gate = r.latency.gate.latency
  const p1 = r.latency.pollers.find((p) => p.intervalMs === 1000)
  const over = r.economy.rows.filter((row) => row.waitingMax > row.goal)
  const worst = r.economy.rows.reduce((a, b) =>
    b.waitingMax - b.goal > a.waitingMax - a.goal ? b : a,
  )
  const first = r.startup.rows.filter((row) => row.name === 'action' || row.name === 'cli')
  const scale = r.scale.rows
  const big = scale[scale.length - 1]
  const mid = scale.find((row) => row.groups === 20)
  const growth = mid && big ? big.update.p50 / mid.update.p50 / (big.allocs / mid.allocs) : NaN
  const allocs = (n: number) => n.toLocaleString('en-US')
  return [
    { name: 'Reaction latency p50', goal: '< 5 ms', measured: ms(gate.p50), met: gate.p50 < 5 },
    { name: 'Reaction latency p99', goal: '< 25 ms', measured: ms(gate.p99), met: gate.p99 < 25 },
    {
      name: 'Reaction latency, 1 s poller / gate (p50)',
      goal: '> 100x',
      measured: p1 ? `${Math.round(p1.ratio.p50)}x` : '-',
      met: !!p1 && p1.ratio.p50 > 100,
    },
    {
      name: 'Reads while waiting, per gated rollout',
      goal: '<= 2 per health change + 3',
      measured:
        over.length === 0
          ? `within it for k = ${r.economy.rows.map((row) => row.changes).join(', ')}`
          : `${worst.waitingMax} for k = ${worst.changes} (goal ${worst.goal}): over by ${worst.waitingMax - worst.goal} for k = ${over.map((row) => row.changes).join(', ')}`,
      met: over.length === 0,
    },
    {
      name: 'Soak: requests beyond the changes and the check runs',
      goal: 'none (2 held + 2 per change; 1 per check run)',
      measured: r.soak.rows
        .map(
          (row) =>
            `+${row.addedReads} reads / ${row.checkRequests} checks for ${row.changes} changes, ${row.checkRuns} runs`,
        )
        .join('; '),
      met: r.soak.rows.every(
        (row) => row.addedReads <= row.goalReads && row.checkRequests === row.checkRuns,
      ),
    },
    ...first.map((row) => ({
      name: `Spawn to first request, ${row.name === 'action' ? 'action' : 'CLI'} (median)`,
      goal: '< 150 ms',
      measured: `${ms(row.firstRequest?.median)} (min ${ms(row.firstRequest?.min)})`,
      met: (row.firstRequest?.median ?? Infinity) < 150,
    })),
    {
      name: big
        ? `Update at ${big.groups} groups / ${allocs(big.allocs)} allocations (p50)`
        : 'Update',
      goal: '< 5 ms',
      measured: big
        ? `${ms(big.update.p50)}${mid ? ` (${ms(mid.update.p50)} at ${allocs(mid.allocs)})` : ''}`
        : '-',
      met: !!big && big.update.p50 < 5,
    },
    {
      name: 'Growth of the update cost, 20 to 200 groups',
      goal: 'linear (cost per allocation within 1.5x)',
      measured: Number.isFinite(growth) ? `${growth.toFixed(2)}x per allocation` : '-',
      met: growth <= 1.5,
    },
  ]
}

async function main(): Promise<number> {
  const { quick, out } = parseArgs(process.argv.slice(2))
  for (const f of [ACTION, CLI]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build first`)
  }
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

  const status = git(['status', '--porcelain'])
  const partial: Omit<Results, 'goals'> = {
    schema: 1,
    quick,
    generatedAt: new Date().toISOString(),
    runSeconds: Math.round((performance.now() - started) / 100) / 10,
    env: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cpus: cpus().length,
      loadAverage: [round(loadBefore), round(loadavg()[0])],
      commit: git(['rev-parse', '--short', 'HEAD']),
      dirty: status === undefined ? undefined : status.length > 0,
    },
    latency,
    economy,
    soak,
    startup,
    scale,
  }
  const results: Results = { ...partial, goals: goals(partial) }
  if (out) {
    await writeFormatted(out, `${JSON.stringify(results, null, 2)}\n`)
    progress(`wrote ${out}`)
  }
  process.stdout.write(`\n${renderMarkdown(results)}`)
  return 0
}

process.exitCode = await main()
