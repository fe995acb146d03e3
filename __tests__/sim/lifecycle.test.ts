// A canary rollout as Nomad runs it, on a manual clock: canaries placed
// pending, started by the client, reported healthy by the client after
// min_healthy_time, unhealthy at healthy_deadline, rescheduled after a crash,
// promoted (by hand or auto_promote), failed by the progress deadline, rolled
// back by auto_revert into a deployment of its own.

import { describe, expect, it } from 'vitest'

import type { GroupSpec, ManualClock, SimDeployment, Simulator } from '../../sim/simulator.js'
import { put, runJob, startManual } from './helpers.js'

const SECOND = 1_000
const MINUTE = 60 * SECOND

/** Group `web`: 3 allocs, 2 canaries, min_healthy_time 10 s, a 5 s constant reschedule delay. */
const web = (over: Partial<GroupSpec> = {}): GroupSpec => ({
  name: 'web',
  count: 3,
  canaries: 2,
  update: { minHealthyTimeMs: 10 * SECOND, ...over.update },
  reschedule: { delayMs: 5 * SECOND, delayFunction: 'constant' },
  ...over,
  ...(over.update === null ? { update: null } : {}),
})

/** Version 0 deployed (successful, stable), then version 1 submitted and its evaluation processed. */
async function rollout(
  groups: GroupSpec[] = [web()],
  v1 = groups,
  options: Parameters<typeof startManual>[0] = {},
): Promise<{ sim: Simulator; clock: ManualClock; v0: SimDeployment; d: SimDeployment }> {
  const { sim, clock } = await startManual({
    timings: { evalLagMs: 0, clientStartMs: SECOND, clientBatchMs: 200 },
    ...options,
  })
  const v0 = runJob(sim, clock, { id: 'web', groups, spec: 'v0' })
  sim.submitJob({ id: 'web', groups: v1, spec: 'v1' })
  clock.advance(0)
  const d = sim.jobDeployments('web')[0]
  return { sim, clock, v0, d }
}

const canariesOf = (sim: Simulator, id: string) =>
  (sim.deployment(id)?.TaskGroups.web.PlacedCanaries ?? []).map((a) => sim.alloc(a))

describe('placement and the client (generic_sched.go, client/allocrunner)', () => {
  it('places canaries pending, in the deployment, then the client runs them after its start lag', async () => {
    const { sim, clock, v0, d } = await rollout()
    expect(v0).toMatchObject({ Status: 'successful', JobVersion: 0 })
    expect(sim.job('web')).toMatchObject({ Version: 1, Stable: false })
    expect(d).toMatchObject({ JobVersion: 1, Status: 'running' })
    expect(d.TaskGroups.web).toMatchObject({ DesiredCanaries: 2, DesiredTotal: 3, PlacedAllocs: 2 })
    const canaries = canariesOf(sim, d.ID)
    expect(canaries.map((a) => [a?.ClientStatus, a?.TaskStates, a?.DeploymentStatus])).toEqual([
      ['pending', null, expect.objectContaining({ Canary: true, Healthy: null })],
      ['pending', null, expect.objectContaining({ Canary: true, Healthy: null })],
    ])
    clock.advance(SECOND + 200) // start, then the client's sync
    const running = canariesOf(sim, d.ID)
    expect(running.map((a) => a?.ClientStatus)).toEqual(['running', 'running'])
    expect(running[0]?.TaskStates?.web).toMatchObject({ State: 'running', Failed: false })
    // Both reports were synced together: one raft index for both allocs.
    expect(sim.changes.at(-1)).toMatchObject({ kind: 'client-update', allocs: expect.any(Array) })
    expect(sim.changes.at(-1)?.allocs).toHaveLength(2)
  })

  it('reports canaries healthy min_healthy_time after their tasks run (health_check task_states semantics)', async () => {
    const { sim, clock, d } = await rollout()
    clock.advance(SECOND + 200)
    clock.advance(10 * SECOND - 200)
    expect(canariesOf(sim, d.ID).map((a) => a?.DeploymentStatus?.Healthy)).toEqual([null, null])
    clock.advance(200)
    const healthy = canariesOf(sim, d.ID)
    expect(healthy.map((a) => a?.DeploymentStatus?.Healthy)).toEqual([true, true])
    expect(healthy[0]?.DeploymentStatus?.ModifyIndex).toBe(sim.changes.at(-1)?.index)
    expect(sim.deployment(d.ID)?.TaskGroups.web.HealthyAllocs).toBe(2)
    expect(sim.deployment(d.ID)?.StatusDescription).toBe(
      'Deployment is running but requires manual promotion',
    )
  })

  it('applies several client updates in one raft index (Node.UpdateAlloc, UpdateAllocsFromClient)', async () => {
    const { sim, d } = await rollout([web()], [web({ update: { healthCheck: 'manual' } })])
    const [a, b] = d.TaskGroups.web.PlacedCanaries ?? []
    const index = sim.updateAllocsFromClient([
      { allocId: a, clientStatus: 'running', healthy: true },
      { allocId: b, clientStatus: 'running', healthy: true },
    ])
    const change = sim.changes.find((c) => c.index === index)
    expect(change).toMatchObject({ kind: 'client-update', deployments: [d.ID] })
    expect(change?.allocs.sort()).toEqual([a, b].sort())
    expect(sim.deployment(d.ID)?.TaskGroups.web.HealthyAllocs).toBe(2)
    expect(sim.alloc(a)?.DeploymentStatus?.ModifyIndex).toBe(index)
    expect(() => sim.updateAllocsFromClient([{ allocId: 'nope', healthy: true }])).toThrow(
      'allocation nope not found',
    )
  })

  it('reports nothing for health_check "manual": health is left to the operator', async () => {
    const { sim, clock, d } = await rollout([web()], [web({ update: { healthCheck: 'manual' } })])
    clock.advance(9 * MINUTE) // within the progress deadline
    expect(
      canariesOf(sim, d.ID).map((a) => [a?.ClientStatus, a?.DeploymentStatus?.Healthy]),
    ).toEqual([
      ['running', null],
      ['running', null],
    ])
  })
})

describe('healthy_deadline (client/allochealth tracker, health_hook.go)', () => {
  it('marks a canary that never starts unhealthy at the deadline, counted from placement', async () => {
    const groups = [web({ update: { healthyDeadlineMs: 2 * MINUTE } })]
    const { sim, clock, d } = await rollout(groups, [
      web({ outcome: 'stuck', update: { healthyDeadlineMs: 2 * MINUTE } }),
    ])
    clock.advance(2 * MINUTE - 1)
    expect(canariesOf(sim, d.ID).map((a) => a?.DeploymentStatus?.Healthy)).toEqual([null, null])
    clock.advance(200 + 1)
    const canaries = canariesOf(sim, d.ID)
    expect(canaries.map((a) => [a?.ClientStatus, a?.DeploymentStatus?.Healthy])).toEqual([
      ['pending', false],
      ['pending', false],
    ])
    expect(sim.deployment(d.ID)?.TaskGroups.web.UnhealthyAllocs).toBe(2)
    // A pending (or running) unhealthy alloc is never rescheduled (alloc.go
    // NextRescheduleTime needs a failed or lost one), so the deployment waits
    // for its progress deadline.
    clock.advance(5 * MINUTE)
    expect(sim.deployment(d.ID)?.Status).toBe('running')
    expect(sim.deployment(d.ID)?.TaskGroups.web.PlacedCanaries).toHaveLength(2)
  })

  it('marks a canary whose checks never pass unhealthy at the deadline; with task_states it turns healthy', async () => {
    const spec = (healthCheck: 'checks' | 'task_states') =>
      web({ outcome: 'unhealthy', update: { healthyDeadlineMs: MINUTE, healthCheck } })
    for (const [check, health] of [
      ['checks', false],
      ['task_states', true],
    ] as const) {
      const { sim, clock, d } = await rollout([web()], [spec(check)])
      clock.advance(2 * MINUTE)
      expect(canariesOf(sim, d.ID).map((a) => a?.DeploymentStatus?.Healthy)).toEqual([
        health,
        health,
      ])
    }
  })
})

describe('rescheduling a failed canary (reconcile_cluster.go, filters.go, generic_sched.go)', () => {
  it('replaces a crashed canary after the delay: a new canary appended to PlacedCanaries, linked both ways', async () => {
    let first = true
    const { sim, clock, d } = await rollout([web()], [web()], {
      clientOutcome: (a) => (a.JobVersion === 1 && first ? ((first = false), 'crash') : undefined),
    })
    clock.advance(SECOND + 200)
    const crashed = canariesOf(sim, d.ID).find((a) => a?.ClientStatus === 'failed')
    expect(crashed?.DeploymentStatus).toMatchObject({ Healthy: false, Canary: true })
    // The client's failure creates an alloc-failure evaluation, but an alloc of
    // an active deployment is replaced only once the deployment watcher allows
    // it (DesiredTransition.Reschedule, after its 1 s batch)...
    expect(sim.evaluations('web').at(-1)).toMatchObject({ TriggeredBy: 'alloc-failure' })
    clock.advance(SECOND)
    expect(sim.alloc(crashed?.ID ?? '')?.DesiredTransition.Reschedule).toBe(true)
    // ...and its reschedule delay (5 s from the failure) has passed: a delayed evaluation.
    const delayed = sim.evaluations('web').find((e) => e.TriggeredBy === 'alloc-reschedule')
    const failedAt = Date.parse(crashed?.TaskStates?.web.FinishedAt ?? '')
    expect(delayed).toMatchObject({
      Status: 'pending',
      StatusDescription: 'created for delayed rescheduling',
    })
    expect(Date.parse(delayed?.WaitUntil ?? '')).toBe(failedAt + 5 * SECOND)
    expect(sim.alloc(crashed?.ID ?? '')?.FollowupEvalID).toBe(delayed?.ID)

    clock.advanceTo(failedAt + 5 * SECOND)
    const placed = sim.deployment(d.ID)?.TaskGroups.web
    expect(placed?.PlacedCanaries).toHaveLength(3) // more IDs than DesiredCanaries
    expect(placed).toMatchObject({ DesiredCanaries: 2, UnhealthyAllocs: 1 })
    const replacement = sim.alloc(placed?.PlacedCanaries?.[2] ?? '')
    expect(replacement).toMatchObject({
      Name: crashed?.Name,
      ClientStatus: 'pending',
      PreviousAllocation: crashed?.ID,
      DeploymentStatus: { Canary: true, Healthy: null },
      RescheduleTracker: {
        Events: [
          { PrevAllocID: crashed?.ID, Delay: 5e9, RescheduleTime: (failedAt + 5 * SECOND) * 1e6 },
        ],
      },
    })
    expect(sim.alloc(crashed?.ID ?? '')).toMatchObject({
      DesiredStatus: 'stop',
      DesiredDescription: 'alloc was rescheduled because it failed',
      NextAllocation: replacement?.ID,
    })
    // The deployment can still succeed: the replacement turns healthy, promotion passes.
    clock.advance(SECOND + 200 + 10 * SECOND)
    expect(sim.allocation(replacement?.ID ?? '')?.DeploymentStatus?.Healthy).toBe(true)
    const res = await put(sim, `/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true })
    expect(res.status).toBe(200)
    clock.runAll()
    expect(sim.deployment(d.ID)?.Status).toBe('successful')
    expect(sim.job('web')).toMatchObject({ Version: 1, Stable: true })
  })

  it('fails the deployment at once when the policy has no attempt left (deploymentWatcher.shouldFailEarly)', async () => {
    const noReschedule = web({ reschedule: false })
    const { sim, clock, d } = await rollout([noReschedule], [{ ...noReschedule, outcome: 'crash' }])
    clock.advance(SECOND + 200)
    expect(sim.deployment(d.ID)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to unhealthy allocations',
    })
    // The failed deployment's evaluation stops its unpromoted canaries.
    clock.runAll()
    expect(canariesOf(sim, d.ID).map((a) => a?.DesiredStatus)).toEqual(['stop', 'stop'])
  })

  it('counts reschedule attempts within the interval', async () => {
    const limited = web({
      reschedule: { attempts: 1, intervalMs: 10 * MINUTE, delayMs: SECOND, unlimited: false },
    })
    const { sim, clock, d } = await rollout([limited], [{ ...limited, outcome: 'crash' }])
    clock.advance(10 * SECOND)
    // Each canary was replaced once; the replacements crashed too, with no attempt left.
    expect(sim.deployment(d.ID)?.Status).toBe('failed')
    expect(sim.deployment(d.ID)?.TaskGroups.web.PlacedCanaries).toHaveLength(4)
  })
})
