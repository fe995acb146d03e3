// The scheduler: a worker that takes each pending evaluation of a `submitJob`
// job once its lag (or its WaitUntil) has passed, reconciles (reconciler.ts),
// and writes the outcome as Nomad does (scheduler/generic_sched.go process and
// computePlacements, nomad/plan_apply.go → state_store.go UpsertPlanResults):
// follow-up evaluations first, each its own raft index, then the plan in one
// index, then the evaluation's status in another.
//
// Jobs registered with `registerJob` are scripted: their evaluations stay
// pending, the test plays the scheduler with the verbs.

import type { Clock, Timer } from './clock.js'
import { GO_ZERO_TIME, goTime, unixNano } from './go.js'
import {
  copyAlloc,
  isActive,
  uuidKey,
  type SimAllocation,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
} from './model.js'
import { reconcile, ALLOC_UPDATING, type ReconcileResult } from './reconciler.js'
import { nextTracker } from './reschedule.js'
import {
  newEvaluation,
  refreshJobStatus,
  updateDeploymentStatus,
  updateDeploymentWithAlloc,
  upsertDeployment,
  upsertEval,
} from './statestore.js'
import type { Commit, Store } from './store.js'
import type { Tx } from './tx.js'
import { newAllocation } from './verbs.js'

export interface SchedulerOptions {
  /** From an evaluation turning pending to the scheduler taking it (broker and worker). Default 0. */
  evalLagMs?: number
}

export class Scheduler {
  private readonly timers = new Map<string, Timer>()
  private readonly lagMs: number

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly nodeId: string,
    options: SchedulerOptions = {},
  ) {
    this.lagMs = options.evalLagMs ?? 0
    store.onCommit((c) => this.onCommit(c))
    store.onRestore(() => this.requeueAll())
  }

  dispose(): void {
    for (const t of this.timers.values()) t.cancel()
    this.timers.clear()
  }

  private onCommit(c: Commit): void {
    for (const w of c.written) {
      if (w.table === 'evals') this.enqueue(w.after as SimEvaluation)
    }
  }

  /** The eval broker: a pending evaluation of a scheduled job is taken after the lag, or at its WaitUntil. */
  private enqueue(e: SimEvaluation): void {
    const key = uuidKey(e.ID)
    if (e.Status !== 'pending' || this.timers.has(key)) return
    if (!this.store.isScheduled(e.Namespace, e.JobID)) return
    const waitUntil = e.WaitUntil === GO_ZERO_TIME ? 0 : Date.parse(e.WaitUntil)
    const ms = Math.max(this.lagMs, waitUntil - this.clock.now())
    this.timers.set(
      key,
      this.clock.setTimer(ms, () => {
        this.timers.delete(key)
        this.process(key)
      }),
    )
  }

  private requeueAll(): void {
    this.dispose()
    for (const e of this.store.allEvals()) this.enqueue(e)
  }

  /** GenericScheduler.Process for one evaluation. */
  private process(key: string): void {
    const e = this.store.evalByKey(key)
    if (!e || e.Status !== 'pending') return
    const snapshotIndex = this.store.index()
    const job = this.store.jobLatest(e.Namespace, e.JobID)
    if (!job) return this.finish(e, snapshotIndex, undefined, [])
    const latest = this.latestDeployment(job)
    const result = reconcile({
      job,
      versions: this.store.jobVersions(job.Namespace, job.ID),
      deployment: latest,
      allocs: this.allocsOf(job),
      now: this.clock.now(),
      evalId: e.ID,
      evalPriority: e.Priority,
      newId: this.store.newId,
    })
    // Follow-up evaluations for delayed reschedules, unless this one was itself delayed.
    const followups: string[] = []
    if (e.WaitUntil === GO_ZERO_TIME) {
      for (const f of result.followupEvals) {
        this.store.apply('eval-update', (tx) => {
          upsertEval(
            tx,
            newEvaluation(tx, {
              ID: f.id,
              Namespace: job.Namespace,
              JobID: job.ID,
              Priority: e.Priority,
              TriggeredBy: f.triggeredBy,
              JobModifyIndex: job.ModifyIndex,
              StatusDescription: f.description,
              WaitUntil: goTime(f.waitUntil),
              PreviousEval: e.ID,
            }),
          )
          refreshJobStatus(tx, job.Namespace, job.ID)
        })
        followups.push(f.id)
      }
    }
    // The deployment the scheduler works with: the created one, else the latest.
    const deployment = result.created ?? latest
    if (!isNoOp(result)) {
      this.store.apply('plan-result', (tx) => this.applyPlan(tx, e, job, deployment, result))
    }
    this.finish(e, snapshotIndex, deployment, followups)
  }

  /** setStatus: the evaluation is complete, with the deployment it saw. */
  private finish(
    e: SimEvaluation,
    snapshotIndex: number,
    deployment: SimDeployment | undefined,
    followups: string[],
  ): void {
    const job = this.store.jobLatest(e.Namespace, e.JobID)
    this.store.apply('eval-update', (tx) => {
      const current = tx.evaluation(uuidKey(e.ID)) ?? e
      upsertEval(tx, {
        ...current,
        Status: 'complete',
        StatusDescription: '',
        DeploymentID: deployment?.ID ?? '',
        NextEval: followups.at(-1) ?? current.NextEval,
        SnapshotIndex: snapshotIndex,
        QueuedAllocations: job ? Object.fromEntries(job.TaskGroups.map((g) => [g.Name, 0])) : {},
        ModifyTime: unixNano(tx.now),
      })
      refreshJobStatus(tx, e.Namespace, e.JobID)
    })
  }

  /** The plan as UpsertPlanResults applies it: deployment, its updates, the eval's index, then allocs. */
  private applyPlan(
    tx: Tx,
    e: SimEvaluation,
    job: SimJob,
    deployment: SimDeployment | undefined,
    r: ReconcileResult,
  ): void {
    if (r.created) upsertDeployment(tx, { ...r.created })
    for (const u of r.updates) updateDeploymentStatus(tx, u.id, u.status, u.description)
    const current = tx.evaluation(uuidKey(e.ID))
    if (current) tx.putEval({ ...current }) // updateEvalModifyIndex
    // computePlacements: new allocs join the deployment only if it is active (as the scheduler read it).
    const into = {
      ID: deployment && isActive(deployment) ? deployment.ID : '',
      Namespace: job.Namespace,
      JobID: job.ID,
      JobVersion: job.Version,
    }
    const place = (group: string, name: string, canary: boolean, prev?: SimAllocation): void => {
      const a = newAllocation(tx, into, group, name, {
        evalId: e.ID,
        nodeId: this.nodeId,
        clientStatus: 'pending',
        canary: canary && deployment !== undefined,
      })
      // upsertAllocsImpl: a new alloc's deployment status takes the index.
      if (a.DeploymentStatus) a.DeploymentStatus.ModifyIndex = tx.index
      if (prev) {
        const policy = job.TaskGroups.find((g) => g.Name === group)?.ReschedulePolicy
        a.PreviousAllocation = prev.ID
        if (policy) a.RescheduleTracker = nextTracker(prev, policy, tx.now)
      }
      updateDeploymentWithAlloc(tx, a)
      tx.putAlloc(a)
      if (prev) {
        const p = copyAlloc(tx.alloc(uuidKey(prev.ID)) as SimAllocation)
        p.NextAllocation = a.ID
        p.RescheduleTracker = { Events: p.RescheduleTracker?.Events ?? null, LastReschedule: 'ok' }
        tx.putAlloc(p)
      }
    }
    for (const p of r.place) place(p.group, p.name, p.canary, p.previous)
    for (const u of r.destructive) place(u.group, u.name, false)
    for (const old of r.inplace) {
      const a = copyAlloc(tx.alloc(uuidKey(old.ID)) as SimAllocation)
      a.JobVersion = job.Version
      a.EvalID = e.ID
      if (a.DeploymentID !== into.ID) {
        a.DeploymentID = into.ID
        a.DeploymentStatus = null
      }
      a.ModifyTime = unixNano(tx.now)
      updateDeploymentWithAlloc(tx, a, old)
      tx.putAlloc(a)
    }
    for (const [id, followup] of r.followupOf) {
      const a = copyAlloc(tx.alloc(uuidKey(id)) as SimAllocation)
      a.FollowupEvalID = followup
      tx.putAlloc(a)
    }
    const stops = [
      ...r.stop,
      ...r.destructive.map((u) => ({ alloc: u.stop, description: ALLOC_UPDATING })),
    ]
    for (const s of stops) {
      const a = copyAlloc(tx.alloc(uuidKey(s.alloc.ID)) as SimAllocation)
      a.DesiredStatus = 'stop'
      a.DesiredDescription = s.description
      a.ModifyTime = unixNano(tx.now)
      tx.putAlloc(a)
    }
    refreshJobStatus(tx, job.Namespace, job.ID)
  }

  private latestDeployment(job: SimJob): SimDeployment | undefined {
    let latest: SimDeployment | undefined
    for (const [, d] of this.store.deploymentsByKey()) {
      if (d.Namespace !== job.Namespace || d.JobID !== job.ID) continue
      if (!latest || latest.CreateIndex < d.CreateIndex) latest = d
    }
    return latest
  }

  /** AllocsByJob, any create index. */
  private allocsOf(job: SimJob): SimAllocation[] {
    return this.store.allocsWhere((a) => a.Namespace === job.Namespace && a.JobID === job.ID)
  }
}

function isNoOp(r: ReconcileResult): boolean {
  return (
    !r.created &&
    r.updates.length === 0 &&
    r.place.length === 0 &&
    r.destructive.length === 0 &&
    r.inplace.length === 0 &&
    r.stop.length === 0 &&
    r.followupOf.size === 0
  )
}
