// The simulator's signal lives as long as the server: no request may leave an
// 'abort' listener on it, and the requests in flight may not each add one.
// Node warns at the 11th listener on one signal (MaxListenersExceededWarning),
// which is what `npm test` and the bench printed before.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { Deployment } from '../../src/nomad/types.js'
import { get, rollout, start } from './helpers.js'

const MANY = 15 // above Node's default of 10 listeners per signal

let warnings: string[] = []
const onWarning = (w: Error): void => {
  if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message)
}
beforeEach(() => {
  warnings = []
  process.on('warning', onWarning)
})
afterEach(() => {
  process.off('warning', onWarning)
})

/** Node emits a warning on a later tick than the listener that caused it. */
const warned = async (): Promise<string[]> => {
  await new Promise((resolve) => setImmediate(resolve))
  return warnings
}

describe("the simulator's signal", () => {
  it('keeps no listener of a request whose client left during a delay fault', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const delayMs = 20
    sim.injectFault({ path: `/v1/deployment/${id}`, kind: 'delay', ms: delayMs, count: MANY })
    for (let i = 0; i < MANY; i++) {
      const leaving = get(sim, `/v1/deployment/${id}`, { signal: AbortSignal.timeout(5) })
      await expect(leaving).rejects.toThrow()
      // The simulator goes on with the request once its delay is over.
      await new Promise((resolve) => setTimeout(resolve, delayMs * 3))
    }
    sim.clearFaults()
    expect((await get(sim, `/v1/deployment/${id}`)).status).toBe(200)
    expect(await warned()).toEqual([])
  })

  it('is not listened to once per held query', async () => {
    const sim = await start()
    const { id } = rollout(sim)
    const d = (await get(sim, `/v1/deployment/${id}`)).json<Deployment>()
    const leave = new AbortController()
    const held = Array.from({ length: MANY }, () =>
      get(sim, `/v1/deployment/${id}?index=${d.ModifyIndex}&wait=5m`, { signal: leave.signal }),
    )
    for (const h of held) h.catch(() => undefined) // ended by `leave`
    await sim.settled({ held: MANY })
    expect(sim.heldQueries()).toHaveLength(MANY)
    expect(await warned()).toEqual([])
    leave.abort()
  })
})
