// runChecks against real local servers (sim/checks.ts): every way a check
// passes or fails, and what its name and detail say.

import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { hasChecks, runChecks, type CheckSettings } from '../src/checks.js'
import {
  startCheckTarget,
  startPrometheus,
  type CheckTarget,
  type FakePrometheus,
} from '../sim/checks.js'

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()))
})

async function target(): Promise<CheckTarget> {
  const t = await startCheckTarget()
  stops.push(() => t.stop())
  return t
}

async function prometheus(): Promise<FakePrometheus> {
  const p = await startPrometheus()
  stops.push(() => p.stop())
  return p
}

function settings(over: Partial<CheckSettings> = {}): CheckSettings {
  return { urls: [], intervalMs: 1000, timeoutMs: 2000, failureLimit: 0, ...over }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const QUERY =
  'sum by (job) (rate(http_errors_total[5m])) / sum by (job) (rate(http_requests_total[5m]))'

async function promCheck(p: FakePrometheus, threshold = 0.05) {
  const run = await runChecks(settings({ prometheus: { url: p.url, query: QUERY, threshold } }))
  expect(run.results).toHaveLength(1)
  expect(run.results[0].name).toBe('prometheus')
  expect(run.ok).toBe(run.results[0].ok)
  return run.results[0]
}

describe('hasChecks', () => {
  it('is true with a URL or a Prometheus query, false with neither', () => {
    expect(hasChecks(settings())).toBe(false)
    expect(hasChecks(settings({ urls: ['http://x/'] }))).toBe(true)
    expect(
      hasChecks(settings({ prometheus: { url: 'http://p', query: 'up', threshold: 1 } })),
    ).toBe(true)
  })
})

describe('check-url', () => {
  it('times each check: ms is how long the request took', async () => {
    const t = await target()
    t.setDelay(120)
    const t0 = performance.now()
    const run = await runChecks(settings({ urls: [t.url] }))
    const wall = performance.now() - t0
    expect(run.results[0].ok).toBe(true)
    // At least the target's delay (less a timer's rounding), at most the whole call.
    expect(run.results[0].ms).toBeGreaterThanOrEqual(115)
    expect(run.results[0].ms).toBeLessThanOrEqual(Math.ceil(wall))
  })

  it('passes on 2xx', async () => {
    const t = await target()
    const before = performance.now()
    const run = await runChecks(settings({ urls: [t.url] }))
    expect(run).toMatchObject({
      ok: true,
      results: [{ name: t.url, ok: true, detail: 'HTTP 200' }],
    })
    expect(run.atMs).toBeGreaterThanOrEqual(before)
    expect(run.atMs).toBeLessThanOrEqual(performance.now())
    t.setStatus(204)
    expect((await runChecks(settings({ urls: [t.url] }))).results[0]).toMatchObject({
      ok: true,
      detail: 'HTTP 204',
    })
    expect(t.hits).toBe(2)
  })

  it('fails on 500 and 503 with the status', async () => {
    const t = await target()
    t.setStatus(500)
    expect((await runChecks(settings({ urls: [t.url] }))).results[0]).toMatchObject({
      ok: false,
      detail: 'HTTP 500',
    })
    t.setStatus(503)
    const run = await runChecks(settings({ urls: [t.url] }))
    expect(run.ok).toBe(false)
    expect(run.results[0].detail).toBe('HTTP 503')
  })

  it('fails on 404', async () => {
    const t = await target()
    t.setStatus(404)
    expect((await runChecks(settings({ urls: [t.url] }))).results[0].detail).toBe('HTTP 404')
  })

  it('fails after the timeout when the answer is late', async () => {
    const t = await target()
    t.setDelay(3000)
    const start = performance.now()
    const run = await runChecks(settings({ urls: [t.url], timeoutMs: 200 }))
    const took = performance.now() - start
    expect(run.results[0]).toMatchObject({ ok: false, detail: 'timed out after 200ms' })
    expect(took).toBeLessThan(2000)
    expect(run.results[0].ms).toBeGreaterThanOrEqual(190)
  })

  it('says 2s for a 2s timeout', async () => {
    const t = await target()
    t.setDelay(5000)
    const run = await runChecks(settings({ urls: [t.url], timeoutMs: 2000 }))
    expect(run.results[0].detail).toBe('timed out after 2s')
  })

  it('fails with "connection refused" when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/health`
    const run = await runChecks(settings({ urls: [url] }))
    expect(run.results[0]).toMatchObject({ name: url, ok: false, detail: 'connection refused' })
  })

  it('does not follow a redirect, to another host or the same', async () => {
    const t = await target()
    const other = await target()
    t.setStatus(302)
    t.setLocation(other.url)
    const run = await runChecks(settings({ urls: [t.url] }))
    expect(run.ok).toBe(false)
    expect(run.results[0].detail).toMatch(
      /^redirect to http:\/\/127\.0\.0\.1:\d+\/health \(HTTP 302\)/,
    )
    expect(other.hits).toBe(0)

    t.setStatus(301)
    t.setLocation('/elsewhere')
    const again = await runChecks(settings({ urls: [t.url] }))
    expect(again.results[0].detail).toContain(`redirect to ${new URL('/elsewhere', t.url).href}`)
  })

  it('redacts credentials in a redirect target', async () => {
    const t = await target()
    t.setStatus(307)
    t.setLocation('https://user:hunter2@login.example.com/?token=abc')
    const run = await runChecks(settings({ urls: [t.url] }))
    expect(run.results[0].detail).not.toContain('hunter2')
    expect(run.results[0].detail).not.toContain('abc')
    expect(run.results[0].detail).toContain('https://***@login.example.com/?token=***')
  })

  it('runs every URL in parallel and fails the run if one fails', async () => {
    const [a, b, c] = await Promise.all([target(), target(), target()])
    for (const t of [a, b, c]) t.setDelay(300)
    b.setStatus(502)
    const start = performance.now()
    const run = await runChecks(settings({ urls: [a.url, b.url, c.url] }))
    expect(performance.now() - start).toBeLessThan(850)
    expect(run.ok).toBe(false)
    expect(run.results.map((r) => [r.name, r.ok])).toEqual([
      [a.url, true],
      [b.url, false],
      [c.url, true],
    ])
  })

  it('sends URL credentials as Basic auth and redacts them in the name', async () => {
    const t = await target()
    const url = t.url.replace('http://', 'http://ci%40corp:s3cr%3At@') + '?api_key=XYZ&env=prod'
    const run = await runChecks(settings({ urls: [url] }))
    expect(run.results[0].ok).toBe(true)
    expect(t.lastAuthorization).toBe(`Basic ${Buffer.from('ci@corp:s3cr:t').toString('base64')}`)
    const name = run.results[0].name
    expect(name).toBe(t.url.replace('http://', 'http://***@') + '?api_key=***&env=prod')
    expect(JSON.stringify(run)).not.toMatch(/s3cr|ci%40corp|XYZ/)
  })

  it('sends a password that is not valid percent-encoding as written, as the address and the proxy do', async () => {
    const t = await target()
    const run = await runChecks(settings({ urls: [t.url.replace('http://', 'http://ci:p%zz@')] }))
    expect(run.results[0].ok).toBe(true)
    expect(t.lastAuthorization).toBe(`Basic ${Buffer.from('ci:p%zz').toString('base64')}`)
  })

  it('stops at once when the caller aborts', async () => {
    const t = await target()
    t.setDelay(5000)
    const ctl = new AbortController()
    setTimeout(() => ctl.abort(), 100)
    const start = performance.now()
    const run = await runChecks(settings({ urls: [t.url], timeoutMs: 10_000 }), ctl.signal)
    expect(performance.now() - start).toBeLessThan(2000)
    expect(run.results[0]).toMatchObject({ ok: false, detail: 'cancelled' })
  })

  it("adds no listener per check to the caller's signal (Node warns at 11)", async () => {
    const t = await target()
    t.setDelay(50) // the 15 checks are in flight at once
    const warnings: string[] = []
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message)
    }
    process.on('warning', onWarning)
    try {
      const urls = Array.from({ length: 15 }, (_, i) => `${t.url}?n=${i}`)
      const run = await runChecks(settings({ urls }), new AbortController().signal)
      expect(run.results.filter((r) => r.ok)).toHaveLength(15)
      await new Promise((resolve) => setImmediate(resolve)) // a warning is emitted a tick later
      expect(warnings).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('passes a run without checks', async () => {
    expect(await runChecks(settings())).toMatchObject({ ok: true, results: [] })
  })
})

describe('prometheus', () => {
  it('sends the query to /api/v1/query and passes below the threshold', async () => {
    const p = await prometheus()
    p.set(QUERY, [{ metric: { job: 'web' }, value: 0.01 }])
    const r = await promCheck(p)
    expect(p.queries).toEqual([QUERY])
    expect(r).toMatchObject({ ok: true, detail: '1 sample <= threshold 0.05 (max 0.01)' })
  })

  it('passes at the threshold', async () => {
    const p = await prometheus()
    p.set(QUERY, [{ metric: { job: 'web' }, value: 0.05 }])
    expect((await promCheck(p)).ok).toBe(true)
  })

  it('fails above the threshold, naming the series', async () => {
    const p = await prometheus()
    p.set(QUERY, [{ metric: { job: 'web' }, value: 0.07 }])
    expect(await promCheck(p)).toMatchObject({
      ok: false,
      detail: 'value 0.07 > threshold 0.05 for {job="web"}',
    })
  })

  it('fails when one of several samples is above, naming the worst', async () => {
    const p = await prometheus()
    p.set(QUERY, [
      { metric: { job: 'web', instance: 'a' }, value: 0.01 },
      { metric: { job: 'web', instance: 'b' }, value: 0.2 },
      { metric: { job: 'web', instance: 'c' }, value: 0.04 },
    ])
    expect(await promCheck(p)).toMatchObject({
      ok: false,
      detail: 'value 0.2 > threshold 0.05 for {job="web", instance="b"}',
    })
    p.set(QUERY, [
      { metric: { __name__: 'errors', job: 'web' }, value: 0.09 },
      { metric: { __name__: 'errors', job: 'api' }, value: 0.3 },
    ])
    expect((await promCheck(p)).detail).toBe(
      'value 0.3 > threshold 0.05 for errors{job="api"} (and 1 more)',
    )
  })

  it('passes when all of several samples are at or below', async () => {
    const p = await prometheus()
    p.set(QUERY, [
      { metric: { job: 'web' }, value: 0 },
      { metric: { job: 'api' }, value: 0.05 },
    ])
    expect(await promCheck(p)).toMatchObject({
      ok: true,
      detail: '2 samples <= threshold 0.05 (max 0.05)',
    })
  })

  it('fails on an empty vector (a typo must not pass)', async () => {
    const p = await prometheus()
    expect(await promCheck(p)).toMatchObject({ ok: false, detail: 'no samples' })
    expect(p.queries).toEqual([QUERY])
  })

  it('fails on NaN (0/0: no traffic is no evidence)', async () => {
    const p = await prometheus()
    p.set(QUERY, [{ metric: { job: 'web' }, value: NaN }])
    expect(await promCheck(p)).toMatchObject({
      ok: false,
      detail: 'value NaN is not a number for {job="web"}',
    })
  })

  it('fails on +Inf', async () => {
    const p = await prometheus()
    p.set(QUERY, [{ metric: {}, value: Infinity }])
    expect((await promCheck(p)).detail).toBe('value +Inf > threshold 0.05 for {}')
  })

  it("fails with Prometheus' error on status:error", async () => {
    const p = await prometheus()
    p.set(QUERY, 'error')
    const r = await promCheck(p)
    expect(r.ok).toBe(false)
    expect(r.detail).toMatch(/^query failed: bad_data: invalid parameter "query": 1:1: parse error/)
  })

  it('fails on malformed JSON', async () => {
    const p = await prometheus()
    p.setRaw('{"status":"success","data":{"resultType":"vec')
    expect(await promCheck(p)).toMatchObject({
      ok: false,
      detail: 'not JSON from Prometheus (HTTP 200, application/json)',
    })
  })

  it('fails on a JSON answer that is not a query result', async () => {
    const p = await prometheus()
    p.setRaw('{"hello":"world"}')
    expect((await promCheck(p)).detail).toBe('unexpected answer from Prometheus: {"hello":"world"}')
  })

  it('judges a scalar result', async () => {
    const p = await prometheus()
    p.setRaw('{"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"0.5"]}}')
    expect(await promCheck(p, 1)).toMatchObject({ ok: true })
    expect((await promCheck(p, 0.1)).detail).toBe('value 0.5 > threshold 0.1 for scalar')
  })

  it('fails on a range vector (matrix) result', async () => {
    const p = await prometheus()
    p.setRaw('{"status":"success","data":{"resultType":"matrix","result":[]}}')
    expect((await promCheck(p)).detail).toMatch(/^result of type matrix/)
  })

  it('fails with the status when the path is not Prometheus', async () => {
    const p = await prometheus()
    const run = await runChecks(
      settings({ prometheus: { url: `${p.url}/not-here`, query: QUERY, threshold: 1 } }),
    )
    expect(run.results[0]).toMatchObject({ ok: false, detail: 'HTTP 404' })
  })

  it('fails on timeout and on connection refused', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`
    const run = await runChecks(settings({ prometheus: { url, query: QUERY, threshold: 1 } }))
    expect(run.results[0]).toMatchObject({ ok: false, detail: 'connection refused' })

    const t = await target() // answers slowly, like a Prometheus under load
    t.setDelay(3000)
    const slow = await runChecks(
      settings({ prometheus: { url: t.url, query: QUERY, threshold: 1 }, timeoutMs: 150 }),
    )
    expect(slow.results[0]).toMatchObject({ ok: false, detail: 'timed out after 150ms' })
  })

  it('runs beside the URL checks', async () => {
    const [t, p] = await Promise.all([target(), prometheus()])
    p.set(QUERY, [{ metric: { job: 'web' }, value: 0.01 }])
    t.setStatus(500)
    const run = await runChecks(
      settings({ urls: [t.url], prometheus: { url: p.url, query: QUERY, threshold: 0.05 } }),
    )
    expect(run.ok).toBe(false)
    expect(run.results.map((r) => `${r.name} ${r.ok}`)).toEqual([
      `${t.url} false`,
      'prometheus true',
    ])
  })
})
