// Fault injection, TLS, the request log and the change hook.

import { readFileSync } from 'node:fs'
import { request } from 'node:https'

import { describe, expect, it } from 'vitest'

import type { Deployment } from '../../src/nomad/types.js'
import type { Simulator } from '../../sim/simulator.js'
import { get, put, rollout, start } from './helpers.js'

/** A deployment whose canaries are all healthy: promotion would pass. */
function promotable(sim: Simulator): string {
  const { id, web, api } = rollout(sim)
  for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
  return id
}

const promoteBody = (id: string) => ({ DeploymentID: id, All: true })

describe('faults', () => {
  it('status: answers the given status and text instead, for `count` matching requests, in order', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.injectFault({
      path: '/v1/deployment/',
      count: 2,
      kind: 'status',
      status: 500,
      body: 'No cluster leader',
    })
    sim.injectFault({ method: 'GET', kind: 'status', status: 503 })
    for (let i = 0; i < 2; i++) {
      const res = await get(sim, `/v1/deployment/${id}`)
      expect([res.status, res.text]).toEqual([500, 'No cluster leader'])
    }
    const res = await get(sim, `/v1/deployment/${id}`)
    expect([res.status, res.text]).toEqual([503, 'Service Unavailable'])
    expect((await get(sim, `/v1/deployment/${id}`)).status).toBe(200)
    expect(sim.requests.map((r) => r.fault)).toEqual(['status', 'status', 'status', undefined])
  })

  it('matches by method and by a RegExp on the path', async () => {
    const sim = await start()
    const id = promotable(sim)
    const fault = sim.injectFault({
      method: 'PUT',
      path: /^\/v1\/deployment\/promote\//,
      kind: 'status',
      status: 504,
    })
    expect((await get(sim, `/v1/deployment/${id}`)).status).toBe(200)
    expect((await put(sim, `/v1/deployment/promote/${id}`, promoteBody(id))).status).toBe(504)
    expect(fault).toMatchObject({ hits: 1, remaining: 0 })
    // A fault stands in for the answer: the write did not happen.
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(false)
  })

  it('reset: cuts the connection without an answer', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.injectFault({ kind: 'reset' })
    await expect(get(sim, `/v1/deployment/${id}`)).rejects.toThrow()
    expect(sim.requests[0].status).toBe(0)
    expect((await get(sim, `/v1/deployment/${id}`)).status).toBe(200)
  })

  it('reset-mid-body: sends the headers and part of the body, then cuts; the write is applied', async () => {
    const sim = await start()
    const id = promotable(sim)
    sim.injectFault({ kind: 'reset-mid-body' })
    const res = await fetch(`${sim.address}/v1/deployment/promote/${id}`, {
      method: 'PUT',
      body: JSON.stringify(promoteBody(id)),
    })
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(true)
  })

  it('delay: answers late', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.injectFault({ kind: 'delay', ms: 120 })
    const started = performance.now()
    expect((await get(sim, `/v1/deployment/${id}`)).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(115)
  })

  it('malformed-json: a 200 whose JSON does not parse; the write is applied', async () => {
    const sim = await start()
    const id = promotable(sim)
    sim.injectFault({ kind: 'malformed-json' })
    const res = await put(sim, `/v1/deployment/promote/${id}`, promoteBody(id))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(() => res.json()).toThrow()
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(true)
  })

  it('no-leader: a normal answer that says X-Nomad-KnownLeader: false', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.injectFault({ kind: 'no-leader' })
    const res = await get(sim, `/v1/deployment/${id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-nomad-knownleader')).toBe('false')
  })

  it('drop-response: applies the write, then cuts the connection (the lost write)', async () => {
    const sim = await start()
    const id = promotable(sim)
    sim.injectFault({ method: 'PUT', kind: 'drop-response' })
    await expect(put(sim, `/v1/deployment/promote/${id}`, promoteBody(id))).rejects.toThrow()
    const d = (await get(sim, `/v1/deployment/${id}`)).json<Deployment>()
    expect(d.TaskGroups.web.Promoted).toBe(true)
    expect(sim.writes()).toHaveLength(1)
    expect(sim.writes()[0].status).toBe(0)
  })

  it('index-backwards: answers at once with an X-Nomad-Index below the one sent', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const index = sim.deployment(id)?.ModifyIndex ?? 0
    sim.injectFault({ kind: 'index-backwards' })
    let res = await get(sim, `/v1/deployment/${id}?index=${index}&wait=5m`)
    expect(Number(res.headers.get('x-nomad-index'))).toBe(index - 1)
    sim.injectFault({ kind: 'index-backwards', index: 1 })
    res = await get(sim, `/v1/deployment/${id}`)
    expect(res.headers.get('x-nomad-index')).toBe('1')
  })

  it('redirect: answers 307 with a Location, without handling the request', async () => {
    const sim = await start()
    const id = promotable(sim)
    sim.injectFault({ kind: 'redirect', location: 'http://elsewhere.example:4646/v1/x' })
    const res = await fetch(`${sim.address}/v1/deployment/promote/${id}`, {
      method: 'PUT',
      body: JSON.stringify(promoteBody(id)),
      redirect: 'manual',
    })
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe('http://elsewhere.example:4646/v1/x')
    expect(sim.deployment(id)?.TaskGroups.web.Promoted).toBe(false)
  })
})

describe('request log and change hook', () => {
  it('logs method, decoded path, query, headers, body and status', async () => {
    const sim = await start()
    const id = promotable(sim)
    await get(sim, `/v1/deployment/${id}?namespace=default`, { headers: { 'X-Nomad-Token': 't' } })
    await put(sim, `/v1/deployment/promote/${id}`, promoteBody(id))
    expect(sim.requests).toHaveLength(2)
    expect(sim.requests[0]).toMatchObject({
      method: 'GET',
      path: `/v1/deployment/${id}`,
      query: { namespace: 'default' },
      headers: { 'x-nomad-token': 't' },
      body: undefined,
      status: 200,
    })
    expect(sim.writes()).toEqual([
      expect.objectContaining({ method: 'PUT', body: promoteBody(id) }),
    ])
    expect(sim.requests[1].at).toBeGreaterThan(sim.requests[0].at)
    sim.clearRequests()
    expect(sim.requests).toEqual([])
  })

  it('waitForRequest finds a logged or a coming request, and times out', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    await get(sim, '/v1/deployments')
    expect((await sim.waitForRequest((r) => r.path === '/v1/deployments')).status).toBe(200)
    const coming = sim.waitForRequest((r) => r.path === `/v1/deployment/${id}`)
    await get(sim, `/v1/deployment/${id}`)
    expect((await coming).path).toBe(`/v1/deployment/${id}`)
    await expect(sim.waitForRequest(() => false, 20)).rejects.toThrow('no matching request')
  })

  it('reports each applied change with its index and performance.now() time', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const seen: Array<{ index: number; at: number; kind: string }> = []
    const off = sim.on('change', (c) => seen.push(c))
    const before = performance.now()
    sim.setAllocHealth(web[0], true)
    off()
    sim.setAllocHealth(web[1], true)
    expect(seen).toEqual([
      expect.objectContaining({ index: sim.index() - 1, kind: 'alloc-health' }),
    ])
    expect(seen[0].at).toBeGreaterThanOrEqual(before)
    expect(sim.changes.at(-1)).toMatchObject({
      index: sim.index(),
      deployments: [id],
      allocs: [web[1]],
    })
  })
})

describe('TLS', () => {
  const pem = (name: string): string =>
    readFileSync(new URL(`./fixtures/${name}.pem`, import.meta.url), 'utf8')

  function httpsGet(sim: Simulator, path: string, client?: { cert: string; key: string }) {
    return new Promise<number>((resolve, reject) => {
      const req = request(`${sim.address}${path}`, { ca: pem('ca'), ...client }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end()
    })
  }

  it('serves https with the given certificate', async () => {
    const sim = await start({ tls: { key: pem('server-key'), cert: pem('server') } })
    expect(sim.address).toBe(`https://127.0.0.1:${sim.port}`)
    expect(await httpsGet(sim, '/v1/deployments')).toBe(200)
  })

  it('with requestClientCert, requires a client certificate signed by the CA', async () => {
    const sim = await start({
      tls: { key: pem('server-key'), cert: pem('server'), ca: pem('ca'), requestClientCert: true },
    })
    await expect(httpsGet(sim, '/v1/deployments')).rejects.toThrow()
    await expect(
      httpsGet(sim, '/v1/deployments', { cert: pem('other'), key: pem('other-key') }),
    ).rejects.toThrow()
    expect(
      await httpsGet(sim, '/v1/deployments', { cert: pem('client'), key: pem('client-key') }),
    ).toBe(200)
  })
})
