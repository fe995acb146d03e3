// Following a deployment on Nomad's event stream (the `watch` input's events
// and auto): subscribe to the deployment's and its allocations' topics, then
// read both (the stream has no signal for a gap: nomad/stream/event_buffer.go),
// then apply each event whose object is newer than what the view holds. A
// change costs one event of its own size, whatever the size of the deployment.
// Refused, silent or dropped, the stream ends with StreamGone: auto falls back
// to blocking queries (follow.ts), events fails the step.

import type { WatchMethod } from '../config/settings.js'
import type { EventBatch, NomadClient } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import { allocView, type AllocView, type Deployment } from '../nomad/types.js'
import type { RolloutView } from './view.js'

/** How long auto and events wait for the stream's first heartbeat (Nomad sends it at once). */
export const STREAM_WAIT_MS = 1_500
const STREAM_SILENCE_MS = 45_000

export interface StreamOptions {
  /** performance.now() value at which following stops. */
  deadline: number
  /** The `watch` input (default blocking). */
  watch?: WatchMethod
  /** A stream that sends nothing, not even its first heartbeat, this long after subscribing is no stream. */
  streamWaitMs?: number
  /** Nomad sends a heartbeat every 30 s: a stream silent this long is gone. */
  streamSilenceMs?: number
  /** Told when the event stream cannot be had and `auto` follows with blocking queries instead, or drops. */
  note?: (line: string) => void
}

/** What the stream needs of the follower it feeds (follow.ts). */
export interface StreamHost {
  readonly client: NomadClient
  readonly view: RolloutView
  readonly id: string
  readonly withAllocs: boolean
  readonly options: StreamOptions
  /** The deadline passed, or the step was cancelled, or following was stopped. */
  stopped(): boolean
  /** Aborts when following the deployment ends (also once a last write is seen). */
  signal(): AbortSignal
  /** Reads the deployment and its allocations into the view. */
  refresh(): Promise<void>
  /** After each change the stream made to the view. */
  afterChange(): void
}

/** Why the stream could not be followed (auto: fall back; events: fail). */
export class StreamGone extends Error {}

export class EventFeed {
  /** The raft index the state was read at after subscribing: events up to it are in the reads. */
  private readAt = 0

  constructor(private readonly host: StreamHost) {}

  /**
   * Subscribes, reads the state, then applies the stream until the deadline or
   * stop(); throws StreamGone when the stream is refused, stays silent or
   * drops. `events` reconnects after a drop (and reads the state again);
   * `auto` lets the caller fall back instead.
   */
  async run(): Promise<void> {
    const waitMs = this.host.options.streamWaitMs ?? STREAM_WAIT_MS
    const silenceMs = this.host.options.streamSilenceMs ?? STREAM_SILENCE_MS
    for (let attempt = 1; !this.host.stopped(); attempt++) {
      const sub = new AbortController()
      const signal = AbortSignal.any([sub.signal, this.host.signal()])
      let heard: () => void = () => {}
      const first = new Promise<void>((resolve) => (heard = resolve))
      let lastLine = performance.now()
      let ready = false
      const early = new Newest(this.host.id)
      const topics = [
        `Deployment:${this.host.id}`,
        ...(this.host.withAllocs ? [`Allocation:${this.host.id}`] : []),
      ]
      const stream = this.host.client.eventStream(
        { topics, index: this.host.view.lastIndex + 1, signal },
        {
          heartbeat: () => {
            lastLine = performance.now()
            heard()
          },
          batch: (b) => {
            lastLine = performance.now()
            heard()
            if (ready) this.apply(b)
            else early.add(b)
          },
        },
      )
      const ended = stream.then(
        () => 'closed' as const,
        (err: unknown) => err,
      )
      try {
        const opened = await this.race([first.then(() => 'heard' as const), ended], waitMs)
        if (opened !== 'heard') {
          if (this.host.stopped() || signal.aborted) return
          throw new StreamGone(gone(opened, 'no heartbeat within ' + `${waitMs} ms of subscribing`))
        }
        // Subscribed: what happened before is read, what happens after comes in order.
        await this.host.refresh()
        const readAt = Math.max(this.host.view.deploymentIndex, this.host.view.allocsIndex)
        ready = true
        this.readAt = readAt
        if (early.index > 0) this.applyNewest(early)
        for (;;) {
          const left = lastLine + silenceMs - performance.now()
          const why = await this.race([ended], Math.max(0, left))
          if (this.host.stopped() || signal.aborted) return
          if (why === 'timeout') {
            if (performance.now() - lastLine < silenceMs) continue
            throw new StreamGone(
              `nothing for ${Math.round(silenceMs / 1000)} s, not even a heartbeat`,
            )
          }
          throw new StreamGone(gone(why, 'the stream closed'))
        }
      } catch (err) {
        if (!(err instanceof StreamGone) || this.host.options.watch !== 'events' || attempt >= 3)
          throw err
        this.host.options.note?.(`The event stream dropped (${err.message}); subscribing again`)
      } finally {
        sub.abort()
        await ended
      }
    }
  }

  /** One raft index's events. */
  private apply(b: EventBatch): void {
    const newest = new Newest(this.host.id)
    newest.add(b)
    this.applyNewest(newest)
  }

  /** Each object newer than the view's copy replaces it; then the view is as recent as the events. */
  private applyNewest(n: Newest): void {
    if (n.deployment) this.applyDeployment(n.deployment)
    for (const a of n.allocs.values()) this.applyAlloc(a)
    this.advance(n.index)
  }

  private applyDeployment(d: Deployment): void {
    if (d.ModifyIndex >= this.host.view.deployment.ModifyIndex)
      this.host.view.setDeployment(d, this.host.view.deploymentIndex)
  }

  private applyAlloc(a: AllocView): void {
    const held = this.host.view.allocs.get(a.ID)
    if (!held || a.ModifyIndex >= held.ModifyIndex) this.host.view.upsertAlloc(a)
  }

  /** The events of `index` are in the view: past the reads, it holds every change up to it. */
  private advance(index: number): void {
    if (index > this.readAt) this.host.view.current(index)
    else this.host.view.version++
    this.host.afterChange()
  }

  /** Resolves with 'timeout' after `ms` (or at the deadline, or on a stop), or with the first of `ps` to settle. */
  private async race<T>(ps: Array<Promise<T>>, ms: number): Promise<T | 'timeout'> {
    let timer: NodeJS.Timeout | undefined
    let end: () => void = () => {}
    const signal = this.host.signal()
    const stop = new Promise<'timeout'>((resolve) => {
      end = () => resolve('timeout')
      const left = Math.max(0, this.host.options.deadline - performance.now())
      timer = setTimeout(end, Math.min(ms, left))
      signal.addEventListener('abort', end, { once: true })
    })
    try {
      return await Promise.race([...ps, stop])
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', end)
    }
  }
}

/**
 * The newest of each object in some batches of events (the stream is in raft
 * order), and their last index: one batch as it comes, or all that arrive while
 * the state is read after subscribing, so that a busy deployment cannot pile up
 * a copy of itself per change before the read ends. Allocations come only when
 * subscribed to (not for fail, pause, resume).
 */
class Newest {
  index = 0
  deployment?: Deployment
  readonly allocs = new Map<string, AllocView>()

  constructor(private readonly id: string) {}

  add(b: EventBatch): void {
    for (const e of b.Events) {
      const d = e.Payload.Deployment
      if (e.Topic === 'Deployment' && d?.ID === this.id) this.deployment = d
      const a = e.Payload.Allocation
      if (e.Topic === 'Allocation' && a) this.allocs.set(a.ID, allocView(a))
    }
    this.index = Math.max(this.index, b.Index)
  }
}

/** A stream's end as a reason: a NomadError's detail, or `otherwise` when it closed or stayed silent. */
function gone(why: unknown, otherwise: string): string {
  if (why instanceof NomadError)
    return why.status ? `HTTP ${why.status}: ${why.detail}` : why.detail
  if (why instanceof Error) return why.message
  return why === 'closed' ? 'it closed at once' : otherwise
}
