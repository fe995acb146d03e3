// The blocking-query loop (src/nomad/watch.ts) on its own contract: what it
// asks of a Fetch (index, wait, abort signal) and what it reports. The Fetch
// here answers from a script in-process, so every index and every timing is
// the test's to choose; client.test.ts runs the same loop over real HTTP
// against the simulator.

import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { NomadError, abortedError, fromStatus } from '../src/nomad/errors.js'
import type { QueryMeta, QueryOptions, Response } from '../src/nomad/query.js'
import { watch } from '../src/nomad/watch.js'

/** An answer at `index`, after `ms`; `hold`: no answer until the request is aborted. */
type Step = { index: number; ms?: number } | { fail: unknown } | 'hold'

interface Script {
  fetch: (q: QueryOptions) => Promise<Response<number, QueryMeta>>
  sent: QueryOptions[]
  at: number[]
}

/** A Fetch that answers each query with the next step; past the script, it holds. */
function script(steps: Step[]): Script {
  const sent: QueryOptions[] = []
  const at: number[] = []
  const fetch = (q: QueryOptions) => {
    sent.push(q)
    at.push(performance.now())
    const step = steps[sent.length - 1] ?? 'hold'
    return new Promise<Response<number, QueryMeta>>((resolve, reject) => {
      if (step === 'hold') {
        q.signal!.addEventListener('abort', () => reject(abortedError('GET', '/x', undefined)))
        return
      }
      if ('fail' in step) return reject(step.fail)
      const meta = { lastIndex: step.index, knownLeader: true, lastContact: 0 }
      setTimeout(() => resolve({ body: step.index, meta }), step.ms ?? 0)
    })
  }
  return { fetch, sent, at }
}

const gaps = (at: number[]) => at.slice(1).map((t, i) => t - at[i]!)

/** Runs a watch until `stopWhen` holds (then aborts it) or its deadline. */
async function run(
  s: Script,
  options: { deadlineMs?: number; index?: number; maxWaitMs?: number } = {},
  stopWhen: () => boolean = () => false,
) {
  const ctrl = new AbortController()
  const seen: number[] = []
  const timer = setInterval(() => stopWhen() && ctrl.abort(), 2)
  try {
    await watch(s.fetch, (body) => seen.push(body), {
      deadline: performance.now() + (options.deadlineMs ?? 5_000),
      signal: ctrl.signal,
      ...(options.index !== undefined ? { index: options.index } : {}),
      ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    })
  } finally {
    clearInterval(timer)
  }
  return seen
}

describe('what the loop asks', () => {
  it('16/17 of the time left as the wait, so the server answers before the deadline', async () => {
    const s = script(['hold'])
    await run(s, { deadlineMs: 1_700 }, () => s.sent.length >= 1)
    expect(s.sent[0]!.waitMs).toBeGreaterThan(1_500)
    expect(s.sent[0]!.waitMs).toBeLessThanOrEqual(1_600)
    expect(s.sent[0]!.deadline).toBeGreaterThan(performance.now())
  })

  it('at most maxWaitMs, and never more than the server takes (5 minutes)', async () => {
    const short = script(['hold'])
    await run(short, { deadlineMs: 60_000, maxWaitMs: 1_000 }, () => short.sent.length >= 1)
    expect(short.sent[0]!.waitMs).toBe(1_000)
    const long = script(['hold'])
    await run(long, { deadlineMs: 3_600_000, maxWaitMs: 600_000 }, () => long.sent.length >= 1)
    expect(long.sent[0]!.waitMs).toBe(300_000)
  })

  it('the last index seen, never below 1 once it has an answer', async () => {
    const s = script([{ index: 0 }, { index: 7, ms: 60 }, { index: 9, ms: 60 }])
    const seen = await run(s, {}, () => s.sent.length >= 4)
    expect(s.sent.map((q) => q.index)).toEqual([0, 1, 7, 9])
    expect(seen).toEqual([0, 7, 9])
  })
})

describe('what it reports', () => {
  it('the first answer, then only answers whose index moved', async () => {
    const s = script([{ index: 5 }, { index: 5, ms: 60 }, { index: 8, ms: 60 }])
    const seen = await run(s, {}, () => s.sent.length >= 4)
    expect(seen).toEqual([5, 8])
  })

  it('with the index of an answer the caller has: blocks on it, reports only a change', async () => {
    const s = script([
      { index: 9, ms: 60 },
      { index: 12, ms: 60 },
    ])
    const seen = await run(s, { index: 9 }, () => s.sent.length >= 3)
    expect(s.sent.map((q) => q.index)).toEqual([9, 9, 12])
    expect(seen).toEqual([12])
  })

  it('an index that goes backwards: starts over at 0 and reports the answer read again', async () => {
    const s = script([{ index: 10 }, { index: 3 }, { index: 10 }])
    const seen = await run(s, {}, () => s.sent.length >= 4)
    expect(s.sent.map((q) => q.index)).toEqual([0, 10, 0, 10])
    expect(seen).toEqual([10, 10])
  })
})

describe('it never spins', () => {
  it('backs off when the server answers at once without a change: 50, 100, 200 ms', async () => {
    const s = script([{ index: 4 }, { index: 4 }, { index: 4 }, { index: 4 }])
    await run(s, {}, () => s.sent.length >= 5)
    const [a, b, c] = gaps(s.at).slice(1)
    expect(a).toBeGreaterThanOrEqual(45)
    expect(b).toBeGreaterThanOrEqual(95)
    expect(c).toBeGreaterThanOrEqual(195)
    expect(c).toBeLessThan(1_000)
  })

  it('does not back off after an answer that was held (the server waited)', async () => {
    const s = script([{ index: 4 }, { index: 4, ms: 80 }, { index: 4, ms: 80 }])
    await run(s, {}, () => s.sent.length >= 4)
    // Each query follows the last answer at once: the gaps are the 80 ms holds.
    expect(
      gaps(s.at)
        .slice(1)
        .reduce((a, b) => a + b, 0),
    ).toBeLessThan(400)
  })

  it('backs off when the index keeps going backwards, from the second time', async () => {
    const s = script([{ index: 10 }, { index: 3 }, { index: 10 }, { index: 3 }, { index: 10 }])
    await run(s, {}, () => s.sent.length >= 5)
    // 10, back (1st), 10 read again, back (2nd): 100 ms before reading again.
    expect(gaps(s.at)[3]).toBeGreaterThanOrEqual(95)
    expect(gaps(s.at)[3]).toBeLessThan(1_000)
  })
})

describe('it never spins, and never sleeps past what it must', () => {
  it('an unchanged answer that was held is followed at once, each time', async () => {
    const s = script([{ index: 4 }, ...Array.from({ length: 3 }, () => ({ index: 4, ms: 200 }))])
    await run(s, {}, () => s.sent.length >= 5)
    // Three holds of 200 ms; a back-off after each would add 50 + 100 + 200 ms.
    const held = gaps(s.at).slice(1)
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThan(750)
  })

  it('an index that goes backwards once after each normal answer never pauses', async () => {
    // Ten times: an answer, one that went back, the same read again, a change.
    const steps = Array.from({ length: 10 }, (_, k) => {
      const base = 100 + 10 * k
      return [{ index: base }, { index: base - 50 }, { index: base }, { index: base + 1 }]
    }).flat()
    const s = script(steps)
    const t0 = performance.now()
    await run(s, {}, () => s.sent.length > steps.length)
    // A pause from the first time (50 ms each), or a count never reset by a
    // normal answer (100, 200, 400 ms...), would take well over a second.
    expect(performance.now() - t0).toBeLessThan(450)
  })

  it('the pause of an index that keeps going backwards is cut at the deadline', async () => {
    const s = script(Array.from({ length: 40 }, (_, i) => ({ index: i % 2 === 0 ? 10 : 3 })))
    const t0 = performance.now()
    await run(s, { deadlineMs: 150 })
    // 50, 100, then a 200 ms pause cut to the 150 ms deadline.
    expect(performance.now() - t0).toBeLessThan(290)
  })
})

describe('how it ends', () => {
  it('a deadline already passed: no query at all', async () => {
    const s = script([{ index: 3 }])
    const seen: number[] = []
    await watch(s.fetch, (b) => seen.push(b), {
      deadline: performance.now() - 1,
      signal: new AbortController().signal,
    })
    expect(s.sent).toHaveLength(0)
    expect(seen).toEqual([])
  })

  it("the caller's signal during a retried read ends the watch quietly, not with the read's failure", async () => {
    const failure = fromStatus('GET', '/x', 503, 'Service Unavailable', undefined, undefined)
    const ctrl = new AbortController()
    const fetch = (q: QueryOptions) =>
      new Promise<Response<number, QueryMeta>>((_, reject) => {
        q.signal!.addEventListener('abort', () => reject(abortedError('GET', '/x', failure)))
        setTimeout(() => ctrl.abort(), 20)
      })
    await expect(
      watch(fetch, () => undefined, { deadline: performance.now() + 5_000, signal: ctrl.signal }),
    ).resolves.toBeUndefined()
  })

  it('at the deadline: the held query is aborted, and no other is sent', async () => {
    const s = script([{ index: 3 }, 'hold'])
    const t0 = performance.now()
    const seen = await run(s, { deadlineMs: 200 })
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190)
    expect(s.sent).toHaveLength(2)
    expect(s.sent[1]!.signal!.aborted).toBe(true)
    expect(seen).toEqual([3])
  })

  it('the failure the client was retrying when the deadline came is thrown, not a quiet end', async () => {
    const failure = fromStatus('GET', '/x', 503, 'Service Unavailable', undefined, undefined)
    const s = script([])
    const fetch = (q: QueryOptions) =>
      new Promise<Response<number, QueryMeta>>((_, reject) => {
        s.sent.push(q)
        q.signal!.addEventListener('abort', () => reject(abortedError('GET', '/x', failure)))
      })
    const err = await watch(fetch, () => undefined, {
      deadline: performance.now() + 100,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e)
    expect(err).toBe(failure)
  })

  it('a read that fails for good before the deadline is thrown as it is', async () => {
    const failure = fromStatus('GET', '/x', 404, 'deployment not found', undefined, undefined)
    const s = script([{ index: 2 }, { fail: failure }])
    await expect(run(s)).rejects.toBe(failure)
  })

  it("on the caller's signal: the held query is aborted, and nothing more is reported", async () => {
    const ctrl = new AbortController()
    const seen: number[] = []
    const sent: QueryOptions[] = []
    const fetch = (q: QueryOptions) => {
      sent.push(q)
      if (sent.length <= 2) {
        const meta = { lastIndex: sent.length, knownLeader: true, lastContact: 0 }
        return new Promise<Response<number, QueryMeta>>((r) =>
          setTimeout(() => r({ body: sent.length, meta }), 60),
        )
      }
      // One listener of the caller's signal at a time: those of earlier queries are gone.
      expect(getEventListeners(ctrl.signal, 'abort')).toHaveLength(1)
      ctrl.abort()
      // An answer that arrives after the abort, and a failure: neither is reported.
      return Promise.resolve({
        body: 99,
        meta: { lastIndex: 99, knownLeader: true, lastContact: 0 },
      })
    }
    await watch(fetch, (b) => seen.push(b), {
      deadline: performance.now() + 5_000,
      signal: ctrl.signal,
    })
    expect(seen).toEqual([1, 2])
    expect(sent[0]!.signal!.aborted).toBe(false)
    expect(getEventListeners(ctrl.signal, 'abort')).toHaveLength(0)
  })

  it("a failure after the caller's signal ends the watch quietly", async () => {
    const ctrl = new AbortController()
    const fetch = () => {
      ctrl.abort()
      return Promise.reject(
        new NomadError({
          kind: 'network',
          method: 'GET',
          path: '/x',
          detail: 'cut',
          retryable: true,
          ambiguous: true,
        }),
      )
    }
    await expect(
      watch(fetch, () => undefined, { deadline: performance.now() + 5_000, signal: ctrl.signal }),
    ).resolves.toBeUndefined()
  })

  it('a held query ends when the caller aborts', async () => {
    const s = script(['hold'])
    const t0 = performance.now()
    await run(s, { deadlineMs: 60_000 }, () => s.sent.length >= 1)
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(s.sent[0]!.signal!.aborted).toBe(true)
  })
})
