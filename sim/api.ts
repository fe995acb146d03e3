// What the HTTP layer (http.ts) and the socket side (server.ts) hand each
// other: a request read off the socket, and the reply, whose body may be
// streamed (stream.ts) once its head is sent.

import type { IncomingHttpHeaders } from 'node:http'

export interface ApiRequest {
  method: string
  /** The decoded path, as Go's URL.Path. */
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  body: Buffer
  /** Go's http.NoBody: neither a Content-Length above 0 nor a chunked body. */
  noBody: boolean
  /** Aborted when the client goes away or the simulator stops: ends a held request. */
  signal: AbortSignal
  /** Answer a blocking query at once (used by the `index-backwards` fault). */
  nonBlocking?: boolean
  /** Told when a blocking query starts waiting for a change (with the index sent), and when it stops. */
  onHold?: (index: number | undefined) => void
}

export interface ApiReply {
  status: number
  headers: Record<string, string>
  body: string
  /** A streamed body (the event stream): the server runs it once the head is sent. */
  stream?: StreamBody
}

/** Where a streamed body goes (server.ts). */
export interface StreamSink {
  write(text: string): void
  /** Aborted when the client goes away or the server stops. */
  readonly signal: AbortSignal
  /** The stream waits for events (a held request for quiescence); `index`: the last it sent (else the one asked for). */
  idle(index: number): void
}

/** A reply whose body is streamed once its head is sent. */
export interface StreamBody {
  /** Write the head raw on the socket (a hijacked connection), not through Node's response. */
  hijack: boolean
  run(sink: StreamSink): Promise<void>
}
