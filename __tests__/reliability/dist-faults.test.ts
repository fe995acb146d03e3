// A few of the fault matrix's cases again through dist/index.js as the runner
// runs it (production back-off: 200 ms doubling), with a token on every run
// that must never be shown.

import { describe, it } from 'vitest'
import { request } from '../helpers/wait.js'
import {
  Lab,
  PASSWORD,
  TOKEN,
  expectNoLeak,
  healthy,
  holding,
  nextRequest,
  report,
  rollout,
  runDist,
  startDist,
  stdoutLine,
  type DistRun,
} from './helpers.js'

/** The address with a token-looking password in its userinfo (sent as basic auth). */
const withPassword = (address: string) => address.replace('://', `://ci:${PASSWORD}@`)

function record(
  name: string,
  phase: string,
  run: DistRun,
  sent: number,
  applied: number,
  faults: number,
  note = '',
) {
  report({
    suite: 'faults',
    name,
    via: 'dist',
    phase,
    result: run.outputs.result ?? '',
    faults,
    writesSent: sent,
    writesApplied: applied,
    elapsedMs: run.ms,
    note,
  })
}

describe.concurrent('dist/index.js under faults', () => {
  it('503 on the reads while waiting: retried, promoted once', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    const writes = lab.applied(s)
    const run = startDist({
      address: withPassword(s.address),
      token: TOKEN,
      'deployment-id': r.id,
      watch: 'blocking',
    })
    await holding(s)
    const f = s.injectFault({
      method: 'GET',
      path: '/v1/deployment/',
      kind: 'status',
      status: 503,
      count: 3,
    })
    const [extra] = s.placeAllocs(r.id, 'web', 1)
    s.setAllocHealth(extra, true) // wakes the held queries: they meet the 503s
    await request(s, 'three reads meeting the 503s', () => f.hits >= 3)
    await nextRequest(s, (q) => q.fault === undefined) // and get past them
    healthy(s, [r.web[1]])
    const res = await run.done
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(res.code).toBe(0)
    ctx.expect(f.hits).toBe(3)
    // Each retry an info line; one warning sums them up.
    ctx
      .expect(res.stdout)
      .toMatch(/^GET \/v1\/deployment\/.* failed: HTTP 503: Service Unavailable; retry \d in /m)
    ctx.expect(res.stdout).toMatch(/^::warning::\d requests were retried: HTTP 503 \(\d\)$/m)
    ctx.expect(writes.count()).toBe(1)
    ctx.expect(s.writes()).toHaveLength(1)
    expectNoLeak(res, [TOKEN, PASSWORD])
    record('503 on reads (dist)', 'wait', res, s.writes().length, writes.count(), f.hits)
  })

  it('connection refused while waiting, then the server is back: promoted once', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0]])
    const writes = lab.applied(s)
    const proxy = await lab.proxy(s.port)
    const run = startDist({ address: proxy.address, token: TOKEN, 'deployment-id': r.id })
    await holding(s)
    const refused = stdoutLine(run.child, /connection refused.*retry 2 in/)
    await proxy.down()
    await refused
    healthy(s, [r.web[1], r.api[0]])
    await proxy.up()
    const res = await run.done
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx
      .expect(res.stdout)
      .toContain(`cannot connect to Nomad at ${proxy.address} (connection refused)`)
    ctx.expect(writes.count()).toBe(1)
    expectNoLeak(res, [TOKEN])
    const faults = res.stdout.split('\n').filter((l) => /connection refused/.test(l)).length
    record(
      'connection refused, then back (dist)',
      'wait',
      res,
      s.writes().length,
      writes.count(),
      faults,
    )
  })

  it('No cluster leader twice on the promote: sent three times, applied once', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const writes = lab.applied(s)
    const f = s.injectFault({
      method: 'PUT',
      kind: 'status',
      status: 500,
      body: 'rpc error: No cluster leader',
      count: 2,
    })
    const res = await runDist({ address: s.address, token: TOKEN, job: 'web' })
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(res.outputs['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    ctx.expect(s.writes()).toHaveLength(3)
    ctx.expect(writes.count()).toBe(1)
    ctx
      .expect(res.stdout)
      .toMatch(
        /The promote request failed \(No cluster leader\) and did not take effect; sending it again/,
      )
    expectNoLeak(res, [TOKEN])
    record(
      'No cluster leader ×2 on the promote (dist)',
      'write',
      res,
      s.writes().length,
      writes.count(),
      f.hits,
    )
  })

  it('lost write: the promote is applied, its answer dropped; promoted, not sent again', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const writes = lab.applied(s)
    const f = s.injectFault({ method: 'PUT', kind: 'drop-response' })
    const res = await runDist({ address: s.address, token: TOKEN, 'deployment-id': r.id })
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(res.code).toBe(0)
    ctx.expect(res.outputs['eval-id']).toBe('') // the answer never came
    ctx.expect(res.outputs.status).toBe('running')
    ctx
      .expect(JSON.parse(res.outputs.groups).every((g: { promoted: boolean }) => g.promoted))
      .toBe(true)
    ctx.expect(res.stdout).toContain('took effect although its answer was lost')
    ctx.expect(s.writes()).toHaveLength(1)
    ctx.expect(writes.count()).toBe(1)
    expectNoLeak(res, [TOKEN])
    record(
      'lost write: answer dropped (dist)',
      'write',
      res,
      s.writes().length,
      writes.count(),
      f.hits,
      'seen by read-back',
    )
  })

  it('a promote slower than the request time limit lands late: seen, not sent again', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const writes = lab.applied(s)
    const f = s.injectFault({ method: 'PUT', kind: 'delay', ms: 700 })
    // NOMAD_CANARY_GATE_REQUEST_TIMEOUT: the smallest knob, for tests only (src/config/parse.ts).
    const res = await runDist(
      { address: s.address, token: TOKEN, 'deployment-id': r.id },
      { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: '500ms' },
    )
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx
      .expect(res.stdout)
      .toMatch(/no answer from .* within 500 ms\), but the deployment shows it in effect/)
    ctx.expect(s.writes()).toHaveLength(1)
    ctx.expect(writes.count()).toBe(1)
    expectNoLeak(res, [TOKEN])
    record(
      'promote slower than the time limit (dist)',
      'write',
      res,
      s.writes().length,
      writes.count(),
      f.hits,
      'seen by read-back',
    )
  })

  it('503 for good: a clear error once the deadline has passed, no write', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const writes = lab.applied(s)
    const f = s.injectFault({ method: 'GET', kind: 'status', status: 503, count: 1_000_000 })
    const res = await runDist({ address: s.address, token: TOKEN, job: 'web', timeout: '2s' })
    ctx.expect(res.code).toBe(1)
    ctx.expect(res.outputs.result).toBe('error')
    ctx
      .expect(res.stdout)
      .toMatch(/^::error::.*GET \/v1\/job\/web failed: HTTP 503: Service Unavailable/m)
    ctx.expect(Number(res.outputs['elapsed-ms'])).toBeGreaterThanOrEqual(1_500)
    ctx.expect(res.ms).toBeLessThan(4_000)
    ctx.expect(writes.count()).toBe(0)
    expectNoLeak(res, [TOKEN])
    report({
      suite: 'deadline',
      name: '503 for good (dist)',
      via: 'dist',
      phase: 'wait',
      result: res.outputs.result ?? '',
      faults: f.hits,
      writesSent: s.writes().length,
      writesApplied: writes.count(),
      elapsedMs: Number(res.outputs['elapsed-ms']),
      note: 'timeout 2s',
    })
  })
})
