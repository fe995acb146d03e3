// Following a deployment: keep the view current until the step ends. With
// blocking queries, the deployment and its allocations are watched at once:
// either can change alone (a canary that dies after being healthy leaves the
// deployment's ModifyIndex as it was).

import type { NomadClient } from '../nomad/client.js'
import { watch } from '../nomad/watch.js'
import type { RolloutView } from './view.js'

export interface Follower {
  /**
   * Resolves once the view has changed after `version` (at once if it did
   * already), when following has ended (the deadline passed, or it was
   * stopped), or at `until` (a performance.now() value). Rejects when a read
   * failed for good.
   */
  changed(version: number, until?: number): Promise<void>
  /** Following has ended: nothing more will change the view. */
  readonly ended: boolean
  /** Settles when following ends: resolves at the deadline or on stop, rejects when a read failed for good. */
  readonly done: Promise<void>
  /**
   * Resolves once the view shows the state at or after a write applied at
   * `index` (the deployment, and with `allocs` its allocations too), or at
   * `until`. With `last`, each watch stops as soon as its answer is that
   * recent: the step is over, and nothing more is asked of Nomad. Then the view
   * is made one snapshot (confirm). Allocations
   * that the write does not change (`allocs` false) are read once instead.
   */
  settle(index: number, o: { allocs: boolean; last: boolean; until: number }): Promise<boolean>
  /**
   * Read both at once, without blocking, into the view (after a write whose
   * answer was lost, or to settle after the watches ended), retrying failed
   * reads until `deadline` (default: following's). `signal` replaces the
   * step's: a write sent before a cancellation is still read back.
   */
  refresh(o?: { signal?: AbortSignal; deadline?: number }): Promise<void>
  /**
   * Makes the view one snapshot before a verdict that ends the step: when the
   * deployment and the allocations answered at different indexes, reads the
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
}

export function followBlocking(
  client: NomadClient,
  view: RolloutView,
  options: FollowOptions,
): Follower {
  const id = view.deployment.ID
  const stopAll = new AbortController()
  const stopDeployment = new AbortController()
  const stopAllocs = new AbortController()
  let failure: unknown
  let ended = false
  /** After a last write: the index at which each watch has seen enough. */
  let lastWrite: { index: number; allocs: boolean } | undefined
  let wake: () => void = () => {}
  let pulse = new Promise<void>((resolve) => (wake = resolve))
  const changed = (): void => {
    const w = wake
    pulse = new Promise<void>((resolve) => (wake = resolve))
    w()
  }
  const deploymentSettled = (index: number) => view.deployment.ModifyIndex >= index
  const allocsSettled = (index: number, allocs: boolean) => !allocs || view.allocsIndex >= index
  const run = (p: Promise<void>): Promise<void> =>
    p.catch((err: unknown) => {
      failure ??= err
      stopAll.abort()
    })
  const signalFor = (own: AbortController) =>
    AbortSignal.any([own.signal, stopAll.signal, options.signal])
  const withAllocs = options.allocs ?? true
  if (!withAllocs) stopAllocs.abort()
  const done = Promise.all([
    run(
      watch(
        (q) => client.deployment(id, q),
        (body, meta) => {
          view.setDeployment(body, meta.lastIndex)
          if (lastWrite && deploymentSettled(lastWrite.index)) stopDeployment.abort()
          changed()
        },
        {
          deadline: options.deadline,
          signal: signalFor(stopDeployment),
          index: view.deploymentIndex,
        },
      ),
    ),
    run(
      watch(
        (q) => client.deploymentAllocations(id, q),
        (body, meta) => {
          view.setAllocs(body, meta.lastIndex)
          if (lastWrite && allocsSettled(lastWrite.index, lastWrite.allocs)) stopAllocs.abort()
          changed()
        },
        { deadline: options.deadline, signal: signalFor(stopAllocs) },
      ),
    ),
  ]).then(() => {
    ended = true
    changed()
    if (failure !== undefined) throw failure
  })
  done.catch(() => undefined) // read through changed() or done

  const follower: Follower = {
    done,
    get ended() {
      return ended
    },
    async changed(version, until) {
      let timer: NodeJS.Timeout | undefined
      const timeUp =
        until === undefined
          ? undefined
          : new Promise<void>(
              (resolve) => (timer = setTimeout(resolve, Math.max(0, until - performance.now()))),
            )
      try {
        while (view.version === version && !ended && failure === undefined) {
          if (until !== undefined && performance.now() >= until) break
          await (timeUp ? Promise.race([pulse, timeUp]) : pulse)
        }
      } finally {
        clearTimeout(timer)
      }
      if (failure !== undefined) throw failure
    },
    async settle(index, { allocs, last, until }) {
      const settled = () => deploymentSettled(index) && allocsSettled(index, allocs)
      if (last) {
        lastWrite = { index, allocs }
        if (deploymentSettled(index)) stopDeployment.abort()
        if (allocsSettled(index, allocs)) stopAllocs.abort()
      }
      while (!settled() && !ended && performance.now() < until) {
        await follower.changed(view.version, until).catch(() => undefined)
      }
      if (!settled()) return false
      // A write that leaves the allocations as they were gives their watch no answer, and the
      // two answers after one that changes both can straddle a later change: one snapshot.
      await follower.confirm()
      return true
    },
    async refresh({ signal = options.signal, deadline = options.deadline } = {}) {
      const q = { deadline, signal }
      const [d, a] = await Promise.all([
        client.deployment(id, q),
        withAllocs ? client.deploymentAllocations(id, q) : undefined,
      ])
      if (d.body.ModifyIndex >= view.deployment.ModifyIndex)
        view.setDeployment(d.body, d.meta.lastIndex)
      if (a && a.meta.lastIndex >= view.allocsIndex) view.setAllocs(a.body, a.meta.lastIndex)
      changed()
    },
    async confirm() {
      if (view.consistent) return
      const q = { deadline: options.deadline, signal: options.signal }
      if (view.allocsIndex > view.deploymentIndex) {
        const d = await client.deployment(id, q)
        if (d.body.ModifyIndex >= view.deployment.ModifyIndex) {
          view.setDeployment(d.body, d.meta.lastIndex)
        }
      } else {
        const a = await client.deploymentAllocations(id, q)
        if (a.meta.lastIndex >= view.allocsIndex) view.setAllocs(a.body, a.meta.lastIndex)
      }
      view.confirmed = view.version
      changed()
    },
    stop() {
      stopAll.abort()
    },
  }
  return follower
}
