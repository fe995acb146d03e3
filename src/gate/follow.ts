// Following a deployment: keep the view current until the step ends, with
// Nomad's event stream (follow-events.ts) or with blocking queries (the `watch`
// input). `auto` falls back to blocking queries when the stream is refused,
// stays silent or drops; `events` fails the step instead.
//
// Blocking queries: the deployment and its allocations are watched at once:
// either can change alone (a canary that dies after being healthy leaves the
// deployment's ModifyIndex as it was); each change re-reads the whole list.

import type { NomadClient } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import { watch } from '../nomad/watch.js'
import { EventFeed, StreamGone, type StreamOptions } from './follow-events.js'
import type { RolloutView } from './view.js'

export { STREAM_WAIT_MS } from './follow-events.js'

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

export interface FollowOptions extends StreamOptions {
  signal: AbortSignal
  /** Follow the allocations too (default true). */
  allocs?: boolean
}

export function follow(client: NomadClient, view: RolloutView, options: FollowOptions): Follower {
  return new Following(client, view, options)
}

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
          await new EventFeed({
            client: this.client,
            view: this.view,
            id: this.id,
            withAllocs: this.withAllocs,
            options: this.options,
            stopped: () => this.stopped,
            signal: () => this.signalFor(this.stopDeployment),
            refresh: () => this.refresh(),
            afterChange: () => this.afterChange(),
          }).run()
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
      await this.readAllocs()
    }
    view.confirmed = view.version
    this.notify()
  }

  private async readAllocs(): Promise<void> {
    const q = { deadline: this.options.deadline, signal: this.options.signal }
    const a = await this.client.deploymentAllocations(this.id, q)
    if (a.meta.lastIndex >= this.view.allocsIndex) this.view.setAllocs(a.body, a.meta.lastIndex)
  }

  stop(): void {
    this.stopAll.abort()
  }
}
