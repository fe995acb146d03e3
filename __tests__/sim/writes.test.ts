// The write endpoints of nomad-api.md: bodies, answers, error texts and what
// each write does to the deployment, over HTTP.

import { request } from 'node:http'

import { describe, expect, it } from 'vitest'

import type { AllocListStub, Deployment, DeploymentUpdateResponse } from '../../src/nomad/types.js'
import type { Simulator } from '../../sim/simulator.js'
import { call, get, put, rollout, start } from './helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const promote = (sim: Simulator, id: string, body: Record<string, unknown> = { All: true }) =>
  put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, ...body })

const health = (sim: Simulator, id: string, healthy: string[], unhealthy: string[] = []) =>
  put(sim, `/v1/deployment/allocation-health/${id}`, {
    DeploymentID: id,
    HealthyAllocationIDs: healthy,
    UnhealthyAllocationIDs: unhealthy,
  })

/** A job whose version 0 is stable and version 1 deploys group `web` (2 canaries) with auto_revert. */
function revertible(sim: Simulator, v1Spec = 'v1'): { id: string; canaries: string[] } {
  const groups = [{ name: 'web', count: 3, canaries: 2, autoRevert: true }]
  sim.registerJob({ id: 'web', groups, spec: 'v0', stable: true })
  const { deploymentId } = sim.rollout('web', { spec: v1Spec })
  return { id: deploymentId, canaries: sim.placeCanaries(deploymentId, 'web') }
}

describe('write answers', () => {
  it('answer {EvalID, EvalCreateIndex, DeploymentModifyIndex, RevertedJobVersion, Index} and X-Nomad-Index', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    const res = await promote(sim, id)
    expect(res.status).toBe(200)
    const body = res.json<DeploymentUpdateResponse>()
    expect(Object.keys(body)).toEqual([
      'EvalID',
      'EvalCreateIndex',
      'DeploymentModifyIndex',
      'RevertedJobVersion',
      'Index',
    ])
    expect(body).toEqual({
      EvalID: expect.stringMatching(UUID),
      EvalCreateIndex: sim.index(),
      DeploymentModifyIndex: sim.index(),
      RevertedJobVersion: null,
      Index: sim.index(),
    })
    expect(res.headers.get('x-nomad-index')).toBe(String(body.Index))
    // Writes set only the index (deployment_endpoint.go setIndex), not the query meta.
    expect(res.headers.get('x-nomad-knownleader')).toBeNull()
  })

  it('take PUT and POST alike, and refuse GET with 405', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const body = { DeploymentID: id, Pause: true }
    expect((await call(sim, 'POST', `/v1/deployment/pause/${id}`, body)).status).toBe(200)
    expect((await call(sim, 'PUT', `/v1/deployment/pause/${id}`, body)).status).toBe(200)
    const res = await get(sim, `/v1/deployment/pause/${id}`)
    expect([res.status, res.text]).toEqual([405, 'Invalid method'])
  })
})

describe('write bodies', () => {
  it.each(['promote', 'pause', 'allocation-health'])(
    '%s needs a body: 400 `Request body is empty`',
    async (op) => {
      const sim = await start()
      const { id } = rollout(sim)
      const res = await put(sim, `/v1/deployment/${op}/${id}`)
      expect([res.status, res.text]).toEqual([400, 'Request body is empty'])
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    },
  )

  it('needs the body DeploymentID, equal to the path', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const other = '00000000-0000-4000-8000-000000000000'
    let res = await put(sim, `/v1/deployment/promote/${id}`, { All: true })
    expect([res.status, res.text]).toEqual([400, 'DeploymentID must be specified'])
    res = await put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: other, All: true })
    expect([res.status, res.text]).toEqual([400, 'Deployment ID does not match'])
  })

  it('answers malformed JSON with 400 and the Go decoder text', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    let res = await put(sim, `/v1/deployment/pause/${id}`, '{"DeploymentID": ')
    expect([res.status, res.text]).toEqual([400, 'unexpected EOF'])
    res = await put(sim, `/v1/deployment/pause/${id}`, `{"DeploymentID": "${id}", "Pause": "yes"}`)
    expect([res.status, res.text]).toEqual([
      400,
      'json: cannot unmarshal string into Go struct field DeploymentPauseRequest.Pause of type bool',
    ])
  })

  it('answers an empty chunked body with 400 `EOF` (a body, but no JSON)', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const answer = await new Promise<[number, string]>((resolve, reject) => {
      const req = request(
        `${sim.address}/v1/deployment/promote/${id}`,
        { method: 'PUT' },
        (res) => {
          let text = ''
          res.on('data', (c: Buffer) => (text += c.toString()))
          res.on('end', () => resolve([res.statusCode ?? 0, text]))
        },
      )
      req.on('error', reject)
      req.setHeader('Transfer-Encoding', 'chunked')
      req.end()
    })
    expect(answer).toEqual([400, 'EOF'])
  })

  it('matches body field names regardless of case, as Go does', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await put(sim, `/v1/deployment/pause/${id}`, { deploymentid: id, pause: true })
    expect(res.status).toBe(200)
    expect(sim.deployment(id)?.Status).toBe('paused')
  })

  it('fail takes no body at all (even a broken one)', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    expect((await put(sim, `/v1/deployment/fail/${id}`)).status).toBe(200)
    const sim2 = await start()
    const { id: id2 } = rollout(sim2)
    expect((await put(sim2, `/v1/deployment/fail/${id2}`, 'not json')).status).toBe(200)
  })
})

describe('writes to a deployment that cannot take them', () => {
  it.each([
    ['promote', { All: true }],
    ['pause', { Pause: true }],
    ['fail', {}],
    ['allocation-health', { HealthyAllocationIDs: ['00000000-0000-4000-8000-000000000001'] }],
  ])('%s to an unknown deployment: 500 `deployment not found`', async (op, body) => {
    const sim = await start()
    const id = '00000000-0000-4000-8000-000000000000'
    const res = await put(sim, `/v1/deployment/${op}/${id}`, { DeploymentID: id, ...body })
    expect([res.status, res.text]).toEqual([500, 'deployment not found'])
  })

  it('a short deployment ID fails the lookup', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const short = id.slice(0, 8)
    const res = await put(sim, `/v1/deployment/promote/${short}`, {
      DeploymentID: short,
      All: true,
    })
    expect([res.status, res.text]).toEqual([
      500,
      'deployment lookup failed: UUID must be 36 characters',
    ])
  })

  it.each([
    ['promote', { All: true }, "can't promote terminal deployment"],
    ['pause', { Pause: true }, "can't pause terminal deployment"],
    ['pause', { Pause: false }, "can't resume terminal deployment"],
    ['fail', {}, "can't fail terminal deployment"],
    [
      'allocation-health',
      { HealthyAllocationIDs: ['x'] },
      "can't set health of allocations for a terminal deployment",
    ],
  ])('%s %j to a terminal deployment: 500 %s', async (op, body, text) => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.cancelDeployment(id)
    const res = await put(sim, `/v1/deployment/${op}/${id}`, { DeploymentID: id, ...body })
    expect([res.status, res.text]).toEqual([500, text])
  })
})

describe('promote', () => {
  it('fails with the multierror text while canaries are not healthy', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    let res = await promote(sim, id, { Groups: ['web'] })
    expect([res.status, res.text]).toEqual([
      500,
      '1 error occurred:\n\t* Task group "web" has 0/2 healthy allocations\n\n',
    ])
    sim.setAllocHealth(web[0], true)
    res = await promote(sim, id)
    expect(res.text).toBe(
      '2 errors occurred:\n\t* Task group "api" has 0/1 healthy allocations\n\t* Task group "web" has 1/2 healthy allocations\n\n',
    )
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(false)
  })

  it('promotes: Promoted, status description, and the canaries stop being canaries', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    const res = await promote(sim, id, { Groups: ['web'] })
    expect(res.status).toBe(200)
    let d = sim.deployment(id) as Deployment
    expect(d.TaskGroups.web.Promoted).toBe(true)
    expect(d.TaskGroups.api.Promoted).toBe(false)
    expect(d.StatusDescription).toBe('Deployment is running but requires manual promotion')
    expect(d.ModifyIndex).toBe(res.json<DeploymentUpdateResponse>().DeploymentModifyIndex)
    const allocs = sim.allocations(id)
    expect(allocs.filter((a) => web.includes(a.ID)).map((a) => a.DeploymentStatus?.Canary)).toEqual(
      [false, false],
    )
    expect(allocs.find((a) => a.ID === api[0])?.DeploymentStatus?.Canary).toBe(true)

    await promote(sim, id, { Groups: ['api'] })
    d = sim.deployment(id) as Deployment
    expect(d.TaskGroups.api.Promoted).toBe(true)
    expect(d.StatusDescription).toBe('Deployment is running')
    // PlacedCanaries keeps the promoted canaries.
    expect(d.TaskGroups.web.PlacedCanaries).toEqual(web)
  })

  it('counts only canaries that are healthy and not terminal, not the HealthyAllocs counter', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    sim.setClientStatus(web[1], 'failed')
    expect(sim.deployment(id)?.TaskGroups.web.HealthyAllocs).toBe(2)
    const res = await promote(sim, id)
    expect(res.text).toBe('1 error occurred:\n\t* Task group "web" has 1/2 healthy allocations\n\n')
    sim.stopAlloc(web[0])
    expect((await promote(sim, id, { Groups: ['web'] })).text).toContain('has 0/2 healthy')
  })

  it('with an unknown group, or All:false and no groups, answers 200 and promotes nothing', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    for (const body of [{ Groups: ['nope'] }, { All: false }, { All: false, Groups: [] }]) {
      const before = sim.deployment(id) as Deployment
      const res = await promote(sim, id, body)
      expect(res.status).toBe(200)
      const after = sim.deployment(id) as Deployment
      expect(after.TaskGroups).toEqual(before.TaskGroups)
      expect(after.StatusDescription).toBe(before.StatusDescription)
      // Nomad still writes the deployment: its ModifyIndex moves.
      expect(after.ModifyIndex).toBe(res.json<DeploymentUpdateResponse>().Index)
    }
  })

  it('promotes an already promoted group again without complaint while its canaries stay healthy', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    expect((await promote(sim, id)).status).toBe(200)
    expect((await promote(sim, id)).status).toBe(200)
  })
})

describe('pause and resume', () => {
  it('pause: paused, `Deployment is paused`, no evaluation', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await put(sim, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: true })
    const body = res.json<DeploymentUpdateResponse>()
    expect(body).toEqual({
      EvalID: '',
      EvalCreateIndex: 0,
      DeploymentModifyIndex: body.Index,
      RevertedJobVersion: null,
      Index: body.Index,
    })
    expect(sim.deployment(id)).toMatchObject({
      Status: 'paused',
      StatusDescription: 'Deployment is paused',
    })
  })

  it('resume (Pause:false): running, `Deployment is running`, with an evaluation', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    await put(sim, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: true })
    const res = await put(sim, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: false })
    const body = res.json<DeploymentUpdateResponse>()
    expect(body.EvalID).toMatch(UUID)
    expect(body.EvalCreateIndex).toBe(body.Index)
    // Nomad's wording after a resume, even though promotion is still needed.
    expect(sim.deployment(id)).toMatchObject({
      Status: 'running',
      StatusDescription: 'Deployment is running',
    })
  })
})

describe('fail', () => {
  it('fails: `Deployment marked as failed`, no revert without auto_revert', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await put(sim, `/v1/deployment/fail/${id}`)
    expect(res.json<DeploymentUpdateResponse>()).toMatchObject({
      EvalID: expect.stringMatching(UUID),
      RevertedJobVersion: null,
    })
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Deployment marked as failed',
    })
  })

  it('rolls back to the latest stable version when a group has auto_revert', async () => {
    const sim = await start()
    const { id } = revertible(sim)
    const res = await put(sim, `/v1/deployment/fail/${id}`)
    expect(res.json<DeploymentUpdateResponse>().RevertedJobVersion).toBe(0)
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Deployment marked as failed - rolling back to job version 0',
    )
    // The revert is a new version with version 0's specification.
    const job = sim.job('web')
    expect(job).toMatchObject({ Version: 2, Meta: { spec: 'v0' }, Stable: true })
    expect(job?.JobModifyIndex).toBe(res.json<DeploymentUpdateResponse>().Index)
  })

  it('does not roll back to a stable version with the same specification', async () => {
    const sim = await start()
    const { id } = revertible(sim, 'v0')
    const res = await put(sim, `/v1/deployment/fail/${id}`)
    expect(res.json<DeploymentUpdateResponse>().RevertedJobVersion).toBeNull()
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Deployment marked as failed - not rolling back to stable job version 0 as current job has same specification',
    )
    expect(sim.job('web')?.Version).toBe(1)
  })

  it('says when there is no stable version to roll back to', async () => {
    const sim = await start()
    sim.registerJob({
      id: 'web',
      groups: [{ name: 'web', count: 3, canaries: 1, autoRevert: true }],
    })
    const id = sim.startDeployment('web')
    await put(sim, `/v1/deployment/fail/${id}`)
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Deployment marked as failed - no stable job version to auto revert to',
    )
  })
})

describe('allocation-health', () => {
  it('marks allocs healthy: their DeploymentStatus and the HealthyAllocs counter', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const res = await health(sim, id, web)
    const { Index } = res.json<DeploymentUpdateResponse>()
    expect(res.json<DeploymentUpdateResponse>().EvalID).toMatch(UUID)
    const stubs = (await get(sim, `/v1/deployment/allocations/${id}`)).json<AllocListStub[]>()
    for (const a of stubs.filter((s) => web.includes(s.ID))) {
      expect(a.DeploymentStatus).toMatchObject({ Healthy: true, Canary: true, ModifyIndex: Index })
      expect(a.ModifyIndex).toBe(Index)
    }
    expect(sim.deployment(id)?.TaskGroups.web.HealthyAllocs).toBe(2)
    expect(sim.deployment(id)?.Status).toBe('running')
  })

  it('fails the deployment when an alloc is marked unhealthy', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const res = await health(sim, id, [web[0]], [web[1]])
    expect(res.json<DeploymentUpdateResponse>().RevertedJobVersion).toBeNull()
    expect(sim.deployment(id)).toMatchObject({
      Status: 'failed',
      StatusDescription: 'Failed due to unhealthy allocations',
    })
    expect(sim.deployment(id)?.TaskGroups.web).toMatchObject({
      HealthyAllocs: 1,
      UnhealthyAllocs: 1,
    })
  })

  it('rolls back when the unhealthy alloc is in an auto_revert group', async () => {
    const sim = await start()
    const { id, canaries } = revertible(sim)
    const res = await health(sim, id, [], [canaries[0]])
    expect(res.json<DeploymentUpdateResponse>().RevertedJobVersion).toBe(0)
    expect(sim.deployment(id)?.StatusDescription).toBe(
      'Failed due to unhealthy allocations - rolling back to job version 0',
    )
    expect(sim.job('web')?.Version).toBe(2)
  })

  it.each([
    [
      'an alloc ID prefix',
      (a: string) => a.slice(0, 8),
      (a: string) => `alloc "${a.slice(0, 8)}" lookup failed: UUID must be 36 characters`,
    ],
    [
      'an unknown alloc',
      () => '00000000-0000-4000-8000-000000000000',
      () => 'unknown alloc "00000000-0000-4000-8000-000000000000"',
    ],
  ])('refuses %s (500) and changes nothing', async (_, toId, text) => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const before = sim.tableIndex('allocs')
    const res = await health(sim, id, [web[0], toId(web[1])])
    expect([res.status, res.text]).toEqual([500, text(web[1])])
    expect(sim.tableIndex('allocs')).toBe(before)
    expect(sim.allocations(id).every((a) => a.DeploymentStatus?.Healthy === null)).toBe(true)
  })

  it("refuses another deployment's alloc", async () => {
    const sim = await start()
    const { id: old, web: oldWeb } = rollout(sim)
    const { deploymentId: id } = sim.rollout('web', { spec: 'v2' })
    expect(sim.deployment(old)?.StatusDescription).toBe('Cancelled due to newer version of job')
    const res = await health(sim, id, [oldWeb[0]])
    expect([res.status, res.text]).toEqual([
      500,
      `alloc "${oldWeb[0]}" is not part of deployment "${id}"`,
    ])
  })

  it('needs at least one alloc ID', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await health(sim, id, [])
    expect([res.status, res.text]).toEqual([
      500,
      'must specify at least one healthy/unhealthy allocation ID',
    ])
  })

  it('lowers HealthyAllocs only when a healthy alloc turns unhealthy; a stop lowers nothing', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    sim.setAllocHealth(web[0], true)
    sim.setAllocHealth(web[1], true)
    sim.stopAlloc(web[0])
    sim.setClientStatus(web[0], 'complete')
    expect(sim.deployment(id)?.TaskGroups.web).toMatchObject({
      HealthyAllocs: 2,
      UnhealthyAllocs: 0,
    })
    await health(sim, id, [], [web[1]])
    expect(sim.deployment(id)?.TaskGroups.web).toMatchObject({
      HealthyAllocs: 1,
      UnhealthyAllocs: 1,
    })
  })
})
