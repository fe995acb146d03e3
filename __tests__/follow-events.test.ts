// The gate on Nomad's event stream (issue "Constant cost per change"): `auto`
// follows the stream and falls back to blocking queries within a second or two
// whenever the stream is refused, silent or drops; `events` fails instead; a
// change costs the gate no read of its own. The simulator serves the stream
// with Nomad's semantics (sim/stream.ts, __tests__/sim/events.test.ts).

import { describe, expect, it } from 'vitest'
import type { Simulator, SimulatorOptions } from '../sim/simulator.js'
import { STREAM_WAIT_MS } from '../src/gate/follow.js'
import { Lab, healthy, holding, rollout } from './reliability/helpers.js'
import { startGate } from './reliability/inprocess.js'
import { until } from './helpers/wait.js'

const STREAM = '/v1/event/stream'
const isStream = (r: Simulator['requests'][number]) => r.path === STREAM
const reads = (s: Simulator) => s.requests.filter((r) => r.method === 'GET' && !isStream(r))

async function gateOn(
  ctx: ConstructorParameters<typeof Lab>[0],
  options: SimulatorOptions,
  watch: string,
) {
  const lab = new Lab(ctx)
  const s = await lab.sim(options)
  const r = rollout(s)
  const gate = startGate({ address: s.address, 'deployment-id': r.id, watch, timeout: '10s' })
  return { s, r, gate }
}

/** The gate's notes on the stream, and the line saying how it follows. */
const streamLines = (lines: string[]) =>
  lines.filter((l) => /event stream|blocking queries/.test(l))

describe('watch: auto follows the event stream', () => {
  it('promotes from the stream alone: after the first reads, a change costs no request', async (ctx) => {
    const { s, r, gate } = await gateOn(ctx, {}, 'auto')
    await holding(s)
    const before = reads(s).length
    healthy(s, r.web)
    await until(
      () => s.heldQueries().some((q) => q.path === STREAM && q.index >= s.index()),
      'the stream delivering the web canaries',
    )
    expect(reads(s)).toHaveLength(before)
    expect(s.writes()).toHaveLength(0)
    healthy(s, r.api)
    const { outcome, lines } = await gate.done
    expect(outcome.result).toBe('promoted')
    expect(outcome.followed).toBe('events')
    expect(s.writes()).toHaveLength(1)
    expect(s.requests.filter(isStream)).toHaveLength(1)
    expect(streamLines(lines).join('\n')).toMatch(/following the event stream/)
    // Following ends with the write: no fallback, no blocking query after it.
    expect(lines.filter((l) => l.includes('cannot be followed'))).toEqual([])
    expect(s.requests.filter((x) => x.query.index !== undefined && !isStream(x))).toEqual([])
    // Subscribed first, then read: nothing between the two can be missed.
    const stream = s.requests.find(isStream)!
    const allocsRead = s.requests.find((x) => x.path.startsWith('/v1/deployment/allocations/'))!
    expect(allocsRead.at).toBeGreaterThanOrEqual(stream.at)
  })

  it('a change that comes while the state is read is taken from the stream, not lost', async (ctx) => {
    const { s, r, gate } = await gateOn(ctx, {}, 'auto')
    // The allocations are read before the web canaries turn healthy, the
    // deployment after: the read's index covers the change, and only the
    // events queued during the read carry the allocations' new health.
    s.injectFault({
      method: 'GET',
      path: `/v1/deployment/${r.id}`,
      kind: 'before',
      count: 2, // the first read resolves the target, before the gate subscribes
      run: async () => {
        if (!s.requests.some(isStream)) return
        await until(
          () =>
            s.requests.some(
              (x) => x.path.startsWith('/v1/deployment/allocations/') && x.status === 200,
            ),
          'the allocations read answered',
        )
        healthy(s, r.web)
        await new Promise((resolve) => setTimeout(resolve, 50))
      },
    })
    await holding(s)
    healthy(s, r.api)
    const { outcome } = await gate.done

    expect(outcome.result).toBe('promoted')
    expect(outcome.followed).toBe('events')
    expect(s.writes()).toHaveLength(1)
  })

  const unavailable: Array<[string, SimulatorOptions, (s: Simulator) => void, RegExp]> = [
    [
      'refused with 500 EventBroker not configured (Nomad <= 1.11.1)',
      { eventStream: { enabled: false, hijack: false } },
      () => {},
      /HTTP 500/,
    ],
    [
      'refused with a 200 that closes at once (Nomad >= 1.11.2)',
      { eventStream: { enabled: false } },
      () => {},
      /closed/,
    ],
    [
      'silent: no heartbeat after subscribing',
      {},
      (s) => s.injectFault({ path: STREAM, kind: 'delay', ms: 5_000 }),
      /no heartbeat within/,
    ],
    [
      'dropped after its first events',
      {},
      (s) => s.injectFault({ path: STREAM, kind: 'drop-stream', after: 1 }),
      /closed|broke/,
    ],
  ]
  for (const [name, options, fault, why] of unavailable) {
    it(`falls back to blocking queries when the stream is ${name}`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim(options)
      const r = rollout(s)
      fault(s)
      const gate = startGate({ address: s.address, 'deployment-id': r.id, timeout: '10s' })
      // A first change goes out on the stream (the drop case cuts it after it).
      await until(() => s.requests.some(isStream), 'the gate subscribing')
      const subscribed = s.requests.find(isStream)!.at
      healthy(s, [r.web[0]])
      await until(
        () => s.heldQueries().some((q) => q.path.startsWith('/v1/deployment/allocations/')),
        'a blocking query on the allocations after the fallback',
        STREAM_WAIT_MS + 3_000,
      )
      const heldAt = s.requests.find(
        (x) => x.path.startsWith('/v1/deployment/allocations/') && x.query.index !== undefined,
      )!.at
      expect(heldAt - subscribed).toBeLessThan(STREAM_WAIT_MS + 1_000)
      healthy(s, [r.web[1], ...r.api])
      const { outcome, lines } = await gate.done
      expect(outcome.result).toBe('promoted')
      expect(outcome.followed).toBe('blocking')
      expect(s.writes()).toHaveLength(1)
      const note = streamLines(lines).find((l) => l.includes('cannot be followed'))
      expect(note).toMatch(why)
      expect(note).toMatch(/following with blocking queries/)
    })
  }
})

describe('watch: events', () => {
  it('fails the step, saying what to do, when the broker is off', async (ctx) => {
    const { s, gate } = await gateOn(
      ctx,
      { eventStream: { enabled: false, hijack: false } },
      'events',
    )
    const { outcome } = await gate.done
    expect(outcome.result).toBe('error')
    expect(outcome.message).toMatch(/event stream cannot be followed/)
    expect(outcome.message).toMatch(/set watch to auto or blocking/)
    expect(outcome.message).not.toMatch(/\n/)
    expect(s.writes()).toHaveLength(0)
    expect(s.heldQueries().filter((q) => q.path !== STREAM)).toHaveLength(0)
  })

  it('subscribes again after a drop, reads the state again, and promotes once', async (ctx) => {
    const { s, r, gate } = await gateOn(ctx, {}, 'events')
    s.injectFault({ path: STREAM, kind: 'drop-stream', after: 1 })
    await holding(s)
    healthy(s, [r.web[0]])
    await until(() => s.requests.filter(isStream).length >= 2, 'a second subscription')
    healthy(s, [r.web[1], ...r.api])
    const { outcome, lines } = await gate.done
    expect(outcome.result).toBe('promoted')
    expect(outcome.followed).toBe('events')
    expect(s.writes()).toHaveLength(1)
    expect(lines.some((l) => /dropped .*subscribing again/.test(l))).toBe(true)
    // Each subscription is followed by a read of the allocations.
    const allocReads = s.requests.filter(
      (x) => x.path.startsWith('/v1/deployment/allocations/') && x.query.index === undefined,
    )
    expect(allocReads.length).toBeGreaterThanOrEqual(2)
  })
})

describe('watch: blocking', () => {
  it('never subscribes', async (ctx) => {
    const { s, r, gate } = await gateOn(ctx, {}, 'blocking')
    await holding(s)
    healthy(s, r.all)
    const { outcome } = await gate.done
    expect(outcome.result).toBe('promoted')
    expect(outcome.followed).toBe('blocking')
    expect(s.requests.filter(isStream)).toHaveLength(0)
  })
})
