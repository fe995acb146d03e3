// The soak's cost: what a soak adds to a gated rollout, against the same
// rollout without one. The held blocking queries go on through the soak, so it
// should add the two queries held while it lasts, two reads per change during
// it (a change wakes the deployment's query and the allocations' query), and
// one request per check run to the check target: nothing on a timer.

import { startCheckTarget } from '../sim/checks.js'
import type { Simulator } from '../sim/simulator.js'
import { canaryRollout, delay, holding, isPromote, startGate } from './gated.js'
import type { SoakResults, SoakRow } from './results.js'

export interface SoakOptions {
  soakMs: number
  intervalMs: number
  /** Changes during the soak that keep the canaries passing (an allocation placed). */
  changes: number[]
}

/** Nomad reads before the promote request, and the check target's hits, for one rollout. */
async function countRollout(
  sim: Simulator,
  jobId: string,
  soak: { soakMs: number; intervalMs: number; checkUrl: string } | undefined,
  changes: number,
): Promise<{ reads: number; checkRuns: number }> {
  const { id, canaries } = canaryRollout(sim, jobId, [{ name: 'web', count: 4, canaries: 2 }])
  for (const alloc of canaries) sim.setAllocHealth(alloc, true)
  const from = sim.requests.length
  const inputs: Record<string, string> = soak
    ? {
        soak: `${soak.soakMs}ms`,
        'check-url': soak.checkUrl,
        'check-interval': `${soak.intervalMs}ms`,
      }
    : {}
  const gate = startGate(sim.address, id, { inputs })
  if (soak && changes > 0) {
    await holding(sim, id, 1)
    for (let i = 0; i < changes; i++) {
      await delay(soak.soakMs / (changes + 1))
      sim.placeAllocs(id, 'web', 1)
    }
  }
  const outcome = await gate.outcome
  if (outcome.result !== 'promoted')
    throw new Error(`${jobId}: ${outcome.result}: ${outcome.message}`)
  const requests = sim.requests.slice(from)
  const promoteAt = requests.findIndex(isPromote(id))
  const reads = requests.slice(0, promoteAt).filter((r) => r.method === 'GET').length
  return { reads, checkRuns: outcome.checks.length }
}

export async function measureSoak(
  sim: Simulator,
  options: SoakOptions,
  progress: (line: string) => void,
): Promise<SoakResults> {
  const target = await startCheckTarget()
  try {
    const baseline = await countRollout(sim, 'soak-none', undefined, 0)
    const rows: SoakRow[] = []
    for (const changes of options.changes) {
      const hitsBefore = target.hits
      const run = await countRollout(
        sim,
        `soak-${changes}`,
        { soakMs: options.soakMs, intervalMs: options.intervalMs, checkUrl: target.url },
        changes,
      )
      const row: SoakRow = {
        changes,
        addedReads: run.reads - baseline.reads,
        goalReads: 2 + 2 * changes,
        checkRuns: run.checkRuns,
        checkRequests: target.hits - hitsBefore,
      }
      progress(
        `soak: ${changes} changes: +${row.addedReads} Nomad reads (goal ${row.goalReads}), ${row.checkRequests} check requests for ${row.checkRuns} check runs`,
      )
      rows.push(row)
    }
    return {
      soakMs: options.soakMs,
      intervalMs: options.intervalMs,
      baselineReads: baseline.reads,
      rows,
    }
  } finally {
    await target.stop()
  }
}
