// dist/index.js run as the Actions runner runs it (INPUT_* variables,
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), against the simulator: every
// mode and every result value.

import { afterEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator, type SimulatorOptions } from '../../sim/simulator.js'
import { runAction, startAction } from '../helpers/run.js'
import { caughtUp, request, until } from '../helpers/wait.js'

const sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()))
})

async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator(options)
  sims.push(s)
  return s
}

interface Rollout {
  id: string
  web: string[]
  api: string[]
}

/** Job `web`: version 0 stable, version 1 deploying; groups web (2 canaries) and api (1). */
function rollout(
  s: Simulator,
  options: { namespace?: string; autoRevert?: boolean } = {},
): Rollout {
  const groups = [
    { name: 'web', count: 3, canaries: 2, autoRevert: options.autoRevert },
    { name: 'api', count: 2, canaries: 1, autoRevert: options.autoRevert },
  ]
  s.registerJob({ id: 'web', namespace: options.namespace, groups, spec: 'v0', stable: true })
  const { deploymentId } = s.rollout('web', { namespace: options.namespace, spec: 'v1' })
  return {
    id: deploymentId,
    web: s.placeCanaries(deploymentId, 'web'),
    api: s.placeCanaries(deploymentId, 'api'),
  }
}

function healthy(s: Simulator, ids: string[]) {
  for (const id of ids) s.setAllocHealth(id, true)
}

/** Resolves once the gate holds a blocking query on the allocations. */
function watching(s: Simulator) {
  return caughtUp(s, undefined)
}

/** The index of the simulator's last change. */
const lastChange = (s: Simulator) => s.changes.at(-1)!.index

const writes = (s: Simulator) => s.writes().map((w) => `${w.method} ${w.path.split('/')[3]}`)

describe('promote', () => {
  it('promotes all groups once every canary is healthy, with every output', async () => {
    const s = await sim()
    const r = rollout(s)
    const run = startAction({ address: s.address, 'deployment-id': r.id })
    await watching(s)
    healthy(s, [r.web[0], r.api[0]])
    // Only once the gate has taken in that change and waits for the next one
    // does "no write" mean that it judged web 1/2 not ready.
    await caughtUp(s, r.id, lastChange(s), { deployment: true })
    // With the event stream, the stream having sent the change is not the gate
    // having judged it: its log line is.
    await until(
      () => /web: canary [0-9a-f]{8} is healthy \(1\/2 healthy\)/.test(run.stdout()),
      'the gate logging web 1/2 healthy',
    )
    expect(writes(s), 'no write while web is 1/2 healthy').toEqual([])
    healthy(s, [r.web[1]])
    const res = await run.done
    expect(res.code).toBe(0)
    expect(s.writes()).toHaveLength(1)
    expect(s.writes()[0].body).toEqual({ DeploymentID: r.id, All: true, Groups: null })
    const o = res.outputs
    expect(o.result).toBe('promoted')
    expect(o['deployment-id']).toBe(r.id)
    expect(o['job-id']).toBe('web')
    expect(o['job-version']).toBe('1')
    expect(o.namespace).toBe('default')
    expect(o.status).toBe('running')
    expect(o['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number(o['eval-create-index'])).toBeGreaterThan(0)
    expect(Number(o['deployment-modify-index'])).toBe(s.deployment(r.id)!.ModifyIndex)
    expect(Number(o.index)).toBeGreaterThan(0)
    expect(o['reverted-job-version']).toBe('')
    expect(o['healthy-canaries']).toBe('3')
    expect(o['desired-canaries']).toBe('3')
    expect(JSON.parse(o.groups)).toEqual([
      {
        name: 'api',
        desiredCanaries: 1,
        placedCanaries: 1,
        healthyCanaries: 1,
        unhealthyCanaries: 0,
        promoted: true,
      },
      {
        name: 'web',
        desiredCanaries: 2,
        placedCanaries: 2,
        healthyCanaries: 2,
        unhealthyCanaries: 0,
        promoted: true,
      },
    ])
    expect(s.deployment(r.id)!.TaskGroups.web.Promoted).toBe(true)
    // Progress: one line per canary health change, then the result.
    expect(res.stdout).toMatch(/web: canary [0-9a-f]{8} is healthy \(1\/2 healthy\)/)
    expect(res.stdout).toMatch(/web: canary [0-9a-f]{8} is healthy \(2\/2 healthy\)/)
    expect(res.stdout).toMatch(/passed: promoted in/)
    expect(res.summary).toContain('| web | 2 | 2 | 2 | 0 | yes |')
    expect(res.summary).toContain('`promoted`')
  })

  it('promotes exactly the given groups when the others are not ready', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, r.web)
    const res = await runAction({
      address: s.address,
      'deployment-id': r.id.slice(0, 8),
      groups: 'web',
    })
    expect(res.outputs.result).toBe('promoted')
    expect(s.writes().map((w) => w.body)).toEqual([
      { DeploymentID: r.id, All: false, Groups: ['web'] },
    ])
    expect(s.deployment(r.id)!.TaskGroups.api.Promoted).toBe(false)
  })

  it('does not promote twice: already promoted succeeds with no write', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, [...r.web, ...r.api])
    s.apiPromote(r.id, true, [])
    const res = await runAction({ address: s.address, job: 'web' })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('already-promoted')
    expect(res.outputs['eval-id']).toBe('')
    expect(s.writes()).toHaveLength(0)
  })

  it('waits for completion after promoting', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, [...r.web, ...r.api])
    const run = startAction({ address: s.address, job: 'web', 'wait-for-completion': 'true' })
    await until(() => s.deployment(r.id)!.TaskGroups.web.Promoted, 'the promote applied')
    // Waiting for completion: the gate follows the deployment past its promote.
    await caughtUp(s, r.id, s.deployment(r.id)!.ModifyIndex, { deployment: true })
    s.completeDeployment(r.id)
    const res = await run.done
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('promoted')
    expect(res.outputs.status).toBe('successful')
    expect(res.outputs.message).toContain('deployment successful')
  })

  it('fails the step when the deployment fails after promotion, with wait-for-completion', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, [...r.web, ...r.api])
    const run = startAction({ address: s.address, job: 'web', 'wait-for-completion': 'true' })
    await until(() => s.deployment(r.id)!.TaskGroups.web.Promoted, 'the promote applied')
    // Waiting for completion: the gate follows the deployment past its promote.
    await caughtUp(s, r.id, s.deployment(r.id)!.ModifyIndex, { deployment: true })
    s.apiFail(r.id)
    const res = await run.done
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('deployment-failed')
    expect(writes(s)).toEqual(['PUT promote'])
  })
})

describe('failures while gating', () => {
  it('unhealthy canary fails at once with the counts, and on-failure fail auto-reverts', async () => {
    const s = await sim()
    const r = rollout(s, { autoRevert: true })
    const run = startAction({ address: s.address, job: 'web', 'on-failure': 'fail', timeout: '1m' })
    await watching(s)
    healthy(s, [r.web[0]])
    s.setAllocHealth(r.web[1], false)
    const res = await run.done
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('unhealthy')
    expect(res.stdout).toContain('web 1/2 healthy (1 unhealthy)')
    expect(res.stdout).toMatch(/::error::.*unhealthy/)
    expect(writes(s)).toEqual(['PUT fail'])
    expect(res.outputs['reverted-job-version']).toBe('0')
    expect(res.outputs.status).toBe('failed')
    expect(res.ms).toBeLessThan(5_000)
  })

  // A deadline the gate ignores must fail these tests on their own bound (the
  // step killed after 5 s), well before vitest's timeout.
  const DEADLINE_BOUND = { limitMs: 5_000 }

  it('times out with the counts, and on-failure pause pauses', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, [r.web[0]])
    const res = await runAction(
      { address: s.address, 'deployment-id': r.id, timeout: '1s', 'on-failure': 'pause' },
      {},
      DEADLINE_BOUND,
    )
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('timed-out')
    expect(res.outputs.message).toContain('api 0/1 healthy, web 1/2 healthy')
    expect(writes(s)).toEqual(['PUT pause'])
    expect(res.outputs.status).toBe('paused')
    expect(res.ms).toBeGreaterThanOrEqual(1_000)
    expect(res.ms).toBeLessThan(4_000)
  })

  it('times out with the counts, and on-failure fail fails the deployment (auto-revert)', async () => {
    const s = await sim()
    const r = rollout(s, { autoRevert: true })
    healthy(s, [r.web[0], r.api[0]])
    const res = await runAction(
      { address: s.address, 'deployment-id': r.id, timeout: '1s', 'on-failure': 'fail' },
      {},
      DEADLINE_BOUND,
    )
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('timed-out')
    expect(res.outputs.message).toContain('api 1/1 healthy, web 1/2 healthy')
    expect(writes(s)).toEqual(['PUT fail'])
    expect(s.writes()[0].body).toEqual({ DeploymentID: r.id })
    expect(res.outputs.status).toBe('failed')
    expect(res.outputs['reverted-job-version']).toBe('0')
    expect(res.outputs['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.deployment(r.id)!.Status).toBe('failed')
    expect(res.ms).toBeGreaterThanOrEqual(1_000)
    expect(res.ms).toBeLessThan(4_000)
  })

  it('times out without a write when on-failure is none', async () => {
    const s = await sim()
    const r = rollout(s)
    const res = await runAction(
      { address: s.address, 'deployment-id': r.id, timeout: '500ms' },
      {},
      DEADLINE_BOUND,
    )
    expect(res.outputs.result).toBe('timed-out')
    expect(s.writes()).toHaveLength(0)
    expect(res.ms).toBeGreaterThanOrEqual(500)
    expect(res.ms).toBeLessThan(3_500)
  })

  for (const status of ['failed', 'lost'] as const) {
    it(`a healthy canary whose allocation is ${status} no longer counts: no promotion`, async () => {
      const s = await sim()
      const r = rollout(s)
      const run = startAction(
        { address: s.address, 'deployment-id': r.id, timeout: '2s' },
        {},
        DEADLINE_BOUND,
      )
      await watching(s)
      healthy(s, [r.web[0], r.api[0]])
      await caughtUp(s, r.id, lastChange(s), { deployment: true })
      // The canary dies; Nomad keeps its Healthy flag (and the HealthyAllocs counter).
      s.setClientStatus(r.web[0], status)
      expect(s.allocation(r.web[0])!.DeploymentStatus!.Healthy).toBe(true)
      await caughtUp(s, r.id, lastChange(s))
      // Its replacement's worth: the other web canary turns healthy. 1 of 2 alive.
      healthy(s, [r.web[1]])
      const res = await run.done
      expect(writes(s), 'no promote: only 1 of the 2 web canaries is alive and healthy').toEqual([])
      expect(res.code).toBe(1)
      expect(res.outputs.result).toBe('timed-out')
      expect(res.outputs.message).toContain('api 1/1 healthy, web 1/2 healthy')
      expect(res.outputs['healthy-canaries']).toBe('2')
      expect(res.stdout).toMatch(
        new RegExp(`web: canary ${r.web[0].slice(0, 8)} is no longer running \\(${status}\\)`),
      )
      expect(s.deployment(r.id)!.TaskGroups.web.Promoted).toBe(false)
    })
  }

  it('a deployment that fails while gated fails the step', async () => {
    const s = await sim()
    const r = rollout(s)
    const run = startAction({ address: s.address, job: 'web' })
    await watching(s)
    s.apiFail(r.id)
    const res = await run.done
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('deployment-failed')
    expect(res.outputs.message).toContain('Deployment marked as failed')
    expect(s.writes()).toHaveLength(0)
  })

  it('a newer deployment of the job supersedes the gated one', async () => {
    const s = await sim()
    const r = rollout(s)
    const run = startAction({ address: s.address, job: 'web', 'job-version': '1' })
    await watching(s)
    s.rollout('web', { spec: 'v2' })
    const res = await run.done
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('deployment-failed')
    expect(res.outputs['deployment-id']).toBe(r.id)
    expect(res.outputs.message).toContain('superseded by a newer deployment')
    expect(s.writes()).toHaveLength(0)
  })
})

describe('targets', () => {
  it('job-version waits for that version, then gates it', async () => {
    const s = await sim()
    const r = rollout(s)
    const run = startAction({ address: s.address, job: 'web', 'job-version': '2', mode: 'wait' })
    // Version 2 is not registered yet: the gate holds a query on the job.
    await request(
      s,
      'the gate holding a blocking query on the job',
      (q) => q.path === '/v1/job/web' && q.query.index !== undefined,
    )
    const { deploymentId } = s.rollout('web', { spec: 'v2' })
    const web = s.placeCanaries(deploymentId, 'web')
    const api = s.placeCanaries(deploymentId, 'api')
    healthy(s, [...web, ...api])
    const res = await run.done
    expect(res.outputs.result).toBe('promotable')
    expect(res.outputs['deployment-id']).toBe(deploymentId)
    expect(res.outputs['deployment-id']).not.toBe(r.id)
    expect(res.stdout).toContain('Waiting for job "web" to get version 2 (now version 1)')
  })

  it('job-version older than the latest deployment is refused', async () => {
    const s = await sim()
    rollout(s)
    const res = await runAction({ address: s.address, job: 'web', 'job-version': '0' })
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('deployment-failed')
    expect(res.stdout).toContain('newer than job-version 0')
    expect(s.writes()).toHaveLength(0)
  })

  it('namespace and region reach every request', async () => {
    const s = await sim({ namespaces: ['default', 'prod'], region: 'eu' })
    const r = rollout(s, { namespace: 'prod' })
    healthy(s, [...r.web, ...r.api])
    const res = await runAction({ address: s.address, job: 'web', namespace: 'prod', region: 'eu' })
    expect(res.outputs.result).toBe('promoted')
    expect(res.outputs.namespace).toBe('prod')
    for (const q of s.requests) expect(q.query).toMatchObject({ namespace: 'prod', region: 'eu' })
  })

  it('a job that does not exist is named as such', async () => {
    const s = await sim()
    const res = await runAction({ address: s.address, job: 'nope' })
    expect(res.outputs.result).toBe('error')
    expect(res.stdout).toContain('Job "nope" not found')
  })

  it('a deployment ID of another namespace is refused (Nomad serves it by ID regardless)', async () => {
    const s = await sim({ namespaces: ['default', 'prod'] })
    const r = rollout(s, { namespace: 'prod' })
    healthy(s, [...r.web, ...r.api])
    const res = await runAction({ address: s.address, 'deployment-id': r.id, namespace: 'default' })
    expect(res.code).toBe(1)
    expect(res.stdout).toContain('is in namespace "prod", not "default"')
    expect(s.writes()).toHaveLength(0)
  })

  it('an unknown deployment fails with result error and says what to check', async () => {
    const s = await sim()
    rollout(s)
    const res = await runAction({ address: s.address, 'deployment-id': 'ffffffff' })
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('error')
    expect(res.stdout).toContain('No deployment ID starts with "ffffffff"')
  })

  it('an unknown group is refused before any write', async () => {
    const s = await sim()
    const r = rollout(s)
    const res = await runAction({ address: s.address, 'deployment-id': r.id, groups: 'web,nope' })
    expect(res.code).toBe(1)
    expect(res.stdout).toContain(`has no task group "nope"; its groups are api, web`)
    expect(s.writes()).toHaveLength(0)
  })

  it('a bad input fails before the first request, naming the input', async () => {
    const s = await sim()
    const res = await runAction({ address: s.address, job: 'web', timeout: 'soon' })
    expect(res.code).toBe(1)
    expect(res.stdout).toMatch(/::error::Input 'timeout'/)
    expect(res.outputs.result).toBe('error')
    expect(s.requests).toHaveLength(0)
  })
})

describe('other modes', () => {
  it('wait: promotable, no write', async () => {
    const s = await sim()
    const r = rollout(s)
    healthy(s, [...r.web, ...r.api])
    const res = await runAction({ address: s.address, job: 'web', mode: 'wait' })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('promotable')
    expect(s.writes()).toHaveLength(0)
  })

  it('fail: fails at once and reports the auto-revert version', async () => {
    const s = await sim()
    const r = rollout(s, { autoRevert: true })
    const res = await runAction({ address: s.address, 'deployment-id': r.id, mode: 'fail' })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('failed')
    expect(res.outputs['reverted-job-version']).toBe('0')
    expect(res.outputs['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.deployment(r.id)!.Status).toBe('failed')
  })

  it('pause, then resume', async () => {
    const s = await sim()
    const r = rollout(s)
    const paused = await runAction({ address: s.address, job: 'web', mode: 'pause' })
    expect(paused.outputs.result).toBe('paused')
    expect(paused.outputs['eval-id']).toBe('') // pausing creates no evaluation
    expect(s.deployment(r.id)!.Status).toBe('paused')
    const resumed = await runAction({ address: s.address, job: 'web', mode: 'resume' })
    expect(resumed.outputs.result).toBe('resumed')
    expect(resumed.outputs['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(s.deployment(r.id)!.Status).toBe('running')
    expect(s.writes().map((w) => w.body)).toEqual([
      { DeploymentID: r.id, Pause: true },
      { DeploymentID: r.id, Pause: false },
    ])
  })

  it('health: marks every placed canary healthy once they run', async () => {
    const s = await sim()
    const r = rollout(s)
    const res = await runAction({
      address: s.address,
      job: 'web',
      mode: 'health',
      'healthy-allocs': 'canaries',
      groups: 'web',
    })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('health-set')
    expect(s.writes()[0].body).toEqual({
      DeploymentID: r.id,
      HealthyAllocationIDs: [...r.web],
      UnhealthyAllocationIDs: [],
    })
    for (const id of r.web) expect(s.allocation(id)!.DeploymentStatus!.Healthy).toBe(true)
  })

  it('health: marks a canary unhealthy by ID prefix', async () => {
    const s = await sim()
    const r = rollout(s)
    const res = await runAction({
      address: s.address,
      job: 'web',
      mode: 'health',
      'unhealthy-allocs': r.api[0].slice(0, 8),
    })
    expect(res.outputs.result).toBe('health-set')
    expect(s.writes()[0].body).toMatchObject({
      UnhealthyAllocationIDs: [r.api[0]],
      HealthyAllocationIDs: [],
    })
  })

  it('health: an ID that is not a canary of the deployment is refused, no write', async () => {
    const s = await sim()
    rollout(s)
    const res = await runAction({
      address: s.address,
      job: 'web',
      mode: 'health',
      'healthy-allocs': 'abcdef12',
    })
    expect(res.code).toBe(1)
    expect(res.stdout).toContain(`Input 'healthy-allocs': "abcdef12" is not a placed canary`)
    expect(s.writes()).toHaveLength(0)
  })
})

describe('cancellation', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a held blocking query exits at once without a write`, async () => {
      const s = await sim()
      rollout(s)
      const run = startAction({ address: s.address, job: 'web' })
      await watching(s)
      const t0 = performance.now()
      run.child.kill(signal)
      const res = await run.done
      expect(performance.now() - t0).toBeLessThan(1_000)
      expect(res.code).toBe(1)
      expect(res.outputs.result).toBe('cancelled')
      expect(res.stdout).toContain(`Received ${signal}`)
      expect(s.writes()).toHaveLength(0)
    })
  }
})
