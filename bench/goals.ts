// The goals of the benchmark and their verdicts, computed from the measured
// figures. bench.ts stores them in results.json; render.ts computes them again
// from the figures rather than trusting the stored verdicts, so that an edited
// or older results.json cannot claim a goal its own figures miss.

import { bytes, ms } from './render.js'
import type { CostRow, Goal, Results } from './results.js'

/** The size the per-change goals are set at: 200 groups, 5,000 allocations. */
export const GOAL_ALLOCS = 5_000

export function goals(r: Omit<Results, 'goals'>): Goal[] {
  const action = r.latency.action.latency
  const p1 = r.latency.pollers.find((p) => p.intervalMs === 1000)
  const over = r.economy.rows.filter((row) => row.waitingMax > row.goal)
  const worst = r.economy.rows.reduce((a, b) =>
    b.waitingMax - b.goal > a.waitingMax - a.goal ? b : a,
  )
  const ratio = r.startup.ratios.find((x) => x.name === 'action')
  const events = r.cost.rows.filter((row) => row.watch === 'events')
  const at = events.find((row) => row.allocs === GOAL_ALLOCS)
  const smallest = events[0]
  const largest = events[events.length - 1]
  const allocs = (n: number) => n.toLocaleString('en-US')
  /** A row of `watch: events` that the build followed by blocking queries measures nothing of events. */
  const notEvents = (row: CostRow | undefined) =>
    !row
      ? 'not measured'
      : row.followedBy !== 'events'
        ? `not measured: this build followed \`watch: events\` by blocking queries (${ms(row.cpuMs.p50)}, ${bytes(row.bytesPerChange)})`
        : undefined
  const growth =
    smallest && largest && smallest !== largest ? largest.cpuMs.p50 / smallest.cpuMs.p50 : NaN
  return [
    {
      name: 'Reaction latency p50, a fresh action process per rollout',
      goal: '<= 3 ms',
      measured: ms(action.p50),
      met: action.p50 <= 3,
    },
    {
      name: 'Reaction latency p99, a fresh action process per rollout',
      goal: '<= 10 ms',
      measured: ms(action.p99),
      met: action.p99 <= 10,
    },
    {
      name: 'Reaction latency, 1 s poller / action (p50)',
      goal: '>= 150x',
      measured: p1 ? `${Math.round(p1.ratio.p50)}x` : '-',
      met: !!p1 && p1.ratio.p50 >= 150,
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
    {
      name: 'Spawn to first request, action / a bare Node request (median of paired runs)',
      goal: '<= 1.3x',
      measured: ratio ? `${ratio.pairedMedian.toFixed(2)}x` : '-',
      met: !!ratio && ratio.pairedMedian <= 1.3,
    },
    {
      name: `Gate CPU per change at ${allocs(GOAL_ALLOCS)} allocations, \`watch: events\` (p50)`,
      goal: '<= 1 ms',
      measured: notEvents(at) ?? ms(at!.cpuMs.p50),
      met: !notEvents(at) && at!.cpuMs.p50 <= 1,
    },
    {
      name: `Bytes received per change at ${allocs(GOAL_ALLOCS)} allocations, \`watch: events\``,
      goal: '<= 20 kB',
      measured: notEvents(at) ?? bytes(at!.bytesPerChange),
      met: !notEvents(at) && at!.bytesPerChange <= 20_000,
    },
    {
      name: `Growth of the CPU per change with \`watch: events\`, ${smallest ? allocs(smallest.allocs) : '-'} to ${largest ? allocs(largest.allocs) : '-'} allocations`,
      goal: 'constant (within 2x)',
      measured:
        notEvents(largest) ??
        notEvents(smallest) ??
        (Number.isFinite(growth) ? `${growth.toFixed(2)}x` : '-'),
      met: !notEvents(largest) && !notEvents(smallest) && growth <= 2,
    },
  ]
}
