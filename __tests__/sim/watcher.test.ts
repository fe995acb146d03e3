// What the deployment watcher and the scheduler do to a deployment on their
// own, on a manual clock: promotion's rollout, auto_promote, the progress
// deadline, auto_revert into the reverted version's own deployment, a newer
// version cancelling the running deployment.

import { describe, expect, it } from 'vitest'

import type { GroupSpec, ManualClock, SimDeployment, Simulator } from '../../sim/simulator.js'
import { put, runJob, startManual } from './helpers.js'

const SECOND = 1_000
const MINUTE = 60 * SECOND

const group = (name: string, over: Partial<GroupSpec> = {}): GroupSpec => ({
  name,
  count: 3,
  canaries: 2,
  ...over,
  update: { minHealthyTimeMs: 10 * SECOND, ...over.update },
})

/** Version 0 deployed, version 1 submitted; its evaluation processed, canaries placed. */
async function rollout(
  v0: GroupSpec[],
  v1: GroupSpec[] = v0,
): Promise<{ sim: Simulator; clock: ManualClock; d: SimDeployment }> {
  const { sim, clock } = await startManual({
    timings: { evalLagMs: 0, clientStartMs: SECOND, clientBatchMs: 200, evalBatchMs: SECOND },
  })
  runJob(sim, clock, { id: 'web', groups: v0, spec: 'v0' })
  sim.submitJob({ id: 'web', groups: v1, spec: 'v1' })
  clock.advance(0)
  return { sim, clock, d: sim.jobDeployments('web')[0] }
}

/** Canaries placed at t0: running at +1 s, synced at +1.2 s, healthy at +11 s, synced at +11.2 s. */
const HEALTHY_AFTER = SECOND + 10 * SECOND + 200

const kinds = (sim: Simulator, from: number): string[] =>
  sim.changes.filter((c) => c.index > from).map((c) => c.kind)

describe('promotion and the rollout after it', () => {
  it('stops the old allocs named like the canaries, then replaces the rest max_parallel at a time', async () => {
    const { sim, clock, d } = await rollout([group('web', { update: { maxParallel: 1 } })])
    clock.advance(HEALTHY_AFTER)
    const index = sim.index()
    const res = await put(sim, `/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true })
    expect(res.status).toBe(200)
    // UpdateDeploymentPromotion: promoted canaries are no longer canaries.
    const canaries = d.TaskGroups.web.PlacedCanaries ?? []
    expect(canaries.map((id) => sim.alloc(id)?.DeploymentStatus?.Canary)).toEqual([false, false])
    clock.advance(0) // the promotion's evaluation
    expect(kinds(sim, index)).toEqual(['promote', 'plan-result', 'eval-update'])
    const old = sim.jobAllocations('web').filter((a) => a.JobVersion === 0)
    const canaryNames = canaries.map((id) => sim.alloc(id)?.Name)
    expect(old.filter((a) => a.DesiredStatus === 'stop').map((a) => a.DesiredDescription)).toEqual([
      expect.any(String),
      expect.any(String),
      expect.any(String),
    ])
    const byName = old.filter((a) => canaryNames.includes(a.Name))
    expect(byName.map((a) => a.DesiredDescription)).toEqual([
      'alloc not needed due to job update',
      'alloc not needed due to job update',
    ])
    expect(old.find((a) => !canaryNames.includes(a.Name))?.DesiredDescription).toBe(
      'alloc is being updated due to job update',
    )
    // The replacement of the third alloc turns healthy; the watcher's evaluation completes the deployment.
    clock.advance(HEALTHY_AFTER + SECOND)
    expect(sim.deployment(d.ID)).toMatchObject({
      Status: 'successful',
      StatusDescription: 'Deployment completed successfully',
      TaskGroups: { web: { Promoted: true, HealthyAllocs: 3, DesiredTotal: 3 } },
    })
    expect(sim.job('web')).toMatchObject({ Version: 1, Stable: true, Status: 'running' })
  })
})

describe('auto_promote (deploymentWatcher.autoPromoteDeployment)', () => {
  it('promotes in its own raft index right after the health change that makes the canaries healthy', async () => {
    const { sim, clock, d } = await rollout([group('web', { update: { autoPromote: true } })])
    expect(d.StatusDescription).toBe('Deployment is running pending automatic promotion')
    clock.advance(HEALTHY_AFTER)
    const health = sim.changes.findLast((c) => c.kind === 'client-update')
    const promote = sim.changes.find((c) => c.kind === 'auto-promote')
    expect(promote?.index).toBe((health?.index ?? 0) + 1)
    expect(sim.deployment(d.ID)).toMatchObject({
      StatusDescription: 'Deployment is running',
      TaskGroups: { web: { Promoted: true } },
    })
  })

  it('waits while a canary group lacks auto_promote, or while fewer than DesiredCanaries are healthy', async () => {
    const { sim, clock, d } = await rollout([
      group('web', { update: { autoPromote: true } }),
      group('api', { count: 2, canaries: 1 }),
    ])
    clock.advance(HEALTHY_AFTER)
    expect(sim.changes.some((c) => c.kind === 'auto-promote')).toBe(false)
    expect(sim.deployment(d.ID)?.StatusDescription).toBe(
      'Deployment is running but requires manual promotion',
    )

    let crash = true
    const second = await rollout([group('web', { update: { autoPromote: true } })])
    second.sim.setClientOutcome((a) =>
      a.JobVersion === 2 && crash ? ((crash = false), 'crash') : undefined,
    )
    second.sim.submitJob({
      id: 'web',
      groups: [group('web', { update: { autoPromote: true } })],
      spec: 'v2',
    })
    second.clock.advance(HEALTHY_AFTER)
    const d2 = second.sim.jobDeployments('web')[0]
    expect(d2.JobVersion).toBe(2)
    expect(d2.TaskGroups.web).toMatchObject({ HealthyAllocs: 1, Promoted: false })
  })
})

describe('progress_deadline (deploymentWatcher.watch, shouldFail)', () => {
  it('fails the deployment when its canaries are not healthy by RequireProgressBy', async () => {
    const groups = [group('web', { update: { progressDeadlineMs: 2 * MINUTE } })]
    const { sim, clock, d } = await rollout(groups, [{ ...groups[0], outcome: 'silent' }])
    const by = Date.parse(sim.deployment(d.ID)?.TaskGroups.web.RequireProgressBy ?? '')
    expect(by).toBe(Date.parse(new Date(clock.now()).toISOString()) + 2 * MINUTE)
    clock.advanceTo(by - 1)
    expect(sim.deployment(d.ID)?.Status).toBe('running')
    clock.advance(1)
    expect(sim.deployment(d.ID)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to progress deadline',
    })
  })

  it('never fails a paused deployment, nor one whose healthy canaries wait for promotion', async () => {
    const groups = [group('web', { update: { progressDeadlineMs: 2 * MINUTE } })]
    const paused = await rollout(groups, [{ ...groups[0], outcome: 'silent' }])
    await put(paused.sim, `/v1/deployment/pause/${paused.d.ID}`, {
      DeploymentID: paused.d.ID,
      Pause: true,
    })
    paused.clock.advance(10 * MINUTE)
    expect(paused.sim.deployment(paused.d.ID)?.Status).toBe('paused')

    const waiting = await rollout(groups)
    waiting.clock.advance(60 * MINUTE)
    expect(waiting.sim.deployment(waiting.d.ID)).toMatchObject({
      Status: 'running',
      StatusDescription: 'Deployment is running but requires manual promotion',
      TaskGroups: { web: { HealthyAllocs: 2, Promoted: false } },
    })
  })
})

describe('auto_revert (deploymentWatcher, state_store.go UpdateDeploymentStatus)', () => {
  it("registers the stable version's spec as a new version whose own deployment the scheduler creates", async () => {
    const groups = [group('web', { update: { autoRevert: true, progressDeadlineMs: 0 } })]
    const { sim, clock, d } = await rollout(groups, [{ ...groups[0], outcome: 'crash' }])
    clock.advance(SECOND + 200)
    expect(sim.deployment(d.ID)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to unhealthy allocations - rolling back to job version 0',
    })
    const failed = sim.changes.find((c) => c.kind === 'deployment-failed')
    expect(failed?.tables).toEqual(expect.arrayContaining(['deployment', 'jobs', 'evals']))
    expect(sim.job('web')).toMatchObject({ Version: 2, Meta: { spec: 'v0' } })
    const revertEval = sim.evaluations('web').find((e) => e.CreateIndex === failed?.index)
    expect(revertEval).toMatchObject({ TriggeredBy: 'deployment-watcher', JobID: 'web' })
    // With no eval lag the scheduler took it in the same instant: version 2's deployment.
    const [reverted] = sim.jobDeployments('web')
    expect(revertEval).toMatchObject({ Status: 'complete', DeploymentID: reverted.ID })
    expect(reverted).toMatchObject({ JobVersion: 2, Status: 'running' })
    // Version 0's allocs move into version 2 in place: no canaries, a health check each.
    expect(reverted.TaskGroups.web).toMatchObject({ DesiredCanaries: 0, DesiredTotal: 3 })
    clock.runAll()
    expect(sim.deployment(reverted.ID)?.Status).toBe('successful')
    expect(sim.job('web')).toMatchObject({ Version: 2, Stable: true })
    const running = sim.jobAllocations('web').filter((a) => a.DesiredStatus === 'run')
    expect(running.map((a) => a.JobVersion)).toEqual([2, 2, 2])
  })
})

describe('a newer version (reconcile_cluster.go cancelUnneededServiceDeployments)', () => {
  it("cancels the running deployment in the plan that creates the newer version's", async () => {
    const groups = [group('web')]
    const { sim, clock, d } = await rollout(groups)
    sim.submitJob({ id: 'web', groups, spec: 'v2' })
    clock.advance(0)
    const [newer] = sim.jobDeployments('web')
    expect(newer.JobVersion).toBe(2)
    expect(sim.deployment(d.ID)).toMatchObject({
      Status: 'cancelled',
      StatusDescription: 'Cancelled due to newer version of job',
      ModifyIndex: newer.CreateIndex,
    })
    // The older deployment's unpromoted canaries stop (cancelUnneededCanaries).
    const old = d.TaskGroups.web.PlacedCanaries ?? []
    expect(old.map((id) => sim.alloc(id)?.DesiredStatus)).toEqual(['stop', 'stop'])
  })
})
