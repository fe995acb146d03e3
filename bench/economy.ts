// Request economy: every request the gate sends in one gated rollout, as a
// function of the number of health changes (k canaries turning healthy one at a
// time), against a fixed-interval poller's 2 reads per interval over the same
// rollout. The gate's count does not depend on time (a blocking query is one
// read per change, whenever it comes, up to the 5 minute wait), so the rollout
// is run compressed; the pollers' counts, which are all time, are computed for
// the modelled rollout: k changes `spacingS` apart.

import type { Simulator } from '../sim/simulator.js'
import { canaryRollout, delay, holding, isPromote, reportHealthy, startGate } from './gated.js'
import type { EconomyResults, EconomyRow } from './results.js'
import { median } from './stats.js'

export interface EconomyOptions {
  changes: number[]
  repetitions: number
  /** Seconds between health changes in the modelled rollout (Nomad's default min_healthy_time is 10 s). */
  spacingS: number
  intervalsMs: number[]
}

interface Count {
  waiting: number
  kinds: EconomyRow['kinds']
  afterPromote: number
  writes: number
}

async function countRollout(sim: Simulator, jobId: string, k: number): Promise<Count> {
  const { id, canaries } = canaryRollout(sim, jobId, [{ name: 'web', count: k, canaries: k }])
  const from = sim.requests.length
  const gate = startGate(sim.address, id)
  await holding(sim, id, 1)
  for (const [i, alloc] of canaries.entries()) {
    await delay(1)
    const change = reportHealthy(sim, alloc)
    if (i < canaries.length - 1) await holding(sim, id, change.index)
  }
  const outcome = await gate.outcome
  if (outcome.result !== 'promoted') throw new Error(`${jobId}: ${outcome.result}`)
  // Let anything the gate sent while stopping reach the log.
  await delay(20)
  const requests = sim.requests.slice(from)
  const promoteAt = requests.findIndex(isPromote(id))
  if (promoteAt < 0) throw new Error(`${jobId}: no promote request logged`)
  const count: Count = {
    waiting: 0,
    kinds: { resolve: 0, initial: 0, blocking: 0 },
    afterPromote: 0,
    writes: 0,
  }
  requests.forEach((r, i) => {
    if (r.method !== 'GET') count.writes++
    else if (i > promoteAt) count.afterPromote++
    else if (Number(r.query.index ?? 0) > 0) count.kinds.blocking++
    else if (count.kinds.resolve === 0) count.kinds.resolve++
    else count.kinds.initial++
  })
  count.waiting = count.kinds.resolve + count.kinds.initial + count.kinds.blocking
  return count
}

/** Polls at 0, I, 2I, ... until the first one at or after the last change: 2 reads each. */
export function pollerReads(rolloutMs: number, intervalMs: number): number {
  return 2 * (Math.ceil(rolloutMs / intervalMs) + 1)
}

export async function measureEconomy(
  sim: Simulator,
  options: EconomyOptions,
  progress: (line: string) => void,
): Promise<EconomyResults> {
  const rows: EconomyRow[] = []
  for (const k of options.changes) {
    const counts: Count[] = []
    for (let r = 0; r < options.repetitions; r++) {
      counts.push(await countRollout(sim, `eco-${k}-${r}`, k))
    }
    const waiting = counts.map((c) => c.waiting)
    const typical = counts.find((c) => c.waiting === median(waiting)) ?? counts[0]
    const modelSeconds = k * options.spacingS
    const row: EconomyRow = {
      changes: k,
      waiting: median(waiting),
      waitingMax: Math.max(...waiting),
      kinds: typical.kinds,
      afterPromote: Math.max(...counts.map((c) => c.afterPromote)),
      writes: Math.max(...counts.map((c) => c.writes)),
      goal: 2 * k + 3,
      modelSeconds,
      pollers: options.intervalsMs.map((intervalMs) => ({
        intervalMs,
        reads: pollerReads(modelSeconds * 1000, intervalMs),
      })),
    }
    progress(
      `economy: ${k} changes: ${row.waiting} reads while waiting (goal ${row.goal}), then ${row.writes} write, ${row.afterPromote} read`,
    )
    rows.push(row)
  }
  return { modelSpacingS: options.spacingS, rows }
}
