// A runner behind a proxy: HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their
// lower-case forms), with @actions/http-client's rules, for Nomad, the soak's
// checks and GitHub. The addresses are names (`nomad.test`) that only the test's
// forward proxy resolves, so nothing gets through that ignores the variables.
// Plain http:// is forwarded (absolute-form requests); https:// is tunnelled
// with CONNECT, and TLS inside the tunnel keeps ca-cert, mTLS and
// tls-server-name.

import { afterAll, describe, it } from 'vitest'
import { startCheckTarget, startPrometheus } from '../../sim/checks.js'
import { startGithubFake } from '../../sim/github.js'
import type { Simulator } from '../../sim/simulator.js'
import { runCli } from '../helpers/run.js'
import { startForwardProxy, type ForwardProxy, type ProxyOptions } from '../helpers/proxy.js'
import { Lab, TOKEN, expectNoLeak, healthy, rollout, runDist, type DistRun } from './helpers.js'
import { hasOpenssl, makePki, type Pki } from './pki.js'

const pki: Pki | undefined = hasOpenssl ? makePki() : undefined
afterAll(() => pki?.remove())

async function proxy(lab: Lab, options: ProxyOptions): Promise<ForwardProxy> {
  const p = await startForwardProxy(options)
  lab.finally(() => p.stop())
  return p
}

/** A rollout whose canaries are all healthy: a gate that gets through promotes at once. */
function ready(s: Simulator): string {
  const r = rollout(s)
  healthy(s, r.all)
  return r.id
}

const errorLine = (run: DistRun) =>
  run.stdout
    .split('\n')
    .find((l) => l.startsWith('::error::'))
    ?.replace(/^::error::/, '') ?? ''

describe.concurrent('proxies', () => {
  it('HTTP_PROXY: http:// Nomad through a forward proxy, requests in absolute form', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const p = await proxy(lab, { hosts: { 'nomad.test': s.port } })
    const address = `http://nomad.test:${s.port}`
    const run = await runDist({ address, token: TOKEN, job: 'web' }, { HTTP_PROXY: p.url })
    ctx.expect(errorLine(run)).toBe('')
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(s.writes()).toHaveLength(1)
    // Forwarded, not tunnelled: the proxy saw every request, the write too.
    ctx.expect(p.requests.map((r) => r.method)).not.toContain('CONNECT')
    ctx.expect(p.requests.map((r) => r.target)).toContain(`${address}/v1/job/web`)
    ctx.expect(p.requests.some((r) => r.method === 'PUT')).toBe(true)
    expectNoLeak(run, [TOKEN])
  })

  it.skipIf(!pki)(
    'HTTPS_PROXY: https:// Nomad through a CONNECT tunnel, verified with ca-cert',
    async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim({ tls: { key: pki!.server.key, cert: pki!.server.cert } })
      ready(s)
      const p = await proxy(lab, { hosts: { 'nomad.test': s.port } })
      const run = await runDist(
        {
          address: `https://nomad.test:${s.port}`,
          token: TOKEN,
          job: 'web',
          'ca-cert': pki!.ca.cert,
        },
        { HTTPS_PROXY: p.url },
      )
      ctx.expect(errorLine(run)).toBe('')
      ctx.expect(run.outputs.result).toBe('promoted')
      // One tunnel (keep-alive) or a few, and nothing in clear text.
      ctx.expect(p.requests.length).toBeGreaterThan(0)
      for (const r of p.requests) ctx.expect(r).toMatchObject({ method: 'CONNECT', status: 200 })
      ctx.expect(p.requests[0].target).toBe(`nomad.test:${s.port}`)
      expectNoLeak(run, [TOKEN])
    },
  )

  it.skipIf(!pki)(
    'CONNECT keeps mTLS and tls-server-name: the TLS inside the tunnel is the gate’s',
    async (ctx) => {
      const lab = new Lab(ctx)
      const p0 = pki!
      const s = await lab.sim({
        tls: { key: p0.named.key, cert: p0.named.cert, ca: p0.ca.cert, requestClientCert: true },
      })
      ready(s)
      const p = await proxy(lab, { hosts: { 'nomad.test': s.port } })
      const run = await runDist(
        {
          address: `https://nomad.test:${s.port}`,
          token: TOKEN,
          job: 'web',
          'ca-cert': p0.ca.cert,
          'client-cert': p0.client.cert,
          'client-key': p0.client.key,
          'tls-server-name': 'server.global.nomad',
        },
        { https_proxy: p.url },
      )
      ctx.expect(errorLine(run)).toBe('')
      ctx.expect(run.outputs.result).toBe('promoted')
      ctx.expect(p.requests.every((r) => r.method === 'CONNECT')).toBe(true)
    },
  )

  it('a proxy that wants credentials gets them from the proxy URL, which is never printed', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const password = 'proxy-pw-5b1e9c07'
    const p = await proxy(lab, {
      hosts: { 'nomad.test': s.port },
      auth: { user: 'runner', password },
    })
    const run = await runDist(
      { address: `http://nomad.test:${s.port}`, job: 'web' },
      { http_proxy: p.urlWithAuth },
    )
    ctx.expect(errorLine(run)).toBe('')
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(p.requests.every((r) => r.status !== 407)).toBe(true)
    expectNoLeak(run, [password])
  })

  it('lower case wins, as in @actions/http-client: http_proxy over HTTP_PROXY', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const good = await proxy(lab, { hosts: { 'nomad.test': s.port } })
    const other = await proxy(lab, { hosts: {} })
    const run = await runDist(
      { address: `http://nomad.test:${s.port}`, job: 'web' },
      { http_proxy: good.url, HTTP_PROXY: other.url },
    )
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(other.requests).toHaveLength(0)
  })

  it('NO_PROXY: a listed host is reached directly (here: not at all), and says so', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const p = await proxy(lab, { hosts: { 'nomad.test': s.port } })
    const run = await runDist(
      { address: `http://nomad.test:${s.port}`, job: 'web' },
      { HTTP_PROXY: p.url, NO_PROXY: 'example.com, .test' },
    )
    ctx.expect(run.outputs.result).toBe('error')
    ctx.expect(p.requests).toHaveLength(0)
    ctx.expect(errorLine(run)).toContain('nomad.test')
    ctx.expect(run.ms).toBeLessThan(15_000)
  })

  it('loopback is always direct, whatever the proxy variables say', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const p = await proxy(lab, { hosts: {} })
    const run = await runDist(
      { address: s.address, job: 'web' },
      { HTTP_PROXY: p.url, HTTPS_PROXY: p.url, http_proxy: p.url },
    )
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(p.requests).toHaveLength(0)
  })

  it('the soak’s URL and Prometheus checks go through the proxy too', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const target = await startCheckTarget()
    lab.finally(() => target.stop())
    const prom = await startPrometheus()
    lab.finally(() => prom.stop())
    const query = 'sum(rate(errors[1m]))'
    prom.set(query, [{ metric: {}, value: 0 }])
    const port = (url: string) => Number(new URL(url).port)
    const p = await proxy(lab, {
      hosts: { 'canary.test': port(target.url), 'prometheus.test': port(prom.url) },
    })
    const run = await runDist(
      {
        address: s.address,
        job: 'web',
        soak: '300ms',
        'check-interval': '100ms',
        'check-url': `http://canary.test:${port(target.url)}/health`,
        'prometheus-url': `http://prometheus.test:${port(prom.url)}`,
        'prometheus-query': query,
        'prometheus-threshold': '0.1',
      },
      { HTTP_PROXY: p.url },
    )
    ctx.expect(errorLine(run)).toBe('')
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(target.hits).toBeGreaterThan(0)
    ctx.expect(prom.queries.length).toBeGreaterThan(0)
    const targets = p.requests.map((r) => r.target)
    ctx.expect(targets.some((t) => t.includes('canary.test'))).toBe(true)
    ctx.expect(targets.some((t) => t.includes('prometheus.test'))).toBe(true)
  })

  it('GitHub deployment statuses go through the proxy', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const gh = await startGithubFake({ token: 'ghs_proxied' })
    lab.finally(() => gh.stop())
    const ghPort = Number(new URL(gh.url).port)
    const p = await proxy(lab, { hosts: { 'github.test': ghPort } })
    const run = await runDist(
      { address: s.address, job: 'web', 'github-token': 'ghs_proxied', environment: 'production' },
      {
        HTTP_PROXY: p.url,
        GITHUB_API_URL: `http://github.test:${ghPort}`,
        GITHUB_REPOSITORY: 'acme/web',
        GITHUB_SHA: 'abc123',
        GITHUB_SERVER_URL: 'https://github.example',
        GITHUB_RUN_ID: '42',
      },
    )
    ctx.expect(run.outputs.result).toBe('promoted')
    ctx.expect(run.stdout).not.toMatch(/::warning::GitHub/)
    ctx.expect(gh.deployments).toHaveLength(1)
    ctx.expect(gh.deployments[0].statuses.map((x) => x.state)).toEqual(['in_progress', 'success'])
    ctx.expect(p.requests.some((r) => r.target.includes('github.test'))).toBe(true)
  })

  // A plain-HTTP proxy given as https:// (the TLS to it fails): the line blames
  // the proxy, not Nomad, forwarded (http:// Nomad) and tunnelled (https://) alike.
  it.for([
    ['HTTP_PROXY', 'http'],
    ['HTTPS_PROXY', 'https'],
  ])(
    '%s=https:// to a plain proxy: worded as the proxy TLS failing',
    async ([variable, scheme], ctx) => {
      const lab = new Lab(ctx)
      const p = await proxy(lab, { hosts: {} })
      const address = `${scheme}://nomad.test:4646`
      const via = p.url.replace(/^http:/, 'https:')
      const run = await runDist({ address, token: TOKEN, job: 'web' }, { [variable]: via })
      ctx.expect(run.outputs.result).toBe('error')
      ctx
        .expect(errorLine(run))
        .toContain(
          `cannot connect to the proxy: wrong version number (proxy ${via} (${variable})), on the way to Nomad at ${address}: check the proxy`,
        )
      ctx.expect(errorLine(run)).not.toMatch(/answered in plain HTTP|ca-cert|deps\//)
      ctx.expect(p.requests).toEqual([])
    },
  )

  it('the CLI honours the same variables', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    ready(s)
    const p = await proxy(lab, { hosts: { 'nomad.test': s.port } })
    const res = await runCli(
      ['promote', '--job', 'web', '--address', `http://nomad.test:${s.port}`],
      {
        HTTP_PROXY: p.url,
      },
    )
    ctx.expect(res.stderr).not.toMatch(/cannot/i)
    ctx.expect(res.code).toBe(0)
    ctx.expect(res.stdout).toContain('result=promoted')
    ctx.expect(p.requests.length).toBeGreaterThan(0)
  })
})
