// A wrong address, as a new user types one, through dist/index.js with the
// default timeout (10m): before Nomad has answered once, a connection that is
// refused, reset, swallowed, a name that does not resolve or a scheme that does
// not match fails the step within 15 seconds, in one line that names the
// address and the likely fix. After a first answer the same failures are an
// agent restarting or a leader changing: retried until the deadline.
// The TLS servers are real (certificates made by openssl during the test).

import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, it } from 'vitest'
import { runCli } from '../helpers/run.js'
import {
  Lab,
  TOKEN,
  closedPort,
  expectNoLeak,
  healthy,
  holding,
  rollout,
  runDist,
  startDist,
  type DistRun,
} from './helpers.js'
import { hasOpenssl, makePki, type Pki } from './pki.js'

const pki: Pki | undefined = hasOpenssl ? makePki() : undefined
afterAll(() => pki?.remove())

/** What fails the step: the runner's one error annotation. */
const errorLine = (run: DistRun) =>
  run.stdout
    .split('\n')
    .find((l) => l.startsWith('::error::'))
    ?.replace(/^::error::/, '') ?? ''

/** Every annotation and log line is one line: no encoded line break in any command. */
function expectOneLineEach(ctx: { expect: typeof import('vitest').expect }, run: DistRun): void {
  for (const line of run.stdout.split('\n')) ctx.expect(line).not.toMatch(/%0A|%0D/)
  ctx.expect(run.outputs.message ?? '').not.toMatch(/\n/)
}

/** Node's own TLS server, which resets a plain-HTTP request instead of answering it. */
async function nodeTls(lab: Lab, p: Pki): Promise<number> {
  const server = https.createServer({ key: p.server.key, cert: p.server.cert }, (_, res) =>
    res.end('{}'),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  lab.finally(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

const FAST_MS = 15_000

describe.concurrent('a wrong address fails fast, in one line', () => {
  it('nothing listens there: connection refused, retried briefly, then one line', async (ctx) => {
    const address = `http://127.0.0.1:${await closedPort()}`
    const run = await runDist({ address, token: TOKEN, job: 'web' }, {}, { limitMs: 20_000 })
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(run.ms).toBeLessThan(FAST_MS)
    ctx
      .expect(errorLine(run))
      .toContain(`cannot connect to Nomad at ${address} (connection refused)`)
    ctx.expect(errorLine(run)).toMatch(/check the address/)
    ctx.expect(errorLine(run)).toMatch(/tried \d+ times in \d+(\.\d+)?s/)
    expectOneLineEach(ctx, run)
    expectNoLeak(run, [TOKEN])
  })

  it.skipIf(!pki)(
    'https:// to a plain-HTTP Nomad: "answered in plain HTTP: use http://"',
    async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      rollout(s)
      const address = s.address.replace('http:', 'https:')
      const run = await runDist({ address, token: TOKEN, job: 'web', 'ca-cert': pki!.ca.cert })
      ctx.expect(run.outputs.result).toBe('error')
      ctx.expect(run.ms).toBeLessThan(FAST_MS)
      ctx
        .expect(errorLine(run))
        .toMatch(
          new RegExp(
            `Nomad at ${address.replace(/[.:/]/g, '\\$&')} answered in plain HTTP, not TLS: use ${s.address.replace(/[.:/]/g, '\\$&')}$`,
          ),
        )
      ctx.expect(errorLine(run)).not.toMatch(/ca-cert|openssl|deps\/|:error:/i)
      expectOneLineEach(ctx, run)
    },
  )

  it.skipIf(!pki)('http:// to a TLS Nomad (Go answers 400): "use https://"', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({ tls: { key: pki!.server.key, cert: pki!.server.cert } })
    rollout(s)
    const address = s.address.replace('https:', 'http:')
    const run = await runDist({ address, token: TOKEN, job: 'web' })
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(run.ms).toBeLessThan(FAST_MS)
    ctx
      .expect(errorLine(run))
      .toContain(`Nomad at ${address} answered that it serves HTTPS: use ${s.address}`)
    expectOneLineEach(ctx, run)
    expectNoLeak(run, [TOKEN])
  })

  it.skipIf(!pki)(
    'http:// to a TLS server that resets: fails fast, suggests https://',
    async (ctx) => {
      const lab = new Lab(ctx)
      const port = await nodeTls(lab, pki!)
      const address = `http://127.0.0.1:${port}`
      const run = await runDist({ address, job: 'web' }, {}, { limitMs: 20_000 })
      ctx.expect(run.outputs.result).toBe('error')
      ctx.expect(run.ms).toBeLessThan(FAST_MS)
      ctx.expect(errorLine(run)).toContain(address)
      ctx.expect(errorLine(run)).toContain(`use https://127.0.0.1:${port}`)
      expectOneLineEach(ctx, run)
    },
  )

  it('a name that does not resolve: at once, naming the host and the proxy variable', async (ctx) => {
    const address = 'https://nomad.invalid:4646'
    const run = await runDist({ address, job: 'web' })
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(run.ms).toBeLessThan(FAST_MS)
    ctx
      .expect(errorLine(run))
      .toContain(`cannot resolve nomad.invalid, the host of ${address} (ENOTFOUND)`)
    ctx.expect(errorLine(run)).toContain('HTTPS_PROXY')
    expectOneLineEach(ctx, run)
  })

  it('a port that takes the connection and never answers TLS: fails within 15 s', async (ctx) => {
    const lab = new Lab(ctx)
    const address = `https://127.0.0.1:${await lab.silentPort()}`
    const run = await runDist({ address, job: 'web' }, {}, { limitMs: 20_000 })
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(run.ms).toBeLessThan(FAST_MS)
    ctx
      .expect(errorLine(run))
      .toMatch(
        new RegExp(`no connection to Nomad at ${address.replace(/[.:/]/g, '\\$&')} within 5s`),
      )
    expectOneLineEach(ctx, run)
  })

  it('the CLI: the same one line on stderr, exit 1, within 15 s', async (ctx) => {
    const address = `http://127.0.0.1:${await closedPort()}`
    const res = await runCli(
      ['wait', '--job', 'web', '--address', address],
      {},
      { limitMs: 20_000 },
    )
    ctx.expect(res.code).toBe(1)
    ctx.expect(res.ms).toBeLessThan(FAST_MS)
    ctx.expect(res.stdout).toContain('result=error')
    ctx
      .expect(res.stderr)
      .toMatch(
        new RegExp(
          `failed: error in .*cannot connect to Nomad at ${address.replace(/[.:/]/g, '\\$&')}`,
        ),
      )
  })

  it('an agent still starting: refused for a moment, then it answers: promoted', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const proxy = await lab.proxy(s.port)
    await proxy.down()
    const run = startDist({ address: proxy.address, token: TOKEN, 'deployment-id': r.id })
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    await proxy.up()
    const res = await run.done
    ctx.expect(res.outputs.result).toBe('promoted')
    ctx.expect(s.writes()).toHaveLength(1)
  })

  it('after a first answer, refused connections are retried until the deadline', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    const proxy = await lab.proxy(s.port)
    const run = startDist(
      { address: proxy.address, 'deployment-id': r.id, timeout: '11s' },
      {},
      { limitMs: 20_000 },
    )
    await holding(s)
    await proxy.down()
    const res = await run.done
    ctx.expect(res.outputs.result).toBe('error')
    ctx.expect(errorLine(res)).toContain(`cannot connect to Nomad at ${proxy.address}`)
    // Not given up on after the first seconds: Nomad had answered, so it may come back.
    ctx.expect(res.ms).toBeGreaterThan(10_000)
  }, 25_000)
})
