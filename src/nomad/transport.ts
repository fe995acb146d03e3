// One HTTP exchange with Nomad: the connection (net/http.ts: keep-alive, TLS,
// the proxy variables, the connect timeout), the headers, the time limit and
// the caller's abort, reading the body as it arrives, and every failure as a
// NomadError. Retries are the client's (retry.ts); paths are the endpoints'
// (deployments.ts, jobs.ts). No redirect is followed: X-Nomad-Token would go
// along to wherever it points.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { Dialer, readText, type Route } from '../net/http.js'
import type { Config } from './config.js'
import {
  NomadError,
  abortedError,
  fromNetworkError,
  fromStatus,
  invalidJsonError,
  timeoutError,
} from './errors.js'
import type { BodyReader } from './json-stream.js'

/** A new connection to Nomad (through a proxy's tunnel, TLS included) must be up within this. */
export const CONNECT_TIMEOUT_MS = 5_000

export type Params = Record<string, string> | URLSearchParams

export interface Exchange<T> {
  method: 'GET' | 'PUT' | 'POST'
  path: string
  /** Query parameters; namespace and region are added to every request. */
  params?: Params
  /** The JSON text of a write's body. */
  data?: string
  timeoutMs: number
  signal?: AbortSignal
  /** Reads a 2xx answer as it arrives; without one its whole text is parsed at the end. */
  reader?: BodyReader<T>
}

/** A GET whose 2xx answer is handed over unread (a body that streams: the event stream). */
export interface Opening {
  method?: 'GET'
  path: string
  params?: Params
  /** Until the answer's head; the body is the caller's to read and end. */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface Answer<T> {
  body: T
  headers: IncomingHttpHeaders
}

/** What a request did, for the debug lines (no header is in it: the token is one). */
export interface ExchangeRecord {
  method: string
  /** Path and query. */
  target: string
  /** 0 when no answer came. */
  status: number
  /** X-Nomad-Index of the answer; 0 when none. */
  index: number
  ms: number
  /** Why no answer came. */
  error?: NomadError
}

export class Transport {
  readonly address: string
  /** A 2xx answer has come from Nomad: the address, the scheme and the way there are right. */
  contacted = false
  private readonly config: Config
  private readonly dialer: Dialer
  private readonly userAgent: string
  private readonly onExchange?: (r: ExchangeRecord) => void

  constructor(config: Config, userAgent: string, onExchange?: (r: ExchangeRecord) => void) {
    const url = new URL(config.address)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(
        `Nomad address must start with http:// or https:// (got "${url.protocol}//${url.host}")`,
      )
    }
    this.config = config
    this.address = config.address
    this.userAgent = userAgent
    this.onExchange = onExchange
    const tls = config.tls
    // Keep-alive: the blocking loop sends a request per change; a warm socket
    // saves the TCP (and TLS) handshake on the path that decides the latency.
    this.dialer = new Dialer({
      keepAlive: true,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      proxy: config.proxy,
      tls: {
        ca: tls.caCert,
        cert: tls.clientCert,
        key: tls.clientKey,
        servername: tls.serverName,
        rejectUnauthorized: !tls.skipVerify,
      },
    })
  }

  /** Close idle keep-alive sockets so the process can exit. */
  close(): void {
    this.dialer.destroy()
  }

  /** How requests to Nomad go: directly, or through which proxy. */
  get route(): Route {
    return this.dialer.route(new URL(this.address))
  }

  /** `params` as a record, or search parameters that may repeat (the event stream's `topic`). */
  url(path: string, params: Params = {}): URL {
    const url = new URL(path, this.address)
    const entries = params instanceof URLSearchParams ? [...params] : Object.entries(params)
    for (const [k, v] of entries) url.searchParams.append(k, v)
    if (this.config.namespace) url.searchParams.set('namespace', this.config.namespace)
    if (this.config.region) url.searchParams.set('region', this.config.region)
    return url
  }

  /** Resolves with a 2xx answer's JSON body, rejects with a NomadError otherwise. */
  async exchange<T>(x: Exchange<T>): Promise<Answer<T>> {
    const { method, path, data, signal, reader } = x
    const timeout = AbortSignal.timeout(x.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
    const url = this.url(path, x.params)
    const started = performance.now()
    let message: IncomingMessage | undefined
    try {
      let text: string
      try {
        message = await this.dialer.send(url, {
          method,
          headers: this.headers(data !== undefined),
          body: data,
          signal: combined,
        })
        const ok = isOk(message.statusCode)
        text = await readText(
          message,
          reader && ok ? (c) => reader.feed(c, method, path) : undefined,
        )
      } catch (err) {
        if (err instanceof NomadError) throw err
        if (signal?.aborted) throw abortedError(method, path, err, data !== undefined)
        if (timeout.aborted) throw timeoutError(method, path, this.address, x.timeoutMs, err)
        throw fromNetworkError(err, method, path, this.address, this.dialer.route(url))
      }
      if (!isOk(message.statusCode)) throw this.statusError(method, path, message, text)
      const body = reader ? reader.end(method, path) : parseJson<T>(text, method, path)
      this.contacted = true
      this.record(method, url, started, message)
      return { body, headers: message.headers }
    } catch (err) {
      this.record(method, url, started, message, err)
      throw err
    }
  }

  /**
   * A GET whose 2xx answer is handed over unread, for a body that streams (the
   * event stream): the caller reads it and ends it with its signal. A non-2xx
   * answer is read and thrown as a NomadError, as by exchange().
   */
  async open(x: Opening): Promise<IncomingMessage> {
    const { path, signal } = x
    const method = x.method ?? 'GET'
    const timeout = x.timeoutMs ? AbortSignal.timeout(x.timeoutMs) : undefined
    const own = new AbortController()
    // The time limit covers the head only: the stream lives on after it.
    const onLimit = () => own.abort(timeout?.reason)
    timeout?.addEventListener('abort', onLimit, { once: true })
    const combined = signal ? AbortSignal.any([signal, own.signal]) : own.signal
    const url = this.url(path, x.params)
    const started = performance.now()
    let message: IncomingMessage
    try {
      message = await this.dialer.send(url, {
        method,
        headers: this.headers(false),
        signal: combined,
      })
    } catch (err) {
      const e = signal?.aborted
        ? abortedError(method, path, err, false)
        : own.signal.aborted
          ? timeoutError(method, path, this.address, x.timeoutMs ?? 0, err)
          : fromNetworkError(err, method, path, this.address, this.dialer.route(url))
      this.record(method, url, started, undefined, e)
      throw e
    } finally {
      timeout?.removeEventListener('abort', onLimit)
    }
    if (isOk(message.statusCode)) {
      this.contacted = true
      this.record(method, url, started, message)
      return message
    }
    const text = await readText(message).catch(() => '')
    const e = this.statusError(method, path, message, text)
    this.record(method, url, started, message, e)
    throw e
  }

  private statusError(method: string, path: string, m: IncomingMessage, text: string): NomadError {
    const status = m.statusCode ?? 0
    const ns = this.config.namespace
    return fromStatus(method, path, status, text, m.headers.location, ns, this.address)
  }

  private headers(withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
    }
    if (this.config.token) headers['x-nomad-token'] = this.config.token
    if (this.config.httpAuth) {
      const { username, password } = this.config.httpAuth
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    }
    if (withBody) headers['content-type'] = 'application/json'
    return headers
  }

  private record(
    method: string,
    url: URL,
    started: number,
    message?: IncomingMessage,
    error?: unknown,
  ): void {
    if (!this.onExchange) return
    const raw = message?.headers['x-nomad-index']
    const index = Number(Array.isArray(raw) ? raw[0] : raw)
    this.onExchange({
      method,
      target: `${url.pathname}${url.search}`,
      status: message?.statusCode ?? 0,
      index: Number.isFinite(index) ? index : 0,
      ms: performance.now() - started,
      error: error instanceof NomadError ? error : undefined,
    })
  }
}

function isOk(status: number | undefined): boolean {
  return (status ?? 0) >= 200 && (status ?? 0) < 300
}

function parseJson<T>(text: string, method: string, path: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    const what = `${text.length} bytes: ${JSON.stringify(text.slice(0, 60))}`
    throw invalidJsonError(method, path, what)
  }
}
