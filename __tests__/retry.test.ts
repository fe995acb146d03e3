// The read retry loop and its back-off (src/nomad/retry.ts), in-process: what
// is retried, how long apart, until when, and what is thrown. The client tests
// (client.test.ts) run the same loop against the simulator's faults.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { NomadError, abortedError, fromStatus } from '../src/nomad/errors.js'
import { DEFAULT_RETRY, backoffMs, retrying, sleep } from '../src/nomad/retry.js'

afterEach(() => {
  vi.restoreAllMocks()
})

const where = { method: 'GET', path: '/v1/deployment/x' }
const unavailable = () =>
  fromStatus('GET', where.path, 503, 'Service Unavailable', undefined, undefined)
const notFound = () =>
  fromStatus('GET', where.path, 404, 'deployment not found', undefined, undefined)

/** An attempt that fails with each of `failures` in turn, then answers `ok`. */
function failing(...failures: unknown[]) {
  const calls: number[] = []
  const attempt = async () => {
    calls.push(performance.now())
    const f = failures[calls.length - 1]
    if (f !== undefined) throw f
    return 'ok'
  }
  return { attempt, calls }
}

describe('backoffMs: capped exponential, half fixed and half random', () => {
  const withRandom = (r: number) => vi.spyOn(Math, 'random').mockReturnValue(r)

  it('doubles from the base each attempt, from half to all of the cap', () => {
    const policy = { baseMs: 200, maxMs: 5_000 }
    withRandom(0)
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 800])
    withRandom(0.5)
    expect(backoffMs(policy, 1)).toBe(150)
    withRandom(0.999999)
    expect(backoffMs(policy, 3)).toBe(800)
  })

  it('never exceeds the cap, nor doubles more than 20 times', () => {
    withRandom(0.999999)
    expect(backoffMs({ baseMs: 200, maxMs: 5_000 }, 10)).toBe(5_000)
    withRandom(0)
    expect(backoffMs({ baseMs: 1, maxMs: 1e12 }, 50)).toBe(2 ** 20 / 2)
  })

  it("defaults to the Go client's: 100 to 200 ms first, never more than 5 s", () => {
    withRandom(0)
    expect(backoffMs(DEFAULT_RETRY, 1)).toBe(100)
    withRandom(0.999999)
    expect(backoffMs(DEFAULT_RETRY, 1)).toBe(200)
    expect(backoffMs(DEFAULT_RETRY, 30)).toBe(5_000)
  })
})

describe('sleep', () => {
  it('waits, and ends at once when the signal fires', async () => {
    const t0 = performance.now()
    await sleep(30)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25)
    const ctrl = new AbortController()
    const long = sleep(60_000, ctrl.signal)
    ctrl.abort()
    await expect(long).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('retrying', () => {
  const fast = { baseMs: 5, maxMs: 20 }

  it('sends again after a retryable failure, telling each retry with its number and delay', async () => {
    const { attempt, calls } = failing(unavailable(), unavailable())
    const retries: Array<[string, number, number]> = []
    const res = await retrying(attempt, {
      ...where,
      policy: fast,
      onRetry: (err, n, delay) => retries.push([err.detail, n, delay]),
    })
    expect(res).toBe('ok')
    expect(calls).toHaveLength(3)
    expect(retries.map(([detail, n]) => [detail, n])).toEqual([
      ['Service Unavailable', 1],
      ['Service Unavailable', 2],
    ])
    for (const [, , delay] of retries) {
      expect(delay).toBeGreaterThanOrEqual(2)
      expect(delay).toBeLessThanOrEqual(20)
    }
  })

  it('throws at once what a retry cannot change: a final status, or an error that is no NomadError', async () => {
    const final = failing(notFound())
    await expect(retrying(final.attempt, { ...where, policy: fast })).rejects.toMatchObject({
      status: 404,
    })
    expect(final.calls).toHaveLength(1)
    const bug = failing(new TypeError('not a network error'))
    await expect(retrying(bug.attempt, { ...where, policy: fast })).rejects.toThrow(TypeError)
    expect(bug.calls).toHaveLength(1)
    // Even where the caller's rule would retry anything: a bug is not an outage.
    const anything = failing(new TypeError('not a network error'))
    await expect(
      retrying(anything.attempt, { ...where, policy: fast, retryable: () => true }),
    ).rejects.toThrow(TypeError)
    expect(anything.calls).toHaveLength(1)
  })

  it('asks giveUp before each retry, with how long the failed attempt took; its error ends the loop', async () => {
    const failures = [unavailable(), unavailable(), unavailable()]
    let calls = 0
    const attempt = async () => {
      calls++
      await sleep(30)
      throw failures[calls - 1]
    }
    const asked: Array<[NomadError, number, number, number]> = []
    const stop = notFound()
    const err = await retrying(attempt, {
      ...where,
      policy: fast,
      giveUp: (e, n, delayMs, attemptMs) => {
        asked.push([e, n, delayMs, attemptMs])
        return n === 2 ? stop : undefined
      },
    }).catch((e: unknown) => e)
    expect(err).toBe(stop)
    expect(calls).toBe(2)
    expect(asked.map(([e, n]) => [e, n])).toEqual([
      [failures[0], 1],
      [failures[1], 2],
    ])
    for (const [, , delayMs, attemptMs] of asked) {
      expect(delayMs).toBeGreaterThanOrEqual(2)
      expect(delayMs).toBeLessThanOrEqual(20)
      // The attempt's own time (30 ms here), not a clock reading.
      expect(attemptMs).toBeGreaterThanOrEqual(25)
      expect(attemptMs).toBeLessThan(5_000)
    }
  })

  it('retries until the deadline, the last back-off cut to the time left, then throws the last failure', async () => {
    const failures = Array.from({ length: 1000 }, unavailable)
    const { attempt, calls } = failing(...failures)
    const t0 = performance.now()
    const err = await retrying(attempt, {
      ...where,
      policy: { baseMs: 5_000, maxMs: 5_000 },
      deadline: t0 + 150,
    }).catch((e: unknown) => e)
    const took = performance.now() - t0
    expect(err).toBe(failures[calls.length - 1])
    // One try now, and the last at the deadline (the 2.5 s back-off cut to what was left).
    expect(calls).toHaveLength(2)
    expect(calls[1]! - t0).toBeGreaterThanOrEqual(140)
    expect(took).toBeLessThan(2_000)
  })

  it('without a deadline, retries with a real delay', async () => {
    const { attempt } = failing(unavailable())
    const delays: number[] = []
    await retrying(attempt, { ...where, policy: fast, onRetry: (_e, _n, d) => delays.push(d) })
    expect(delays).toHaveLength(1)
    expect(Number.isFinite(delays[0])).toBe(true)
  })

  it('a signal during the back-off ends it at once: aborted, the failure as its cause', async () => {
    const failure = unavailable()
    const { attempt, calls } = failing(failure, failure)
    const ctrl = new AbortController()
    const t0 = performance.now()
    const p = retrying(attempt, {
      ...where,
      policy: { baseMs: 60_000, maxMs: 60_000 },
      signal: ctrl.signal,
      onRetry: () => setTimeout(() => ctrl.abort(), 10),
    })
    const err = (await p.catch((e: unknown) => e)) as NomadError
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(err).toBeInstanceOf(NomadError)
    expect(err.kind).toBe('aborted')
    expect(err.cause).toBe(failure)
    expect(err.message).toBe(`GET ${where.path} failed: aborted`)
    expect(calls).toHaveLength(1)
  })

  it('an attempt aborted while retrying says what was being retried', async () => {
    const failure = unavailable()
    const aborted = abortedError('GET', where.path, new Error('the signal'))
    const { attempt } = failing(failure, aborted)
    const err = (await retrying(attempt, { ...where, policy: fast }).catch(
      (e: unknown) => e,
    )) as NomadError
    expect(err.kind).toBe('aborted')
    expect(err.cause).toBe(failure)
    // Aborted on the first try: nothing was being retried, the abort as it is.
    const first = failing(aborted)
    await expect(retrying(first.attempt, { ...where, policy: fast })).rejects.toBe(aborted)
  })
})
