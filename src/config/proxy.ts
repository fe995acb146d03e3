// The proxy variables, read as @actions/http-client reads them (lib/proxy.ts):
// https_proxy, else HTTPS_PROXY; http_proxy, else HTTP_PROXY; no_proxy, else
// NO_PROXY. A value without a scheme is taken as http://. A proxy's password is a
// secret: masked at once, sent only as Proxy-Authorization, never printed.
// Which requests they apply to: src/net/proxy.ts.

import type { ProxyConfig, ProxySetting } from '../net/proxy.js'
import { percentDecoded, redactUserinfo, userinfoPasswords } from '../redact.js'
import { InputError, envValue, type Env, type SecretList } from './values.js'

export function parseProxies(env: Env, secrets: SecretList): ProxyConfig | undefined {
  const config: ProxyConfig = {}
  const http = proxyVariable(env, ['http_proxy', 'HTTP_PROXY'], secrets)
  const https = proxyVariable(env, ['https_proxy', 'HTTPS_PROXY'], secrets)
  const noProxy = envValue(env, 'no_proxy') ?? envValue(env, 'NO_PROXY')
  if (http) config.http = http
  if (https) config.https = https
  if (noProxy) config.noProxy = noProxy
  return http || https ? config : undefined
}

function proxyVariable(
  env: Env,
  [lower, upper]: [string, string],
  secrets: SecretList,
): ProxySetting | undefined {
  const source = envValue(env, lower) !== undefined ? lower : upper
  const raw = envValue(env, source)
  if (raw === undefined) return undefined
  userinfoPasswords(raw).forEach((p) => secrets.add(p))
  const bad = (why: string): never => {
    throw new InputError(
      source,
      `Environment variable ${source} must be an HTTP proxy's URL such as http://proxy.example.com:3128; ${why} (got "${redactUserinfo(raw)}")`,
    )
  }
  let url: URL
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`)
  } catch {
    return bad('it is not a valid URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    bad(
      `the scheme is ${url.protocol.slice(0, -1)}, and only http:// and https:// proxies are supported`,
    )
  }
  if (!url.hostname) bad('it has no host')
  const user = percentDecoded(url.username)
  const password = percentDecoded(url.password)
  secrets.add(password)
  secrets.add(url.password)
  const setting: ProxySetting = { url: new URL(`${url.protocol}//${url.host}`), source }
  if (user || password) {
    setting.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  }
  return setting
}
