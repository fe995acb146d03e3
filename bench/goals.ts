// The goals of the benchmark and their verdicts, computed from the measured
// figures. bench.ts stores them in results.json; render.ts computes them again
// from the figures rather than trusting the stored verdicts, so that an edited
// or older results.json cannot claim a goal its own figures miss.

import { ms } from './render.js'
import type { Goal, Results } from './results.js'

export function goals(r: Omit<Results, 'goals'>): Goal[] {
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
