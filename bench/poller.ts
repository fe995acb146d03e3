// The baseline: a fixed-interval poller, as a hand-written pipeline script does it
// (and as Levant does, every 5 s): read the deployment, read its allocations,
// decide with the same evaluate() as the gate (so both promote on the same rule),
// promote when ready, else sleep and read again. Same NomadClient as the gate, so
// the comparison is of the waiting strategy, not of the HTTP client.

import { evaluate, selectGroups } from '../src/gate/readiness.js'
import { sleep, type NomadClient } from '../src/nomad/client.js'

export interface PollResult {
  verdict: 'promoted' | 'unhealthy' | 'terminal' | 'gave-up'
  polls: number
  reads: number
  /** performance.now() of the first read and of sending the promote request. */
  startedAt: number
  promoteSentAt?: number
}

export async function pollAndPromote(
  client: NomadClient,
  deploymentId: string,
  intervalMs: number,
  maxPolls: number,
  signal?: AbortSignal,
): Promise<PollResult> {
  const startedAt = performance.now()
  let reads = 0
  for (let polls = 1; polls <= maxPolls && !signal?.aborted; polls++) {
    const { body: d } = await client.deployment(deploymentId, { signal })
    const { body: allocs } = await client.deploymentAllocations(deploymentId, { signal })
    reads += 2
    const r = evaluate(d, allocs, selectGroups(d, []))
    if (r.terminal) return { verdict: 'terminal', polls, reads, startedAt }
    if (r.promotable && !r.promoted) {
      const promoteSentAt = performance.now()
      await client.promote(deploymentId, [])
      return { verdict: 'promoted', polls, reads, startedAt, promoteSentAt }
    }
    if (r.unhealthyAllocs.length > 0) return { verdict: 'unhealthy', polls, reads, startedAt }
    await sleep(intervalMs, signal).catch(() => undefined)
  }
  return { verdict: 'gave-up', polls: maxPolls, reads, startedAt }
}
