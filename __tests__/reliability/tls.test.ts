// TLS against a real HTTPS simulator, with a CA and certificates made by
// openssl during the test, through dist/index.js: verification is on by
// default, the CA comes as PEM text or a path, mTLS, a server name that differs
// from the address, skip-verify (with its warning); and no redirect is followed
// with the token on it.

import { afterAll, describe, it } from 'vitest'
import type { Simulator } from '../../sim/simulator.js'
import {
  Lab,
  TOKEN,
  expectNoLeak,
  healthy,
  report,
  rollout,
  runDist,
  type DistRun,
} from './helpers.js'
import { hasOpenssl, makePki, type Pki } from './pki.js'

const pki: Pki | undefined = hasOpenssl ? makePki() : undefined
afterAll(() => pki?.remove())

/** A rollout whose canaries are all healthy: a gate that connects promotes at once. */
function ready(s: Simulator): string {
  const r = rollout(s)
  healthy(s, r.all)
  return r.id
}

function record(name: string, run: DistRun, s: Simulator, writesApplied: number, note = '') {
  report({
    suite: 'tls',
    name,
    via: 'dist',
    result: run.outputs.result ?? '',
    writesSent: s.writes().length,
    writesApplied,
    requests: s.requests.length,
    elapsedMs: run.ms,
    note,
  })
}

const errorLine = (run: DistRun) =>
  run.stdout
    .split('\n')
    .find((l) => l.startsWith('::error::'))
    ?.replace(/^::error::/, '') ?? ''

describe.skipIf(!pki).concurrent('TLS', () => {
  const p = pki!

  it('verifies by default: a self-signed server fails with an error naming TLS', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({ tls: { key: p.self.key, cert: p.self.cert } })
    ready(s)
    const writes = lab.applied(s)
    const run = await runDist({ address: s.address, token: TOKEN, job: 'web' })
    ctx.expect(run.code).toBe(1)
    ctx.expect(run.outputs.result).toBe('error')
    ctx
      .expect(errorLine(run))
      .toMatch(/TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*self[- ]signed/i)
    ctx.expect(errorLine(run)).toContain('set ca-cert')
    ctx.expect(s.requests).toHaveLength(0) // no HTTP request got through
    ctx.expect(run.ms).toBeLessThan(5_000) // not retried: waiting cannot fix it
    expectNoLeak(run, [TOKEN])
    record(
      'self-signed server, no CA: refused',
      run,
      s,
      writes.count(),
      errorLine(run).slice(0, 120),
    )
  })

  it('verifies by default: a server signed by an unknown CA fails', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({ tls: { key: p.server.key, cert: p.server.cert } })
    ready(s)
    const run = await runDist({ address: s.address, token: TOKEN, job: 'web' })
    ctx.expect(run.code).toBe(1)
    ctx.expect(errorLine(run)).toMatch(/TLS with .* failed: .*(verify|issuer)/i)
    ctx.expect(s.requests).toHaveLength(0)
    expectNoLeak(run, [TOKEN])
    record('CA-signed server, no CA given: refused', run, s, 0, errorLine(run).slice(0, 120))
  })

  for (const how of ['PEM text', 'a path'] as const) {
    it(`trusts the CA given as ${how} and promotes`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim({ tls: { key: p.server.key, cert: p.server.cert } })
      const id = ready(s)
      const writes = lab.applied(s)
      const ca = how === 'PEM text' ? p.ca.cert : p.ca.certFile
      const run = await runDist({ address: s.address, token: TOKEN, job: 'web', 'ca-cert': ca })
      ctx.expect(run.outputs.result).toBe('promoted')
      ctx.expect(run.code).toBe(0)
      ctx.expect(writes.count()).toBe(1)
      ctx.expect(s.deployment(id)!.TaskGroups.web.Promoted).toBe(true)
      expectNoLeak(run, [TOKEN])
      record(`CA as ${how}`, run, s, writes.count())
    })
  }

  it('mTLS: a server that requires a client certificate refuses the gate without one', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({
      tls: { key: p.server.key, cert: p.server.cert, ca: p.ca.cert, requestClientCert: true },
    })
    ready(s)
    const run = await runDist({
      address: s.address,
      token: TOKEN,
      job: 'web',
      'ca-cert': p.ca.certFile,
      timeout: '5s',
    })
    ctx.expect(run.code).toBe(1)
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(errorLine(run)).toMatch(/TLS|certificate/i)
    ctx.expect(s.writes()).toHaveLength(0)
    expectNoLeak(run, [TOKEN])
    record('mTLS required, no client certificate', run, s, 0, errorLine(run).slice(0, 120))
  })

  for (const how of ['paths', 'PEM text'] as const) {
    it(`mTLS: a client certificate and key given as ${how} get through`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim({
        tls: { key: p.server.key, cert: p.server.cert, ca: p.ca.cert, requestClientCert: true },
      })
      ready(s)
      const writes = lab.applied(s)
      const run = await runDist({
        address: s.address,
        token: TOKEN,
        job: 'web',
        'ca-cert': p.ca.cert,
        'client-cert': how === 'paths' ? p.client.certFile : p.client.cert,
        'client-key': how === 'paths' ? p.client.keyFile : p.client.key,
      })
      ctx.expect(run.outputs.result).toBe('promoted')
      ctx.expect(writes.count()).toBe(1)
      // The key is a secret: each of its lines is masked, none is printed.
      const keyLines = p.client.key
        .split('\n')
        .filter((l) => l.length > 3 && !l.startsWith('-----'))
      expectNoLeak(run, [TOKEN], keyLines)
      record(`mTLS, client certificate as ${how}`, run, s, writes.count())
    })
  }

  it('tls-server-name: a certificate for server.global.nomad at 127.0.0.1', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({ tls: { key: p.named.key, cert: p.named.cert } })
    ready(s)
    const writes = lab.applied(s)
    const inputs = { address: s.address, token: TOKEN, job: 'web', 'ca-cert': p.ca.cert }
    const without = await runDist(inputs)
    ctx.expect(without.outputs.result).toBe('error')
    ctx
      .expect(errorLine(without))
      .toMatch(/TLS with .* failed: .*(altnames|server\.global\.nomad)/i)
    ctx.expect(errorLine(without)).toContain('tls-server-name')
    ctx.expect(s.requests).toHaveLength(0)
    const run = await runDist({ ...inputs, 'tls-server-name': 'server.global.nomad' })
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(writes.count()).toBe(1)
    expectNoLeak(without, [TOKEN])
    expectNoLeak(run, [TOKEN])
    record(
      'name mismatch without tls-server-name: refused',
      without,
      s,
      0,
      errorLine(without).slice(0, 120),
    )
    record('tls-server-name server.global.nomad', run, s, writes.count())
  })

  it('tls-skip-verify: connects to a self-signed server, with a loud warning', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim({ tls: { key: p.self.key, cert: p.self.cert } })
    ready(s)
    const writes = lab.applied(s)
    const run = await runDist({
      address: s.address,
      token: TOKEN,
      job: 'web',
      'tls-skip-verify': 'true',
    })
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(writes.count()).toBe(1)
    ctx.expect(run.stdout).toMatch(/^::warning::tls-skip-verify is on: .*not checked/m)
    expectNoLeak(run, [TOKEN])
    record('tls-skip-verify on a self-signed server (warns)', run, s, writes.count())
  })
})

describe.concurrent('redirects', () => {
  for (const phase of ['read', 'write'] as const) {
    it(`a redirect on the ${phase} is not followed, so the token stays here`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const elsewhere = await lab.sim()
      const r = rollout(s)
      healthy(s, r.all)
      const writes = lab.applied(s)
      s.injectFault({
        method: phase === 'read' ? 'GET' : 'PUT',
        kind: 'redirect',
        location: `${elsewhere.address}/v1/deployment/${r.id}?token=${TOKEN}`,
      })
      const run = await runDist({ address: s.address, token: TOKEN, 'deployment-id': r.id })
      ctx.expect(run.code).toBe(1)
      ctx.expect(run.outputs.result).toBe('error')
      ctx
        .expect(errorLine(run))
        .toMatch(/redirect to http:\/\/127\.0\.0\.1:\d+\/v1\/deployment\/.*not followed/)
      ctx.expect(elsewhere.requests).toHaveLength(0)
      ctx.expect(writes.count()).toBe(0)
      expectNoLeak(run, [TOKEN])
      report({
        suite: 'tls',
        name: `redirect on the ${phase}: not followed`,
        via: 'dist',
        result: run.outputs.result ?? '',
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        requests: elsewhere.requests.length,
        elapsedMs: run.ms,
        note: 'requests = requests that reached the redirect target',
      })
    })
  }
})
