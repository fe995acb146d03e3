// Fault injection for the simulator's server (server.ts): what a test asks to
// break in the next requests that match, taken in the order injected, and the
// server's record of each request, which names the fault applied to it.

import type { IncomingHttpHeaders } from 'node:http'

/**
 * A fault for the next `count` (default 1) requests that match `method` and
 * `path` (a prefix of the decoded path, or a RegExp tested on it). Faults are
 * taken in the order they were injected.
 */
export type FaultSpec = { method?: string; path?: string | RegExp; count?: number } &
  /** Answer this instead (text/plain), e.g. 500 `No cluster leader`, 502, 503, 504. */
  (
    | { kind: 'status'; status: number; body?: string }
    /** Destroy the connection without answering. */
    | { kind: 'reset' }
    /** Answer the headers and half the body, then destroy the connection (writes are applied). */
    | { kind: 'reset-mid-body' }
    /** Wait, then handle the request as usual. */
    | { kind: 'delay'; ms: number }
    /** Handle as usual (writes are applied) but send a truncated JSON body with status 200. */
    | { kind: 'malformed-json' }
    /** Handle as usual but say `X-Nomad-KnownLeader: false`. */
    | { kind: 'no-leader' }
    /** Apply the write (or run the read), then destroy the connection: the lost answer. */
    | { kind: 'drop-response' }
    /** Answer at once (no blocking) with an `X-Nomad-Index` below the one sent / the real one. */
    | { kind: 'index-backwards'; index?: number }
    /** Redirect (default 307, as Nomad's own redirects) without handling the request. */
    | { kind: 'redirect'; location: string; status?: 301 | 302 | 303 | 307 | 308 }
    /** Run `run` (awaited) just before the request is handled, then handle it as usual. */
    | { kind: 'before'; run: (r: RequestRecord) => void | Promise<void> }
    /** Cut an event stream after `after` event lines (heartbeats not counted; default 0: after the first heartbeat). */
    | { kind: 'drop-stream'; after?: number }
  )

export interface RequestRecord {
  method: string
  /** The decoded path, without the query. */
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
  /** The body, parsed as JSON when it is JSON, else the text; undefined when empty. */
  body?: unknown
  /** performance.now() when the request arrived. */
  at: number
  /** The status answered; 0 until then, and for good when the connection was cut instead. */
  status: number
  /** performance.now() when the answer was computed (before any fault cuts it). */
  answeredAt?: number
  /** The X-Nomad-Index answered, if any. */
  index?: number
  /** The fault applied to this request, if any. */
  fault?: FaultSpec['kind']
}

export interface InjectedFault {
  readonly spec: FaultSpec
  /** Requests it will still apply to. */
  remaining: number
  /** Requests it applied to. */
  hits: number
}

/** The injected faults, in order. */
export class Faults {
  private faults: InjectedFault[] = []

  inject(spec: FaultSpec): InjectedFault {
    const fault: InjectedFault = { spec, remaining: spec.count ?? 1, hits: 0 }
    this.faults.push(fault)
    return fault
  }

  clear(): void {
    this.faults = []
  }

  /** The first fault that matches the request, used up once. */
  take(method: string, path: string): FaultSpec | undefined {
    const fault = this.faults.find(({ spec }) => {
      if (spec.method && spec.method.toUpperCase() !== method) return false
      if (spec.path === undefined) return true
      if (typeof spec.path === 'string') return path.startsWith(spec.path)
      spec.path.lastIndex = 0 // a /g or /y RegExp keeps state between tests
      return spec.path.test(path)
    })
    if (!fault) return undefined
    fault.hits++
    if (--fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault)
    return fault.spec
  }
}
