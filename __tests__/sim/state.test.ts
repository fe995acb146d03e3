// The scenario API: what the scheduler, the clients and the deployment watcher
// do to the state on their own, and the canned scenarios.

import { describe, expect, it } from 'vitest'

import { runScenario } from '../../sim/scenarios.js'
import type { GroupSpec, Simulator } from '../../sim/simulator.js'
import { get, put, rollout, start } from './helpers.js'

/** Job `web` version 0 stable, version 1 deploying with the given single group, canaries placed. */
function deploy(
  sim: Simulator,
  group: Partial<GroupSpec> = {},
): { id: string; canaries: string[] } {
  const groups = [{ name: 'web', count: 3, canaries: 2, ...group }]
  sim.registerJob({ id: 'web', groups, spec: 'v0', stable: true })
  const { deploymentId } = sim.rollout('web', { spec: 'v1' })
  return { id: deploymentId, canaries: sim.placeCanaries(deploymentId, 'web') }
}

describe('indexes', () => {
  it('raise one raft index per change and keep one index per table', async () => {
    const sim = await start()
    const { version, index } = sim.registerJob({
      id: 'web',
      groups: [{ name: 'web', count: 1, canaries: 1 }],
    })
    expect([version, index, sim.index()]).toEqual([0, 1, 1])
    expect(sim.tableIndex('jobs')).toBe(1)
    const id = sim.startDeployment('web')
    expect([sim.index(), sim.tableIndex('deployment'), sim.tableIndex('allocs')]).toEqual([2, 2, 0])
    const [alloc] = sim.placeCanaries(id, 'web')
    expect([sim.tableIndex('deployment'), sim.tableIndex('allocs')]).toEqual([3, 3])
    sim.setClientStatus(alloc, 'running')
    expect([sim.tableIndex('deployment'), sim.tableIndex('allocs')]).toEqual([3, 4])
  })

  it('use up a raft index on a failed write but move no table', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const before = { raft: sim.index(), deployment: sim.tableIndex('deployment') }
    const res = await put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, All: true })
    expect(res.status).toBe(500)
    expect(sim.index()).toBe(before.raft + 1)
    expect(sim.tableIndex('deployment')).toBe(before.deployment)
  })
})

describe('jobs and deployments', () => {
  it('numbers job versions from 0; a stable version 0 is running', async () => {
    const sim = await start()
    const groups = [{ name: 'web', count: 1, canaries: 0 }]
    expect(sim.registerJob({ id: 'web', groups, stable: true }).version).toBe(0)
    expect(sim.registerJob({ id: 'web', groups }).version).toBe(1)
    expect(sim.jobVersions('web').map((j) => [j.Version, j.Stable])).toEqual([
      [0, true],
      [1, false],
    ])
    expect(sim.job('web')?.Status).toBe('running')
    sim.markStable('web', 1)
    expect(sim.job('web')?.Stable).toBe(true)
  })

  it('cancel the older active deployment when a new one starts', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const { deploymentId } = sim.rollout('web', { spec: 'v2' })
    expect(sim.deployment(id)).toMatchObject({
      Status: 'cancelled',
      StatusDescription: 'Cancelled due to newer version of job',
    })
    // Both in the one plan: the same index.
    expect(sim.deployment(id)?.ModifyIndex).toBe(sim.deployment(deploymentId)?.CreateIndex)
  })

  it('complete a promoted deployment: successful, its job version stable', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim)
    expect(() => sim.completeDeployment(id)).toThrow('still needs promotion')
    for (const a of canaries) sim.setAllocHealth(a, true)
    await put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, All: true })
    sim.completeDeployment(id)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'successful',
      StatusDescription: 'Deployment completed successfully',
    })
    expect(sim.job('web')).toMatchObject({ Version: 1, Stable: true })
  })

  it('describe an auto-promote deployment, and promote it once every canary is healthy', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim, { autoPromote: true })
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Deployment is running pending automatic promotion',
    )
    sim.setAllocHealth(canaries[0], true)
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(false)
    sim.setAllocHealth(canaries[1], true)
    expect(sim.deployment(id)).toMatchObject({
      StatusDescription: 'Deployment is running',
      TaskGroups: { web: { Promoted: true } },
    })
    expect(sim.changes.at(-1)?.kind).toBe('auto-promote')
  })

  it('do not auto-promote when one canary group is not auto_promote', async () => {
    const sim = await start()
    sim.registerJob({
      id: 'web',
      groups: [
        { name: 'web', count: 2, canaries: 1, autoPromote: true },
        { name: 'api', count: 2, canaries: 1 },
      ],
    })
    const id = sim.startDeployment('web')
    const canaries = [...sim.placeCanaries(id, 'web'), ...sim.placeCanaries(id, 'api')]
    for (const a of canaries) sim.setAllocHealth(a, true)
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(false)
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Deployment is running but requires manual promotion',
    )
  })
})

describe('placement', () => {
  it('places pending allocs without task states until the client reports them running', async () => {
    const sim = await start()
    sim.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }] })
    const id = sim.startDeployment('web')
    const [canary] = sim.placeCanaries(id, 'web', 1, { clientStatus: 'pending' })
    expect(sim.allocation(canary)).toMatchObject({ ClientStatus: 'pending', TaskStates: null })
    sim.setClientStatus(canary, 'running')
    expect(sim.allocation(canary)).toMatchObject({
      ClientStatus: 'running',
      TaskStates: { web: { State: 'running', Failed: false } },
    })
    expect(() => sim.placeCanaries(id, 'nope')).toThrow('has no group nope')
  })
})

describe('client-reported health and the deployment watcher', () => {
  it('an unhealthy canary with a progress deadline (default 10m) leaves the deployment running', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim)
    sim.setAllocHealth(canaries[0], false)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'running',
      TaskGroups: { web: { UnhealthyAllocs: 1 } },
    })
  })

  it('an unhealthy canary fails the deployment without a progress deadline, with auto-revert', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim, { progressDeadlineMs: 0, autoRevert: true })
    sim.setAllocHealth(canaries[0], false)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to unhealthy allocations - rolling back to job version 0',
    })
    expect(sim.job('web')).toMatchObject({ Version: 2, Meta: { spec: 'v0' } })
  })

  it('an unhealthy canary that cannot be rescheduled fails the deployment at once', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim, { reschedule: false })
    sim.setAllocHealth(canaries[1], false)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to unhealthy allocations',
    })
  })

  it('a task that fails before its health is known makes the alloc unhealthy', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim)
    sim.setClientStatus(canaries[0], 'failed')
    expect(sim.allocation(canaries[0])).toMatchObject({
      ClientStatus: 'failed',
      DeploymentStatus: { Healthy: false, Canary: true },
    })
    expect(sim.deployment(id)?.TaskGroups.web.UnhealthyAllocs).toBe(1)
  })

  it('a healthy canary that fails changes the alloc, not the deployment', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim)
    sim.setAllocHealth(canaries[0], true)
    const d = sim.deployment(id)
    sim.setClientStatus(canaries[0], 'failed')
    expect(sim.deployment(id)).toEqual(d)
    expect(sim.allocation(canaries[0])).toMatchObject({
      ClientStatus: 'failed',
      ModifyIndex: sim.index(),
      DeploymentStatus: { Healthy: true },
    })
  })
})

describe('progress deadline', () => {
  it('fails a deployment whose canaries are not healthy', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim, { autoRevert: true })
    sim.setAllocHealth(canaries[0], true)
    expect(sim.expireProgressDeadline(id)).toBe(true)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to progress deadline - rolling back to job version 0',
    })
  })

  it('never fails a paused deployment', async () => {
    const sim = await start()
    const { id } = deploy(sim)
    await put(sim, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: true })
    expect(sim.expireProgressDeadline(id)).toBe(false)
    expect(sim.deployment(id)?.Status).toBe('paused')
  })

  it('never fails a deployment whose canaries are healthy and wait for promotion', async () => {
    const sim = await start()
    const { id, canaries } = deploy(sim, { reschedule: false })
    for (const a of canaries) sim.setAllocHealth(a, true)
    expect(sim.expireProgressDeadline(id)).toBe(false)
    expect(sim.deployment(id)?.Status).toBe('running')
    // The watcher remembers the deadline: a later failure is described as a deadline failure.
    sim.setAllocHealth(canaries[0], false)
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to progress deadline',
    })
  })

  it('fires by itself at RequireProgressBy', async () => {
    const sim = await start()
    const { id } = deploy(sim, { progressDeadlineMs: 30 })
    const failed = new Promise<void>((resolve) =>
      sim.on('change', (c) => c.kind === 'progress-deadline' && resolve()),
    )
    await failed
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to progress deadline',
    })
  })
})

describe('scenarios', () => {
  it('demo: the canaries turn healthy one by one, then promotion passes', async () => {
    const sim = await start()
    const run = runScenario(sim, 'demo', { stepMs: 5 })
    expect(sim.deployment(run.deploymentId)?.TaskGroups.web.HealthyAllocs).toBe(0)
    await run.done
    expect(run.error).toBeUndefined()
    expect(sim.changes.filter((c) => c.kind === 'alloc-health')).toHaveLength(3)
    const id = run.deploymentId
    const res = await put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, All: true })
    expect(res.status).toBe(200)
  })

  it('healthy: promotable from the start', async () => {
    const sim = await start()
    const run = runScenario(sim, 'healthy')
    await run.done
    const d = (await get(sim, `/v1/deployment/${run.deploymentId}`)).json<{
      TaskGroups: Record<string, { HealthyAllocs: number }>
    }>()
    expect([d.TaskGroups.web.HealthyAllocs, d.TaskGroups.api.HealthyAllocs]).toEqual([2, 1])
  })

  it('unhealthy: the second web canary turns unhealthy', async () => {
    const sim = await start()
    const run = runScenario(sim, 'unhealthy', { stepMs: 5 })
    await run.done
    expect(sim.allocation(run.canaries.web[1])?.DeploymentStatus?.Healthy).toBe(false)
    expect(sim.deployment(run.deploymentId)?.TaskGroups.web).toMatchObject({
      HealthyAllocs: 1,
      UnhealthyAllocs: 1,
    })
  })

  it('manual: canaries placed, health left alone; cancel ends a run', async () => {
    const sim = await start()
    const run = runScenario(sim, 'manual')
    await run.done
    expect(sim.allocations(run.deploymentId).map((a) => a.DeploymentStatus?.Healthy)).toEqual([
      null,
      null,
      null,
    ])
    const sim2 = await start()
    const demo = runScenario(sim2, 'demo', { stepMs: 10_000 })
    demo.cancel()
    await demo.done
    expect(sim2.changes.filter((c) => c.kind === 'alloc-health')).toHaveLength(0)
  })
})

describe('scenario helpers and job specs', () => {
  it("take the jobspec's update and reschedule blocks, with Nomad's defaults under them", async () => {
    const sim = await start()
    const run = runScenario(sim, 'manual', {
      update: { progressDeadlineMs: 0, autoRevert: true, maxParallel: 2, minHealthyTimeMs: 5_000 },
      reschedule: { attempts: 3, intervalMs: 60_000, unlimited: false },
    })
    const job = sim.job('web')
    expect(job?.TaskGroups.map((g) => [g.Name, g.Update, g.ReschedulePolicy])).toEqual([
      [
        'web',
        {
          Stagger: 30e9,
          MaxParallel: 2,
          HealthCheck: 'checks',
          MinHealthyTime: 5e9,
          HealthyDeadline: 300e9,
          ProgressDeadline: 0,
          AutoRevert: true,
          AutoPromote: false,
          Canary: 2,
        },
        {
          Attempts: 3,
          Interval: 60e9,
          Delay: 30e9,
          DelayFunction: 'exponential',
          MaxDelay: 3600e9,
          Unlimited: false,
        },
      ],
      ['api', expect.objectContaining({ Canary: 1, MaxParallel: 2 }), expect.anything()],
    ])
    expect(sim.deployment(run.deploymentId)?.TaskGroups.web).toMatchObject({
      AutoRevert: true,
      ProgressDeadline: 0,
      DesiredCanaries: 2,
    })
    // Without a progress deadline the first unhealthy canary fails the deployment and reverts.
    sim.setAllocHealth(run.canaries.web[0], false)
    expect(sim.deployment(run.deploymentId)?.StatusDescription).toBe(
      'Failed due to unhealthy allocations - rolling back to job version 0',
    )
  })
})
