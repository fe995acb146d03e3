// A forward proxy on 127.0.0.1, as a runner behind a corporate proxy has one:
// plain HTTP requests in absolute form (`GET http://host:port/path`) are sent
// on, and `CONNECT host:port` opens a tunnel (for https://, and for clients
// that tunnel everything, as undici's ProxyAgent does). It resolves names only
// from its own table, so an address such as `http://nomad.test:4646` works only
// through it: a client that ignores HTTP(S)_PROXY cannot get there. Every
// request it sees is logged; `auth` makes it demand Proxy-Authorization.

import * as http from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'

export interface ProxiedRequest {
  /** 'GET', 'PUT', ... or 'CONNECT'. */
  method: string
  /** The absolute URL of a forwarded request, or `host:port` of a CONNECT. */
  target: string
  /** The Proxy-Authorization header, if any. */
  authorization?: string
  /** What the proxy answered itself: 200 for a tunnel made, 502 for a name it does not know, 407... */
  status: number
}

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` (with `user:password@` when `auth` is set: see `urlWithAuth`). */
  url: string
  urlWithAuth: string
  requests: ProxiedRequest[]
  stop(): Promise<void>
}

export interface ProxyOptions {
  /** Name -> the 127.0.0.1 port it stands for: `{ 'nomad.test': 4646 }` maps nomad.test:<any port> there. */
  hosts: Record<string, number>
  /** Demand `Proxy-Authorization: Basic` of this user and password (407 otherwise). */
  auth?: { user: string; password: string }
}

export async function startForwardProxy(options: ProxyOptions): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = []
  const sockets = new Set<net.Socket>()
  const expected = options.auth
    ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`
    : undefined
  const portOf = (host: string): number | undefined =>
    Object.hasOwn(options.hosts, host.toLowerCase()) ? options.hosts[host.toLowerCase()] : undefined
  const authorized = (req: http.IncomingMessage): boolean =>
    expected === undefined || req.headers['proxy-authorization'] === expected

  const server = http.createServer((req, res) => {
    const record: ProxiedRequest = {
      method: req.method ?? '',
      target: req.url ?? '',
      authorization: req.headers['proxy-authorization'],
      status: 0,
    }
    requests.push(record)
    const answer = (status: number, text: string) => {
      record.status = status
      res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' })
      res.end(text)
    }
    if (!authorized(req)) return answer(407, 'Proxy Authentication Required')
    let target: URL
    try {
      target = new URL(req.url ?? '')
    } catch {
      return answer(400, 'a proxy expects an absolute URL')
    }
    const port = portOf(target.hostname)
    if (target.protocol !== 'http:' || port === undefined) {
      return answer(502, `proxy: cannot resolve ${target.hostname}`)
    }
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    delete headers['proxy-connection']
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: target.pathname + target.search,
        headers,
      },
      (up) => {
        record.status = up.statusCode ?? 0
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) answer(502, 'proxy: upstream failed')
      else res.destroy()
    })
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const record: ProxiedRequest = {
      method: 'CONNECT',
      target: req.url ?? '',
      authorization: req.headers['proxy-authorization'],
      status: 0,
    }
    requests.push(record)
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => undefined)
    const refuse = (status: number, reason: string) => {
      record.status = status
      client.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\n\r\n`)
    }
    if (!authorized(req)) return refuse(407, 'Proxy Authentication Required')
    const [host, port] = (req.url ?? '').split(':')
    const mapped = portOf(host ?? '')
    if (mapped === undefined || !port) return refuse(502, 'Bad Gateway')
    const upstream = net.connect(mapped, '127.0.0.1', () => {
      record.status = 200
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('close', () => {
      sockets.delete(upstream)
      client.destroy()
    })
    upstream.on('error', () => (record.status ? client.destroy() : refuse(502, 'Bad Gateway')))
    client.on('close', () => upstream.destroy())
  })
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  const a = options.auth
  return {
    url,
    urlWithAuth: a
      ? `http://${encodeURIComponent(a.user)}:${encodeURIComponent(a.password)}@127.0.0.1:${port}`
      : url,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
