// GET /v1/event/stream: the event broker (nomad/stream), the events a raft
// apply publishes (nomad/state/events.go) and the agent's streaming endpoint
// (command/agent/event_endpoint.go, nomad/event_endpoint.go).

import { describe, expect, it } from 'vitest'

import type { EventBatch, SimEvent, Simulator, SimulatorOptions } from '../../sim/simulator.js'
import { put, rollout, runJob, start, startManual } from './helpers.js'

interface Stream {
  status: number
  headers: Headers
  /** The next line (without its newline); null once the server closed the stream. */
  next(timeoutMs?: number): Promise<string | null>
  /** The next line that is not a heartbeat, parsed. */
  batch(timeoutMs?: number): Promise<EventBatch>
  close(): void
}

async function open(sim: Simulator, query: string, token?: string): Promise<Stream> {
  const stop = new AbortController()
  const res = await fetch(`${sim.address}/v1/event/stream${query}`, {
    signal: stop.signal,
    headers: token ? { 'X-Nomad-Token': token } : {},
  })
  const reader = res.body?.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  let ended = false
  const next = async (timeoutMs = 2_000): Promise<string | null> => {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const nl = buffered.indexOf('\n')
      if (nl >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        return line
      }
      if (ended || !reader) {
        const rest = buffered
        buffered = ''
        return rest === '' ? null : rest
      }
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`no line from the event stream within ${timeoutMs} ms`)
      let timer: NodeJS.Timeout | undefined
      const r = await Promise.race([
        reader.read().catch(() => ({ done: true, value: undefined })),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ])
      clearTimeout(timer)
      if (r === 'timeout') continue
      if (r.done) ended = true
      else buffered += decoder.decode(r.value, { stream: true })
    }
  }
  const batch = async (timeoutMs = 2_000): Promise<EventBatch> => {
    for (let i = 0; i < 100; i++) {
      const line = await next(timeoutMs)
      if (line === null) throw new Error('the event stream ended before a batch of events')
      if (line !== '{}') return JSON.parse(line) as EventBatch
    }
    throw new Error('100 heartbeats and no events')
  }
  return { status: res.status, headers: res.headers, next, batch, close: () => stop.abort() }
}

/** Streams still open when a test ends are cut when helpers.ts stops the simulator. */
const stream = open

/**
 * A stream of what happens from now on: `index` one past the last raft index.
 * StartAtClosest hands a request past the buffer's end the last batch
 * (event_buffer_test.go: "requested index greater than tail receives tail"),
 * so the stream first replays that one: read it here.
 */
async function live(sim: Simulator, query: string, token?: string): Promise<Stream> {
  const last = sim.index()
  const events = await open(sim, `${query}${query ? '&' : '?'}index=${last + 1}`, token)
  if (sim.state.events?.indexes().length) {
    const replayed = await events.batch()
    if (replayed.Index !== last) throw new Error(`replayed ${replayed.Index}, not the last ${last}`)
  }
  return events
}

/** A simulator whose streams send no heartbeat after the first (the tests' lines are events). */
const sim = (options: SimulatorOptions = {}): Promise<Simulator> =>
  start({ eventStream: { heartbeatMs: 60_000 }, ...options })

const summary = (b: EventBatch): Array<[string, string, string]> =>
  b.Events.map((e: SimEvent) => [e.Topic, e.Type, e.Key])

describe('the stream', () => {
  it('sends a heartbeat at once and on its period, then one line per raft index; no X-Nomad-Index', async () => {
    const s = await start({ eventStream: { heartbeatMs: 50 } })
    const started = performance.now()
    const events = await stream(s, '')
    expect(events.status).toBe(200)
    expect(events.headers.get('content-type')).toBe('application/json')
    expect(events.headers.get('cache-control')).toBe('no-cache')
    expect(events.headers.get('x-nomad-index')).toBeNull()
    expect(await events.next()).toBe('{}')
    expect(await events.next()).toBe('{}')
    expect(performance.now() - started).toBeGreaterThanOrEqual(40)
    const { id } = rollout(s)
    const first = await events.batch()
    expect(first.Index).toBe(1)
    expect(summary(first)).toEqual([['Job', 'JobRegistered', 'web']])
    const lines: number[] = []
    for (let i = 0; i < 4; i++) lines.push((await events.batch()).Index)
    expect(lines).toEqual([2, 3, 4, 5])
    expect(s.deployment(id)?.CreateIndex).toBe(3)
    events.close()
  })

  it("delivers a deployment's events and, by their FilterKeys [JobID, DeploymentID], its allocations'", async () => {
    const s = await sim({ namespaces: ['default'] })
    const { id, web } = rollout(s)
    const events = await live(s, `?topic=Deployment:${id}&topic=Allocation:${id}`)
    s.setAllocHealth(web[0], true)
    const b = await events.batch()
    expect(b.Index).toBe(s.index())
    expect(summary(b)).toEqual([
      ['Deployment', 'AllocationUpdated', id],
      ['Allocation', 'AllocationUpdated', web[0]],
    ])
    const alloc = b.Events[1]
    expect(alloc).toMatchObject({
      Namespace: 'default',
      FilterKeys: ['web', id],
      Index: b.Index,
      Payload: {
        Allocation: { ID: web[0], DeploymentID: id, DeploymentStatus: { Healthy: true } },
      },
    })
    expect(alloc.Payload.Allocation).not.toHaveProperty('Job')
    expect(b.Events[0]).toMatchObject({ FilterKeys: ['web'], Payload: { Deployment: { ID: id } } })
    expect(Object.keys(b.Events[0])).toEqual([
      'Topic',
      'Type',
      'Key',
      'Namespace',
      'FilterKeys',
      'Index',
      'Payload',
    ])
    events.close()
  })

  it("names each event after its raft message: every event of an apply has the apply's type", async () => {
    const s = await sim()
    const { id, web, api } = rollout(s)
    const events = await live(s, `?topic=Deployment:${id}&topic=Allocation:${id}&topic=Evaluation`)
    for (const a of [...web, ...api]) s.setAllocHealth(a, true)
    for (let i = 0; i < 3; i++) await events.batch()
    await put(s, `/v1/deployment/promote/${id}`, { DeploymentID: id, Groups: ['web'] })
    const promotion = await events.batch()
    expect(summary(promotion).map(([topic, type]) => [topic, type])).toEqual([
      ['Deployment', 'DeploymentPromotion'],
      ['Evaluation', 'DeploymentPromotion'],
      ['Allocation', 'DeploymentPromotion'],
      ['Allocation', 'DeploymentPromotion'],
    ])
    await put(s, `/v1/deployment/allocation-health/${id}`, {
      DeploymentID: id,
      HealthyAllocationIDs: [api[0]],
    })
    expect(new Set((await events.batch()).Events.map((e) => e.Type))).toEqual(
      new Set(['DeploymentAllocHealth']),
    )
    await put(s, `/v1/deployment/pause/${id}`, { DeploymentID: id, Pause: true })
    expect(summary(await events.batch())).toEqual([['Deployment', 'DeploymentStatusUpdate', id]])
    events.close()
  })

  it('carries the scheduler and client types of a submitted job: JobRegistered, PlanResult, EvaluationUpdated, AllocationUpdated, AllocationUpdateDesiredStatus', async () => {
    const { sim: s, clock } = await startManual({ eventStream: { heartbeatMs: 60_000 } })
    const events = await stream(s, '?topic=Job&topic=Evaluation&topic=Allocation&topic=Deployment')
    runJob(s, clock, {
      id: 'web',
      groups: [{ name: 'web', count: 1, canaries: 0, update: { minHealthyTimeMs: 1_000 } }],
    })
    const types: string[] = []
    for (let i = 0; i < s.index(); i++) types.push((await events.batch()).Events[0].Type)
    expect(types).toEqual(
      expect.arrayContaining([
        'JobRegistered',
        'PlanResult',
        'EvaluationUpdated',
        'AllocationUpdated',
        'AllocationUpdateDesiredStatus',
      ]),
    )
    events.close()
  })

  it('keeps to the namespace asked for, or every namespace with `*`', async () => {
    const s = await sim({ namespaces: ['default', 'prod'] })
    const ns = await stream(s, '?topic=Job&namespace=prod')
    const all = await stream(s, '?topic=Job&namespace=*')
    s.registerJob({ id: 'web', groups: [{ name: 'web', count: 1, canaries: 0 }] })
    s.registerJob({
      id: 'web',
      namespace: 'prod',
      groups: [{ name: 'web', count: 1, canaries: 0 }],
    })
    expect((await ns.batch()).Events.map((e) => e.Namespace)).toEqual(['prod'])
    expect((await all.batch()).Events.map((e) => e.Namespace)).toEqual(['default'])
    expect((await all.batch()).Events.map((e) => e.Namespace)).toEqual(['prod'])
    ns.close()
    all.close()
  })
})

describe('index: replaying the buffer (stream/event_buffer.go StartAtClosest)', () => {
  it('replays from the first index at or after the one sent, the whole buffer for 0, the last batch past the end', async () => {
    const s = await sim()
    rollout(s) // indexes 1-7
    const from = async (index: number): Promise<number> => {
      const events = await stream(s, `?index=${index}`)
      const first = (await events.batch()).Index
      events.close()
      return first
    }
    expect(await from(3)).toBe(3)
    expect(await from(0)).toBe(1)
    expect(await from(100)).toBe(s.index())
  })

  it('keeps event_buffer_size indexes, with no signal for what fell out', async () => {
    const s = await sim({ eventStream: { bufferSize: 3, heartbeatMs: 60_000 } })
    rollout(s)
    const events = await stream(s, '?index=1')
    const seen = [
      (await events.batch()).Index,
      (await events.batch()).Index,
      (await events.batch()).Index,
    ]
    expect(seen).toEqual([s.index() - 2, s.index() - 1, s.index()])
    events.close()
  })
})

describe('when the stream is not available', () => {
  const acl = {
    tokens: {
      reader: { namespaces: ['default'], write: false },
      admin: { namespaces: ['*'], write: true, management: true },
    },
  }

  it('Nomad ≥ 1.11.2: a refused or disabled stream is a 200 that closes without a line', async () => {
    const s = await sim({ acl })
    for (const [query, token] of [
      ['?topic=Job&namespace=prod', 'reader'],
      ['?topic=*', 'reader'],
      ['?topic=Job', 'nope'],
    ] as const) {
      const events = await stream(s, query, token)
      expect(events.status).toBe(200)
      expect(await events.next()).toBeNull()
    }
    const off = await sim({ eventStream: { enabled: false } })
    const events = await stream(off, '')
    expect([events.status, await events.next()]).toEqual([200, null])
  })

  it('Nomad ≤ 1.11.1: 403 `Permission denied` without read-job (or management for `*`), 500 `EventBroker not configured`', async () => {
    const s = await sim({ acl, eventStream: { hijack: false } })
    const denied = await fetch(`${s.address}/v1/event/stream?topic=Job&namespace=prod`, {
      headers: { 'X-Nomad-Token': 'reader' },
    })
    expect([denied.status, await denied.text()]).toEqual([403, 'Permission denied'])
    const all = await fetch(`${s.address}/v1/event/stream?topic=*`, {
      headers: { 'X-Nomad-Token': 'reader' },
    })
    expect(all.status).toBe(403)
    const ok = await stream(s, '?topic=Job', 'reader')
    expect([ok.status, await ok.next()]).toEqual([200, '{}'])
    ok.close()
    const admin = await stream(s, '?topic=*', 'admin')
    expect(await admin.next()).toBe('{}')
    admin.close()
    const off = await sim({ eventStream: { enabled: false, hijack: false } })
    const res = await fetch(`${off.address}/v1/event/stream`)
    expect([res.status, await res.text()]).toEqual([500, 'EventBroker not configured'])
  })

  it('answers a bad index or topic with 400, before anything is streamed', async () => {
    const s = await sim()
    let res = await fetch(`${s.address}/v1/event/stream?index=abc`)
    expect([res.status, await res.text()]).toEqual([
      400,
      'Unable to parse index: strconv.Atoi: parsing "abc": invalid syntax',
    ])
    res = await fetch(`${s.address}/v1/event/stream?topic=Job:a:b`)
    expect([res.status, await res.text()]).toEqual([
      400,
      'Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: Job:a:b',
    ])
  })
})

describe('ending a stream', () => {
  it('closes on a snapshot restore (a new state store, a new broker)', async () => {
    const s = await sim()
    const { web } = rollout(s)
    const snapshot = s.snapshot()
    const events = await live(s, '')
    s.restore(snapshot)
    expect(await events.next()).toBeNull()
    // The new broker's buffer starts empty: a new stream replays nothing old.
    const again = await stream(s, '?index=1')
    expect(await again.next()).toBe('{}')
    s.setAllocHealth(web[0], true)
    expect((await again.batch()).Index).toBe(s.index())
    again.close()
  })

  it('before 1.11.2, appends the error to the body when the restore closes it', async () => {
    const s = await sim({ eventStream: { hijack: false, heartbeatMs: 60_000 } })
    rollout(s)
    const snapshot = s.snapshot()
    const events = await live(s, '')
    s.restore(snapshot)
    expect(await events.next()).toBe('subscription closed by server, client should resubscribe')
    expect(await events.next()).toBeNull()
  })

  it('the `drop-stream` fault cuts the connection after the given number of event lines', async () => {
    const s = await sim()
    s.injectFault({ path: '/v1/event/stream', kind: 'drop-stream', after: 2 })
    rollout(s)
    const events = await stream(s, '?index=1')
    expect((await events.batch()).Index).toBe(1)
    expect((await events.batch()).Index).toBe(2)
    expect(await events.next()).toBeNull()
    expect(s.requests.at(-1)).toMatchObject({ fault: 'drop-stream', status: 200 })
  })

  it('counts as a held request for quiescence while it waits for events', async () => {
    const s = await sim()
    rollout(s)
    const events = await live(s, '')
    await s.settled()
    expect(s.heldQueries()).toEqual([
      expect.objectContaining({ path: '/v1/event/stream', index: s.index() }),
    ])
    events.close()
  })
})
