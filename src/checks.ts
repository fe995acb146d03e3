// Analysis checks run during the soak: HTTP endpoints that must answer 2xx, and
// one Prometheus instant query whose every sample must stay at or below a
// threshold. A run never throws: whatever goes wrong becomes a failed result
// whose detail says what, because the gate counts failed runs against
// failure-limit and prints the details.

import type { IncomingMessage } from 'node:http'
import { formatDuration } from './duration.js'
import { Dialer, ProxyError, readText } from './net/http.js'
import type { ProxyConfig } from './net/proxy.js'
import { classifyNetworkError } from './network-error.js'
import { percentDecoded, redactUrl } from './redact.js'
import { libraryText, oneLine } from './text.js'

export interface CheckSettings {
  /** check-url: each passes on HTTP 2xx within timeoutMs. */
  urls: string[]
  /** Passes when every sample of the instant query is <= threshold; no samples fails. */
  prometheus?: { url: string; query: string; threshold: number }
  intervalMs: number
  timeoutMs: number
  /** Failed check runs tolerated before the gate fails. */
  failureLimit: number
  /** HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as for Nomad. */
  proxy?: ProxyConfig
}

export interface CheckResult {
  /** The URL with credentials and secret-looking query values redacted, or 'prometheus'. */
  name: string
  ok: boolean
  detail: string
  ms: number
}

export interface CheckRun {
  /** performance.now() when the run started. */
  atMs: number
  ok: boolean
  results: CheckResult[]
}

export function hasChecks(s: CheckSettings): boolean {
  return s.urls.length > 0 || s.prometheus !== undefined
}

/** Runs every check of one run in parallel. Never throws. */
export async function runChecks(s: CheckSettings, signal?: AbortSignal): Promise<CheckRun> {
  const atMs = performance.now()
  const results = await Promise.all([
    ...s.urls.map((url) => timed(redactUrl(url), () => checkUrl(url, s, signal))),
    ...(s.prometheus ? [timed('prometheus', () => checkPrometheus(s.prometheus!, s, signal))] : []),
  ])
  return { atMs, ok: results.every((r) => r.ok), results }
}

// ---- one check ---------------------------------------------------------------------

type Verdict = Omit<CheckResult, 'name' | 'ms'>

async function timed(name: string, check: () => Promise<Verdict>): Promise<CheckResult> {
  const start = performance.now()
  let verdict: Verdict
  try {
    verdict = await check()
  } catch (err) {
    verdict = {
      ok: false,
      detail: `check failed: ${err instanceof Error ? err.message : String(err)}`,
    }
  }
  return { name, ...verdict, ms: Math.round(performance.now() - start) }
}

type Connection = Pick<CheckSettings, 'timeoutMs' | 'proxy'>

async function checkUrl(url: string, c: Connection, signal?: AbortSignal): Promise<Verdict> {
  return request(url, c, signal, '*/*', async (res) => {
    res.resume()
    const status = res.statusCode ?? 0
    if (status >= 200 && status < 300) return { ok: true, detail: `HTTP ${status}` }
    return { ok: false, detail: statusDetail(res, url) }
  })
}

async function checkPrometheus(
  p: NonNullable<CheckSettings['prometheus']>,
  c: Connection,
  signal?: AbortSignal,
): Promise<Verdict> {
  const u = new URL(p.url)
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v1/query`
  u.searchParams.set('query', p.query)
  return request(u.href, c, signal, 'application/json', async (res) => {
    const status = res.statusCode ?? 0
    const text = await readText(res)
    let body: PromResponse | undefined
    try {
      body = JSON.parse(text) as PromResponse
    } catch {
      // a proxy's HTML error page, a truncated answer
    }
    // Prometheus answers errors as JSON with 400 (bad_data), 422 (execution) or 503 (timeout).
    if (body?.status === 'error') {
      return {
        ok: false,
        detail: `query failed: ${oneLine(`${body.errorType ?? 'error'}: ${body.error ?? ''}`, 200)}`,
      }
    }
    if (status < 200 || status >= 300) return { ok: false, detail: statusDetail(res, u.href) }
    if (!body || typeof body !== 'object') {
      return {
        ok: false,
        detail: `not JSON from Prometheus (HTTP ${status}, ${res.headers['content-type'] ?? 'no content-type'})`,
      }
    }
    if (body.status !== 'success' || !body.data) {
      return { ok: false, detail: `unexpected answer from Prometheus: ${oneLine(text, 200)}` }
    }
    return judge(body.data, p.threshold)
  })
}

/**
 * One GET (net/http.ts: the proxy variables apply, a fresh connection each
 * time) with the check's timeout, covering the body too, and the caller's
 * signal; redirects are not followed: a check must judge the host it names.
 */
async function request(
  url: string,
  { timeoutMs, proxy }: Connection,
  signal: AbortSignal | undefined,
  accept: string,
  read: (res: IncomingMessage) => Promise<Verdict>,
): Promise<Verdict> {
  if (signal?.aborted) return { ok: false, detail: 'cancelled' }
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return { ok: false, detail: 'invalid URL' }
  }
  const headers: Record<string, string> = { accept, 'user-agent': 'nomad-canary-gate' }
  // Credentials in the URL go as Basic auth, never in the request line.
  if (target.username || target.password) {
    const user = percentDecoded(target.username)
    const pass = percentDecoded(target.password)
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
    target.username = ''
    target.password = ''
  }
  const ctl = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    ctl.abort()
  }, timeoutMs)
  // Not a listener on `signal`: a run's checks are fetched at once, and more
  // than 10 listeners on one signal make Node warn of a leak in the step's log
  // (AbortSignal.any adds none to its sources).
  const either = signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal
  const dialer = new Dialer({ proxy, keepAlive: false, connectTimeoutMs: timeoutMs })
  try {
    const res = await dialer.send(target, { method: 'GET', headers, signal: either })
    return await read(res)
  } catch (err) {
    if (timedOut) return { ok: false, detail: `timed out after ${formatDuration(timeoutMs)}` }
    if (signal?.aborted) return { ok: false, detail: 'cancelled' }
    return { ok: false, detail: describeNetworkError(err) }
  } finally {
    clearTimeout(timer)
    dialer.destroy()
  }
}

/** A non-2xx answer of a check: its status, and where a redirect (never followed) pointed. */
function statusDetail(res: IncomingMessage, url: string): string {
  const status = res.statusCode ?? 0
  if (status >= 300 && status < 400) {
    const location = res.headers.location
    if (!location) return `HTTP ${status} (redirect without Location)`
    let to: string
    try {
      to = redactUrl(new URL(location, url).href)
    } catch {
      to = redactUrl(location)
    }
    return `redirect to ${to} (HTTP ${status}); checks do not follow redirects`
  }
  return `HTTP ${status}`
}

/** A failed request in a few words. */
function describeNetworkError(err: unknown): string {
  if (err instanceof ProxyError) return oneLine(err.message)
  const { kind, code, source } = classifyNetworkError(err)
  const message = libraryText(source instanceof Error ? source.message : String(source))
  switch (kind) {
    case 'refused':
      return 'connection refused'
    case 'reset':
      return 'connection reset'
    case 'dns':
      return `cannot resolve host (${code})`
    case 'unreachable':
      return `host unreachable (${code})`
    case 'timeout':
      return 'timed out'
    case 'connect-timeout':
      return message
    case 'tls':
      return `TLS failed: ${message} (${code})`
  }
  return code ? `${message} (${code})` : message
}

// ---- Prometheus --------------------------------------------------------------------

/** GET /api/v1/query (prometheus/web/api/v1/api.go). */
interface PromResponse {
  status?: 'success' | 'error'
  data?: PromData
  errorType?: string
  error?: string
}

type PromSample = [number, string]
type PromData =
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: PromSample }> }
  | { resultType: 'scalar'; result: PromSample }
  | { resultType: 'matrix' | 'string'; result: unknown }

function judge(data: PromData, threshold: number): Verdict {
  let samples: Array<{ labels: string; text: string }>
  if (data.resultType === 'vector' && Array.isArray(data.result)) {
    samples = data.result.map((s) => ({
      labels: formatLabels(s.metric),
      text: String(s.value?.[1]),
    }))
  } else if (data.resultType === 'scalar' && Array.isArray(data.result)) {
    samples = [{ labels: 'scalar', text: String(data.result[1]) }]
  } else {
    return {
      ok: false,
      detail: `result of type ${String(data.resultType)}: the query must give an instant vector or a scalar`,
    }
  }
  if (samples.length === 0) return { ok: false, detail: 'no samples' }
  // NaN (0/0, e.g. an error ratio without traffic) is no evidence of health.
  const bad = samples
    .map((s) => ({ ...s, value: parseValue(s.text) }))
    .filter((s) => !(s.value <= threshold))
    .sort((a, b) => (Number.isNaN(a.value) ? -1 : Number.isNaN(b.value) ? 1 : b.value - a.value))
  if (bad.length === 0) {
    const max = Math.max(...samples.map((s) => parseValue(s.text)))
    return {
      ok: true,
      detail: `${samples.length} sample${samples.length === 1 ? '' : 's'} <= threshold ${threshold} (max ${max})`,
    }
  }
  const worst = bad[0]
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''
  const what = Number.isNaN(worst.value)
    ? `value ${worst.text} is not a number`
    : `value ${worst.text} > threshold ${threshold}`
  return { ok: false, detail: `${what} for ${worst.labels}${more}` }
}

/** Sample values are strings as Go's strconv.FormatFloat writes them: `+Inf`, `-Inf`, `NaN`. */
function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

/** As Prometheus prints a series: `name{label="value", ...}`. */
function formatLabels(metric: Record<string, string> | undefined): string {
  const { __name__: name = '', ...labels } = metric ?? {}
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')
  return `${name}{${inner}}`
}
