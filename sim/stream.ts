// GET /v1/event/stream: command/agent/event_endpoint.go EventStream in front
// of the Event.Stream RPC (nomad/event_endpoint.go) and the broker (events.ts).
// Newline-delimited JSON: a heartbeat `{}` at once and every heartbeat period,
// one line per raft index with the subscriber's events, no X-Nomad-Index.
//
// Since Nomad 1.11.2 the agent hijacks the connection and sends `200` before
// the RPC runs: a refused or broken stream is a 200 whose connection closes
// (with no chunked framing, `Connection: close`). Before that, an error before
// the first line was a status (403, 500 `EventBroker not configured`), and one
// after it was appended to the body as text.

import { READ_JOB, type Allow } from './endpoints.js'
import type { EventBatch, EventBroker } from './events.js'
import type { ApiReply, ApiRequest } from './http.js'
import { NomadError } from './model.js'

export interface EventStreamOptions {
  /** enable_event_broker; default true. */
  enabled?: boolean
  /** event_buffer_size: raft indexes kept for `index` to replay; default 100. */
  bufferSize?: number
  /** Heartbeat period in ms of real time; Nomad's is 30 s. */
  heartbeatMs?: number
  /** Nomad ≥ 1.11.2 (default true): 200 at once, errors close the connection; false: Nomad ≤ 1.11.1. */
  hijack?: boolean
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

/** The topics whose events need read-job in the namespace (nomad/event_endpoint.go validateNsOp). */
const READ_JOB_TOPICS = ['Deployment', 'Evaluation', 'Allocation', 'Job', 'Service']

export class EventStream {
  private readonly hijack: boolean
  private readonly heartbeatMs: number

  constructor(
    private readonly broker: EventBroker | undefined,
    private readonly namespaces: string[],
    options: EventStreamOptions,
  ) {
    this.hijack = options.hijack ?? true
    this.heartbeatMs = options.heartbeatMs ?? 30_000
  }

  /**
   * Answers one stream request. `authorize` is the HTTP layer's token check
   * (it throws for an unknown token or another region); `management` tells
   * whether the token is a management token (for topics other than jobs').
   */
  handle(
    r: ApiRequest,
    authorize: (region: string, token: string) => Allow,
    region: string,
    token: string,
    management: boolean,
  ): ApiReply {
    if (r.method !== 'GET') throw new NomadError('Invalid method', 405)
    const indexText = r.query.get('index') || '0'
    if (!/^[+-]?\d+$/.test(indexText)) {
      throw new NomadError(
        `Unable to parse index: strconv.Atoi: parsing ${JSON.stringify(indexText)}: invalid syntax`,
        400,
      )
    }
    const topics = parseTopics(r.query.getAll('topic'))
    const namespace = r.query.get('namespace') || 'default'
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }
    let subscribe: (sink: StreamSink) => Promise<void>
    try {
      const allow = authorize(region, token)
      const namespaces = namespace === '*' ? this.namespaces : [namespace]
      for (const ns of namespaces) {
        for (const topic of topics.keys()) {
          const ok = READ_JOB_TOPICS.includes(topic) ? allow(ns, READ_JOB) : management
          if (!ok) throw new NomadError('Permission denied', 403)
        }
      }
      const broker = this.broker
      if (!broker) throw new NomadError('EventBroker not configured')
      const index = Math.max(0, Number(indexText))
      subscribe = (sink) => this.run(broker, sink, { index, topics, namespaces })
    } catch (e) {
      if (!(e instanceof NomadError)) throw e
      if (!this.hijack) throw e
      // The head is already sent: the client sees a 200 whose connection closes.
      return { status: 200, headers, body: '', stream: { hijack: true, run: async () => {} } }
    }
    return { status: 200, headers, body: '', stream: { hijack: this.hijack, run: subscribe } }
  }

  /** The Event.Stream RPC once subscribed: heartbeats and the subscriber's batches until either side ends. */
  private run(
    broker: EventBroker,
    sink: StreamSink,
    req: Parameters<EventBroker['subscribe']>[0],
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const line = (v: EventBatch | Record<string, never>): void =>
        sink.write(`${JSON.stringify(v)}\n`)
      // stream.NewJsonStream: a heartbeat at once, then on a ticker.
      line({})
      const heartbeat = setInterval(() => line({}), this.heartbeatMs)
      heartbeat.unref()
      let done = false
      let last = req.index
      let off = (): void => {}
      const end = (): void => {
        if (done) return
        done = true
        clearInterval(heartbeat)
        off()
        sink.signal.removeEventListener('abort', end)
        resolve()
      }
      off = broker.subscribe(req, {
        send: (batch) => {
          line(batch)
          last = batch.Index
          sink.idle(last)
        },
        // A restore closes the subscription: before 1.11.2 the agent appended
        // the error's text to the body; since, the connection just closes.
        close: (reason) => {
          if (!this.hijack) sink.write(reason)
          end()
        },
      })
      sink.idle(last)
      if (sink.signal.aborted) end()
      else sink.signal.addEventListener('abort', end, { once: true })
    })
  }
}

/** event_endpoint.go parseEventTopics: `Topic:Key`, `Topic` (every key), none: every topic. */
function parseTopics(raw: string[]): Map<string, string[]> {
  const topics = new Map<string, string[]>()
  if (raw.length === 0) return new Map([['*', ['*']]])
  for (const t of raw) {
    const parts = t.split(':')
    if (parts.length > 2) {
      throw new NomadError(
        `Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: ${t}`,
        400,
      )
    }
    const [topic, key = '*'] = parts
    topics.set(topic, [...(topics.get(topic) ?? []), key])
  }
  return topics
}
