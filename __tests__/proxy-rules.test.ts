// The proxy variables follow @actions/http-client's rules exactly: the same
// table of URLs and variables through its getProxyUrl (lib/proxy.ts) and
// through ours (config/proxy.ts reads, net/proxy.ts applies) must pick the same
// proxy, or none.

import { afterEach, describe, expect, it } from 'vitest'
import { getProxyUrl } from '@actions/http-client/lib/proxy'
import { parseProxies } from '../src/config/proxy.js'
import { InputError, SecretList } from '../src/config/values.js'
import { describeProxy, proxyFor } from '../src/net/proxy.js'

const VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]))
afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v]
    else process.env[v] = saved[v]
  }
})

const ENVS: Array<Record<string, string>> = [
  {},
  { HTTPS_PROXY: 'http://proxy.corp:3128' },
  { HTTP_PROXY: 'http://proxy.corp:3128', HTTPS_PROXY: 'http://tls-proxy.corp:8080' },
  { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2', http_proxy: 'http://lower:3' },
  { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:2', NO_PROXY: 'internal, .corp.example' },
  { HTTPS_PROXY: 'http://p:1', no_proxy: 'nomad.internal:4646', NO_PROXY: '*' },
  { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:2', NO_PROXY: '*' },
  { HTTPS_PROXY: 'http://user:pa%40ss@p:1', HTTP_PROXY: '10.0.0.1:3128' },
  { HTTP_PROXY: 'http://p:2', NO_PROXY: 'example.com:80' },
]

const URLS = [
  'https://nomad.example.com:4646',
  'http://nomad.example.com:4646',
  'https://nomad.internal:4646',
  'https://nomad.internal:443',
  'https://api.internal',
  'http://a.corp.example:4646',
  'https://corp.example',
  'http://example.com',
  'http://example.com:8080',
  'http://127.0.0.1:4646',
  'https://localhost:4646',
  'http://[::1]:4646',
  'https://127.10.0.3',
]

describe('proxy rules', () => {
  for (const [i, env] of ENVS.entries()) {
    it(`pick what @actions/http-client picks (variables #${i}: ${JSON.stringify(env)})`, () => {
      for (const v of VARS) delete process.env[v]
      Object.assign(process.env, env)
      const config = parseProxies(env, new SecretList())
      for (const raw of URLS) {
        const url = new URL(raw)
        const theirs = getProxyUrl(url)
        const ours = proxyFor(url, config)
        expect(ours && `${ours.url.protocol}//${ours.url.host}`, raw).toBe(
          theirs && `${theirs.protocol}//${theirs.host}`,
        )
        if (theirs?.username) {
          const basic = Buffer.from(`${theirs.username}:${theirs.password}`).toString('base64')
          expect(ours?.authorization).toBe(`Basic ${basic}`)
        }
      }
    })
  }

  it('masks the proxy password at once, and never shows it', () => {
    const secrets: string[] = []
    const config = parseProxies(
      { HTTPS_PROXY: 'http://runner:s3cr%2Ft@proxy.corp:3128' },
      new SecretList((s) => secrets.push(s)),
    )
    expect(secrets).toEqual(expect.arrayContaining(['s3cr/t', 's3cr%2Ft']))
    expect(describeProxy(config!.https!)).toBe('http://proxy.corp:3128 (HTTPS_PROXY)')
  })

  it('refuses a proxy it cannot use, naming the variable, without its password', () => {
    const bad = (env: Record<string, string>) => () => parseProxies(env, new SecretList())
    expect(bad({ HTTPS_PROXY: 'socks5://u:hidden@p:1080' })).toThrow(InputError)
    expect(bad({ HTTPS_PROXY: 'socks5://u:hidden@p:1080' })).toThrow(
      /^Environment variable HTTPS_PROXY must be .*the scheme is socks5.*\(got "socks5:\/\/\*\*\*@p:1080"\)$/,
    )
    expect(bad({ http_proxy: 'http://' })).toThrow(/http_proxy .*not a valid URL/)
  })
})
