// The simulator's socket side: an HTTP(S) listener in front of the HTTP layer
// (http.ts), with a log of every request and fault injection, so tests can see
// what a client sent and break what it gets.

import { createServer as createHttpServer, STATUS_CODES } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect as netConnect, createServer as createNetServer } from 'node:net'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

import { Faults, type FaultSpec, type InjectedFault, type RequestRecord } from './faults.js'
import type { ApiReply, ApiRequest, StreamBody } from './api.js'
import { sleep } from './net.js'

export interface ServerOptions {
  /** Default 0: any free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** PEM texts; serves https. `requestClientCert` requires a client certificate signed by `ca` (Nomad's verify_https_client). */
  tls?: { key: string; cert: string; ca?: string; requestClientCert?: boolean }
}

export type { FaultSpec, InjectedFault, RequestRecord } from './faults.js'

/** A blocking query the server holds: it waits for a change past `index`. */
export interface HeldQuery {
  method: string
  path: string
  query: Record<string, string>
  /** The index the client sent (`?index=`): the query answers once its index is above it. */
  index: number
  /** performance.now() when it started waiting. */
  since: number
}

/** What the server hands each request to, and what it reads the current raft index from. */
export interface ServerBackend {
  serve(r: ApiRequest): Promise<ApiReply>
  index(): number
}

export class SimServer {
  /** e.g. `http://127.0.0.1:41234` (`https://` with tls). */
  address = ''
  port = 0
  readonly requests: RequestRecord[] = []

  private readonly server: Server
  /** What listens on the port: the server itself, or with TLS the Go-like front (goTlsFront). */
  private readonly listener: NetServer
  private readonly scheme: 'http' | 'https'
  private readonly sockets = new Set<Socket>()
  private readonly stopping = new AbortController()
  private readonly requestListeners = new Set<(r: RequestRecord) => void>()
  private readonly faults = new Faults()
  private stopped?: Promise<void>
  /** Requests received and not yet answered (or cut): held at an index, or being processed. */
  private readonly open = new Map<
    object,
    { record?: RequestRecord; held?: number; since: number }
  >()
  private readonly beforeWrites = new Set<(r: RequestRecord) => void | Promise<void>>()

  constructor(
    private readonly backend: ServerBackend,
    options: ServerOptions,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((e: unknown) => {
        if (res.headersSent || res.destroyed) return
        send(res, { status: 500, headers: {}, body: `simulator error: ${String(e)}` })
      })
    }
    const tls = options.tls
    this.scheme = tls ? 'https' : 'http'
    this.server = tls
      ? createHttpsServer(
          {
            key: tls.key,
            cert: tls.cert,
            ca: tls.ca,
            requestCert: tls.requestClientCert ?? false,
            rejectUnauthorized: tls.requestClientCert ?? false,
          },
          handler,
        )
      : createHttpServer(handler)
    const track = (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    }
    this.server.on('connection', track)
    this.listener = tls ? goTlsFront(this.server, track) : this.server
  }

  async listen(options: ServerOptions): Promise<void> {
    if (this.listener !== this.server) {
      // The TLS server itself listens only for the front, on a port of its own.
      await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()))
    }
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject)
      this.listener.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        this.listener.off('error', reject)
        resolve()
      })
    })
    const { address, port, family } = this.listener.address() as AddressInfo
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address
    this.port = port
    this.address = `${this.scheme}://${family === 'IPv6' && host !== '127.0.0.1' ? `[${host}]` : host}:${port}`
  }

  /** Aborted when the server stops. */
  get signal(): AbortSignal {
    return this.stopping.signal
  }

  /** Closes the server and every open or held connection at once. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      this.stopping.abort()
      const closed = [this.server, this.listener].map(
        (server) =>
          new Promise<void>((done) => (server.listening ? server.close(() => done()) : done())),
      )
      void Promise.all(closed).then(() => resolve())
      for (const socket of this.sockets) socket.destroy()
    })
    return this.stopped
  }

  // ---- request log ----------------------------------------------------------------

  /** Requests that change a deployment (non-GET `/v1/deployment/...`). */
  writes(): RequestRecord[] {
    return this.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/v1/deployment/'))
  }

  clearRequests(): void {
    this.requests.length = 0
  }

  /** The first logged request (already logged or yet to come) that matches. */
  waitForRequest(pred: (r: RequestRecord) => boolean, timeoutMs = 5000): Promise<RequestRecord> {
    const found = this.requests.find(pred)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.requestListeners.delete(listener)
      }
      const listener = (r: RequestRecord): void => {
        if (!pred(r)) return
        done()
        resolve(r)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no matching request within ${timeoutMs}ms`))
      }, timeoutMs)
      this.requestListeners.add(listener)
    })
  }

  // ---- hooks and quiescence --------------------------------------------------------

  /**
   * Runs `fn` (awaited) just before each write request (any method but GET) is
   * handled: a test can change the state between a client's read and its write.
   * Returns a function that removes the hook.
   */
  beforeWrite(fn: (r: RequestRecord) => void | Promise<void>): () => void {
    this.beforeWrites.add(fn)
    return () => this.beforeWrites.delete(fn)
  }

  /** The blocking queries held now, oldest first. */
  heldQueries(): HeldQuery[] {
    const out: HeldQuery[] = []
    for (const o of this.open.values()) {
      if (o.held === undefined || !o.record) continue
      const { method, path, query } = o.record
      out.push({ method, path, query, index: o.held, since: o.since })
    }
    return out.sort((a, b) => a.since - b.since)
  }

  /**
   * Quiescence: resolves once no request is being processed (received but
   * neither answered nor held) and at least `held` requests are blocking
   * queries held waiting for a change past the index they sent, and this still
   * holds after pending I/O and timers of the current turn have run: the
   * client has read the state and waits for the next change. A client that
   * holds N queries (the gate holds 2) should pass `held: N`, or a moment
   * where it re-sends one of them looks settled. Rejects after `timeoutMs`
   * (real time) naming the open requests.
   */
  settled(options: { held?: number; timeoutMs?: number } = {}): Promise<void> {
    const held = options.held ?? 1
    const timeoutMs = options.timeoutMs ?? 5000
    const quiet = (): boolean => {
      let n = 0
      for (const o of this.open.values()) {
        if (o.held === undefined) return false
        n++
      }
      return n >= held
    }
    return new Promise((resolve, reject) => {
      let stable = 0
      const timer = setTimeout(() => {
        clearInterval(poll)
        const open = [...this.open.values()].map(
          (o) =>
            `${o.record?.method ?? '?'} ${o.record?.path ?? '(reading)'}${o.held === undefined ? '' : ` held at ${o.held}`}`,
        )
        reject(
          new Error(
            `the simulator did not settle within ${timeoutMs} ms (want ${held} held, nothing processing); open: ${open.join(', ') || 'none'}`,
          ),
        )
      }, timeoutMs)
      // Two quiet observations a turn apart: what was woken has been answered, what arrived has been read.
      const poll = setInterval(() => {
        stable = quiet() ? stable + 1 : 0
        if (stable < 2) return
        clearInterval(poll)
        clearTimeout(timer)
        resolve()
      }, 1)
    })
  }

  // ---- faults ----------------------------------------------------------------------

  injectFault(spec: FaultSpec): InjectedFault {
    return this.faults.inject(spec)
  }

  clearFaults(): void {
    this.faults.clear()
  }

  // ---- HTTP ------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = {}
    this.open.set(token, { since: performance.now() })
    res.once('close', () => this.open.delete(token))
    try {
      await this.handleOpen(req, res, token)
    } finally {
      this.open.delete(token)
    }
  }

  private async handleOpen(
    req: IncomingMessage,
    res: ServerResponse,
    token: object,
  ): Promise<void> {
    const at = performance.now()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const method = req.method ?? 'GET'
    const url = new URL(req.url ?? '/', 'http://simulator')
    let path: string
    try {
      path = decodeURIComponent(url.pathname)
    } catch {
      return send(res, { status: 400, headers: {}, body: 'Bad Request' }) // as Go's net/http
    }
    const fault = this.faults.take(method, path)
    const record: RequestRecord = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: parseLoggedBody(body),
      at,
      status: 0,
      fault: fault?.kind,
    }
    this.requests.push(record)
    const open = this.open.get(token)
    if (open) open.record = record
    for (const listener of [...this.requestListeners]) listener(record)

    const hold = (index: number | undefined): void => {
      const o = this.open.get(token)
      if (!o) return
      o.held = index
      o.since = performance.now()
    }
    const reply = await this.reply(req, res, record, url, body, fault, hold)
    if (!reply || res.destroyed) return
    record.status = reply.status
    record.answeredAt = performance.now()
    const index = Number(reply.headers['X-Nomad-Index'])
    if (Number.isFinite(index) && reply.headers['X-Nomad-Index'] !== undefined) record.index = index
    if (reply.stream) return this.stream(res, reply, reply.stream, fault, hold)
    if (fault?.kind === 'reset-mid-body') {
      const bytes = Buffer.from(reply.body)
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': bytes.length })
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy())
      return
    }
    send(res, reply)
  }

  /**
   * A streamed reply: the head (raw on the socket for a hijacked connection,
   * as Go's http.Response.Write: `Connection: close`, no chunking), then what
   * the stream writes until it ends, the client goes away or the server stops.
   */
  private async stream(
    res: ServerResponse,
    reply: ApiReply,
    body: StreamBody,
    fault: FaultSpec | undefined,
    hold: (index: number | undefined) => void,
  ): Promise<void> {
    const socket = res.socket
    if (!socket) return
    const closed = new AbortController()
    res.once('close', () => closed.abort())
    // Not a listener on this.stopping.signal: see reply().
    const gone = AbortSignal.any([closed.signal, this.stopping.signal])
    let write: (text: string) => void
    let finish: () => void
    if (body.hijack) {
      const lines = [`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}`]
      for (const [k, v] of Object.entries({ ...reply.headers, Connection: 'close' }).sort()) {
        lines.push(`${k}: ${v}`)
      }
      socket.write(`${lines.join('\r\n')}\r\n\r\n`)
      write = (text) => void (socket.destroyed || socket.write(text))
      finish = () => socket.end()
    } else {
      res.writeHead(reply.status, reply.headers)
      res.flushHeaders()
      write = (text) => void (res.destroyed || res.write(text))
      finish = () => res.end()
    }
    const cutAfter = fault?.kind === 'drop-stream' ? (fault.after ?? 0) : undefined
    let events = 0
    await body.run({
      signal: gone,
      idle: (index) => hold(index),
      write: (text) => {
        write(text)
        if (cutAfter === undefined) return
        const heartbeat = text === '{}\n'
        if (!heartbeat) events++
        if ((heartbeat && cutAfter === 0) || (!heartbeat && events >= cutAfter)) socket.destroy()
      },
    })
    finish()
  }

  /** The answer to send, after the fault; undefined when the connection is cut instead. */
  private async reply(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    url: URL,
    body: Buffer,
    fault: FaultSpec | undefined,
    onHold: (index: number | undefined) => void,
  ): Promise<ApiReply | undefined> {
    const { method, path } = record
    switch (fault?.kind) {
      case 'reset':
        res.destroy()
        return undefined
      case 'status': {
        const text = fault.body ?? STATUS_CODES[fault.status] ?? ''
        return { status: fault.status, headers: { 'Content-Type': PLAIN }, body: text }
      }
      case 'redirect':
        return { status: fault.status ?? 307, headers: { Location: fault.location }, body: '' }
      case 'delay':
        if (!(await sleep(fault.ms, this.stopping.signal))) return undefined
        break
      case 'before':
        await fault.run(record)
        break
    }
    if (method !== 'GET') {
      for (const fn of [...this.beforeWrites]) await fn(record)
    }

    // A held request ends when its client goes away or the simulator stops.
    // AbortSignal.any adds no listener to this.stopping.signal, which lives as
    // long as the server: a listener per request there made Node warn of a leak
    // (MaxListenersExceededWarning) with more than 10 queries held at once, and
    // stayed when the client had left during a fault's delay or a write hook,
    // its 'close' already emitted.
    const closed = new AbortController()
    if (res.closed) closed.abort()
    else res.once('close', () => closed.abort())
    const gone = AbortSignal.any([closed.signal, this.stopping.signal])
    const chunked = /\bchunked\b/i.test(req.headers['transfer-encoding'] ?? '')
    const reply = await this.backend.serve({
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      noBody: body.length === 0 && !chunked,
      signal: gone,
      nonBlocking: fault?.kind === 'index-backwards',
      onHold,
    })

    switch (fault?.kind) {
      case 'drop-response':
        res.destroy()
        return undefined
      case 'no-leader':
        reply.headers['X-Nomad-KnownLeader'] = 'false'
        break
      case 'index-backwards': {
        const sent = Number(url.searchParams.get('index') ?? '0')
        const real = Number(reply.headers['X-Nomad-Index'] ?? this.backend.index())
        const lowest = sent > 0 ? Math.min(sent, real) : real
        reply.headers['X-Nomad-Index'] = String(fault.index ?? Math.max(0, lowest - 1))
        break
      }
      case 'malformed-json':
        reply.status = 200
        reply.headers['Content-Type'] = 'application/json'
        reply.body = reply.body.length > 1 ? reply.body.slice(0, reply.body.length >> 1) : '{'
        break
    }
    return reply
  }
}

const PLAIN = 'text/plain; charset=utf-8'

function send(res: ServerResponse, reply: ApiReply): void {
  if (res.destroyed) return
  const bytes = Buffer.from(reply.body)
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': bytes.length })
  res.end(bytes)
}

function parseLoggedBody(body: Buffer): unknown {
  if (body.length === 0) return undefined
  const text = body.toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/**
 * Nomad's TLS listener is Go's: a plain-HTTP request on it gets
 * `400 Client sent an HTTP request to an HTTPS server.` and the connection is
 * closed (net/http/server.go conn.serve, on a tls.RecordHeaderError whose
 * header looks like HTTP: tlsRecordHeaderLooksLikeHTTP). Node's TLS server
 * resets instead. So the port is a front that reads the first bytes: HTTP gets
 * Go's answer, anything else is carried to the TLS server on its own port.
 */
function goTlsFront(tlsServer: Server, track: (socket: Socket) => void): NetServer {
  return createNetServer((client) => {
    track(client)
    client.on('error', () => undefined)
    client.once('data', (first: Buffer) => {
      if (/^(GET \/|HEAD |POST |PUT \/|OPTIO)/.test(first.subarray(0, 5).toString('latin1'))) {
        client.end(
          'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n',
        )
        return
      }
      const { port } = tlsServer.address() as AddressInfo
      const inner = netConnect(port, '127.0.0.1')
      track(inner)
      inner.on('error', () => client.destroy())
      inner.write(first)
      client.pipe(inner)
      inner.pipe(client)
      client.on('close', () => inner.destroy())
      inner.on('close', () => client.destroy())
    })
  })
}
