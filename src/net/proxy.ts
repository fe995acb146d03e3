// Which proxy a request goes through, by the rules of @actions/http-client
// (lib/proxy.ts getProxyUrl, checkBypass), which the runner's own tools and
// @actions/github follow: https_proxy (else HTTPS_PROXY) for https:// URLs,
// http_proxy (else HTTP_PROXY) for http:// URLs; none for a loopback host; none
// for a host that no_proxy (else NO_PROXY) lists: `*`, a name (which also
// covers its subdomains), `.suffix`, or `name:port`. The variables are read by
// src/config/proxy.ts; this file only applies them.

/** One proxy variable's value, parsed. */
export interface ProxySetting {
  /** The proxy, without credentials. */
  url: URL
  /** The variable it came from, for messages (`HTTPS_PROXY`, `http_proxy`...). */
  source: string
  /** `Basic ...` from the URL's user and password; sent as Proxy-Authorization. */
  authorization?: string
}

export interface ProxyConfig {
  /** For http:// URLs. */
  http?: ProxySetting
  /** For https:// URLs. */
  https?: ProxySetting
  /** no_proxy / NO_PROXY as given. */
  noProxy?: string
}

/** The proxy to use for `url`, or undefined to connect directly. */
export function proxyFor(url: URL, config: ProxyConfig | undefined): ProxySetting | undefined {
  if (!config || !url.hostname) return undefined
  const proxy = url.protocol === 'https:' ? config.https : config.http
  if (!proxy || bypass(url, config.noProxy)) return undefined
  return proxy
}

/** The proxy as printed: its URL without credentials, and its variable. */
export function describeProxy(p: ProxySetting): string {
  return `${p.url.protocol}//${p.url.host} (${p.source})`
}

function bypass(url: URL, noProxy: string | undefined): boolean {
  if (isLoopback(url.hostname)) return true
  if (!noProxy) return false
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const host = url.hostname.toUpperCase()
  const hosts = [host, `${host}:${port}`]
  return noProxy
    .split(',')
    .map((x) => x.trim().toUpperCase())
    .filter(Boolean)
    .some(
      (item) =>
        item === '*' ||
        hosts.some(
          (h) => h === item || h.endsWith(`.${item}`) || (item.startsWith('.') && h.endsWith(item)),
        ),
    )
}

function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase()
  return (
    h === 'localhost' || h.startsWith('127.') || h.startsWith('[::1]') || h === '[0:0:0:0:0:0:0:1]'
  )
}
