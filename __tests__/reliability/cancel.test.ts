// Cancellation as the runner does it (SIGINT, then SIGTERM 7.5 s later),
// through dist/index.js: a signal during a held blocking query ends the step at
// once with no write; a signal during the write lets the write's answer arrive
// and be recorded, so the outputs say what the server did.

import { describe, it } from 'vitest'
import { request } from '../helpers/wait.js'
import {
  Lab,
  TOKEN,
  expectNoLeak,
  healthy,
  holding,
  report,
  rollout,
  startDist,
} from './helpers.js'

describe.concurrent('a signal during a held blocking query', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: exits within 1 s, cancelled, no write`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const r = rollout(s)
      healthy(s, [r.web[0]])
      const writes = lab.applied(s)
      const run = startDist({ address: s.address, token: TOKEN, 'deployment-id': r.id })
      await holding(s)
      const t0 = performance.now()
      run.child.kill(signal)
      const res = await run.done
      const ms = performance.now() - t0
      ctx.expect(ms).toBeLessThan(1_000)
      ctx.expect(res.code).toBe(1)
      ctx.expect(res.outputs.result).toBe('cancelled')
      ctx.expect(res.stdout).toContain(`Received ${signal}`)
      ctx.expect(s.writes()).toHaveLength(0)
      ctx.expect(writes.count()).toBe(0)
      expectNoLeak(res, [TOKEN])
      report({
        suite: 'cancel',
        name: `${signal} while a blocking query is held`,
        via: 'dist',
        result: res.outputs.result ?? '',
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        elapsedMs: ms,
        note: `exit ${res.code} ${Math.round(ms)} ms after the signal`,
      })
    })
  }
})

describe.concurrent('a signal while the write is in flight', () => {
  const DELAY = 1_000
  const sequences = [['SIGINT'], ['SIGTERM'], ['SIGINT', 'SIGTERM']] as const
  for (const signals of sequences) {
    it(`${signals.join(' then ')}: the answer is recorded, promoted once`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const r = rollout(s)
      healthy(s, [r.web[0], r.api[0]])
      const writes = lab.applied(s)
      s.injectFault({ method: 'PUT', kind: 'delay', ms: DELAY })
      const run = startDist({ address: s.address, token: TOKEN, 'deployment-id': r.id })
      await holding(s)
      healthy(s, [r.web[1]])
      await request(s, 'the promote', (q) => q.method === 'PUT')
      const t0 = performance.now()
      for (const sig of signals) run.child.kill(sig)
      const res = await run.done
      const ms = performance.now() - t0
      const d = s.deployment(r.id)!
      ctx.expect(res.outputs.result).toBe('promoted')
      ctx.expect(res.code).toBe(0)
      ctx.expect(res.outputs['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
      ctx.expect(Number(res.outputs['eval-create-index'])).toBeGreaterThan(0)
      ctx.expect(Number(res.outputs['deployment-modify-index'])).toBe(writes.changes[0]?.index)
      ctx.expect(res.outputs.status).toBe(d.Status)
      ctx.expect(d.TaskGroups.web.Promoted && d.TaskGroups.api.Promoted).toBe(true)
      // Two signals sent at once may be handled in either order.
      ctx.expect(res.stdout).toMatch(new RegExp(`Received (${signals.join('|')})`))
      ctx.expect(s.writes()).toHaveLength(1)
      ctx.expect(writes.count()).toBe(1)
      ctx.expect(ms).toBeLessThan(DELAY + 1_000)
      expectNoLeak(res, [TOKEN])
      report({
        suite: 'cancel',
        name: `${signals.join(' then ')} while the promote is in flight`,
        via: 'dist',
        result: res.outputs.result ?? '',
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        elapsedMs: ms,
        note: `exit ${res.code}; eval-id set; answer ${DELAY} ms late`,
      })
    })
  }
})
