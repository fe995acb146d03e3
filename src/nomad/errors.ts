// One error type for everything that can go wrong talking to Nomad, and the
// functions that make one from what went wrong: a status, a broken connection,
// an answer that is not JSON, an abort, a time limit.

import { STATUS_CODES } from 'node:http'
import { classifyNetworkError } from '../network-error.js'
import { ProxyError, type Route } from '../net/http.js'
import { describeProxy } from '../net/proxy.js'
import { redactUrl } from '../redact.js'
import { describeNeed, needFor } from './capabilities.js'
import { libraryText, oneLine } from '../text.js'

export type NomadErrorKind =
  /** Nomad answered with a non-2xx status. */
  | 'http'
  /** Nothing reached Nomad: connection refused. Safe to send again. */
  | 'refused'
  /** The connection broke (reset, DNS, hang-up): a write may or may not have been applied. */
  | 'network'
  /** No answer within the request's time limit: a write may or may not have been applied. */
  | 'timeout'
  /** The answer was not what Nomad sends (malformed JSON, a redirect). */
  | 'protocol'
  /** TLS handshake or certificate verification failed. */
  | 'tls'
  /** The caller aborted (deadline of the step, or a signal). */
  | 'aborted'

export interface NomadErrorInit {
  kind: NomadErrorKind
  method: string
  path: string
  status?: number
  /** Nomad's own text (trimmed of `rpc error:` noise) or a description of the failure. */
  detail: string
  retryable: boolean
  /** For writes: the request may have been applied although no answer arrived. */
  ambiguous: boolean
  cause?: unknown
}

export class NomadError extends Error {
  readonly kind: NomadErrorKind
  readonly method: string
  readonly path: string
  readonly status?: number
  readonly detail: string
  readonly retryable: boolean
  readonly ambiguous: boolean

  constructor(init: NomadErrorInit) {
    const where = `${init.method} ${init.path}`
    const what = init.status ? `HTTP ${init.status}: ${init.detail}` : init.detail
    super(`${where} failed: ${what}`, { cause: init.cause })
    this.name = 'NomadError'
    this.kind = init.kind
    this.method = init.method
    this.path = init.path
    this.status = init.status
    this.detail = init.detail
    this.retryable = init.retryable
    this.ambiguous = init.ambiguous
  }
}

/**
 * Nomad's HTTP layer returns RPC errors as plain text, prefixed `rpc error: ` once per
 * forwarding hop, and multierror texts as `1 error occurred:\n\t* ...\n\n`
 * (command/agent/http.go, hashicorp/go-multierror). Keep the message, drop the noise.
 */
export function cleanNomadText(text: string): string {
  let t = text.trim()
  while (/^rpc error:\s*/i.test(t)) t = t.replace(/^rpc error:\s*/i, '')
  const multi = /^\d+ errors? occurred:\s*/.exec(t)
  if (multi) {
    t = t
      .slice(multi[0].length)
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s*/, '').trim())
      .filter(Boolean)
      .join('; ')
  }
  return oneLine(t, 500)
}

/** Server-side texts of a Nomad that is electing a leader or forwarding badly: retry. */
const TRANSIENT_TEXT =
  /no cluster leader|no leader|leadership lost|raft|rpc error: eof|\beof\b|i\/o timeout|connection reset|broken pipe|stream closed/i

/**
 * 5xx texts that are answers, not outages: retrying cannot change them (the
 * deployment endpoints' own checks, nomad/deployment_endpoint.go and
 * state_store.go).
 */
const FINAL_TEXT =
  /not found|no path to region|permission denied|terminal deployment|healthy allocations|not part of deployment|unknown alloc|must specify|lookup failed|missing deployment id|not implemented/i

/**
 * Nomad answers nearly every failed RPC with a 500 and a text; any text that is
 * not an answer about the request (FINAL_TEXT) is an outage to wait out
 * (nomad-api.md: "5xx are transient"): `Not ready to serve consistent reads`,
 * `failed to get conn`, a proxy's `Internal Server Error`...
 */
export function isTransientStatus(status: number, text: string): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true
  if (status < 500 || status === 501) return false
  return TRANSIENT_TEXT.test(text) || !FINAL_TEXT.test(text)
}

/** Explain an HTTP error status the way a user needs to act on it. */
export function describeStatus(
  status: number,
  text: string,
  namespace: string | undefined,
  method: string,
  path: string,
): string {
  const cleaned = cleanNomadText(text) || '(empty body)'
  if (status === 407) {
    return `${cleaned}: a proxy wants credentials: put its user and password in HTTP_PROXY or HTTPS_PROXY (http://user:password@host:port)`
  }
  if (status === 403) {
    const ns = namespace ?? 'default'
    const need = needFor(method, path)
    if (!need) return `${cleaned}: the token is missing, expired or unknown to this cluster`
    // A write comes after reads that the same token passed: it is there. (An
    // expired token is refused as "ACL token expired", not "Permission denied".)
    const orMissing = method === 'GET' ? ' (or it is missing or expired)' : ''
    return `${cleaned}: to ${need.what}, the token needs ${describeNeed(need)} in namespace "${ns}"${orMissing}`
  }
  // Any other status is Nomad's text as it is: a 400 too (Go's TLS listener's
  // `HTTP request to an HTTPS server` has its own error, made by fromStatus).
  return cleaned
}

/** A non-2xx answer: a redirect (never followed) or Nomad's error text. */
export function fromStatus(
  method: string,
  path: string,
  status: number,
  text: string,
  location: string | undefined,
  namespace: string | undefined,
  address?: string,
): NomadError {
  // Go's TLS listener answers a plain-HTTP request so (net/http/server.go conn.serve).
  if (status === 400 && address && /HTTP request to an HTTPS server/i.test(text)) {
    return new NomadError({
      kind: 'protocol',
      method,
      path,
      detail: `Nomad at ${address} answered that it serves HTTPS: use ${address.replace(/^http:/, 'https:')}`,
      retryable: false,
      ambiguous: false,
    })
  }
  if (status >= 300 && status < 400) {
    const to = !location
      ? '(no Location header)'
      : URL.canParse(location)
        ? redactUrl(location, 'strip')
        : '(an invalid Location header)'
    return new NomadError({
      kind: 'protocol',
      method,
      path,
      status,
      detail: `Nomad answered with a redirect to ${to}, which is not followed so that the token is never sent elsewhere; set the address to the final URL`,
      retryable: false,
      ambiguous: false,
    })
  }
  return new NomadError({
    kind: 'http',
    method,
    path,
    status,
    detail: describeStatus(status, text, namespace, method, path),
    retryable: isTransientStatus(status, text),
    // A gateway error may hide a write the server applied.
    ambiguous: status >= 502 && status <= 504,
  })
}

/**
 * Turn a socket, TLS or proxy error into a NomadError that says where and
 * what to do, in one line. `route`: how the request went, read for its proxy
 * only (none given: direct); a proxy's own failure is worded as the proxy's.
 */
export function fromNetworkError(
  err: unknown,
  method: string,
  path: string,
  address: string,
  route?: Route,
): NomadError {
  const base = { method, path, cause: err }
  if (err instanceof ProxyError) {
    return new NomadError({
      ...base,
      kind: 'refused',
      detail: `${err.message}, on the way to Nomad at ${address}: check the proxy, or list the host in NO_PROXY to connect directly`,
      // A proxy that refused the tunnel with a 4xx (407: credentials, 403: not
      // allowed there) answers the same to another try; a 5xx or no answer may pass.
      retryable: err.status === undefined || err.status >= 500,
      ambiguous: false,
    })
  }
  const { kind, code, source } = classifyNetworkError(err)
  const reason = libraryText(source instanceof Error ? source.message : String(source))
  const tunnel = route?.proxy ? ` through the proxy ${describeProxy(route.proxy)}` : ''
  switch (kind) {
    case 'refused':
      return new NomadError({
        ...base,
        kind: 'refused',
        detail: `cannot connect to Nomad at ${address} (connection refused): check the address and that the agent is running`,
        retryable: true,
        ambiguous: false,
      })
    case 'dns': {
      const host = new URL(address).hostname
      const variable = address.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY'
      return new NomadError({
        ...base,
        kind: 'network',
        detail:
          code === 'EAI_AGAIN'
            ? `cannot resolve ${host}, the host of ${address}, now (EAI_AGAIN: DNS did not answer)`
            : `cannot resolve ${host}, the host of ${address} (${code}): check the address, or set ${variable} if only a proxy reaches it`,
        retryable: code === 'EAI_AGAIN',
        ambiguous: false,
      })
    }
    case 'unreachable':
      return new NomadError({
        ...base,
        kind: 'network',
        detail: `no route to Nomad at ${address} (${code}): check the address, and that the runner's network reaches it (VPN, firewall, proxy variables)`,
        retryable: true,
        ambiguous: false,
      })
    case 'connect-timeout': {
      // Through a proxy, the silent one may be the proxy, or Nomad behind it.
      const fix = tunnel
        ? 'check the proxy, and that it reaches the address and port'
        : 'check the address and port; a firewall may drop the packets, or only a proxy reaches it (HTTPS_PROXY, HTTP_PROXY)'
      return new NomadError({
        ...base,
        kind: 'network',
        detail: `no connection to Nomad at ${address}${tunnel} within ${((source as { ms?: number }).ms ?? 0) / 1000}s: ${fix}`,
        retryable: true,
        ambiguous: false,
      })
    }
    case 'tls':
      return new NomadError({
        ...base,
        kind: 'tls',
        detail: tlsDetail(address, reason, code),
        retryable: false,
        ambiguous: false,
      })
  }
  return new NomadError({
    ...base,
    kind: 'network',
    detail: `connection to ${address}${tunnel} broke: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`,
    retryable: true,
    ambiguous: true,
  })
}

/** What a failed TLS handshake most likely needs, by its code. */
function tlsDetail(address: string, reason: string, code: string): string {
  if (/wrong version number|packet length too long|unknown protocol/i.test(reason)) {
    return `Nomad at ${address} answered in plain HTTP, not TLS: use ${address.replace(/^https:/, 'http:')}`
  }
  // Node 24 adds advice on its own trust store, which the gate does not use: ca-cert is the way.
  const why = reason.replace(
    /; if the root CA is installed locally, try running Node\.js with --use-system-ca$/,
    '',
  )
  const what = `TLS with ${address} failed: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `${what}; set tls-server-name to a name in Nomad's certificate (Nomad's own are server.<region>.nomad, e.g. server.global.nomad)`
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `${what}; Nomad's certificate is outside its validity dates: renew it (or check the runner's clock)`
  }
  if (/certificate required|handshake failure|bad certificate/i.test(reason)) {
    return `${what}; Nomad requires a client certificate (verify_https_client): set client-cert and client-key`
  }
  return `${what}; set ca-cert to the CA that signed Nomad's certificate, tls-server-name to the name in it, or client-cert/client-key if Nomad requires mTLS`
}

/**
 * Nomad was not reached: no connection, no name, no TLS, the wrong scheme, a
 * proxy that could not get there. Before Nomad's first answer that is most
 * likely the address; after it, an agent restarting or a leader changing.
 */
export function notReached(err: NomadError): boolean {
  return err.kind === 'refused' || err.kind === 'tls' || err.kind === 'network'
}

/**
 * The final form of a failure to reach Nomad that was retried for `ms`
 * without Nomad ever answering: what happened, the likely fix, and how long
 * the gate tried.
 */
export function neverReached(
  err: NomadError,
  address: string,
  tries: number,
  ms: number,
): NomadError {
  // In the reason after "broke:", not in the address before it (a host may be named "closed-…").
  const reset =
    err.kind === 'network' && / broke: .*(?:ECONNRESET|hang up|closed)/i.test(err.detail)
  const hint =
    reset && address.startsWith('http:')
      ? `; if Nomad serves TLS, use ${address.replace(/^http:/, 'https:')}`
      : ''
  return new NomadError({
    kind: err.kind,
    method: err.method,
    path: err.path,
    status: err.status,
    detail: `${err.detail}${hint}; tried ${tries} ${tries === 1 ? 'time' : 'times'} in ${Math.round(ms / 100) / 10}s, and Nomad has not answered once`,
    retryable: false,
    ambiguous: err.ambiguous,
    cause: err,
  })
}

/**
 * A failure in a few words, for the tally of a step's retries
 * (`connection reset (2), No cluster leader (1)`): the same words for the same cause.
 */
export function retryCause(err: NomadError): string {
  switch (err.kind) {
    case 'http': {
      const text = err.detail === '(empty body)' ? '' : err.detail
      const generic = !text || text === STATUS_CODES[err.status ?? 0]
      return generic ? `HTTP ${err.status}` : oneLine(text, 60)
    }
    case 'refused':
      return err.cause instanceof ProxyError ? 'proxy unreachable' : 'connection refused'
    case 'timeout':
      return 'no answer in time'
    case 'protocol':
      return 'not a Nomad answer'
    case 'tls':
      return 'TLS failed'
    case 'aborted':
      return 'aborted'
  }
  switch (classifyNetworkError(err.cause).kind) {
    case 'reset':
      return 'connection reset'
    case 'dns':
      return 'DNS failed'
    case 'unreachable':
      return 'no route'
    case 'connect-timeout':
      return 'no connection in time'
  }
  return 'connection broke'
}

/** No answer within the request's own time limit. */
export function timeoutError(
  method: string,
  path: string,
  address: string,
  timeoutMs: number,
  cause: unknown,
): NomadError {
  return new NomadError({
    kind: 'timeout',
    method,
    path,
    detail: `no answer from ${address} within ${timeoutMs} ms`,
    retryable: true,
    ambiguous: true,
    cause,
  })
}

/** The caller's signal ended the request (or the back-off before it). */
export function abortedError(
  method: string,
  path: string,
  cause: unknown,
  ambiguous = false,
): NomadError {
  return new NomadError({
    kind: 'aborted',
    method,
    path,
    detail: 'aborted',
    retryable: false,
    ambiguous,
    cause,
  })
}

/** A 2xx answer that is not the JSON Nomad sends (cut short, or from a proxy). */
export function invalidJsonError(method: string, path: string, what: string): NomadError {
  return new NomadError({
    kind: 'protocol',
    method,
    path,
    detail: `the answer is not valid JSON (${what})`,
    retryable: true,
    ambiguous: true,
  })
}
