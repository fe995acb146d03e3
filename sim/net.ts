// What the simulator's servers share: a loopback listener that a test can stop
// at once (every open or held connection destroyed), and an abortable sleep.

import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  stopping: AbortSignal,
) => Promise<void>

/**
 * An HTTP server on 127.0.0.1 and a free port. A handler that throws gets
 * `onError` (when nothing was answered yet). `stop()` ends everything at once.
 */
export async function listen(
  handler: Handler,
  onError: (res: ServerResponse, e: unknown) => void,
): Promise<{ url: string; stop(): Promise<void> }> {
  const stopping = new AbortController()
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    handler(req, res, stopping.signal).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) onError(res, e)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let stopped: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        stopping.abort()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })),
  }
}

/** Resolves true after `ms`, false if `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  // The listener goes on a signal of this sleep's own: `signal` is usually a
  // server's, and with more than 10 requests asleep at once, a listener each
  // on it made Node warn of a leak (AbortSignal.any adds none to its sources).
  const own = AbortSignal.any([signal])
  return new Promise((resolve) => {
    if (own.aborted) return resolve(false)
    const timer = setTimeout(() => {
      own.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    own.addEventListener('abort', onAbort, { once: true })
  })
}
