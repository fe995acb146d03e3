// One HTTP exchange with Nomad: the keep-alive agent with the TLS settings, the
// headers, the time limit and the caller's abort, reading the body as it
// arrives, and every failure as a NomadError. Retries are the client's
// (retry.ts); paths are the endpoints' (deployments.ts, jobs.ts).

import * as http from 'node:http'
import * as https from 'node:https'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { HttpClient } from '@actions/http-client'
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

export interface Exchange<T> {
  method: 'GET' | 'PUT' | 'POST'
  path: string
  /** Query parameters; namespace and region are added to every request. */
  params?: Record<string, string>
  /** The JSON text of a write's body. */
  data?: string
  timeoutMs: number
  signal?: AbortSignal
  /** Reads a 2xx answer as it arrives; without one its whole text is parsed at the end. */
  reader?: BodyReader<T>
}

export interface Answer<T> {
  body: T
  headers: IncomingHttpHeaders
}

export class Transport {
  readonly address: string
  private readonly config: Config
  private readonly agent: http.Agent
  private readonly userAgent: string

  constructor(config: Config, userAgent: string) {
    const url = new URL(config.address)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(
        `Nomad address must start with http:// or https:// (got "${url.protocol}//${url.host}")`,
      )
    }
    this.config = config
    this.address = config.address
    this.userAgent = userAgent
    const tls = config.tls
    // Keep-alive: the blocking loop sends a request per change; a warm socket
    // saves the TCP (and TLS) handshake on the path that decides the latency.
    this.agent =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: tls.caCert,
            cert: tls.clientCert,
            key: tls.clientKey,
            servername: tls.serverName,
            rejectUnauthorized: !tls.skipVerify,
          })
        : new http.Agent({ keepAlive: true })
  }

  /** Close idle keep-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy()
  }

  /** `params` as a record, or search parameters that may repeat (the event stream's `topic`). */
  url(path: string, params: Record<string, string> | URLSearchParams = {}): URL {
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
    const headers = this.headers(data !== undefined)
    const client = this.client(combined, x.timeoutMs + 1_000)

    let message: IncomingMessage
    let text: string
    try {
      const url = this.url(path, x.params).toString()
      const res = await client.request(method, url, data ?? null, headers)
      message = res.message
      const ok = (message.statusCode ?? 0) >= 200 && (message.statusCode ?? 0) < 300
      text = await readText(message, reader && ok ? (c) => reader.feed(c, method, path) : undefined)
    } catch (err) {
      if (err instanceof NomadError) throw err
      if (signal?.aborted) throw abortedError(method, path, err, data !== undefined)
      if (timeout.aborted) throw timeoutError(method, path, this.address, x.timeoutMs, err)
      throw fromNetworkError(err, method, path, this.address)
    }
    const status = message.statusCode ?? 0
    if (status < 200 || status >= 300) {
      throw fromStatus(method, path, status, text, message.headers.location, this.config.namespace)
    }
    const body = reader ? reader.end(method, path) : parseJson<T>(text, method, path)
    return { body, headers: message.headers }
  }

  /**
   * A GET whose 2xx answer is handed over unread, for a body that streams
   * (the event stream): the caller reads it and ends it with `signal`. A
   * non-2xx answer is read and thrown as a NomadError, as by exchange().
   */
  async open(x: {
    path: string
    params?: Record<string, string> | URLSearchParams
    signal: AbortSignal
  }): Promise<IncomingMessage> {
    const { path, signal } = x
    const client = this.client(signal, 0)
    let message: IncomingMessage
    try {
      message = (
        await client.request('GET', this.url(path, x.params).toString(), null, this.headers(false))
      ).message
    } catch (err) {
      if (err instanceof NomadError) throw err
      if (signal.aborted) throw abortedError('GET', path, err, false)
      throw fromNetworkError(err, 'GET', path, this.address)
    }
    const status = message.statusCode ?? 0
    if (status >= 200 && status < 300) return message
    let text = ''
    try {
      text = await readText(message)
    } catch {
      // The status says enough.
    }
    throw fromStatus('GET', path, status, text, message.headers.location, this.config.namespace)
  }

  private headers(withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.config.token) headers['x-nomad-token'] = this.config.token
    if (this.config.httpAuth) {
      const { username, password } = this.config.httpAuth
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    }
    if (withBody) headers['content-type'] = 'application/json'
    return headers
  }

  /**
   * @actions/http-client builds and sends the request; a per-request handler
   * gives it our keep-alive/TLS agent and the abort signal, which it has no
   * option for. Redirects stay off: X-Nomad-Token would follow them.
   * `socketTimeoutMs` (0: none) is only a backstop behind the signal.
   */
  private client(signal: AbortSignal, socketTimeoutMs: number): HttpClient {
    type RequestHandler = HttpClient['handlers'][number]
    const handler: RequestHandler = {
      prepareRequest: (options) => Object.assign(options, { agent: this.agent, signal }),
      canHandleAuthentication: () => false,
      handleAuthentication: () => Promise.reject(new Error('unreachable')),
    }
    return new HttpClient(this.userAgent, [handler], {
      allowRedirects: false,
      allowRetries: false,
      ...(socketTimeoutMs > 0 ? { socketTimeout: socketTimeoutMs } : {}),
    })
  }
}

function readText(message: IncomingMessage, sink?: (chunk: string) => void): Promise<string> {
  // Not HttpClientResponse.readBody(): it never settles when the connection
  // breaks mid-body, which would hang the gate until its deadline.
  return new Promise((resolve, reject) => {
    // Decoded as it arrives; with a sink (see ArrayStream) the text is handed
    // on instead of kept, so an answer of megabytes is never held whole.
    let text = ''
    message.setEncoding('utf8')
    message.on('data', (c: string) => {
      if (!sink) return void (text += c)
      try {
        sink(c)
      } catch (err) {
        message.destroy()
        reject(err)
      }
    })
    message.on('end', () => resolve(text))
    message.on('error', reject)
    message.on('close', () => {
      if (!message.complete)
        reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }))
    })
  })
}

function parseJson<T>(text: string, method: string, path: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    const what = `${text.length} bytes: ${JSON.stringify(text.slice(0, 60))}`
    throw invalidJsonError(method, path, what)
  }
}
