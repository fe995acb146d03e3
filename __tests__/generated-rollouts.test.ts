// Generated rollouts (fast-check): hundreds of cases, each a job's canary
// groups, the gate's inputs and a history of what happens while it waits,
// played against the simulator; every run must hold every check of
// scripts/rollouts/check.ts. `npm run fuzz` runs many more.

import { describe, expect, it } from 'vitest'
import type { RolloutCase } from '../scripts/rollouts/case.js'
import { assertRollouts, holds, newTally } from '../scripts/rollouts/property.js'

const RUNS = Number(process.env.ROLLOUTS ?? 500)
const SEED = Number(process.env.ROLLOUTS_SEED ?? Date.now() % 1_000_000)

describe('generated rollouts', () => {
  it(`${RUNS} rollouts hold every invariant (seed ${SEED})`, async () => {
    const tally = newTally()
    await assertRollouts({ seed: SEED, runs: RUNS, lanes: 4, tally })
    expect(tally.runs).toBeGreaterThanOrEqual(RUNS)
    // The generator reaches the results that matter, and most runs are compared with Nomad's end state.
    for (const result of [
      'promoted',
      'already-promoted',
      'unhealthy',
      'timed-out',
      'deployment-failed',
    ]) {
      expect(
        tally.results[result] ?? 0,
        `runs that ended ${result}: ${JSON.stringify(tally.results)}`,
      ).toBeGreaterThan(0)
    }
    // Most runs are compared with Nomad's end state: all but those the history went on past.
    expect(tally.comparedFinalState / tally.withDeployment).toBeGreaterThan(0.85)
    // ... and reach the sequences that a static picture misses.
    expect(tally.refusedPromotes, JSON.stringify(tally)).toBeGreaterThan(0)
    expect(tally.hooks).toBeGreaterThan(0)
    expect(tally.faults).toBeGreaterThan(0)
    expect(tally.replaced).toBeGreaterThan(0)
    console.log(`generated rollouts: ${JSON.stringify(tally)}`)
  }, 120_000)
})

/**
 * Every counterexample the generated rollouts found, replayed as it was
 * shrunk. Each names what the gate did wrong before its fix.
 */
describe('counterexamples found by the generated rollouts', () => {
  const found: Array<[string, RolloutCase]> = [
    [
      'fail mode reported group counts from allocations it had stopped following (stale outputs)',
      {
        seed: 1,
        groups: [
          {
            name: 'web',
            canaries: 2,
            extra: 1,
            autoPromote: true,
            autoRevert: false,
            progressDeadlineMs: 60_000,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'healthy',
          },
          {
            name: 'api',
            canaries: 3,
            extra: 1,
            autoPromote: true,
            autoRevert: true,
            progressDeadlineMs: 60_000,
            healthCheck: 'task_states',
            reschedule: 'none',
            outcome: 'healthy',
          },
          {
            name: 'worker',
            canaries: 3,
            extra: 1,
            autoPromote: true,
            autoRevert: true,
            progressDeadlineMs: 60_000,
            healthCheck: 'manual',
            reschedule: 'none',
            outcome: 'healthy',
          },
        ],
        gate: {
          mode: 'fail',
          target: 'id',
          early: false,
          groups: [],
          onFailure: 'none',
          onUnhealthyCanary: 'fail-fast',
          waitForCompletion: false,
          soak: false,
          dryRun: false,
          healthAs: 'healthy',
          timeoutMs: 199,
        },
        steps: [{ kind: 'health', group: 2, canary: 0, healthy: true }],
      },
    ],
    [
      'the index output was the last answer’s, below the deployment’s ModifyIndex after a catch-up read',
      {
        seed: 1661970246,
        groups: [
          {
            name: 'web',
            canaries: 3,
            extra: 1,
            autoPromote: false,
            autoRevert: false,
            progressDeadlineMs: 60_000,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'healthy',
          },
          {
            name: 'api',
            canaries: 1,
            extra: 0,
            autoPromote: false,
            autoRevert: false,
            progressDeadlineMs: 60_000,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'crash',
          },
          {
            name: 'worker',
            canaries: 2,
            extra: 0,
            autoPromote: false,
            autoRevert: true,
            progressDeadlineMs: 0,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'healthy',
          },
        ],
        gate: {
          mode: 'promote',
          target: 'id',
          early: true,
          groups: [],
          onFailure: 'fail',
          onUnhealthyCanary: 'wait-for-replacement',
          waitForCompletion: true,
          soak: true,
          dryRun: false,
          healthAs: 'healthy',
          timeoutMs: 151,
        },
        steps: [
          { kind: 'health', group: 1, canary: 1, healthy: true },
          { kind: 'health', group: 2, canary: 0, healthy: true },
          { kind: 'advance', ms: 100 },
          { kind: 'health', group: 2, canary: 3, healthy: false },
          { kind: 'operator', action: 'promote-first' },
          { kind: 'fault', on: 'write', fault: 'no-leader', count: 1 },
        ],
      },
    ],
    [
      'a read-back answer whose X-Nomad-Index went backwards set the index output below the deployment’s ModifyIndex',
      {
        seed: 2147483374,
        groups: [
          {
            name: 'web',
            canaries: 1,
            extra: 1,
            autoPromote: false,
            autoRevert: false,
            progressDeadlineMs: 0,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'healthy',
          },
          {
            name: 'api',
            canaries: 2,
            extra: 1,
            autoPromote: false,
            autoRevert: false,
            progressDeadlineMs: 0,
            healthCheck: 'task_states',
            reschedule: 'once',
            outcome: 'healthy',
          },
        ],
        gate: {
          mode: 'promote',
          target: 'id',
          early: false,
          groups: [1, 0],
          onFailure: 'fail',
          onUnhealthyCanary: 'wait-for-replacement',
          waitForCompletion: true,
          soak: true,
          dryRun: false,
          healthAs: 'healthy',
          timeoutMs: 150,
        },
        steps: [
          { kind: 'operator', action: 'pause' },
          { kind: 'fault', on: 'read', fault: 'index-backwards', count: 2 },
          { kind: 'fault', on: 'write', fault: 'drop-response', count: 2 },
        ],
      },
    ],
    [
      'fail mode on the event stream took the deployment’s events for a read of the allocations (every canary reported not healthy)',
      {
        seed: 1,
        groups: [
          {
            name: 'web',
            canaries: 2,
            extra: 0,
            autoPromote: false,
            autoRevert: true,
            progressDeadlineMs: 60000,
            healthCheck: 'manual',
            reschedule: 'once',
            outcome: 'healthy',
          },
          {
            name: 'api',
            canaries: 2,
            extra: 2,
            autoPromote: false,
            autoRevert: true,
            progressDeadlineMs: 60000,
            healthCheck: 'task_states',
            reschedule: 'none',
            outcome: 'silent',
          },
        ],
        gate: {
          mode: 'fail',
          target: 'job',
          early: true,
          groups: [],
          onFailure: 'none',
          onUnhealthyCanary: 'fail-fast',
          waitForCompletion: false,
          soak: false,
          dryRun: false,
          healthAs: 'healthy',
          timeoutMs: 150,
        },
        steps: [
          { kind: 'fault', on: 'write', fault: '503', count: 1 },
          { kind: 'advance', ms: 200 },
          { kind: 'health', group: 0, canary: 0, healthy: true },
        ],
      },
    ],
  ]
  for (const [name, c] of found) {
    it(name, async () => {
      await expect(holds(c)).resolves.toBeUndefined()
    })
  }
})
