// Retries without noise, through dist/index.js and the CLI: each retry is an
// info line in the log, and at most one warning annotation per step sums them
// up by cause, so a run that recovered does not look like a run that failed.

import { describe, it } from 'vitest'
import { runCli } from '../helpers/run.js'
import {
  Lab,
  TOKEN,
  expectNoLeak,
  healthy,
  holding,
  rollout,
  runDist,
  startDist,
} from './helpers.js'

const annotations = (stdout: string, kind: 'warning' | 'error') =>
  stdout.split('\n').filter((l) => l.startsWith(`::${kind}::`))

describe.concurrent('retries', () => {
  it('three retried reads: three info lines, one warning that sums them up', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, [r.web[0], r.api[0]])
    // The faults hit blocking queries' reads: follow with those, not the event stream.
    const run = startDist({
      address: s.address,
      token: TOKEN,
      'deployment-id': r.id,
      watch: 'blocking',
    })
    await holding(s)
    const path = `/v1/deployment/allocations/${r.id}`
    s.injectFault({ method: 'GET', path, kind: 'reset', count: 2 })
    s.injectFault({ method: 'GET', path, kind: 'status', status: 500, body: 'No cluster leader' })
    healthy(s, [r.web[1]])
    const res = await run.done
    ctx.expect(res.outputs.result).toBe('promoted')
    const retries = res.stdout.split('\n').filter((l) => / retry \d+ in /.test(l))
    ctx.expect(retries).toHaveLength(3)
    for (const line of retries) ctx.expect(line).not.toMatch(/^::/)
    ctx
      .expect(annotations(res.stdout, 'warning'))
      .toEqual(['::warning::3 requests were retried: connection reset (2), No cluster leader (1)'])
    expectNoLeak(res, [TOKEN])
  })

  it('a run without retries has no warning at all', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const res = await runDist({ address: s.address, 'deployment-id': r.id })
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(annotations(res.stdout, 'warning')).toEqual([])
  })

  it('a retried write counts too, and the line says it was sent again', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    s.injectFault({ method: 'PUT', kind: 'status', status: 500, body: 'No cluster leader' })
    const res = await runDist({ address: s.address, 'deployment-id': r.id })
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(res.stdout).toMatch(/^(?!::).*The promote request failed .*sending it again/m)
    ctx
      .expect(annotations(res.stdout, 'warning'))
      .toEqual(['::warning::1 request was retried: No cluster leader (1)'])
  })

  it('the CLI: retries on stderr as plain lines, one "warning:" line at the end', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    s.injectFault({ method: 'GET', kind: 'status', status: 503, count: 2 })
    const res = await runCli(['promote', '--deployment-id', r.id, '--address', s.address])
    ctx.expect(res.code).toBe(0)
    const warnings = res.stderr.split('\n').filter((l) => l.startsWith('warning:'))
    ctx.expect(warnings).toEqual(['warning: 2 requests were retried: HTTP 503 (2)'])
  })
})
