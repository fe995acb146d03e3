// The read endpoints of nomad-api.md, over HTTP.

import { describe, expect, it } from 'vitest'

import type { AllocListStub, Deployment } from '../../src/nomad/types.js'
import { get, rollout, start } from './helpers.js'

const UNKNOWN = '00000000-0000-4000-8000-000000000000'

describe('GET /v1/deployment/:id', () => {
  it('answers the deployment with every field and the query meta headers', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const res = await get(sim, `/v1/deployment/${id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const d = res.json<Deployment>()
    expect(res.headers.get('x-nomad-index')).toBe(String(d.ModifyIndex))
    expect(res.headers.get('x-nomad-knownleader')).toBe('true')
    expect(res.headers.get('x-nomad-lastcontact')).toBe('0')
    expect(Object.keys(d)).toEqual([
      'ID',
      'Namespace',
      'JobID',
      'JobVersion',
      'JobModifyIndex',
      'JobSpecModifyIndex',
      'JobCreateIndex',
      'IsMultiregion',
      'TaskGroups',
      'Status',
      'StatusDescription',
      'EvalPriority',
      'CreateIndex',
      'ModifyIndex',
      'CreateTime',
      'ModifyTime',
    ])
    expect(d).toMatchObject({ ID: id, Namespace: 'default', JobID: 'web', JobVersion: 1 })
    expect(d.TaskGroups.web).toEqual({
      AutoRevert: false,
      AutoPromote: false,
      ProgressDeadline: 600_000_000_000,
      RequireProgressBy: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      Promoted: false,
      PlacedCanaries: web,
      DesiredCanaries: 2,
      DesiredTotal: 3,
      PlacedAllocs: 2,
      HealthyAllocs: 0,
      UnhealthyAllocs: 0,
    })
  })

  it('says `requires manual promotion` from creation on, before any canary is placed', async () => {
    const sim = await start()
    sim.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }] })
    const id = sim.startDeployment('web')
    const d = (await get(sim, `/v1/deployment/${id}`)).json<Deployment>()
    expect(d.StatusDescription).toBe('Deployment is running but requires manual promotion')
    expect(d.TaskGroups.web.PlacedCanaries).toBeNull()
    expect(d.TaskGroups.web.RequireProgressBy).toBe('0001-01-01T00:00:00Z')
  })

  it('finds a full UUID in any case (go-memdb looks up its bytes)', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await get(sim, `/v1/deployment/${id.toUpperCase()}`)
    expect(res.status).toBe(200)
    expect(res.json<Deployment>().ID).toBe(id)
  })

  it('answers 404 `deployment not found` for an unknown UUID, with the table index', async () => {
    const sim = await start()
    rollout(sim)
    const res = await get(sim, `/v1/deployment/${UNKNOWN}`)
    expect(res.status).toBe(404)
    expect(res.text).toBe('deployment not found')
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(res.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('deployment')))
  })

  it('does not take a short ID: the lookup itself fails with 500', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await get(sim, `/v1/deployment/${id.slice(0, 8)}`)
    expect(res.status).toBe(500)
    expect(res.text).toBe('deployment lookup failed: UUID must be 36 characters')
  })

  it('answers 405 `Invalid method` to a write verb', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await fetch(`${sim.address}/v1/deployment/${id}`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(await res.text()).toBe('Invalid method')
  })
})

describe('GET /v1/deployments', () => {
  it('lists deployments oldest first with the deployment table index', async () => {
    const sim = await start()
    const { id: first } = rollout(sim)
    const { deploymentId: second } = sim.rollout('web', { spec: 'v2' })
    const res = await get(sim, '/v1/deployments')
    expect(res.status).toBe(200)
    expect(res.json<Deployment[]>().map((d) => d.ID)).toEqual([first, second])
    expect(res.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('deployment')))
    const reversed = await get(sim, '/v1/deployments?reverse=true')
    expect(reversed.json<Deployment[]>().map((d) => d.ID)).toEqual([second, first])
  })

  it('answers [] when there are none, with index 0 (an empty table has no index)', async () => {
    const sim = await start()
    const res = await get(sim, '/v1/deployments')
    expect(res.text).toBe('[]')
    expect(res.headers.get('x-nomad-index')).toBe('0')
  })

  it('filters by an ID prefix of an even number of hex digits, in any case, hyphens ignored', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    for (const prefix of [id.slice(0, 8), id.slice(0, 2).toUpperCase(), id.slice(0, 11)]) {
      const res = await get(sim, `/v1/deployments?prefix=${prefix}`)
      expect(res.json<Deployment[]>().map((d) => d.ID)).toEqual([id])
    }
    const other = id[0] === 'f' ? '00' : 'ff'
    expect((await get(sim, `/v1/deployments?prefix=${other}`)).text).toBe('[]')
  })

  it('rejects an odd-length prefix as go-memdb does (500)', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await get(sim, `/v1/deployments?prefix=${id.slice(0, 7)}`)
    expect(res.status).toBe(500)
    expect(res.text).toBe('Input (without hyphens) must be even length')
  })

  it('lists one namespace (default `default`), or all with `*`', async () => {
    const sim = await start({ namespaces: ['default', 'prod'] })
    const { id } = rollout(sim)
    sim.registerJob({
      id: 'web',
      namespace: 'prod',
      groups: [{ name: 'web', count: 1, canaries: 0 }],
    })
    const prodId = sim.startDeployment('web', { namespace: 'prod' })
    const ids = async (q: string): Promise<string[]> =>
      (await get(sim, `/v1/deployments${q}`)).json<Deployment[]>().map((d) => d.ID)
    expect(await ids('')).toEqual([id])
    expect(await ids('?namespace=prod')).toEqual([prodId])
    expect(await ids('?namespace=*')).toEqual([id, prodId])
    expect(await ids(`?namespace=default&prefix=${prodId.slice(0, 8)}`)).toEqual([])
  })
})

describe('GET /v1/deployment/allocations/:id', () => {
  it('lists AllocListStubs without DeploymentID; canaries say so, health is null until set', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    const res = await get(sim, `/v1/deployment/allocations/${id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('allocs')))
    const allocs = res.json<Array<AllocListStub & Record<string, unknown>>>()
    // Nomad's store order: by alloc ID.
    expect(allocs.map((a) => a.ID)).toEqual([...web, ...api].sort())
    const a = allocs.find((x) => x.ID === web[0])
    expect(a).not.toHaveProperty('DeploymentID')
    expect(a).toMatchObject({
      Name: 'web.web[0]',
      Namespace: 'default',
      JobID: 'web',
      JobVersion: 1,
      TaskGroup: 'web',
      DesiredStatus: 'run',
      ClientStatus: 'running',
      DeploymentStatus: { Healthy: null, Canary: true, ModifyIndex: 0 },
    })
    expect(a?.TaskStates?.web).toMatchObject({ State: 'running', Failed: false })
    expect(a?.CreateIndex).toBe(a?.ModifyIndex)
    expect(typeof a?.CreateTime).toBe('number')
  })

  it('gives a non-canary alloc no DeploymentStatus until its health is set', async () => {
    const sim = await start()
    sim.registerJob({ id: 'web', groups: [{ name: 'web', count: 1, canaries: 0 }] })
    const id = sim.startDeployment('web')
    const [alloc] = sim.placeAllocs(id, 'web')
    const stub = async (): Promise<AllocListStub | undefined> =>
      (await get(sim, `/v1/deployment/allocations/${id}`)).json<AllocListStub[]>()[0]
    expect((await stub())?.DeploymentStatus).toBeNull()
    sim.setAllocHealth(alloc, true)
    expect((await stub())?.DeploymentStatus).toMatchObject({ Healthy: true, Canary: false })
  })

  it('answers [] for an unknown deployment (no 404)', async () => {
    const sim = await start()
    const res = await get(sim, `/v1/deployment/allocations/${UNKNOWN}`)
    expect(res.status).toBe(200)
    expect(res.text).toBe('[]')
  })
})

describe('GET /v1/job/:job_id/deployment(s)', () => {
  it('answers 200 `null` when the job has no deployment, or when there is no such job', async () => {
    const sim = await start()
    sim.registerJob({ id: 'web', groups: [{ name: 'web', count: 1, canaries: 0 }] })
    for (const job of ['web', 'nope']) {
      const res = await get(sim, `/v1/job/${job}/deployment`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.text).toBe('null')
    }
  })

  it("answers the job's latest deployment", async () => {
    const sim = await start()
    rollout(sim)
    const { deploymentId } = sim.rollout('web', { spec: 'v2' })
    const res = await get(sim, '/v1/job/web/deployment')
    expect(res.json<Deployment>().ID).toBe(deploymentId)
    expect(res.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('deployment')))
  })

  it("lists all the job's deployments in the store's order (by ID, not newest first)", async () => {
    const sim = await start()
    const ids = [rollout(sim).id]
    for (const spec of ['v2', 'v3', 'v4']) ids.push(sim.rollout('web', { spec }).deploymentId)
    const res = await get(sim, '/v1/job/web/deployments')
    expect(res.json<Deployment[]>().map((d) => d.ID)).toEqual([...ids].sort())
    expect((await get(sim, '/v1/job/nope/deployments')).text).toBe('[]')
  })
})

describe('GET /v1/job/:job_id', () => {
  it('answers the latest job version', async () => {
    const sim = await start()
    rollout(sim)
    const res = await get(sim, '/v1/job/web')
    expect(res.status).toBe(200)
    const job = res.json<Record<string, unknown>>()
    expect(job).toMatchObject({
      ID: 'web',
      Namespace: 'default',
      Version: 1,
      Stable: false,
      Status: 'running',
      TaskGroups: [{ Name: 'web' }, { Name: 'api' }],
    })
    expect(res.headers.get('x-nomad-index')).toBe(String(job.ModifyIndex))
    expect(job.JobModifyIndex).toBeLessThanOrEqual(job.ModifyIndex as number)
  })

  it('answers 404 `job not found`', async () => {
    const sim = await start()
    const res = await get(sim, '/v1/job/nope')
    expect(res.status).toBe(404)
    expect(res.text).toBe('job not found')
  })
})

describe('other paths', () => {
  it('answers an unknown path with a bare 404', async () => {
    const sim = await start()
    const res = await get(sim, '/v1/nope')
    expect(res.status).toBe(404)
    expect(res.text).toBe('')
  })

  it('refuses a bad `stale` or `per_page` with 400, as http.go parse', async () => {
    const sim = await start()
    let res = await get(sim, '/v1/deployments?stale=maybe')
    expect([res.status, res.text]).toEqual([
      400,
      'Expect `true` or `false` for `stale` query string parameter',
    ])
    expect((await get(sim, '/v1/deployments?stale')).status).toBe(200)
    res = await get(sim, '/v1/deployments?per_page=ten')
    expect([res.status, res.text]).toEqual([
      400,
      'Expect a number for `per_page` query string parameter',
    ])
  })

  it('indents JSON under ?pretty', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const res = await get(sim, `/v1/deployment/${id}?pretty`)
    expect(res.text).toMatch(/^\{\n {4}"ID": /)
    expect(res.text.endsWith('}\n')).toBe(true)
  })
})
