// Following a deployment: keep the view current until the step ends, with
// Nomad's event stream or with blocking queries (the `watch` input).
//
// Events: subscribe to the deployment's and its allocations' topics, then read
// both (the stream has no signal for a gap: nomad/stream/event_buffer.go), then
// apply each event whose object is newer than what the view holds. A change
// costs one event of its own size, whatever the size of the deployment.
// `auto` falls back to blocking queries when the stream is refused, stays
// silent or drops; `events` fails the step instead.
//
// Blocking queries: the deployment and its allocations are watched at once:
// either can change alone (a canary that dies after being healthy leaves the
// deployment's ModifyIndex as it was); each change re-reads the whole list.

import type { WatchMethod } from '../config/settings.js'
import type { EventBatch, NomadClient, NomadEvent } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import { allocView, type AllocView, type Deployment } from '../nomad/types.js'
import { watch } from '../nomad/watch.js'
import type { RolloutView } from './view.js'

export interface Follower {
  /** How the view is followed now: the event stream, or blocking queries (after a fallback too). */
  readonly method: 'events' | 'blocking'
  /**
   * Resolves once the view has changed after `version` (at once if it did
   * already), when following has ended (the deadline passed, or it was
   * stopped), or at `until` (a performance.now() value). Rejects when
   * following failed for good.
   */
  changed(version: number, until?: number): Promise<void>
  /** Following has ended: nothing more will change the view. */
  readonly ended: boolean
  /** Settles when following ends: resolves at the deadline or on stop, rejects when it failed for good. */
  readonly done: Promise<void>
  /**
   * Resolves once the view shows the state at or after a write applied at
   * `index` (the deployment, and with `allocs` its allocations too), or at
   * `until`. With `last`, following stops as soon as it is that recent: the
   * step is over, and nothing more is asked of Nomad. Then the view is made one
   * snapshot (confirm).
   */
  settle(index: number, o: { allocs: boolean; last: boolean; until: number }): Promise<boolean>
  /**
   * Read both at once, without blocking, into the view (after a write whose
   * answer was lost, or to settle after following ended), retrying failed
   * reads until `deadline` (default: following's). `signal` replaces the
   * step's: a write sent before a cancellation is still read back.
   */
  refresh(o?: { signal?: AbortSignal; deadline?: number }): Promise<void>
  /**
   * Makes the view one snapshot before a verdict that ends the step: when the
   * deployment and the allocations were read at different indexes, reads the
   * side behind again (one read, only then). See RolloutView.consistent.
   */
  confirm(): Promise<void>
  stop(): void
}

export interface FollowOptions {
  /** performance.now() value at which following stops. */
  deadline: number
  signal: AbortSignal
  /** Follow the allocations too (default true). */
  allocs?: boolean
  /** The `watch` input (default blocking). */
  watch?: WatchMethod
  /** A stream that sends nothing, not even its first heartbeat, this long after subscribing is no stream. */
  streamWaitMs?: number
  /** Nomad sends a heartbeat every 30 s: a stream silent this long is gone. */
  streamSilenceMs?: number
  /** Told when the event stream cannot be had and `auto` follows with blocking queries instead. */
  note?: (line: string) => void
}

/** How long `auto` and `events` wait for the stream's first heartbeat (Nomad sends it at once). */
export const STREAM_WAIT_MS = 1_500
const STREAM_SILENCE_MS = 45_000

export function follow(client: NomadClient, view: RolloutView, options: FollowOptions): Follower {
  return new Following(client, view, options)
}

/** Why the stream could not be followed (auto: fall back; events: fail). */
class StreamGone extends Error {}

class Following implements Follower {
  method: 'events' | 'blocking'
  ended = false
  readonly done: Promise<void>
  private failure: unknown
  private readonly id: string
  private readonly withAllocs: boolean
  private readonly stopAll = new AbortController()
  /** Ends the current feed alone (the deployment's or the allocations' watch, or the stream). */
  private readonly stopDeployment = new AbortController()
  private readonly stopAllocs = new AbortController()
  /** After a last write: the index at which following has seen enough. */
  private lastWrite?: { index: number; allocs: boolean }
  private wake: () => void = () => {}
  private pulse = new Promise<void>((resolve) => (this.wake = resolve))

  constructor(
    private readonly client: NomadClient,
    private readonly view: RolloutView,
    private readonly options: FollowOptions,
  ) {
    this.id = view.deployment.ID
    this.withAllocs = options.allocs ?? true
    if (!this.withAllocs) this.stopAllocs.abort()
    this.method = (options.watch ?? 'blocking') === 'blocking' ? 'blocking' : 'events'
    this.done = this.run()
    this.done.catch(() => undefined) // read through changed() or done
  }

  // ---- following ---------------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      if (this.method === 'events') {
        try {
          await this.followEvents()
        } catch (err) {
          if (!(err instanceof StreamGone)) throw err
          if (this.options.watch === 'events') {
            throw new NomadError({
              kind: 'protocol',
              method: 'GET',
              path: '/v1/event/stream',
              detail: `the event stream cannot be followed (${err.message}); watch: events needs it: set watch to auto or blocking, or enable Nomad's event broker (enable_event_broker) and grant read-job`,
              retryable: false,
              ambiguous: false,
            })
          }
          this.method = 'blocking'
          this.options.note?.(
            `The event stream cannot be followed (${err.message}): following with blocking queries`,
          )
          this.notify()
        }
      }
      if (this.method === 'blocking' && !this.stopped) await this.followBlocking()
    } catch (err) {
      this.failure ??= err
    } finally {
      this.ended = true
      this.notify()
    }
    if (this.failure !== undefined) throw this.failure
  }

  private get stopped(): boolean {
    return (
      this.stopAll.signal.aborted ||
      this.options.signal.aborted ||
      performance.now() >= this.options.deadline
    )
  }

  /** Feeds one side until the deadline, the step's signal, stop() or its own stop. */
  private signalFor(own: AbortController): AbortSignal {
    return AbortSignal.any([own.signal, this.stopAll.signal, this.options.signal])
  }

  private followBlocking(): Promise<void> {
    const { client, view, id } = this
    const run = (p: Promise<void>): Promise<void> =>
      p.catch((err: unknown) => {
        this.failure ??= err
        this.stopAll.abort()
      })
    return Promise.all([
      run(
        watch(
          (q) => client.deployment(id, q),
          (body, meta) => {
            view.setDeployment(body, meta.lastIndex)
            this.afterChange()
          },
          {
            deadline: this.options.deadline,
            signal: this.signalFor(this.stopDeployment),
            index: view.deploymentIndex,
          },
        ),
      ),
      run(
        watch(
          (q) => client.deploymentAllocations(id, q),
          (body, meta) => {
            view.setAllocs(body, meta.lastIndex)
            this.afterChange()
          },
          { deadline: this.options.deadline, signal: this.signalFor(this.stopAllocs) },
        ),
      ),
    ]).then(() => undefined)
  }

  /**
   * Subscribes, reads the state, then applies the stream until the deadline or
   * stop(); throws StreamGone when the stream is refused, stays silent or
   * drops. `events` reconnects after a drop (and reads the state again);
   * `auto` lets the caller fall back instead.
   */
  private async followEvents(): Promise<void> {
    const waitMs = this.options.streamWaitMs ?? STREAM_WAIT_MS
    const silenceMs = this.options.streamSilenceMs ?? STREAM_SILENCE_MS
    for (let attempt = 1; !this.stopped; attempt++) {
      const sub = new AbortController()
      const signal = AbortSignal.any([sub.signal, this.signalFor(this.stopDeployment)])
      let heard: () => void = () => {}
      const first = new Promise<void>((resolve) => (heard = resolve))
      let lastLine = performance.now()
      let ready = false
      const early = new Early()
      const topics = [
        `Deployment:${this.id}`,
        ...(this.withAllocs ? [`Allocation:${this.id}`] : []),
      ]
      const stream = this.client.eventStream(
        { topics, index: this.view.lastIndex + 1, signal },
        {
          heartbeat: () => {
            lastLine = performance.now()
            heard()
          },
          batch: (b) => {
            lastLine = performance.now()
            heard()
            if (ready) this.apply(b)
            else early.add(b, this.id)
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
          if (this.stopped || signal.aborted) return
          throw new StreamGone(gone(opened, 'no heartbeat within ' + `${waitMs} ms of subscribing`))
        }
        // Subscribed: what happened before is read, what happens after comes in order.
        await this.refresh()
        const readAt = Math.max(this.view.deploymentIndex, this.view.allocsIndex)
        ready = true
        this.readAt = readAt
        if (early.index > 0) {
          if (early.deployment) this.applyDeployment(early.deployment)
          for (const a of early.allocs.values()) this.applyAlloc(a)
          this.advance(early.index)
        }
        for (;;) {
          const left = lastLine + silenceMs - performance.now()
          const why = await this.race([ended], Math.max(0, left))
          if (this.stopped || signal.aborted) return
          if (why === 'timeout') {
            if (performance.now() - lastLine < silenceMs) continue
            throw new StreamGone(
              `nothing for ${Math.round(silenceMs / 1000)} s, not even a heartbeat`,
            )
          }
          throw new StreamGone(gone(why, 'the stream closed'))
        }
      } catch (err) {
        if (!(err instanceof StreamGone) || this.options.watch !== 'events' || attempt >= 3)
          throw err
        this.options.note?.(`The event stream dropped (${err.message}); subscribing again`)
      } finally {
        sub.abort()
        await ended
      }
    }
  }

  /** The raft index the state was read at after subscribing: events up to it are in the reads. */
  private readAt = 0

  /** One raft index's events: each object newer than the view's copy replaces it. */
  private apply(b: EventBatch): void {
    for (const e of b.Events) {
      const d = deploymentOf(e, this.id)
      if (d) this.applyDeployment(d)
      const a = e.Payload.Allocation
      if (e.Topic === 'Allocation' && a && this.withAllocs) this.applyAlloc(allocView(a))
    }
    this.advance(b.Index)
  }

  private applyDeployment(d: Deployment): void {
    if (d.ModifyIndex >= this.view.deployment.ModifyIndex)
      this.view.setDeployment(d, this.view.deploymentIndex)
  }

  private applyAlloc(a: AllocView): void {
    const held = this.view.allocs.get(a.ID)
    if (!held || a.ModifyIndex >= held.ModifyIndex) this.view.upsertAlloc(a)
  }

  /** The events of `index` are in the view: past the reads, it holds every change up to it. */
  private advance(index: number): void {
    if (index > this.readAt) this.view.current(index)
    else this.view.version++
    this.afterChange()
  }

  /** Resolves with 'timeout' after `ms` (or at the deadline, or on a stop), or with the first of `ps` to settle. */
  private async race<T>(ps: Array<Promise<T>>, ms: number): Promise<T | 'timeout'> {
    let timer: NodeJS.Timeout | undefined
    let end: () => void = () => {}
    const signal = this.signalFor(this.stopDeployment)
    const stop = new Promise<'timeout'>((resolve) => {
      end = () => resolve('timeout')
      const left = Math.max(0, this.options.deadline - performance.now())
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

  // ---- the view's changes and their waiters ----------------------------------------

  private notify(): void {
    const w = this.wake
    this.pulse = new Promise<void>((resolve) => (this.wake = resolve))
    w()
  }

  /** After each change: a last write that is now visible stops following. */
  private afterChange(): void {
    const w = this.lastWrite
    if (w && this.deploymentSettled(w.index)) this.stopDeployment.abort()
    if (w && this.allocsSettled(w.index, w.allocs)) this.stopAllocs.abort()
    this.notify()
  }

  private deploymentSettled(index: number): boolean {
    return this.view.deployment.ModifyIndex >= index
  }

  private allocsSettled(index: number, allocs: boolean): boolean {
    return !allocs || this.view.allocsIndex >= index
  }

  async changed(version: number, until?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeUp =
      until === undefined
        ? undefined
        : new Promise<void>(
            (resolve) => (timer = setTimeout(resolve, Math.max(0, until - performance.now()))),
          )
    try {
      while (this.view.version === version && !this.ended && this.failure === undefined) {
        if (until !== undefined && performance.now() >= until) break
        await (timeUp ? Promise.race([this.pulse, timeUp]) : this.pulse)
      }
    } finally {
      clearTimeout(timer)
    }
    if (this.failure !== undefined) throw this.failure
  }

  async settle(
    index: number,
    { allocs, last, until }: { allocs: boolean; last: boolean; until: number },
  ) {
    const settled = () => this.deploymentSettled(index) && this.allocsSettled(index, allocs)
    if (last) {
      this.lastWrite = { index, allocs }
      this.afterChange()
    }
    while (!settled() && !this.ended && performance.now() < until) {
      await this.changed(this.view.version, until).catch(() => undefined)
    }
    if (!settled()) return false
    // A write that leaves the allocations as they were gives their watch no answer, and the
    // two answers after one that changes both can straddle a later change: one snapshot.
    await this.confirm()
    return true
  }

  async refresh({ signal = this.options.signal, deadline = this.options.deadline } = {}) {
    const q = { deadline, signal }
    const [d, a] = await Promise.all([
      this.client.deployment(this.id, q),
      this.withAllocs ? this.client.deploymentAllocations(this.id, q) : undefined,
    ])
    if (d.body.ModifyIndex >= this.view.deployment.ModifyIndex)
      this.view.setDeployment(d.body, d.meta.lastIndex)
    if (a && a.meta.lastIndex >= this.view.allocsIndex)
      this.view.setAllocs(a.body, a.meta.lastIndex)
    this.notify()
  }

  async confirm() {
    const { view } = this
    if (view.consistent) return
    const q = { deadline: this.options.deadline, signal: this.options.signal }
    if (view.allocsIndex > view.deploymentIndex) {
      const d = await this.client.deployment(this.id, q)
      if (d.body.ModifyIndex >= view.deployment.ModifyIndex)
        view.setDeployment(d.body, d.meta.lastIndex)
    } else {
      const a = await this.client.deploymentAllocations(this.id, q)
      if (a.meta.lastIndex >= view.allocsIndex) view.setAllocs(a.body, a.meta.lastIndex)
    }
    view.confirmed = view.version
    this.notify()
  }

  stop(): void {
    this.stopAll.abort()
  }
}

/**
 * The events that arrive while the state is read after subscribing: only the
 * newest of each object is kept (the stream is in raft order), so a busy
 * deployment cannot pile up a copy of itself per change before the read ends.
 */
class Early {
  index = 0
  deployment?: Deployment
  readonly allocs = new Map<string, AllocView>()

  add(b: EventBatch, id: string): void {
    for (const e of b.Events) {
      const d = deploymentOf(e, id)
      if (d) this.deployment = d
      const a = e.Payload.Allocation
      if (e.Topic === 'Allocation' && a) this.allocs.set(a.ID, allocView(a))
    }
    this.index = Math.max(this.index, b.Index)
  }
}

function deploymentOf(e: NomadEvent, id: string): Deployment | undefined {
  const d = e.Payload.Deployment
  return e.Topic === 'Deployment' && d?.ID === id ? d : undefined
}

/** A stream's end as a reason: a NomadError's detail, or `otherwise` when it closed or stayed silent. */
function gone(why: unknown, otherwise: string): string {
  if (why instanceof NomadError)
    return why.status ? `HTTP ${why.status}: ${why.detail}` : why.detail
  if (why instanceof Error) return why.message
  return why === 'closed' ? 'it closed at once' : otherwise
}
