// The one way this project sends an HTTP request: node:http and node:https
// with agents of its own, for Nomad (nomad/transport.ts) and the soak's checks
// (checks.ts). An agent per route: direct; through an HTTP proxy (the request
// in absolute form, for http:// URLs); or through a CONNECT tunnel (for
// https:// URLs), inside which TLS is ours, with the caller's CA, client
// certificate and server name. Which proxy, if any: proxy.ts. Every new
// connection must be up (TCP, the proxy's tunnel, TLS) within the connect
// timeout, so that an address that swallows packets fails in seconds, not in
// the kernel's two minutes.

import * as http from 'node:http'
import * as https from 'node:https'
import * as net from 'node:net'
import * as tls from 'node:tls'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { classifyNetworkError } from '../network-error.js'
import { libraryText } from '../text.js'
import { describeProxy, proxyFor, type ProxyConfig, type ProxySetting } from './proxy.js'

export interface TlsOptions {
  /** PEM CA certificates to trust instead of the system's. */
  ca?: string
  /** PEM client certificate and key (mTLS). */
  cert?: string
  key?: string
  /** The name to send as SNI and verify in the certificate; default: the URL's host. */
  servername?: string
  rejectUnauthorized: boolean
}

export interface DialerOptions {
  proxy?: ProxyConfig
  /** For https:// URLs, direct or inside a tunnel. Not for the proxy itself. */
  tls?: TlsOptions
  keepAlive: boolean
  /** A new connection (TCP, tunnel, TLS handshake) must be up within this. */
  connectTimeoutMs: number
}

export interface SendOptions {
  method: string
  headers: Record<string, string>
  body?: string
  signal?: AbortSignal
}

/** How a request reached (or did not reach) its server: for messages. */
export interface Route {
  /** The proxy, when one was used. */
  proxy?: ProxySetting
  /** forward: the proxy sent it on; tunnel: CONNECT, TLS inside. */
  mode: 'direct' | 'forward' | 'tunnel'
}

/**
 * The proxy could not be reached, or refused the tunnel: nothing reached the
 * server. `code` is the socket's (ECONNREFUSED...) or ERR_PROXY_TUNNEL with
 * the proxy's `status`. Its message is one line, shown as it is: a socket's or
 * OpenSSL's text is cleaned (libraryText) where the error is made.
 */
export class ProxyError extends Error {
  override name = 'ProxyError'
  readonly code: string
  /** As printed: URL without credentials, and its variable. */
  readonly proxy: string
  readonly status?: number

  constructor(proxy: ProxySetting, what: string, code: string, status?: number, cause?: unknown) {
    super(`${what} (proxy ${describeProxy(proxy)})`, { cause })
    this.code = code
    this.proxy = describeProxy(proxy)
    this.status = status
  }
}

/** No connection within the connect timeout. */
export class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError'
  readonly code = 'ERR_CONNECT_TIMEOUT'
  constructor(readonly ms: number) {
    super(`no connection within ${ms / 1000}s`)
  }
}

export class Dialer {
  private readonly agents = new Map<string, http.Agent>()

  constructor(private readonly options: DialerOptions) {}

  /** The way a request to `url` takes. */
  route(url: URL): Route {
    const proxy = proxyFor(url, this.options.proxy)
    if (!proxy) return { mode: 'direct' }
    return { proxy, mode: url.protocol === 'https:' ? 'tunnel' : 'forward' }
  }

  /**
   * Sends one request; resolves with the answer's head (the body unread),
   * rejects with the socket's error, a ProxyError or a ConnectTimeoutError.
   */
  send(url: URL, o: SendOptions): Promise<IncomingMessage> {
    const route = this.route(url)
    const headers: Record<string, string> = { ...o.headers, host: url.host }
    let req: http.ClientRequest
    if (route.mode === 'forward') {
      const proxy = route.proxy!
      if (proxy.authorization) headers['proxy-authorization'] = proxy.authorization
      const secure = proxy.url.protocol === 'https:'
      req = (secure ? https : http).request({
        host: bare(proxy.url.hostname),
        port: proxy.url.port || (secure ? 443 : 80),
        method: o.method,
        // Absolute form: the proxy resolves the name and connects (RFC 9112 3.2.2).
        path: url.href,
        headers,
        agent: this.agent(`forward ${proxy.url.href}`, () => this.forwardAgent(proxy)),
        signal: o.signal,
      })
    } else {
      const secure = url.protocol === 'https:'
      const agent =
        route.mode === 'tunnel'
          ? this.agent(`tunnel ${route.proxy!.url.href}`, () => this.tunnelAgent(route.proxy!))
          : this.agent(url.protocol, () => (secure ? this.httpsAgent() : this.httpAgent()))
      req = (secure ? https : http).request({
        host: bare(url.hostname),
        port: url.port || (secure ? 443 : 80),
        method: o.method,
        path: `${url.pathname}${url.search}`,
        headers,
        agent,
        signal: o.signal,
      })
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve)
      req.once('error', (err) => reject(route.mode === 'forward' ? viaProxy(err, route) : err))
      req.end(o.body)
    })
  }

  /** Closes every idle keep-alive socket so the process can exit. */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy()
    this.agents.clear()
  }

  private agent(key: string, make: () => http.Agent): http.Agent {
    let agent = this.agents.get(key)
    if (!agent) this.agents.set(key, (agent = make()))
    return agent
  }

  private httpAgent(): http.Agent {
    return new GuardedHttpAgent(
      { keepAlive: this.options.keepAlive },
      this.options.connectTimeoutMs,
    )
  }

  private httpsAgent(): http.Agent {
    return new GuardedHttpsAgent(
      { keepAlive: this.options.keepAlive, ...this.options.tls },
      this.options.connectTimeoutMs,
    )
  }

  /** To the proxy itself: its own certificate is checked against the system's CAs. */
  private forwardAgent(proxy: ProxySetting): http.Agent {
    const options = { keepAlive: this.options.keepAlive }
    const ms = this.options.connectTimeoutMs
    return proxy.url.protocol === 'https:'
      ? new GuardedHttpsAgent(options, ms)
      : new GuardedHttpAgent(options, ms)
  }

  private tunnelAgent(proxy: ProxySetting): http.Agent {
    return new TunnelAgent(
      proxy,
      { keepAlive: this.options.keepAlive, ...this.options.tls },
      this.options.connectTimeoutMs,
    )
  }
}

/** The answer's body as text, as it arrives (to `sink` when given, instead of kept). */
export function readText(
  message: IncomingMessage,
  sink?: (chunk: string) => void,
): Promise<string> {
  // A connection that breaks mid-body must reject, not leave the read pending.
  return new Promise((resolve, reject) => {
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

/** `[::1]` as a URL writes it, `::1` as a socket wants it. */
function bare(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
}

/** Codes of a connection that was never made: through a forward proxy, the proxy's. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_CONNECT_TIMEOUT',
])

function viaProxy(err: Error, route: Route): Error {
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return err
  // Forwarded, Nomad's address is http://: the only TLS is with an https:// proxy.
  const proxyTls =
    route.proxy!.url.protocol === 'https:' && classifyNetworkError(err).kind === 'tls'
  if (!NOT_CONNECTED.has(code) && !proxyTls) return err
  return new ProxyError(
    route.proxy!,
    `cannot connect to the proxy: ${libraryText(err.message)}`,
    code,
    undefined,
    err,
  )
}

/** Destroys `socket` unless it is up (`ready` emitted) within `ms`. */
function guard(socket: net.Socket, ready: 'connect' | 'secureConnect', ms: number): void {
  const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(ms)), ms)
  const clear = () => clearTimeout(timer)
  socket.once(ready, clear)
  socket.once('close', clear)
}

class GuardedHttpAgent extends http.Agent {
  constructor(
    options: http.AgentOptions,
    private readonly connectTimeoutMs: number,
  ) {
    super(options)
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    const socket = net.createConnection(options as net.NetConnectOpts)
    guard(socket, 'connect', this.connectTimeoutMs)
    return socket
  }
}

class GuardedHttpsAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly connectTimeoutMs: number,
  ) {
    super(options)
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    // https.Agent's own: TLS session reuse, then tls.connect.
    const socket = super.createConnection(options, callback) as tls.TLSSocket
    guard(socket, 'secureConnect', this.connectTimeoutMs)
    return socket
  }
}

/**
 * https:// through a proxy: `CONNECT host:port` to the proxy, then TLS to the
 * server over that tunnel, with the agent's TLS options (CA, client
 * certificate, server name): the proxy sees only the encrypted bytes.
 */
class TunnelAgent extends https.Agent {
  constructor(
    private readonly proxy: ProxySetting,
    options: https.AgentOptions,
    private readonly connectTimeoutMs: number,
  ) {
    super(options)
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    const proxy = this.proxy
    const authority = `${options.host?.includes(':') ? `[${options.host}]` : options.host}:${options.port}`
    let settled = false
    let socket: net.Socket | undefined
    const done = (err: Error | null, stream?: Duplex) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) socket?.destroy()
      callback?.(err, stream as Duplex)
    }
    const timer = setTimeout(
      () => done(new ConnectTimeoutError(this.connectTimeoutMs)),
      this.connectTimeoutMs,
    )
    const secureProxy = proxy.url.protocol === 'https:'
    const at = {
      host: bare(proxy.url.hostname),
      port: Number(proxy.url.port || (secureProxy ? 443 : 80)),
    }
    const toProxy = secureProxy
      ? tls.connect({ ...at, servername: net.isIP(at.host) ? undefined : at.host })
      : net.connect(at)
    socket = toProxy
    toProxy.once('error', (err) =>
      done(
        settled
          ? err
          : new ProxyError(
              proxy,
              `cannot connect to the proxy: ${libraryText(err.message)}`,
              String((err as { code?: unknown }).code ?? ''),
              undefined,
              err,
            ),
      ),
    )
    toProxy.once(secureProxy ? 'secureConnect' : 'connect', () => {
      const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : ''
      toProxy.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`)
    })
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        if (head.length > 16_384) done(tunnelRefused(proxy, authority, 0, 'an endless answer'))
        return
      }
      toProxy.off('data', onData)
      const [statusLine = ''] = head.subarray(0, end).toString('latin1').split('\r\n')
      const m = /^HTTP\/1\.[01] (\d{3})\s*(.*)$/.exec(statusLine)
      const status = m ? Number(m[1]) : 0
      if (status !== 200) {
        return done(
          tunnelRefused(proxy, authority, status, m ? `${m[1]} ${m[2]}`.trim() : statusLine),
        )
      }
      // The server speaks only after the client's hello: nothing follows the head.
      toProxy.pause()
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket: toProxy })
      socket = secure
      // Errors from here on are the server's TLS, not the proxy's.
      secure.once('error', (err) => done(err))
      secure.once('secureConnect', () => done(null, secure))
    }
    toProxy.on('data', onData)
    return undefined
  }
}

function tunnelRefused(
  proxy: ProxySetting,
  authority: string,
  status: number,
  text: string,
): ProxyError {
  const hint =
    status === 407
      ? `: put the proxy's user and password in ${proxy.source} (http://user:password@host:port)`
      : ''
  return new ProxyError(
    proxy,
    `the proxy refused the tunnel to ${authority}: ${text}${hint}`,
    'ERR_PROXY_TUNNEL',
    status,
  )
}
