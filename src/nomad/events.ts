// Nomad's event stream (Nomad 1.0+): GET /v1/event/stream, newline-delimited
// JSON (command/agent/event_endpoint.go EventStream, api/event_stream.go).
// Each line is a heartbeat `{}` (at once on subscribing, then every 30 s) or
// the events of one raft index `{"Index":N,"Events":[...]}`; there is no
// X-Nomad-Index header. `index` asks the broker to replay from the first
// buffered index at or after it (nomad/stream/event_buffer.go StartAtClosest):
// with no signal for a gap, a subscriber reads the state after subscribing.
//
// A stream that cannot be had shows three ways: a 403 or a 500 `EventBroker
// not configured` (Nomad up to 1.11.1), or, from 1.11.2 on, where the agent
// hijacks the connection and writes `200` before the RPC runs, a 200 whose
// connection closes (or stays silent). Telling those apart is the caller's:
// this reads one subscription until it ends.

import type { IncomingMessage } from 'node:http'
import { NomadError, abortedError, fromNetworkError } from './errors.js'
import type { Transport } from './transport.js'
import type { AllocListStub, Deployment } from './types.js'

export interface NomadEvent {
  Topic: string
  Type: string
  Key: string
  Namespace: string
  FilterKeys: string[] | null
  Index: number
  /** `{Deployment}` for the Deployment topic, `{Allocation}` (without its Job) for Allocation. */
  Payload: { Deployment?: Deployment; Allocation?: AllocListStub } & Record<string, unknown>
}

export interface EventBatch {
  Index: number
  Events: NomadEvent[]
}

export interface StreamHandlers {
  /** A heartbeat `{}`: the stream is alive. */
  heartbeat(): void
  /** The events of one raft index, in the stream's order. */
  batch(batch: EventBatch): void
}

export interface Subscription {
  /** `Deployment:<id>`, `Allocation:<deployment id>`, ... */
  topics: string[]
  /** Replay from this raft index (inclusive); absent: from the broker's oldest. */
  index?: number
  /** Ends the subscription. */
  signal: AbortSignal
}

const PATH = '/v1/event/stream'

/**
 * Reads one subscription: resolves when the server ends the stream (which, for
 * a gate that did not ask it to, is a drop), rejects with a NomadError when it
 * is refused, breaks or sends what is not JSON; resolves at once on `signal`.
 */
export async function readEventStream(
  transport: Transport,
  sub: Subscription,
  on: StreamHandlers,
): Promise<void> {
  const params = new URLSearchParams()
  for (const topic of sub.topics) params.append('topic', topic)
  if (sub.index !== undefined) params.set('index', String(sub.index))
  let message: IncomingMessage
  try {
    message = await transport.open({ path: PATH, params, signal: sub.signal })
  } catch (err) {
    if (sub.signal.aborted) return
    throw err
  }
  await readLines(message, sub.signal, transport.address, (line) => {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new NomadError({
        kind: 'protocol',
        method: 'GET',
        path: PATH,
        detail: `the event stream sent a line that is not JSON (${JSON.stringify(line.slice(0, 60))})`,
        retryable: true,
        ambiguous: false,
      })
    }
    const b = value as Partial<EventBatch>
    if (typeof b.Index === 'number' && Array.isArray(b.Events)) on.batch(b as EventBatch)
    else on.heartbeat()
  })
}

/** Calls `each` with every complete line as it arrives; ends with the body. */
function readLines(
  message: IncomingMessage,
  signal: AbortSignal,
  address: string,
  each: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // A line (the deployment's event, tens of kB at 200 groups) often spans
    // chunks: only each new chunk is searched for its end.
    let partial: string[] = []
    const stop = (): void => {
      message.destroy()
      resolve()
    }
    signal.addEventListener('abort', stop, { once: true })
    const done = (err?: unknown): void => {
      signal.removeEventListener('abort', stop)
      if (err === undefined || signal.aborted) resolve()
      else reject(err)
    }
    message.setEncoding('utf8')
    message.on('data', (chunk: string) => {
      let start = 0
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
        const tail = chunk.slice(start, nl)
        const line = (partial.length > 0 ? partial.join('') + tail : tail).trim()
        partial = []
        start = nl + 1
        if (line === '') continue
        try {
          each(line)
        } catch (err) {
          message.destroy()
          return done(err)
        }
      }
      if (start < chunk.length) partial.push(chunk.slice(start))
    })
    message.on('end', () => done())
    message.on('error', (err) =>
      done(signal.aborted ? undefined : fromNetworkError(err, 'GET', PATH, address)),
    )
    message.on('close', () => {
      if (signal.aborted) done()
      else if (!message.complete)
        done(abortedError('GET', PATH, new Error('the event stream broke'), false))
      else done()
    })
  })
}
