// Real rollouts: the sequences a deployment goes through that a static picture
// misses, each pinned by the bug it once was (issue "Real rollouts"). The gate
// runs in-process against the simulator; what Nomad did is read from the
// simulator's own state and request log.

import { describe, expect, it } from 'vitest'
import type { Simulator } from '../sim/simulator.js'
import { Lab, healthy, holding, rollout } from './reliability/helpers.js'
import { startGate } from './reliability/inprocess.js'
import { until } from './helpers/wait.js'

const promotes = (s: Simulator) => s.writes().filter((w) => w.path.includes('/promote/'))

/** Runs `act` when a request matching `pred` arrives, before Nomad handles it (once). */
function onArrival(
  s: Simulator,
  pred: (r: Simulator['requests'][number]) => boolean,
  act: () => void,
) {
  let done = false
  return s.waitForRequest((r) => {
    if (done || !pred(r)) return false
    done = true
    act()
    return true
  }, 10_000)
}

const isPromote = (r: Simulator['requests'][number]) =>
  r.method === 'PUT' && r.path.includes('/promote/')

/**
 * Resolves once the gate holds a blocking query matching `pred`, or has ended
 * (then the test's assertions on its outcome say what went wrong).
 */
function heldOrDone(
  s: Simulator,
  done: Promise<unknown>,
  pred: (r: Simulator['requests'][number]) => boolean,
): Promise<unknown> {
  const held = s.waitForRequest((r) => r.query.index !== undefined && pred(r), 10_000)
  return Promise.race([held, done]).finally(() => held.catch(() => undefined))
}

describe('the deployment the user means', () => {
  it('with job and no job-version, waits for the current version instead of passing on the previous deployment', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    // Version 0 deployed: its canary promoted, its deployment successful.
    s.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }], spec: 'v0' })
    const d0 = s.startDeployment('web')
    healthy(s, s.placeCanaries(d0, 'web'))
    s.apiPromote(d0, true, [])
    s.completeDeployment(d0)
    // `nomad job run` of version 1: registered, its deployment not created yet.
    s.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 2 }], spec: 'v1' })
    const gate = startGate({ address: s.address, job: 'web', timeout: '10s' })
    await heldOrDone(s, gate.done, (r) => r.path === '/v1/job/web/deployments')
    const d1 = s.startDeployment('web')
    healthy(s, s.placeCanaries(d1, 'web'))
    const { outcome, lines } = await gate.done
    expect(outcome.result).toBe('promoted')
    expect(outcome.deployment?.ID).toBe(d1)
    expect(outcome.deployment?.JobVersion).toBe(1)
    expect(lines.join('\n')).toContain(
      'Waiting for job "web" version 1 to get a deployment (latest: version 0, successful)',
    )
    expect(s.deployment(d0)!.Status).toBe('successful')
    expect(promotes(s).map((w) => w.path)).toEqual([`/v1/deployment/promote/${d1}`])
  })

  it('a newer version that gets its deployment first fails the step, naming both versions', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    s.registerJob({
      id: 'web',
      groups: [{ name: 'web', count: 3, canaries: 1 }],
      spec: 'v0',
      stable: true,
    })
    s.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }], spec: 'v1' })
    const gate = startGate({ address: s.address, job: 'web', timeout: '10s' })
    await heldOrDone(s, gate.done, (r) => r.path === '/v1/job/web/deployments')
    // Someone else runs version 2 before version 1's evaluation made a deployment.
    const { deploymentId } = s.rollout('web', { spec: 'v2' })
    const { outcome } = await gate.done
    expect(outcome.result).toBe('deployment-failed')
    expect(outcome.message).toContain(
      `has a deployment of version 2 (${deploymentId}), newer than version 1`,
    )
    expect(s.writes()).toHaveLength(0)
  })
})

describe('a promote that Nomad refuses', () => {
  it('is not an error: the gate reads again, and the next decision (here: unhealthy) applies on-failure', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    const gate = startGate({
      address: s.address,
      'deployment-id': r.id,
      'on-failure': 'fail',
      timeout: '10s',
    })
    await holding(s)
    // A canary turns unhealthy between the gate's read and its promote.
    const arrived = onArrival(s, isPromote, () => s.setAllocHealth(r.web[1], false))
    healthy(s, [r.web[1]])
    await arrived
    const { outcome, lines } = await gate.done
    expect(lines.join('\n')).toMatch(
      /Nomad refused the promote \(Task group "web" has 1\/2 healthy allocations\)/,
    )
    expect(outcome.result).toBe('unhealthy')
    expect(outcome.message).toContain('web 1/2 healthy (1 unhealthy)')
    // on-failure applied, and the outputs show the state at the end.
    expect(s.deployment(r.id)!.Status).toBe('failed')
    expect(outcome.deployment?.Status).toBe('failed')
    expect(outcome.groups.find((g) => g.name === 'web')?.healthyCanaries).toBe(1)
    expect(s.writes().map((w) => w.path.split('/')[3])).toEqual(['promote', 'fail'])
  })

  it('a canary that dies at the promote: refused, then the deadline and on-failure decide', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    const gate = startGate({
      address: s.address,
      'deployment-id': r.id,
      'on-failure': 'pause',
      timeout: '1500ms',
    })
    await holding(s)
    const arrived = onArrival(s, isPromote, () => s.setClientStatus(r.web[0], 'failed'))
    healthy(s, [r.web[1]])
    await arrived
    const { outcome } = await gate.done
    expect(outcome.result).toBe('timed-out')
    expect(outcome.message).toBe(
      `Timed out after 1.5s: api 1/1 healthy, web 1/2 healthy (1 stopped). Paused deployment ${r.id.slice(0, 8)} after the deadline (on-failure: pause)`,
    )
    expect(outcome.deployment?.Status).toBe('paused')
    // One refused promote, never sent again while nothing changed, then on-failure.
    expect(s.writes().map((w) => `${w.path.split('/')[3]} ${w.status}`)).toEqual([
      'promote 500',
      'pause 200',
    ])
  })
})

describe("the server's promotion rule", () => {
  it('re-checks promoted groups: no promote that Nomad would refuse', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.web)
    s.apiPromote(r.id, false, ['web']) // an operator promotes web alone
    s.setClientStatus(r.web[0], 'failed') // then one of its canaries dies
    const gate = startGate({ address: s.address, 'deployment-id': r.id, timeout: '1s' })
    await holding(s)
    healthy(s, [r.api[0]])
    const { outcome } = await gate.done
    expect(outcome.result).toBe('timed-out')
    expect(outcome.message).toBe(
      'Timed out after 1s: api 1/1 healthy, web 1/2 healthy (1 stopped) (promoted)',
    )
    expect(promotes(s)).toHaveLength(0)
  })

  it('promotes when a replaced canary left enough healthy ones (unhealthy ones do not count against it)', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    s.setAllocHealth(r.web[1], false)
    const [replacement] = s.placeCanaries(r.id, 'web', 1)
    healthy(s, [r.web[0], replacement, r.api[0]])
    const { outcome } = await startGate({
      address: s.address,
      'deployment-id': r.id,
      timeout: '5s',
    }).done
    expect(outcome.result).toBe('promoted')
    expect(outcome.message).toBe('Promoted: api 1/1 healthy, web 2/2 healthy (1 unhealthy)')
  })
})

describe('canaries are the deployment’s PlacedCanaries', () => {
  it('auto_promote: the gate waits for Nomad to promote and reports it with the right counts', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const groups = [
      { name: 'web', count: 3, canaries: 2, autoPromote: true },
      { name: 'api', count: 2, canaries: 1, autoPromote: true },
    ]
    s.registerJob({ id: 'web', groups, spec: 'v0', stable: true })
    const { deploymentId } = s.rollout('web', { spec: 'v1' })
    const web = s.placeCanaries(deploymentId, 'web')
    const api = s.placeCanaries(deploymentId, 'api')
    const gate = startGate({ address: s.address, 'deployment-id': deploymentId, timeout: '5s' })
    await holding(s)
    healthy(s, [...web, ...api])
    const { outcome } = await gate.done
    expect(outcome.result).toBe('already-promoted')
    expect(outcome.message).toBe(
      'Already promoted: api 1/1 healthy (promoted), web 2/2 healthy (promoted)',
    )
    expect(outcome.groups.map((g) => g.healthyCanaries)).toEqual([1, 2])
    expect(s.writes()).toHaveLength(0)
  })

  it('health mode: the outputs count the canaries the step just marked healthy', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    const { outcome } = await startGate({
      address: s.address,
      'deployment-id': r.id,
      mode: 'health',
      groups: 'web',
      'healthy-allocs': 'canaries',
      timeout: '5s',
    }).done
    expect(outcome.result).toBe('health-set')
    expect(outcome.message).toMatch(/^Marked 2 healthy/)
    expect(outcome.groups).toMatchObject([{ name: 'web', healthyCanaries: 2, desiredCanaries: 2 }])
    expect(outcome.index).toBeGreaterThanOrEqual(s.deployment(r.id)!.ModifyIndex)
  })
})

describe('on-unhealthy-canary', () => {
  it('fail-fast (the default): an unhealthy canary ends the step at once', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    const gate = startGate({ address: s.address, 'deployment-id': r.id, timeout: '10s' })
    await holding(s)
    s.setAllocHealth(r.web[1], false)
    const { outcome } = await gate.done
    expect(outcome.result).toBe('unhealthy')
    expect(outcome.elapsedMs).toBeLessThan(5_000)
  })

  it('wait-for-replacement: waits while Nomad replaces the canary, and passes on the replacement', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    const gate = startGate({
      address: s.address,
      'deployment-id': r.id,
      'on-unhealthy-canary': 'wait-for-replacement',
      'on-failure': 'fail',
      timeout: '10s',
    })
    await holding(s)
    s.setAllocHealth(r.web[1], false)
    // The gate keeps waiting; Nomad places a replacement canary.
    await until(
      () => gate.lines.some((l) => l.includes('waiting for Nomad to replace it')),
      'the gate waiting for the unhealthy canary to be replaced',
    )
    const [replacement] = s.placeCanaries(r.id, 'web', 1)
    healthy(s, [replacement])
    const { outcome, lines } = await gate.done
    expect(lines.join('\n')).toMatch(/reported unhealthy; waiting for Nomad to replace it/)
    expect(outcome.result).toBe('promoted')
    expect(s.writes().map((w) => w.path.split('/')[3])).toEqual(['promote'])
    expect(s.deployment(r.id)!.TaskGroups.web.PlacedCanaries).toHaveLength(3)
  })

  it('wait-for-replacement: a deployment that Nomad fails still ends the step', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    s.registerJob({
      id: 'web',
      groups: [{ name: 'web', count: 2, canaries: 1 }],
      spec: 'v0',
      stable: true,
    })
    const { deploymentId } = s.rollout('web', {
      spec: 'v1',
      groups: [{ name: 'web', count: 2, canaries: 1, reschedule: false }],
    })
    const [canary] = s.placeCanaries(deploymentId, 'web')
    const gate = startGate({
      address: s.address,
      'deployment-id': deploymentId,
      'on-unhealthy-canary': 'wait-for-replacement',
      timeout: '10s',
    })
    await holding(s)
    s.setAllocHealth(canary, false) // no reschedule: Nomad fails the deployment
    const { outcome } = await gate.done
    expect(outcome.result).toBe('deployment-failed')
    expect(outcome.message).toContain('Failed due to unhealthy allocations')
  })
})

describe('another actor promotes at the same moment', () => {
  it('the gate that sees the promotion land before its own reports already-promoted', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    const gate = startGate({ address: s.address, 'deployment-id': r.id, timeout: '10s' })
    await holding(s)
    // The gate's promote is slow to reach the leader; an operator's lands first.
    s.injectFault({ kind: 'delay', ms: 150, method: 'PUT', path: '/v1/deployment/promote/' })
    const arrived = onArrival(s, isPromote, () => s.apiPromote(r.id, true, []))
    healthy(s, [r.web[1]])
    await arrived
    const { outcome } = await gate.done
    expect(outcome.result).toBe('already-promoted')
    expect(outcome.ok).toBe(true)
    expect(outcome.message).toMatch(
      /^Already promoted by someone else \(index \d+\) before this gate's promote/,
    )
  })
})

describe('progress while waiting', () => {
  it('says what each group waits for and the time left, on each change and while nothing changes', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    s.registerJob({
      id: 'web',
      groups: [
        { name: 'web', count: 3, canaries: 2 },
        { name: 'api', count: 2, canaries: 1 },
      ],
      spec: 'v0',
      stable: true,
    })
    const { deploymentId } = s.rollout('web', { spec: 'v1' })
    const web = s.placeCanaries(deploymentId, 'web', 2, { clientStatus: 'pending' })
    const gate = startGate(
      { address: s.address, 'deployment-id': deploymentId, timeout: '2s' },
      { progressMs: 150 },
    )
    await holding(s)
    s.setClientStatus(web[0], 'running')
    const { outcome, lines } = await gate.done
    const log = lines.join('\n')
    expect(outcome.result).toBe('timed-out')
    expect(log).toMatch(
      /api: waiting for placement; web: 0\/2 healthy, 2 placed, not started yet \(\d.*s left\)/,
    )
    expect(log).toMatch(/web: canary [0-9a-f]{8} is running, no health yet \(0\/2 healthy\)/)
    expect(log).toMatch(
      /api: waiting for placement; web: 0\/2 healthy, 1 running with no health yet, 1 placed, not started yet \(\d.*s left\)/,
    )
    // Nothing changed after that: repeated lines, at least one every 150 ms.
    const waiting = lines.filter((l) => l.includes('1 running with no health yet, 1 placed'))
    expect(waiting.length).toBeGreaterThanOrEqual(5)
  })
})
