// The generated-rollouts property: every case played against the simulator
// holds every check. Shared by `npm test` (a few hundred rollouts) and
// `npm run fuzz` (as many as asked for, with the seed printed).

import fc from 'fast-check'
import { rolloutCase, type RolloutCase } from './case.js'
import { check, describeRun } from './check.js'
import { runCase } from './run.js'

export interface Tally {
  runs: number
  results: Record<string, number>
  /** Runs that ended with a deployment to report on. */
  withDeployment: number
  /** ... whose outputs were compared with Nomad's final state (the history did not go on past the end). */
  comparedFinalState: number
  /** Promotes Nomad refused because the state changed between the gate's read and its write. */
  refusedPromotes: number
  /** at-write steps that ran between the gate's read and its write. */
  hooks: number
  /** Faults that hit a request of the gate. */
  faults: number
  /** Runs in which Nomad replaced a canary (PlacedCanaries beyond DesiredCanaries). */
  replaced: number
}

export function newTally(): Tally {
  return {
    runs: 0,
    results: {},
    withDeployment: 0,
    comparedFinalState: 0,
    refusedPromotes: 0,
    hooks: 0,
    faults: 0,
    replaced: 0,
  }
}

/** Plays one case and throws with the whole story when a check fails. */
export async function holds(c: RolloutCase, tally?: Tally): Promise<void> {
  const r = await runCase(c)
  const { violations, comparedFinalState } = check(r)
  if (tally) {
    tally.runs++
    tally.results[r.outcome.result] = (tally.results[r.outcome.result] ?? 0) + 1
    if (r.outcome.deployment) tally.withDeployment++
    if (comparedFinalState) tally.comparedFinalState++
    tally.refusedPromotes += r.requests.filter(
      (q) => q.path.includes('/promote/') && q.status === 500 && !q.fault,
    ).length
    tally.hooks += r.hooked.length
    tally.faults += r.requests.filter((q) => q.fault).length
    const groups = Object.values(r.final?.deployment.TaskGroups ?? {})
    if (groups.some((g) => (g.PlacedCanaries?.length ?? 0) > g.DesiredCanaries)) tally.replaced++
  }
  if (violations.length > 0) {
    throw new Error(`${violations.map((x) => `- ${x}`).join('\n')}\n${describeRun(r)}`)
  }
}

/**
 * `runs` rollouts in `lanes` concurrent fast-check loops, lane i seeded
 * `seed + i`: most of a rollout's time is spent waiting for the gate, so
 * several run at once. Rejects with fast-check's report (the seed, the path
 * to replay, the shrunk case) at the first failure.
 */
export async function assertRollouts(o: {
  seed: number
  runs: number
  lanes: number
  tally?: Tally
}): Promise<void> {
  const per = Math.ceil(o.runs / o.lanes)
  await Promise.all(
    Array.from({ length: o.lanes }, (_, i) =>
      fc.assert(
        fc.asyncProperty(rolloutCase, (c) => holds(c, o.tally)),
        { seed: o.seed + i, numRuns: per, endOnFailure: false },
      ),
    ),
  )
}
