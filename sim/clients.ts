// The client node: what it does with the allocations the scheduler places for
// `submitJob` jobs, on the simulator's clock. It starts them (pending, then
// running or failed), watches their health as client/allocrunner/health_hook.go
// and client/allochealth/tracker.go do (task_states: healthy once every task has
// run for min_healthy_time; unhealthy when a task fails or at healthy_deadline),
// kills the ones the server stops, and sends what changed to the server in
// batches (client allocSync, nomad/node_endpoint.go UpdateAlloc): several
// allocations' updates land in one raft index.

import type { AllocClientStatus } from '../src/nomad/types.js'
import type { Clock, Timer } from './clock.js'
import { outcomeOf, updateIsEmpty, type ClientOutcome, type SimTaskGroup } from './jobspec.js'
import { allocIsTerminal, uuidKey, type SimAllocation } from './model.js'
import { rescheduleEligible } from './reschedule.js'
import {
  newEvaluation,
  refreshJobStatus,
  reportHealth,
  updateAllocFromClient,
  upsertEval,
} from './statestore.js'
import type { Commit, Store } from './store.js'
import { applyClientStatus } from './verbs.js'

export interface ClientOptions {
  /** From placement to the tasks running (or failing). Default 1000 ms. */
  startMs?: number
  /** The client's alloc sync batch: updates within it land in one raft index. Default 200 ms. */
  batchMs?: number
  /** Overrides the group's outcome for an allocation (return undefined to keep it). */
  outcome?: (alloc: SimAllocation) => ClientOutcome | undefined
}

/** What a client reports of one allocation: a new client status, health, or both. */
export interface ClientAllocUpdate {
  allocId: string
  clientStatus?: AllocClientStatus
  healthy?: boolean
}

/** A change to an allocation as the client saw it happen at `now` (epoch ms). */
export type Change = (a: SimAllocation, now: number) => void

export class Clients {
  /** The alloc runners' timers per alloc key: starting and stopping tasks. */
  private readonly lifecycle = new Map<string, Timer[]>()
  /** The health trackers' timers per alloc key. */
  private readonly trackers = new Map<string, Timer[]>()
  /** Changes waiting for the next sync, per alloc key, in order, each with its own time. */
  private readonly outbox = new Map<string, Array<{ at: number; change: Change }>>()
  private flushTimer?: Timer
  private readonly startMs: number
  private readonly batchMs: number
  outcome?: (alloc: SimAllocation) => ClientOutcome | undefined

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    options: ClientOptions = {},
  ) {
    this.startMs = options.startMs ?? 1000
    this.batchMs = options.batchMs ?? 200
    this.outcome = options.outcome
    store.onCommit((c) => this.onCommit(c))
    store.onRestore(() => this.dispose())
  }

  /**
   * Node.UpdateAlloc + state_store.go UpdateAllocsFromClient: the updates in
   * one raft index; a failed alloc that may be rescheduled gets an evaluation.
   */
  send(
    updates: Array<{ id: string; changes: Array<{ at: number; change: Change }> }>,
    kind = 'client-update',
  ): number {
    return this.store.apply(kind, (tx) => {
      const jobs = new Set<string>()
      for (const u of updates) {
        const before = tx.alloc(uuidKey(u.id))
        const a = updateAllocFromClient(tx, u.id, (x) => {
          for (const c of u.changes) c.change(x, c.at)
        })
        if (!a || !before) continue
        jobs.add(`${a.Namespace}\0${a.JobID}`)
        if (a.ClientStatus === 'failed' && before.ClientStatus !== 'failed' && !a.FollowupEvalID) {
          const tg = this.group(a)
          if (rescheduleEligible(a.RescheduleTracker, tg?.ReschedulePolicy, tx.now)) {
            const job = tx.jobLatest(a.Namespace, a.JobID)
            upsertEval(
              tx,
              newEvaluation(tx, {
                Namespace: a.Namespace,
                JobID: a.JobID,
                Priority: job?.Priority ?? 50,
                TriggeredBy: 'alloc-failure',
              }),
            )
          }
        }
      }
      for (const key of jobs) {
        const [ns, id] = key.split('\0')
        if (this.store.isScheduled(ns, id)) refreshJobStatus(tx, ns, id)
      }
      return tx.index
    })
  }

  dispose(): void {
    for (const key of [...this.lifecycle.keys(), ...this.trackers.keys()]) this.cancel(key)
    this.flushTimer?.cancel()
    this.flushTimer = undefined
    this.outbox.clear()
  }

  private onCommit(c: Commit): void {
    for (const w of c.written) {
      if (w.table !== 'allocs') continue
      const a = w.after as SimAllocation
      const before = w.before as SimAllocation | undefined
      if (!this.store.isScheduled(a.Namespace, a.JobID)) continue
      if (!before && a.DesiredStatus === 'run') this.run(a)
      else if (before?.DesiredStatus === 'run' && a.DesiredStatus !== 'run') this.kill(a)
      else if (before && before.DeploymentID !== a.DeploymentID && a.DesiredStatus === 'run') {
        // health_hook.go Update: a new deployment clears the health and watches again.
        this.cancelTracker(w.key)
        if (!allocIsTerminal(a)) this.watchHealth(a, a.ClientStatus === 'running')
      }
    }
  }

  /** The alloc runner: start the tasks and watch their health. */
  private run(a: SimAllocation): void {
    const outcome = this.outcomeOf(a)
    if (outcome !== 'stuck') {
      this.after(this.lifecycle, a, this.startMs, () => {
        if (outcome === 'crash') {
          // The tracker sees the failed task (setTaskHealth(false, terminal)) and stops.
          this.cancelTracker(uuidKey(a.ID))
          this.report(a, (x, now) => applyClientStatus(x, 'failed', now))
          return
        }
        this.report(a, (x, now) => applyClientStatus(x, 'running', now))
        this.tasksRunning(a)
      })
    }
    this.watchHealth(a, false)
  }

  /**
   * The health tracker of a deployment's alloc (getHealthParams): deadline
   * from now; healthy min_healthy_time after every task runs. No tracker for
   * a manual health check or an empty update strategy.
   */
  private watchHealth(a: SimAllocation, running: boolean): void {
    const u = this.group(a)?.Update ?? null
    if (!a.DeploymentID || updateIsEmpty(u) || u?.HealthCheck === 'manual') return
    if (this.outcomeOf(a) === 'silent' || !u) return
    this.after(this.trackers, a, u.HealthyDeadline / 1e6, () => this.setHealth(a, false))
    if (running) this.tasksRunning(a)
  }

  private tasksRunning(a: SimAllocation): void {
    const u = this.group(a)?.Update ?? null
    if (!a.DeploymentID || updateIsEmpty(u) || !u || u.HealthCheck === 'manual') return
    const outcome = this.outcomeOf(a)
    if (outcome === 'silent') return
    // With health_check "checks", failing checks keep it from turning healthy.
    if (outcome === 'unhealthy' && u.HealthCheck === 'checks') return
    this.after(this.trackers, a, u.MinHealthyTime / 1e6, () => this.setHealth(a, true))
  }

  /** SetHealth, once: a tracker stops after it reports; a health already set (by anyone) wins. */
  private setHealth(a: SimAllocation, healthy: boolean): void {
    this.cancelTracker(uuidKey(a.ID))
    this.report(a, (x, now) => {
      if (x.DeploymentStatus?.Healthy != null || x.DeploymentID !== a.DeploymentID) return
      if (x.DesiredStatus !== 'run') return
      reportHealth(x, healthy, now)
    })
  }

  /** The server stopped the alloc: the client kills its tasks and reports it complete. */
  private kill(a: SimAllocation): void {
    this.cancel(uuidKey(a.ID))
    if (allocIsTerminal({ DesiredStatus: 'run', ClientStatus: a.ClientStatus })) return
    this.after(this.lifecycle, a, this.startMs, () => {
      this.report(a, (x, now) => {
        if (x.ClientStatus === 'failed' || x.ClientStatus === 'complete') return
        applyClientStatus(x, 'complete', now)
        x.ClientDescription = 'All tasks have completed'
      })
    })
  }

  /** Queues a change for the next sync; the first change of a batch starts its timer. */
  private report(a: SimAllocation, change: Change): void {
    const key = uuidKey(a.ID)
    const at = this.clock.now()
    const list = this.outbox.get(key) ?? []
    list.push({ at, change })
    this.outbox.set(key, list)
    this.flushTimer ??= this.clock.setTimer(this.batchMs, () => this.flush())
  }

  private flush(): void {
    this.flushTimer = undefined
    const batch = [...this.outbox.entries()]
    this.outbox.clear()
    if (batch.length === 0) return
    const updates = batch
      .filter(([key]) => this.store.allocByKey(key))
      .map(([key, changes]) => ({ id: (this.store.allocByKey(key) as SimAllocation).ID, changes }))
    this.send(updates)
  }

  private after(timers: Map<string, Timer[]>, a: SimAllocation, ms: number, fn: () => void): void {
    const key = uuidKey(a.ID)
    const t = this.clock.setTimer(ms, () => {
      timers.set(
        key,
        (timers.get(key) ?? []).filter((x) => x !== t),
      )
      fn()
    })
    timers.set(key, [...(timers.get(key) ?? []), t])
  }

  private cancelTracker(key: string): void {
    for (const t of this.trackers.get(key) ?? []) t.cancel()
    this.trackers.delete(key)
  }

  private cancel(key: string): void {
    this.cancelTracker(key)
    for (const t of this.lifecycle.get(key) ?? []) t.cancel()
    this.lifecycle.delete(key)
  }

  private group(a: SimAllocation): SimTaskGroup | undefined {
    return this.store
      .jobVersions(a.Namespace, a.JobID)
      [a.JobVersion]?.TaskGroups.find((g) => g.Name === a.TaskGroup)
  }

  private outcomeOf(a: SimAllocation): ClientOutcome {
    const current = this.store.allocByKey(uuidKey(a.ID)) ?? a
    return this.outcome?.(current) ?? outcomeOf(this.group(current))
  }
}

/** A client update as a change (for `updateAllocsFromClient`). */
export function clientChange(u: ClientAllocUpdate): Change {
  return (a, now) => {
    if (u.clientStatus) applyClientStatus(a, u.clientStatus, now)
    if (u.healthy !== undefined) reportHealth(a, u.healthy, now)
  }
}
