// What generated tests need to drive a client against the simulator step by
// step: a hook between a client's read and its write, quiescence (the client
// has caught up and waits), spurious wakes of held queries, seeded IDs.

import { describe, expect, it } from 'vitest'

import type { AllocListStub, Deployment } from '../../src/nomad/types.js'
import type { Simulator } from '../../sim/simulator.js'
import { get, put, rollout, start, within } from './helpers.js'

const promote = (sim: Simulator, id: string) =>
  put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, All: true })

describe('before a write is applied', () => {
  it('beforeWrite runs just before each write: a canary can turn unhealthy between the read and the promote', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    const seen: string[] = []
    const off = sim.beforeWrite((r) => {
      seen.push(`${r.method} ${r.path}`)
      sim.setAllocHealth(web[0], false)
    })
    const read = (await get(sim, `/v1/deployment/${id}`)).json<Deployment>()
    expect(read.TaskGroups.web.HealthyAllocs).toBe(2)
    const res = await promote(sim, id)
    expect([res.status, res.text]).toEqual([
      500,
      '1 error occurred:\n\t* Task group "web" has 1/2 healthy allocations\n\n',
    ])
    expect(seen).toEqual([`PUT /v1/deployment/promote/${id}`])
    off()
    await get(sim, `/v1/deployment/${id}`)
    expect(seen).toHaveLength(1) // not for reads, not once removed
  })

  it('the `before` fault runs its function for the matching requests only, then handles them as usual', async () => {
    const sim = await start()
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    let runs = 0
    sim.injectFault({
      method: 'PUT',
      path: '/v1/deployment/pause/',
      kind: 'before',
      run: () => void runs++,
    })
    expect((await promote(sim, id)).status).toBe(200)
    expect(runs).toBe(0)
    const res = await put(sim, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: true })
    expect([res.status, runs]).toEqual([200, 1])
    expect(sim.requests.at(-1)?.fault).toBe('before')
  })
})

describe('quiescence', () => {
  it('settles once the client holds its queries, and lists them with the index each waits past', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const dIndex = sim.deployment(id)?.ModifyIndex ?? 0
    const aIndex = sim.tableIndex('allocs')
    const stop = new AbortController()
    const held = [
      get(sim, `/v1/deployment/${id}?index=${dIndex}`, { signal: stop.signal }),
      get(sim, `/v1/deployment/allocations/${id}?index=${aIndex}`, { signal: stop.signal }),
    ]
    for (const h of held) h.catch(() => undefined)
    await sim.settled({ held: 2 })
    expect(
      sim
        .heldQueries()
        .map((q) => [q.path, q.index])
        .sort(),
    ).toEqual(
      [
        [`/v1/deployment/${id}`, dIndex],
        [`/v1/deployment/allocations/${id}`, aIndex],
      ].sort(),
    )
    // A change wakes both: until the client asks again, it has not caught up.
    sim.setAllocHealth(web[0], true)
    await Promise.all(held)
    expect(sim.heldQueries()).toEqual([])
    await expect(sim.settled({ held: 2, timeoutMs: 100 })).rejects.toThrow(
      'the simulator did not settle within 100 ms (want 2 held, nothing processing); open: none',
    )
    stop.abort()
  })

  it('does not settle while a request is being processed', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    sim.injectFault({ kind: 'delay', ms: 150 })
    const started = performance.now()
    const answer = get(sim, `/v1/deployment/${id}`)
    await sim.waitForRequest((r) => r.path === `/v1/deployment/${id}`)
    await expect(sim.settled({ held: 0, timeoutMs: 50 })).rejects.toThrow(
      `open: GET /v1/deployment/${id}`,
    )
    await sim.settled({ held: 0 })
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    expect((await answer).status).toBe(200)
  })
})

describe('spurious wakes (Nomad watch channels cover more than one record)', () => {
  /** A deployment in `default` (rollout) and one of job `other` in namespace `other`, with an alloc. */
  async function twoDeployments(spuriousWakes: boolean) {
    const sim = await start({ namespaces: ['default', 'other'], spuriousWakes })
    const { id } = rollout(sim)
    sim.registerJob({
      id: 'other',
      namespace: 'other',
      groups: [{ name: 'other', count: 1, canaries: 0 }],
    })
    const otherId = sim.startDeployment('other', { namespace: 'other' })
    const [otherAlloc] = sim.placeAllocs(otherId, 'other')
    return { sim, id, otherAlloc }
  }

  it('answers a held allocations query with the same body and a higher index when an unrelated alloc changes', async () => {
    const { sim, id, otherAlloc } = await twoDeployments(true)
    const index = sim.tableIndex('allocs')
    const before = (await get(sim, `/v1/deployment/allocations/${id}`)).text
    const held = get(sim, `/v1/deployment/allocations/${id}?index=${index}`)
    await sim.settled()
    sim.setAllocHealth(otherAlloc, true)
    const res = await held
    expect(Number(res.headers.get('x-nomad-index'))).toBe(sim.index())
    expect(res.text).toBe(before)
    expect(res.json<AllocListStub[]>()).toHaveLength(3)
  })

  it("keeps a query indexed by its object's ModifyIndex waiting: it reruns and its index did not move", async () => {
    const { sim, id, otherAlloc } = await twoDeployments(true)
    const stop = new AbortController()
    const held = get(sim, `/v1/deployment/${id}?index=${sim.deployment(id)?.ModifyIndex}`, {
      signal: stop.signal,
    })
    held.catch(() => undefined)
    await sim.settled()
    sim.setAllocHealth(otherAlloc, true) // moves the other deployment
    expect(await within(held, 100)).toBe('pending')
    stop.abort()
  })

  it('is off by default, and can be switched at run time', async () => {
    const { sim, id, otherAlloc } = await twoDeployments(false)
    const stop = new AbortController()
    const quiet = get(sim, `/v1/deployment/allocations/${id}?index=${sim.tableIndex('allocs')}`, {
      signal: stop.signal,
    })
    quiet.catch(() => undefined)
    await sim.settled()
    sim.setAllocHealth(otherAlloc, true)
    expect(await within(quiet, 100)).toBe('pending')
    stop.abort()
    sim.setSpuriousWakes(true)
    const woken = get(sim, `/v1/deployment/allocations/${id}?index=${sim.tableIndex('allocs')}`)
    await sim.settled()
    sim.setClientStatus(otherAlloc, 'failed')
    expect((await woken).status).toBe(200)
  })
})

describe('seeded IDs', () => {
  it('give the same deployments, allocations and evaluations for the same seed, and other ones for another', async () => {
    const ids = async (seed: number): Promise<string[]> => {
      const sim = await start({ seed })
      const { id, web, api } = rollout(sim)
      for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
      const res = await promote(sim, id)
      return [id, ...web, ...api, res.json<{ EvalID: string }>().EvalID]
    }
    const a = await ids(42)
    expect(await ids(42)).toEqual(a)
    expect(await ids(43)).not.toEqual(a)
    for (const id of a) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    expect(new Set(a).size).toBe(a.length)
  })
})
