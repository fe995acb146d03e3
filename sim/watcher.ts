// The leader's deployment watcher (nomad/deploymentwatcher/deployment_watcher.go):
// what changes a deployment on its own (failing it on an unhealthy alloc,
// auto-promotion, the progress deadline, auto-revert) and the deployment write
// RPCs' effects, which Nomad routes through the watcher too.
//
// It reacts to every committed change that touches an active deployment or its
// allocations, each reaction its own raft index after the change it reacts to.

import type { DeploymentUpdateResponse } from '../src/nomad/types.js'
import type { Clock, Timer } from './clock.js'
import { goQuote, goTime, unixNano, uuidIndexKey } from './go.js'
import {
  clone,
  copyAlloc,
  healthyByGroup,
  isActive,
  isHealthy,
  noRollbackTargetDescription,
  NomadError,
  progressBy,
  requiresPromotion,
  rollbackDescription,
  rollbackNoopDescription,
  specOf,
  STATUS_DESCRIPTION,
  uuidKey,
  type SimAllocation,
  type SimDeployment,
  type SimJob,
} from './model.js'
import {
  deploymentEval,
  putNewJobVersion,
  updateDeploymentPromotion,
  updateDeploymentStatus,
  updateDeploymentWithAlloc,
} from './statestore.js'
import { rescheduleEligible } from './reschedule.js'
import type { Commit, Store } from './store.js'
import type { Tx } from './tx.js'

export class DeploymentWatcher {
  /** The progress-deadline timer per deployment key and the cutoff it was set for. */
  private readonly deadlines = new Map<string, { at: number; timer?: Timer }>()
  /** deploymentWatcher.deadlineHit: once set, later failures are described as deadline failures. */
  private readonly deadlineHit = new Set<string>()
  /** createBatchedUpdate's outstanding batch per deployment key: allocs to allow replacing. */
  private readonly batches = new Map<string, Set<string>>()
  private readonly batchTimers = new Map<string, Timer>()

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** perJobEvalBatchPeriod: how long the watcher batches before it creates an evaluation. */
    private readonly evalBatchMs = 1000,
  ) {
    store.onCommit((c) => this.onCommit(c))
    store.onRestore(() => this.rearmAll())
  }

  // ---- the write RPCs (deployments_watcher.go → deployment_watcher.go) -----------------

  /** deploymentWatcher.PromoteDeployment. */
  promote(id: string, all: boolean, groups: string[]): DeploymentUpdateResponse {
    this.requireCommitted(id)
    return this.store.apply('promote', (tx) => {
      let evalId = ''
      updateDeploymentPromotion(tx, id, all, groups, () => {
        evalId = deploymentEval(tx, this.require(tx, id)).ID
      })
      return writeResponse(tx.index, evalId)
    })
  }

  /** deploymentWatcher.PauseDeployment: pausing creates no evaluation, resuming does. */
  pause(id: string, pause: boolean): DeploymentUpdateResponse {
    this.requireCommitted(id)
    return this.store.apply(pause ? 'pause' : 'resume', (tx) => {
      if (pause) {
        updateDeploymentStatus(tx, id, 'paused', STATUS_DESCRIPTION.paused)
        return { ...writeResponse(tx.index, ''), EvalCreateIndex: 0 }
      }
      const d = updateDeploymentStatus(tx, id, 'running', STATUS_DESCRIPTION.running)
      return writeResponse(tx.index, deploymentEval(tx, d).ID)
    })
  }

  /** deploymentWatcher.FailDeployment: rolls back when any group has auto_revert. */
  fail(id: string): DeploymentUpdateResponse {
    const d = this.requireCommitted(id)
    const rollback = Object.values(d.TaskGroups).some((g) => g.AutoRevert)
    return this.store.apply('fail', (tx) => {
      const reverted = this.failWithRollback(tx, d, STATUS_DESCRIPTION.failedByUser, rollback)
      return {
        ...writeResponse(tx.index, deploymentEval(tx, d).ID),
        RevertedJobVersion: reverted,
      }
    })
  }

  /**
   * deploymentWatcher.setAllocHealth + state_store.go UpdateDeploymentAllocHealth.
   * `requestedId` is the ID as the request spelled it: the store compares allocs'
   * DeploymentID with it as a string.
   */
  setAllocHealth(
    requestedId: string,
    healthyIds: string[],
    unhealthyIds: string[],
  ): DeploymentUpdateResponse {
    const d = this.requireCommitted(requestedId)
    // The watcher decides, before the write, whether an unhealthy alloc's group
    // reverts the job (first such alloc in the deployment's alloc order).
    let desc: string = STATUS_DESCRIPTION.failedAllocations
    let revertTo: SimJob | undefined
    if (unhealthyIds.length > 0) {
      const unhealthy = new Set(unhealthyIds)
      const reverting = this.store
        .allocsByDeploymentKey(uuidKey(d.ID))
        .find((a) => unhealthy.has(a.ID) && d.TaskGroups[a.TaskGroup]?.AutoRevert)
      if (reverting) {
        const target = this.rollbackTarget(d, desc)
        if (target) ({ desc, job: revertTo } = target)
      }
    }
    return this.store.apply('alloc-health', (tx) => {
      const updates: Array<[SimAllocation, boolean]> = []
      for (const [ids, healthy] of [
        [healthyIds, true],
        [unhealthyIds, false],
      ] as const) {
        for (const id of ids) {
          const key = uuidIndexKey(id, true)
          if ('error' in key)
            throw new NomadError(`alloc ${goQuote(id)} lookup failed: ${key.error}`)
          const a = tx.alloc(key.key)
          if (!a) throw new NomadError(`unknown alloc ${goQuote(id)}`)
          if (a.DeploymentID !== requestedId) {
            throw new NomadError(
              `alloc ${goQuote(id)} is not part of deployment ${goQuote(requestedId)}`,
            )
          }
          updates.push([a, healthy])
        }
      }
      for (const [a, healthy] of updates) {
        const old = tx.alloc(uuidKey(a.ID)) as SimAllocation
        const next = copyAlloc(old)
        next.DeploymentStatus = {
          Healthy: healthy,
          Timestamp: goTime(tx.now),
          Canary: old.DeploymentStatus?.Canary ?? false,
          ModifyIndex: tx.index,
        }
        next.ModifyTime = unixNano(tx.now)
        updateDeploymentWithAlloc(tx, next, old)
        tx.putAlloc(next)
      }
      let reverted: number | null = null
      if (unhealthyIds.length > 0) {
        updateDeploymentStatus(tx, d.ID, 'failed', desc)
        if (revertTo) reverted = revertJob(tx, revertTo)
      }
      return {
        ...writeResponse(tx.index, deploymentEval(tx, d).ID),
        RevertedJobVersion: reverted,
      }
    })
  }

  /**
   * The progress-deadline timer fires now (it also fires by itself at
   * RequireProgressBy). As deploymentWatcher.shouldFail: a paused deployment does
   * not fail, nor a group whose canaries are healthy (by the HealthyAllocs
   * counter) and wait for promotion. Returns whether the deployment failed.
   */
  expireProgressDeadline(id: string): boolean {
    const d = this.store.deploymentByKey(uuidKey(id))
    if (!d || !isActive(d)) return false
    this.deadlineHit.add(d.ID)
    const { fail, rollback } = shouldFail(d)
    if (!fail) return false
    this.store.apply('progress-deadline', (tx) => {
      this.failWithRollback(tx, d, STATUS_DESCRIPTION.progressDeadline, rollback)
      deploymentEval(tx, d)
    })
    return true
  }

  /** Ends every timer. */
  dispose(): void {
    for (const { timer } of this.deadlines.values()) timer?.cancel()
    this.deadlines.clear()
    for (const t of this.batchTimers.values()) t.cancel()
    this.batchTimers.clear()
    this.batches.clear()
  }

  // ---- reactions -------------------------------------------------------------------------

  private onCommit(c: Commit): void {
    const allocsOf = new Set<string>()
    for (const w of c.written) {
      if (w.table === 'deployment') this.rearm(w.after as SimDeployment)
      const id = w.table === 'allocs' ? (w.after as SimAllocation).DeploymentID : ''
      if (id) allocsOf.add(uuidKey(id))
    }
    // The watcher's blocking query on the deployment's allocs wakes (getAllocs).
    for (const key of allocsOf) this.react(key)
  }

  /**
   * deploymentWatcher.watch on an alloc change (handleAllocUpdate): fail the
   * deployment on an unhealthy alloc that cannot wait for its progress deadline
   * (shouldFailEarly), else auto-promote when every canary group allows it and
   * is healthy. For a job the scheduler runs, also ask for an evaluation (after
   * the eval batch period) when an alloc turned healthy since the job's last
   * evaluation, or to let unhealthy allocs be replaced.
   */
  private react(key: string): void {
    const d = this.store.deploymentByKey(key)
    if (!d || !isActive(d)) return
    const allocs = this.store.allocsByDeploymentKey(key)
    const now = this.clock.now()
    let fail = false
    let rollback = false
    const replacements: string[] = []
    for (const a of allocs) {
      const s = d.TaskGroups[a.TaskGroup]
      if (!s || a.DeploymentStatus?.Healthy !== false) continue
      const policy = this.groupSpec(d, a.TaskGroup)?.ReschedulePolicy
      // shouldFailEarly: no progress deadline, or no reschedule attempt left.
      if (s.ProgressDeadline === 0 || !rescheduleEligible(a.RescheduleTracker, policy, now)) {
        fail = true
        rollback ||= s.AutoRevert
      } else if (a.DesiredTransition.Reschedule !== true) {
        replacements.push(a.ID)
      }
    }
    if (fail) {
      const base = this.deadlineHit.has(d.ID)
        ? STATUS_DESCRIPTION.progressDeadline
        : STATUS_DESCRIPTION.failedAllocations
      this.store.apply('deployment-failed', (tx) => {
        this.failWithRollback(tx, d, base, rollback)
        deploymentEval(tx, d)
      })
      return
    }
    this.autoPromote(d, allocs)
    if (!this.store.isScheduled(d.Namespace, d.JobID)) return
    const latestEval = this.latestEvalIndex(d)
    const createEval = allocs.some(
      (a) => isHealthy(a) && (a.DeploymentStatus?.ModifyIndex ?? 0) > latestEval,
    )
    if (createEval || replacements.length > 0) {
      const allocIndex = Math.max(0, ...allocs.map((a) => a.ModifyIndex))
      this.createBatchedUpdate(d, replacements, allocIndex, latestEval)
    }
  }

  /**
   * createBatchedUpdate: one raft index, evalBatchMs after the first request,
   * that allows the replacement of unhealthy allocs (DesiredTransition
   * Reschedule) and creates an evaluation.
   */
  private createBatchedUpdate(
    d: SimDeployment,
    replacements: string[],
    forIndex: number,
    latestEval: number,
  ): void {
    const key = uuidKey(d.ID)
    const outstanding = this.batches.get(key)
    if (outstanding) {
      for (const id of replacements) outstanding.add(id)
      return
    }
    if (forIndex < latestEval && replacements.length === 0) return
    const pending = new Set(replacements)
    this.batches.set(key, pending)
    const timer = this.clock.setTimer(this.evalBatchMs, () => {
      this.batches.delete(key)
      this.batchTimers.delete(key)
      const current = this.store.deploymentByKey(key)
      if (!current) return
      this.store.apply('alloc-desired-transition', (tx) => {
        for (const id of pending) {
          const a = tx.editAlloc(uuidKey(id))
          if (!a) continue
          a.DesiredTransition = { ...a.DesiredTransition, Reschedule: true }
          tx.putAlloc(a)
        }
        deploymentEval(tx, current)
      })
    })
    this.batchTimers.set(key, timer)
  }

  /** jobEvalStatus: the latest index an evaluation of the job saw (its snapshot, else its creation). */
  private latestEvalIndex(d: SimDeployment): number {
    let max = 0
    for (const e of this.store.allEvals()) {
      if (e.Namespace !== d.Namespace || e.JobID !== d.JobID || e.Status === 'canceled') continue
      if (e.SnapshotIndex !== 0 && max < e.SnapshotIndex) max = e.SnapshotIndex
      else if (max < e.CreateIndex) max = e.CreateIndex
    }
    return max
  }

  /** deploymentWatcher.autoPromoteDeployment. */
  private autoPromote(d: SimDeployment, allocs: SimAllocation[]): void {
    if (
      !requiresPromotion(d) ||
      !Object.values(d.TaskGroups).some((g) => g.PlacedCanaries?.length)
    ) {
      return
    }
    for (const g of Object.values(d.TaskGroups)) {
      if (g.DesiredCanaries < 1) continue
      const placed = g.PlacedCanaries ?? []
      if (!g.AutoPromote || placed.length < g.DesiredCanaries) return
      const healthy = allocs.filter((a) => placed.includes(a.ID) && isHealthy(a)).length
      if (healthy !== g.DesiredCanaries) return
    }
    try {
      this.store.apply('auto-promote', (tx) =>
        updateDeploymentPromotion(tx, d.ID, true, [], () => deploymentEval(tx, d)),
      )
    } catch (e) {
      // The watcher only logs a failed auto-promotion ("failed to auto promote deployment").
      if (!(e instanceof NomadError)) throw e
    }
  }

  /**
   * The watcher's deadline timer (getDeploymentProgressCutoff): the earliest
   * RequireProgressBy of the groups not yet done; no timer while that is zero.
   */
  private rearm(d: SimDeployment): void {
    const key = uuidKey(d.ID)
    const current = this.deadlines.get(key)
    if (!isActive(d)) {
      current?.timer?.cancel()
      this.deadlines.delete(key)
      return
    }
    const healthy = healthyByGroup(this.store.allocsByDeploymentKey(key))
    let next = 0
    for (const [g, s] of Object.entries(d.TaskGroups)) {
      const done = !(s.DesiredCanaries !== 0 && !s.Promoted) && (healthy[g] ?? 0) >= s.DesiredTotal
      const by = progressBy(s)
      if (done || by === 0) continue
      if (next === 0 || by < next) next = by
    }
    if (current && current.at === next) return
    current?.timer?.cancel()
    const timer =
      next === 0
        ? undefined
        : this.clock.setTimer(next - this.clock.now(), () => this.expireProgressDeadline(d.ID))
    this.deadlines.set(key, { at: next, timer })
  }

  private rearmAll(): void {
    this.dispose()
    for (const [, d] of this.store.deploymentsByKey()) this.rearm(d)
  }

  /** Fails a deployment, rolling back when asked; returns the version rolled back to. */
  private failWithRollback(
    tx: Tx,
    d: SimDeployment,
    base: string,
    rollback: boolean,
  ): number | null {
    let desc = base
    let job: SimJob | undefined
    if (rollback) {
      const target = this.rollbackTarget(d, base)
      if (target) ({ desc, job } = target)
      else desc = noRollbackTargetDescription(base)
    }
    updateDeploymentStatus(tx, d.ID, 'failed', desc)
    return job ? revertJob(tx, job) : null
  }

  /** latestStableJob + handleRollbackValidity: where a failed deployment rolls back to, if anywhere. */
  private rollbackTarget(
    d: SimDeployment,
    base: string,
  ): { desc: string; job?: SimJob } | undefined {
    const versions = this.store.jobVersions(d.Namespace, d.JobID)
    const stable = [...versions].reverse().find((j) => j.Stable)
    if (!stable) return undefined
    const current = versions[versions.length - 1]
    // Only roll back to a different specification, or a failing stable version would loop.
    if (specOf(current) !== specOf(stable)) {
      return { desc: rollbackDescription(base, stable.Version), job: stable }
    }
    return { desc: rollbackNoopDescription(base, stable.Version) }
  }

  private groupSpec(d: SimDeployment, group: string) {
    const job = this.store.jobVersions(d.Namespace, d.JobID)[d.JobVersion]
    return job?.TaskGroups.find((g) => g.Name === group)
  }

  private require(tx: Tx, id: string): SimDeployment {
    return tx.deployment(uuidKey(id)) as SimDeployment
  }

  private requireCommitted(id: string): SimDeployment {
    const d = this.store.deploymentByKey(uuidKey(id))
    if (!d) throw new NomadError('deployment not found')
    return d
  }
}

/** deploymentWatcher.shouldFail, at the progress deadline. */
export function shouldFail(d: SimDeployment): { fail: boolean; rollback: boolean } {
  if (d.Status === 'paused') return { fail: false, rollback: false }
  let fail = false
  for (const s of Object.values(d.TaskGroups)) {
    if (s.DesiredCanaries > 0 && !s.Promoted) {
      if (s.HealthyAllocs >= s.DesiredCanaries) continue
    } else if (s.HealthyAllocs >= s.DesiredTotal) {
      continue
    }
    fail = true
    if (s.AutoRevert) return { fail, rollback: true }
  }
  return { fail, rollback: false }
}

/** The watcher's revert: the stable version's spec as a new version (Stable kept, as Nomad does). */
function revertJob(tx: Tx, stable: SimJob): number {
  const latest = tx.jobLatest(stable.Namespace, stable.ID) as SimJob
  putNewJobVersion(tx, { ...clone(stable), Status: latest.Status }, latest)
  return stable.Version
}

function writeResponse(index: number, evalId: string): DeploymentUpdateResponse {
  return {
    EvalID: evalId,
    EvalCreateIndex: index,
    DeploymentModifyIndex: index,
    RevertedJobVersion: null,
    Index: index,
  }
}
