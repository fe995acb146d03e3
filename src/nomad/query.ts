// The shape of every read and write, as in Nomad's Go API client (api/api.go
// QueryOptions, QueryMeta, WriteOptions, WriteMeta), and what turns a read into
// a blocking query. One shape for every endpoint keeps blocking queries uniform.

import type { IncomingHttpHeaders } from 'node:http'
import type { BodyReader } from './json-stream.js'

export interface QueryOptions {
  /** Blocking query: hold until the result's index exceeds this. 0 or absent: answer at once. */
  index?: number
  /** How long the server may hold a blocking query (it caps this at 5 minutes). */
  waitMs?: number
  /** Ends the request (and any retry back-off) at once. */
  signal?: AbortSignal
  /** performance.now() value after which retries stop. */
  deadline?: number
}

export interface QueryMeta {
  /** X-Nomad-Index: the index to send with the next blocking query. */
  lastIndex: number
  knownLeader: boolean
  /** Milliseconds since the answering server last heard from the leader. */
  lastContact: number
}

export interface WriteOptions {
  signal?: AbortSignal
}

export interface WriteMeta {
  lastIndex: number
}

export interface Response<T, M> {
  body: T
  meta: M
}

/** One read endpoint: its path, its own query parameters, and how its answer is read. */
export interface ReadRequest<T> {
  path: string
  /** Parameters of the endpoint (`prefix`); namespace, region and the blocking ones are added. */
  params?: Record<string, string>
  /** Reads the answer as it arrives instead of parsing its whole text (a fresh one per attempt). */
  reader?: () => BodyReader<T>
}

/** The server caps a blocking query's wait at 5 minutes (nomad/rpc.go). */
export const MAX_WAIT_MS = 5 * 60_000

/** The server adds up to wait/16 of jitter to a blocking query (nomad/rpc.go); allow that plus a margin. */
export function blockingTimeoutMs(waitMs: number): number {
  return waitMs + Math.ceil(waitMs / 16) + 5_000
}

/**
 * The query parameters that make a read block (`index`, `wait`) and the time
 * limit that fits them; a read without an index gets `requestTimeoutMs`.
 */
export function blockingParams(
  q: QueryOptions,
  requestTimeoutMs: number,
): { params: Record<string, string>; timeoutMs: number } {
  if (!q.index || q.index <= 0) return { params: {}, timeoutMs: requestTimeoutMs }
  const waitMs = Math.max(1, Math.round(Math.min(q.waitMs ?? MAX_WAIT_MS, MAX_WAIT_MS)))
  return {
    params: { index: String(q.index), wait: `${waitMs}ms` },
    timeoutMs: blockingTimeoutMs(waitMs),
  }
}

/** X-Nomad-Index, X-Nomad-KnownLeader and X-Nomad-LastContact of an answer. */
export function queryMeta(headers: IncomingHttpHeaders): QueryMeta {
  return {
    lastIndex: headerNumber(headers, 'x-nomad-index'),
    knownLeader: headers['x-nomad-knownleader'] === 'true',
    lastContact: headerNumber(headers, 'x-nomad-lastcontact'),
  }
}

export function headerNumber(headers: IncomingHttpHeaders, name: string): number {
  const raw = headers[name]
  const n = Number(Array.isArray(raw) ? raw[0] : raw)
  return Number.isFinite(n) ? n : 0
}
