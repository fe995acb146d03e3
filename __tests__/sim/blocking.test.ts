// Blocking queries (`?index=N&wait=D`) as nomad/rpc.go blockingRPC runs them.

import { describe, expect, it } from 'vitest'

import type { Deployment } from '../../src/nomad/types.js'
import type { Simulator } from '../../sim/simulator.js'
import { get, rollout, start, within, type Answer } from './helpers.js'

/** Starts a blocking GET; resolves once the simulator holds it, with the answer to come. */
async function hold(
  sim: Simulator,
  path: string,
  signal?: AbortSignal,
): Promise<{ answer: Promise<Answer> }> {
  const answer = get(sim, path, { signal })
  answer.catch(() => undefined) // an aborted hold is not a failure
  const [p, q] = path.split('?')
  const index = new URLSearchParams(q).get('index')
  await sim.waitForRequest((r) => r.path === p && r.query.index === index)
  return { answer }
}

describe('blocking queries', () => {
  it('hold until the deployment changes, then answer with its new index', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const index = sim.deployment(id)?.ModifyIndex ?? 0
    const { answer } = await hold(sim, `/v1/deployment/${id}?index=${index}&wait=5m`)
    expect(await within(answer, 100)).toBe('pending')
    sim.setAllocHealth(web[0], true)
    const res = await answer
    const d = res.json<Deployment>()
    expect(d.TaskGroups.web.HealthyAllocs).toBe(1)
    expect(d.ModifyIndex).toBeGreaterThan(index)
    expect(res.headers.get('x-nomad-index')).toBe(String(d.ModifyIndex))
  })

  it('answer at once with index=0, or when the index is already past the one sent', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    for (const index of [0, 1]) {
      expect(await within(get(sim, `/v1/deployment/${id}?index=${index}&wait=5m`), 1000)).not.toBe(
        'pending',
      )
    }
  })

  it('answer with the unchanged index when the wait runs out', async () => {
    const sim = await start({ random: () => 0 })
    const { id } = rollout(sim)
    const index = sim.deployment(id)?.ModifyIndex
    const started = performance.now()
    const res = await get(sim, `/v1/deployment/${id}?index=${index}&wait=50ms`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-nomad-index')).toBe(String(index))
  })

  it('add up to wait/16 of jitter', async () => {
    const sim = await start({ random: () => 0.999 })
    const { id } = rollout(sim)
    const index = sim.deployment(id)?.ModifyIndex
    const started = performance.now()
    await get(sim, `/v1/deployment/${id}?index=${index}&wait=160ms`)
    expect(performance.now() - started).toBeGreaterThanOrEqual(166)
  })

  it('refuse a wait without a unit and a bad index with 400, like http.go parseWait', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    let res = await get(sim, `/v1/deployment/${id}?index=1&wait=5`)
    expect([res.status, res.text]).toEqual([400, 'Invalid wait time'])
    expect(res.headers.get('x-nomad-index')).toBeNull()
    res = await get(sim, `/v1/deployment/${id}?index=-1`)
    expect([res.status, res.text]).toEqual([400, 'Invalid index'])
  })

  it('wake the allocations query, not the deployment query, when a healthy canary fails', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    sim.setAllocHealth(web[0], true)
    const dIndex = sim.deployment(id)?.ModifyIndex ?? 0
    const aIndex = sim.tableIndex('allocs')
    const stop = new AbortController()
    const deployment = await hold(sim, `/v1/deployment/${id}?index=${dIndex}`, stop.signal)
    const allocs = await hold(sim, `/v1/deployment/allocations/${id}?index=${aIndex}`)
    sim.setClientStatus(web[0], 'failed')
    const res = await allocs.answer
    expect(Number(res.headers.get('x-nomad-index'))).toBeGreaterThan(aIndex)
    expect(await within(deployment.answer, 100)).toBe('pending')
    expect(sim.deployment(id)?.ModifyIndex).toBe(dIndex)
    stop.abort()
  })

  it("wake an allocations query only for its own deployment's allocs", async () => {
    const sim = await start({ namespaces: ['default', 'other'] })
    const { id } = rollout(sim)
    runOther(sim)
    const aIndex = sim.tableIndex('allocs')
    const stop = new AbortController()
    const held = await hold(sim, `/v1/deployment/allocations/${id}?index=${aIndex}`, stop.signal)
    const [otherAlloc] = sim.placeAllocs(sim.jobDeployments('other', 'other')[0].ID, 'other')
    sim.setAllocHealth(otherAlloc, true)
    expect(await within(held.answer, 100)).toBe('pending')
    stop.abort()
  })

  it("wake the job's deployment queries and the list on a new deployment", async () => {
    const sim = await start()
    rollout(sim)
    const index = sim.tableIndex('deployment')
    const latest = await hold(sim, `/v1/job/web/deployment?index=${index}`)
    const all = await hold(sim, `/v1/job/web/deployments?index=${index}`)
    const list = await hold(sim, `/v1/deployments?index=${index}`)
    const { deploymentId } = sim.rollout('web', { spec: 'v2' })
    expect((await latest.answer).json<Deployment>().ID).toBe(deploymentId)
    expect((await all.answer).json<Deployment[]>()).toHaveLength(2)
    expect((await list.answer).json<Deployment[]>()).toHaveLength(2)
  })

  it('end cleanly when the simulator stops', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const { answer } = await hold(sim, `/v1/deployment/${id}?index=${sim.index()}&wait=5m`)
    const started = performance.now()
    await sim.stop()
    await expect(answer).rejects.toThrow()
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('after a leader restore, answer with a lower index and keep held queries waiting', async () => {
    const sim = await start()
    const { id, web } = rollout(sim)
    const snapshot = sim.snapshot()
    sim.setAllocHealth(web[0], true)
    const index = sim.deployment(id)?.ModifyIndex ?? 0
    const stop = new AbortController()
    const held = await hold(sim, `/v1/deployment/${id}?index=${index}`, stop.signal)
    sim.restore(snapshot)
    // Woken (the old state store is abandoned) but the index is not above the one sent.
    expect(await within(held.answer, 100)).toBe('pending')
    stop.abort()
    const res = await get(sim, `/v1/deployment/${id}`)
    expect(Number(res.headers.get('x-nomad-index'))).toBeLessThan(index)
    expect(res.json<Deployment>().TaskGroups.web.HealthyAllocs).toBe(0)
    expect(sim.index()).toBeLessThan(index)
  })
})

function runOther(sim: Simulator): void {
  sim.registerJob({
    id: 'other',
    namespace: 'other',
    groups: [{ name: 'other', count: 1, canaries: 0 }],
  })
  sim.startDeployment('other', { namespace: 'other' })
}
