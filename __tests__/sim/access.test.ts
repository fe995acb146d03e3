// ACL tokens, namespaces and regions, as the RPC endpoints check them.

import { describe, expect, it } from 'vitest'

import type { Deployment } from '../../src/nomad/types.js'
import type { Simulator } from '../../sim/simulator.js'
import { get, put, rollout, start } from './helpers.js'

const acl = {
  tokens: {
    'admin-secret': { namespaces: ['*'], write: true },
    'reader-secret': { namespaces: ['default'], write: false },
    'prod-secret': { namespaces: ['prod'], write: true },
  },
}

/** A deployment in `default` (from rollout) and one in `prod`. */
function twoNamespaces(sim: Simulator): { id: string; prodId: string } {
  const { id } = rollout(sim)
  sim.registerJob({
    id: 'web',
    namespace: 'prod',
    groups: [{ name: 'web', count: 2, canaries: 1 }],
  })
  return { id, prodId: sim.startDeployment('web', { namespace: 'prod' }) }
}

const token = (t: string): RequestInit => ({ headers: { 'X-Nomad-Token': t } })

describe('ACLs', () => {
  it('refuse a request without a token or with an unknown one: 403 `Permission denied`', async () => {
    const sim = await start({ acl })
    const { id } = rollout(sim)
    for (const init of [{}, token('nope')]) {
      const res = await get(sim, `/v1/deployment/${id}`, init)
      expect([res.status, res.text]).toEqual([403, 'Permission denied'])
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    }
    const res = await put(sim, `/v1/deployment/fail/${id}`, undefined, token('nope'))
    expect([res.status, res.text]).toEqual([403, 'Permission denied'])
  })

  it('take the token from X-Nomad-Token or Authorization: Bearer', async () => {
    const sim = await start({ acl })
    const { id } = rollout(sim)
    expect((await get(sim, `/v1/deployment/${id}`, token('reader-secret'))).status).toBe(200)
    const bearer = { headers: { Authorization: 'Bearer reader-secret' } }
    expect((await get(sim, `/v1/deployment/${id}`, bearer)).status).toBe(200)
  })

  it('let a read-only token read but not write', async () => {
    const sim = await start({ acl })
    const { id } = rollout(sim)
    expect(
      (await get(sim, `/v1/deployment/allocations/${id}`, token('reader-secret'))).status,
    ).toBe(200)
    const res = await put(sim, `/v1/deployment/fail/${id}`, undefined, token('reader-secret'))
    expect([res.status, res.text]).toEqual([403, 'Permission denied'])
    expect(sim.deployment(id)?.Status).toBe('running')
    expect(
      (await put(sim, `/v1/deployment/fail/${id}`, undefined, token('admin-secret'))).status,
    ).toBe(200)
  })

  it("check a write against the deployment's own namespace, after finding it", async () => {
    const sim = await start({ acl, namespaces: ['default', 'prod'] })
    const { id } = twoNamespaces(sim)
    // Claiming ?namespace=prod does not help: the deployment is in default.
    const res = await put(
      sim,
      `/v1/deployment/fail/${id}?namespace=prod`,
      undefined,
      token('prod-secret'),
    )
    expect([res.status, res.text]).toEqual([403, 'Permission denied'])
    // An unknown deployment is `not found` before any permission check.
    const unknown = '00000000-0000-4000-8000-000000000000'
    const nf = await put(sim, `/v1/deployment/fail/${unknown}`, undefined, token('prod-secret'))
    expect([nf.status, nf.text]).toEqual([500, 'deployment not found'])
  })

  it('hide a deployment of a namespace the token cannot read (404), and refuse that namespace', async () => {
    const sim = await start({ acl, namespaces: ['default', 'prod'] })
    const { prodId } = twoNamespaces(sim)
    const hidden = await get(sim, `/v1/deployment/${prodId}`, token('reader-secret'))
    expect([hidden.status, hidden.text]).toEqual([404, 'deployment not found'])
    const refused = await get(
      sim,
      `/v1/deployment/${prodId}?namespace=prod`,
      token('reader-secret'),
    )
    expect(refused.status).toBe(403)
    const list = await get(sim, '/v1/deployments?namespace=*', token('reader-secret'))
    expect(list.json<Deployment[]>().map((d) => d.Namespace)).toEqual(['default'])
  })
})

describe('namespaces', () => {
  it('scope the list and the job endpoints with ?namespace= (default: `default`)', async () => {
    const sim = await start({ namespaces: ['default', 'prod'] })
    const { id, prodId } = twoNamespaces(sim)
    expect((await get(sim, '/v1/job/web/deployment')).json<Deployment>().ID).toBe(id)
    expect((await get(sim, '/v1/job/web/deployment?namespace=prod')).json<Deployment>().ID).toBe(
      prodId,
    )
    expect((await get(sim, '/v1/job/web/deployment?namespace=dev')).text).toBe('null')
    expect((await get(sim, '/v1/job/web?namespace=dev')).status).toBe(404)
    expect(
      (await get(sim, '/v1/job/web?namespace=prod')).json<{ Namespace: string }>().Namespace,
    ).toBe('prod')
  })

  it('do not scope lookups by deployment ID when ACLs are off (Nomad finds it by ID alone)', async () => {
    const sim = await start({ namespaces: ['default', 'prod'] })
    const { prodId } = twoNamespaces(sim)
    expect((await get(sim, `/v1/deployment/${prodId}`)).status).toBe(200)
    const res = await put(sim, `/v1/deployment/pause/${prodId}`, {
      DeploymentID: prodId,
      Pause: true,
    })
    expect(res.status).toBe(200)
  })

  it('refuse a job in a namespace the cluster does not have', async () => {
    const sim = await start()
    expect(() =>
      sim.registerJob({
        id: 'web',
        namespace: 'prod',
        groups: [{ name: 'web', count: 1, canaries: 0 }],
      }),
    ).toThrow('job "web" is in nonexistent namespace "prod"')
  })
})

describe('regions', () => {
  it('answer 500 `No path to region` for another region, on reads and writes', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const read = await get(sim, `/v1/deployment/${id}?region=eu`)
    expect([read.status, read.text]).toEqual([500, 'No path to region'])
    const write = await put(sim, `/v1/deployment/fail/${id}?region=eu`)
    expect([write.status, write.text]).toEqual([500, 'No path to region'])
    expect((await get(sim, `/v1/deployment/${id}?region=global`)).status).toBe(200)
  })

  it('serve the configured region, and check it before the token', async () => {
    const sim = await start({ region: 'eu', acl })
    const { id } = rollout(sim)
    expect((await get(sim, `/v1/deployment/${id}?region=eu`, token('admin-secret'))).status).toBe(
      200,
    )
    expect((await get(sim, `/v1/deployment/${id}`, token('admin-secret'))).status).toBe(200)
    const res = await get(sim, `/v1/deployment/${id}?region=global`, token('nope'))
    expect([res.status, res.text]).toEqual([500, 'No path to region'])
  })
})
