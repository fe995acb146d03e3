// What the benchmark counts from outside the gate, with the operating system's
// and Node's own accounting, so that nothing in the gate is changed to be
// measured:
//   - bytes on the simulator's sockets (each accepted connection's bytesRead
//     and bytesWritten, found through Node's `net.server.socket` diagnostics
//     channel): what the server receives and sends, which is what the gates
//     send and receive;
//   - CPU time of a process, all its threads (the first field of
//     /proc/<pid>/task/<tid>/schedstat, nanoseconds on the CPU: fine enough
//     for a fraction of a millisecond, unlike /proc/<pid>/stat's ticks);
//   - resident memory of a process (VmRSS, VmHWM of /proc/<pid>/status).

import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync, readdirSync } from 'node:fs'
import type { Socket } from 'node:net'

export interface Traffic {
  /** Bytes the server received (requests). */
  received: number
  /** Bytes the server sent (answers, event streams). */
  sent: number
}

/** Byte counts on every connection accepted on `port` (the simulator's), from now until stop(). */
export class SocketMeter {
  private readonly open = new Set<Socket>()
  private closed: Traffic = { received: 0, sent: 0 }
  private readonly onSocket = (m: unknown) => {
    const socket = (m as { socket: Socket }).socket
    if (socket.localPort !== this.port) return
    this.open.add(socket)
    socket.once('close', () => {
      this.open.delete(socket)
      this.closed.received += socket.bytesRead
      this.closed.sent += socket.bytesWritten
    })
  }

  constructor(private readonly port: number) {
    subscribe('net.server.socket', this.onSocket)
  }

  /** Totals since the meter started (connections accepted before it are not counted). */
  read(): Traffic {
    let { received, sent } = this.closed
    for (const s of this.open) {
      received += s.bytesRead
      sent += s.bytesWritten
    }
    return { received, sent }
  }

  /** Connections open now. */
  get connections(): number {
    return this.open.size
  }

  stop(): void {
    unsubscribe('net.server.socket', this.onSocket)
  }
}

export function trafficSince(meter: SocketMeter, from: Traffic): Traffic {
  const now = meter.read()
  return { received: now.received - from.received, sent: now.sent - from.sent }
}

/**
 * CPU time of process `pid` in milliseconds: the sum over its threads now
 * alive. Node's threads (V8's workers, libuv's pool) live as long as the
 * process, so differences between two reads are the process's CPU in between.
 * NaN where /proc is not Linux's.
 */
export function processCpuMs(pid: number): number {
  try {
    let ns = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return ns / 1e6
  } catch {
    return NaN
  }
}

/** VmRSS and VmHWM (peak) of process `pid` in bytes; NaN when unknown. */
export function processMemory(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN)
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 }
  } catch {
    return { rss: NaN, peak: NaN }
  }
}

/**
 * Resolves once process `pid` has used no CPU for `quietMs` (polled every
 * `pollMs`), or after `limitMs`; returns its CPU time then. A process that
 * has taken in a change and waits for the next one is idle.
 */
export async function cpuSettled(
  pid: number,
  o: { quietMs?: number; pollMs?: number; limitMs?: number } = {},
): Promise<number> {
  const quietMs = o.quietMs ?? 15
  const pollMs = o.pollMs ?? 3
  const end = performance.now() + (o.limitMs ?? 10_000)
  let last = processCpuMs(pid)
  let quietSince = performance.now()
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, pollMs))
    const now = processCpuMs(pid)
    // Well under a scheduler tick of work: the process is waiting.
    if (now - last > 0.05) quietSince = performance.now()
    last = now
    if (performance.now() - quietSince >= quietMs) return now
  }
  return last
}
