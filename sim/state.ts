// The simulator's state: Nomad's state store (nomad/state/state_store.go) plus the
// parts of the leader's deployment watcher (nomad/deploymentwatcher/
// deployment_watcher.go) that change deployments on their own. Every change is
// one raft index; tables keep their own index like `state.Index(table)`.
//
// Writes follow memdb's transactions: validate first, then write, so a write
// that fails leaves nothing behind. Like a failed FSM apply in Nomad, it still
// uses up a raft index (the log entry exists) but no table index moves.

import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'

import {
  allocIsTerminal,
  type AllocClientStatus,
  type AllocDeploymentStatus,
  type AllocListStub,
  type Deployment,
  type DeploymentState,
  type DeploymentStatus,
  type DeploymentUpdateResponse,
  type TaskState,
  TERMINAL_DEPLOYMENT_STATUSES,
} from '../src/nomad/types.js'
import { goQuote, goTime, GO_ZERO_TIME, multierrorText, unixNano, uuidIndexKey } from './go.js'

/** structs.DeploymentStatusDescription* (nomad/structs/deployment.go). */
export const STATUS_DESCRIPTION = {
  running: 'Deployment is running',
  runningNeedsPromotion: 'Deployment is running but requires manual promotion',
  runningAutoPromotion: 'Deployment is running pending automatic promotion',
  paused: 'Deployment is paused',
  successful: 'Deployment completed successfully',
  stoppedJob: 'Cancelled because job is stopped',
  newerJob: 'Cancelled due to newer version of job',
  failedAllocations: 'Failed due to unhealthy allocations',
  progressDeadline: 'Failed due to progress deadline',
  failedByUser: 'Deployment marked as failed',
} as const

/** structs.DeploymentStatusDescriptionRollback. */
export const rollbackDescription = (base: string, version: number): string =>
  `${base} - rolling back to job version ${version}`
/** structs.DeploymentStatusDescriptionRollbackNoop. */
export const rollbackNoopDescription = (base: string, version: number): string =>
  `${base} - not rolling back to stable job version ${version} as current job has same specification`
/** structs.DeploymentStatusDescriptionNoRollbackTarget. */
export const noRollbackTargetDescription = (base: string): string =>
  `${base} - no stable job version to auto revert to`

/** An error as a Nomad RPC returns it: the text is what the HTTP API prints, 500 unless coded. */
export class NomadError extends Error {
  constructor(
    message: string,
    readonly status = 500,
  ) {
    super(message)
  }
}

/** Nomad's default update.progress_deadline (structs.DefaultUpdateStrategy). */
const DEFAULT_PROGRESS_DEADLINE_MS = 10 * 60_000

export interface GroupSpec {
  name: string
  count: number
  canaries: number
  autoRevert?: boolean
  autoPromote?: boolean
  /** update.progress_deadline; default 10m as in Nomad. 0 fails the deployment on the first unhealthy alloc. */
  progressDeadlineMs?: number
  /**
   * Whether a failed alloc may still be rescheduled. Default true, as Nomad's default
   * service reschedule policy is unlimited; false makes an unhealthy alloc fail the
   * deployment at once even with a progress deadline (watcher shouldFailEarly).
   */
  reschedule?: boolean
}

export interface JobSpec {
  id: string
  namespace?: string
  groups: GroupSpec[]
  /** Anything else that belongs to the job's specification (an image tag, say); kept in Meta.spec. */
  spec?: string
  /** Register this version as already deployed: stable and running (e.g. version 0 before a test). */
  stable?: boolean
  priority?: number
}

export interface SimTaskGroup {
  Name: string
  Count: number
  Update: {
    Canary: number
    AutoRevert: boolean
    AutoPromote: boolean
    /** Nanoseconds. */
    ProgressDeadline: number
  }
  ReschedulePolicy: { Unlimited: boolean; Attempts: number }
  Tasks: Array<{ Name: string; Driver: string }>
}

/** A job version as GET /v1/job/:job_id serves it: the part of structs.Job the simulator models. */
export interface SimJob {
  Region: string
  Namespace: string
  ID: string
  Name: string
  Type: 'service'
  Priority: number
  Stop: boolean
  Status: 'pending' | 'running' | 'dead'
  StatusDescription: string
  Stable: boolean
  Version: number
  SubmitTime: number
  Meta: Record<string, string> | null
  TaskGroups: SimTaskGroup[]
  CreateIndex: number
  ModifyIndex: number
  JobModifyIndex: number
}

/** structs.Deployment also carries its creation and modification times (Unix ns). */
export type SimDeployment = Deployment & { CreateTime: number; ModifyTime: number }

/** The rest of structs.AllocListStub, served as Nomad serves it. */
export interface SimAllocStub extends AllocListStub {
  NodeName: string
  JobType: string
  DesiredTransition: { Migrate: null; Reschedule: boolean | null; ForceReschedule: null }
  FollowupEvalID: string
  NextAllocation: string
  RescheduleTracker: null
  PreemptedAllocations: null
  PreemptedByAllocation: string
}

/** An allocation as stored: the stub plus the deployment it belongs to (not in the stub). */
type Allocation = SimAllocStub & { DeploymentID: string }

export type Table = 'jobs' | 'deployment' | 'allocs' | 'evals'

/** One applied change, as `on('change')` reports it and blocking queries watch it. */
export interface ChangeRecord {
  /** The raft index of the change; after `restore` it is the snapshot's (lower) index. */
  index: number
  /** performance.now() when the change was applied. */
  at: number
  kind: string
  deployments: string[]
  allocs: string[]
  /** `namespace/jobID` */
  jobs: string[]
  tables: Table[]
  /** A restored snapshot: Nomad abandons the old state store and wakes every blocking query. */
  restore?: boolean
}

interface DeploymentRecord {
  d: SimDeployment
  /** RequireProgressBy per group as epoch ms; 0 is Go's zero time. */
  progressBy: Record<string, number>
}

interface Tables {
  raftIndex: number
  indexes: Record<Table, number>
  /** `namespace\0id` → versions, oldest first; the last one is the `jobs` table entry. */
  jobs: Map<string, SimJob[]>
  /** By lower-case hex UUID key (go-memdb's UUIDFieldIndex). */
  deployments: Map<string, DeploymentRecord>
  allocs: Map<string, Allocation>
}

/** An opaque copy of the whole state, for a leader restore (indexes go back). */
export interface StateSnapshot {
  readonly tables: Tables
}

class Tx {
  readonly deployments = new Set<string>()
  readonly allocs = new Set<string>()
  readonly jobs = new Set<string>()
  readonly tables = new Set<Table>()
  constructor(
    readonly index: number,
    readonly now: number,
  ) {}
}

export interface StateOptions {
  region?: string
  namespaces?: string[]
}

const jobKey = (namespace: string, id: string): string => `${namespace}\0${id}`
const uuidKey = (id: string): string => id.replaceAll('-', '').toLowerCase()
const isActive = (d: Deployment): boolean => !TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)
const isHealthy = (a: Allocation): boolean => a.DeploymentStatus?.Healthy === true
const clone = <T>(v: T): T => structuredClone(v)

/** structs.Deployment.RequiresPromotion. */
function requiresPromotion(d: Deployment): boolean {
  if (d.Status !== 'running') return false
  return Object.values(d.TaskGroups).some((g) => g.DesiredCanaries > 0 && !g.Promoted)
}

/** structs.Deployment.HasAutoPromote. */
function hasAutoPromote(d: Deployment): boolean {
  const groups = Object.values(d.TaskGroups)
  if (groups.length === 0 || d.Status !== 'running') return false
  return groups.every((g) => g.DesiredCanaries <= 0 || g.AutoPromote)
}

/** Job.SpecChanged: everything but status, stability, version, indexes and submit time. */
function specOf(j: SimJob): string {
  return JSON.stringify([j.Priority, j.Meta, j.TaskGroups, j.Stop])
}

export class NomadState {
  readonly region: string
  readonly namespaces: string[]
  /** Every applied change, oldest first. */
  readonly changes: ChangeRecord[] = []

  protected t: Tables = {
    raftIndex: 0,
    indexes: { jobs: 0, deployment: 0, allocs: 0, evals: 0 },
    jobs: new Map(),
    deployments: new Map(),
    allocs: new Map(),
  }
  private readonly nodeId = randomUUID()
  private readonly listeners = new Set<(c: ChangeRecord) => void>()
  private readonly waits = new Set<() => void>()
  /** The watcher's progress-deadline timer per deployment and the cutoff it was set for. */
  private readonly deadlines = new Map<string, { at: number; timer?: NodeJS.Timeout }>()
  /** deploymentWatcher.deadlineHit: once set, later failures are described as deadline failures. */
  private readonly deadlineHit = new Set<string>()
  /** Alloc keys per deployment key in UUID order (allocsByDeploymentKey); dropped when one is added. */
  private readonly allocOrder = new Map<string, string[]>()

  constructor(options: StateOptions = {}) {
    this.region = options.region ?? 'global'
    this.namespaces = options.namespaces ?? ['default']
  }

  // ---- readers ---------------------------------------------------------------

  /** The last raft index. */
  index(): number {
    return this.t.raftIndex
  }

  /** state.Index(table): the last raft index that changed the table. */
  tableIndex(table: Table): number {
    return this.t.indexes[table]
  }

  deployment(id: string): SimDeployment | undefined {
    const rec = this.t.deployments.get(uuidKey(id))
    return rec && clone(rec.d)
  }

  /** The deployment's allocations as `/v1/deployment/allocations/:id` lists them. */
  allocations(deploymentId: string): SimAllocStub[] {
    return this.allocsByDeploymentKey(uuidKey(deploymentId)).map(toStub)
  }

  allocation(allocId: string): SimAllocStub | undefined {
    const a = this.t.allocs.get(uuidKey(allocId))
    return a && toStub(a)
  }

  /** The job's latest version. */
  job(id: string, namespace = 'default'): SimJob | undefined {
    const versions = this.t.jobs.get(jobKey(namespace, id))
    return versions && clone(versions[versions.length - 1])
  }

  jobVersions(id: string, namespace = 'default'): SimJob[] {
    return clone(this.t.jobs.get(jobKey(namespace, id)) ?? [])
  }

  /** The job's deployments, newest first. */
  jobDeployments(id: string, namespace = 'default'): SimDeployment[] {
    return [...this.t.deployments.values()]
      .filter((r) => r.d.Namespace === namespace && r.d.JobID === id)
      .sort((a, b) => b.d.CreateIndex - a.d.CreateIndex)
      .map((r) => clone(r.d))
  }

  on(event: 'change', listener: (change: ChangeRecord) => void): () => void {
    if (event !== 'change') throw new Error(`unknown event ${event}`)
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // ---- scenario: jobs ----------------------------------------------------------

  /** Registers a new version of a job (version 0 first). */
  registerJob(spec: JobSpec): { version: number; index: number } {
    const namespace = spec.namespace ?? 'default'
    if (!this.namespaces.includes(namespace)) {
      // state_store.go upsertJobImpl
      throw new Error(`job ${goQuote(spec.id)} is in nonexistent namespace ${goQuote(namespace)}`)
    }
    let version = 0
    const index = this.apply('register-job', (tx) => {
      const versions = this.t.jobs.get(jobKey(namespace, spec.id)) ?? []
      const latest = versions[versions.length - 1]
      version = latest ? latest.Version + 1 : 0
      const job: SimJob = {
        Region: this.region,
        Namespace: namespace,
        ID: spec.id,
        Name: spec.id,
        Type: 'service',
        Priority: spec.priority ?? 50,
        Stop: false,
        Status: spec.stable ? 'running' : (latest?.Status ?? 'pending'),
        StatusDescription: '',
        Stable: spec.stable ?? false,
        Version: version,
        SubmitTime: unixNano(tx.now),
        Meta: spec.spec === undefined ? null : { spec: spec.spec },
        TaskGroups: spec.groups.map(toTaskGroup),
        CreateIndex: latest?.CreateIndex ?? tx.index,
        ModifyIndex: tx.index,
        JobModifyIndex: tx.index,
      }
      this.putJobVersion(tx, job)
      return tx.index
    })
    return { version, index }
  }

  /** Marks a job version stable, as a successful deployment does (updateJobStabilityImpl). */
  markStable(jobId: string, version: number, namespace = 'default'): void {
    if (!this.t.jobs.get(jobKey(namespace, jobId))?.[version]) {
      throw new Error(`job ${goQuote(jobId)} has no version ${version}`)
    }
    this.apply('mark-stable', (tx) => this.setJobStability(tx, namespace, jobId, version, true))
  }

  // ---- scenario: deployments -------------------------------------------------------

  /**
   * Creates the deployment of the job's latest version, as the scheduler's plan
   * does, cancelling the job's active older deployment in the same change
   * (reconcile_cluster.go: `Cancelled due to newer version of job`).
   */
  startDeployment(jobId: string, options: { namespace?: string } = {}): string {
    const namespace = options.namespace ?? 'default'
    const versions = this.t.jobs.get(jobKey(namespace, jobId))
    if (!versions) throw new Error(`job ${goQuote(jobId)} not found in namespace ${namespace}`)
    const job = versions[versions.length - 1]
    for (const r of this.t.deployments.values()) {
      if (r.d.Namespace === namespace && r.d.JobID === jobId && r.d.JobVersion === job.Version) {
        throw new Error(`job ${jobId} version ${job.Version} already has deployment ${r.d.ID}`)
      }
    }
    const id = randomUUID()
    this.apply('start-deployment', (tx) => {
      for (const r of this.t.deployments.values()) {
        if (r.d.Namespace === namespace && r.d.JobID === jobId && isActive(r.d)) {
          this.updateDeploymentStatus(tx, r, 'cancelled', STATUS_DESCRIPTION.newerJob)
        }
      }
      const d: SimDeployment = {
        ID: id,
        Namespace: namespace,
        JobID: jobId,
        JobVersion: job.Version,
        JobModifyIndex: job.ModifyIndex,
        JobSpecModifyIndex: job.JobModifyIndex,
        JobCreateIndex: job.CreateIndex,
        IsMultiregion: false,
        TaskGroups: Object.fromEntries(job.TaskGroups.map((g) => [g.Name, newDeploymentState(g)])),
        Status: 'running',
        StatusDescription: STATUS_DESCRIPTION.running,
        EvalPriority: job.Priority,
        CreateIndex: tx.index,
        ModifyIndex: tx.index,
        CreateTime: unixNano(tx.now),
        ModifyTime: unixNano(tx.now),
      }
      // reconcile_cluster.go setDeploymentStatusAndUpdates
      if (requiresPromotion(d)) {
        d.StatusDescription = hasAutoPromote(d)
          ? STATUS_DESCRIPTION.runningAutoPromotion
          : STATUS_DESCRIPTION.runningNeedsPromotion
      }
      const rec: DeploymentRecord = {
        d,
        progressBy: Object.fromEntries(Object.keys(d.TaskGroups).map((g) => [g, 0])),
      }
      this.t.deployments.set(uuidKey(id), rec)
      this.putDeployment(tx, rec)
    })
    return id
  }

  /** Registers a new job version (copying the latest one's groups unless given) and starts its deployment. */
  rollout(
    jobId: string,
    options: { namespace?: string; groups?: GroupSpec[]; spec?: string } = {},
  ): { version: number; deploymentId: string } {
    const namespace = options.namespace ?? 'default'
    const latest = this.job(jobId, namespace)
    if (!latest && !options.groups) throw new Error(`job ${goQuote(jobId)} not found`)
    const groups = options.groups ?? latest?.TaskGroups.map(fromTaskGroup) ?? []
    const next = latest ? latest.Version + 1 : 0
    const { version } = this.registerJob({
      id: jobId,
      namespace,
      groups,
      spec: options.spec ?? `v${next}`,
      priority: latest?.Priority,
    })
    return { version, deploymentId: this.startDeployment(jobId, { namespace }) }
  }

  /**
   * Places canaries for a group (the scheduler's plan): allocs with
   * DeploymentStatus {Canary: true, Healthy: null}; the deployment counts them in
   * PlacedAllocs and PlacedCanaries and starts its progress deadline.
   */
  placeCanaries(
    deploymentId: string,
    group: string,
    n?: number,
    options: { clientStatus?: 'pending' | 'running' } = {},
  ): string[] {
    const rec = this.activeDeployment(deploymentId)
    const g = rec.d.TaskGroups[group]
    if (!g) throw new Error(`deployment ${deploymentId} has no group ${group}`)
    if (g.DesiredCanaries === 0 || g.Promoted) throw new Error(`group ${group} takes no canaries`)
    const count = n ?? g.DesiredCanaries - (g.PlacedCanaries?.length ?? 0)
    return this.place(rec, group, count, true, options.clientStatus ?? 'running')
  }

  /** Places non-canary allocations of the deployment (the rollout after promotion). */
  placeAllocs(
    deploymentId: string,
    group: string,
    n?: number,
    options: { clientStatus?: 'pending' | 'running' } = {},
  ): string[] {
    const rec = this.activeDeployment(deploymentId)
    const g = rec.d.TaskGroups[group]
    if (!g) throw new Error(`deployment ${deploymentId} has no group ${group}`)
    const count =
      n ?? Math.max(0, g.DesiredTotal - (g.PlacedAllocs - (g.PlacedCanaries?.length ?? 0)))
    return this.place(rec, group, count, false, options.clientStatus ?? 'running')
  }

  /**
   * The client reports an alloc's health (state_store.go nestedUpdateAllocFromClient),
   * then the deployment watcher reacts: an unhealthy alloc fails the deployment
   * when the group has no progress deadline or cannot reschedule, and healthy
   * canaries of auto-promote groups are promoted.
   */
  setAllocHealth(allocId: string, healthy: boolean): void {
    this.clientUpdate(allocId, 'alloc-health', (a, now) => {
      if (a.DeploymentStatus?.Healthy === healthy) return
      a.DeploymentStatus = {
        Healthy: healthy,
        Timestamp: goTime(now),
        Canary: a.DeploymentStatus?.Canary ?? false,
        ModifyIndex: 0, // set below from the change's index
      }
    })
  }

  /**
   * The client reports a new ClientStatus. The alloc's ModifyIndex moves, the
   * deployment's does not (health stays as it was). A task that fails before its
   * health is known makes the client report the alloc unhealthy (client/allochealth).
   */
  setClientStatus(allocId: string, status: AllocClientStatus): void {
    this.clientUpdate(allocId, 'client-status', (a, now) => {
      a.ClientStatus = status
      const dead = status === 'complete' || status === 'failed' || status === 'lost'
      a.TaskStates ??= { [a.TaskGroup]: taskState('pending', 0) }
      for (const ts of Object.values(a.TaskStates)) {
        ts.State = dead ? 'dead' : status === 'running' ? 'running' : ts.State
        ts.Failed = status === 'failed'
        if (status === 'running' && ts.StartedAt === GO_ZERO_TIME) ts.StartedAt = goTime(now)
        if (dead) ts.FinishedAt = goTime(now)
      }
      if (status === 'failed' && a.DeploymentID && (a.DeploymentStatus?.Healthy ?? null) === null) {
        a.DeploymentStatus = {
          Healthy: false,
          Timestamp: goTime(now),
          Canary: a.DeploymentStatus?.Canary ?? false,
          ModifyIndex: 0,
        }
      }
    })
  }

  /** The scheduler stops an alloc (DesiredStatus stop); the client keeps its own status. */
  stopAlloc(allocId: string, description = 'alloc not needed due to job update'): void {
    const old = this.requireAlloc(allocId)
    this.apply('stop-alloc', (tx) => {
      const a = clone(old)
      a.DesiredStatus = 'stop'
      a.DesiredDescription = description
      a.ModifyTime = unixNano(tx.now)
      this.putAlloc(tx, a)
    })
    this.watcherReact(old.DeploymentID)
  }

  /** The scheduler marks the deployment successful; its job version becomes stable. */
  completeDeployment(id: string): void {
    const rec = this.activeDeployment(id)
    const unpromoted = Object.entries(rec.d.TaskGroups).filter(
      ([, g]) => g.DesiredCanaries > 0 && !g.Promoted,
    )
    if (unpromoted.length > 0) {
      throw new Error(`deployment ${id} still needs promotion of ${unpromoted.map(([n]) => n)}`)
    }
    this.apply('complete-deployment', (tx) =>
      this.updateDeploymentStatus(tx, rec, 'successful', STATUS_DESCRIPTION.successful),
    )
  }

  cancelDeployment(id: string, description: string = STATUS_DESCRIPTION.stoppedJob): void {
    const rec = this.activeDeployment(id)
    this.apply('cancel-deployment', (tx) =>
      this.updateDeploymentStatus(tx, rec, 'cancelled', description),
    )
  }

  /**
   * The watcher's progress-deadline timer fires now (it also fires by itself at
   * RequireProgressBy). As deploymentWatcher.shouldFail: a paused deployment does
   * not fail, nor a group whose canaries are healthy (by the HealthyAllocs
   * counter) and wait for promotion. Returns whether the deployment failed.
   */
  expireProgressDeadline(id: string): boolean {
    const rec = this.t.deployments.get(uuidKey(id))
    if (!rec || !isActive(rec.d)) return false
    this.deadlineHit.add(rec.d.ID)
    const { fail, rollback } = this.shouldFail(rec)
    if (!fail) return false
    this.apply('progress-deadline', (tx) => {
      this.failWithRollback(tx, rec, STATUS_DESCRIPTION.progressDeadline, rollback, true)
      this.createEval(tx)
    })
    return true
  }

  /** A copy of the whole state; `restore` brings it back as a newly elected leader would. */
  snapshot(): StateSnapshot {
    return { tables: clone(this.t) }
  }

  /**
   * Restores a snapshot: every index goes back to the snapshot's (blocking
   * queries see `X-Nomad-Index` lower than before). Like Nomad abandoning the
   * state store, this wakes every blocking query; each reruns and keeps waiting
   * while its index is not above the one it was sent.
   */
  restore(snapshot: StateSnapshot): void {
    this.t = clone(snapshot.tables)
    this.allocOrder.clear()
    for (const { timer } of this.deadlines.values()) clearTimeout(timer)
    this.deadlines.clear()
    for (const rec of this.t.deployments.values()) this.rearmDeadline(rec)
    this.emit({
      index: this.t.raftIndex,
      at: performance.now(),
      kind: 'restore',
      deployments: [],
      allocs: [],
      jobs: [],
      tables: [],
      restore: true,
    })
  }

  // ---- the HTTP API's writes (nomad/deployment_endpoint.go → deploymentwatcher) -----

  /** Deployment.Promote after its checks: deploymentWatcher.PromoteDeployment. */
  apiPromote(id: string, all: boolean, groups: string[]): DeploymentUpdateResponse {
    const rec = this.requireRecord(id)
    const res = this.apply('promote', (tx) => {
      this.promote(tx, rec, all, groups)
      return writeResponse(tx.index, this.createEval(tx))
    })
    return res
  }

  /** deploymentWatcher.PauseDeployment: pausing creates no evaluation, resuming does. */
  apiPause(id: string, pause: boolean): DeploymentUpdateResponse {
    const rec = this.requireRecord(id)
    return this.apply(pause ? 'pause' : 'resume', (tx) => {
      if (pause) {
        this.updateDeploymentStatus(tx, rec, 'paused', STATUS_DESCRIPTION.paused)
        return { ...writeResponse(tx.index, ''), EvalCreateIndex: 0 }
      }
      this.updateDeploymentStatus(tx, rec, 'running', STATUS_DESCRIPTION.running)
      return writeResponse(tx.index, this.createEval(tx))
    })
  }

  /** deploymentWatcher.FailDeployment: rolls back when any group has auto_revert. */
  apiFail(id: string): DeploymentUpdateResponse {
    const rec = this.requireRecord(id)
    const rollback = Object.values(rec.d.TaskGroups).some((g) => g.AutoRevert)
    return this.apply('fail', (tx) => {
      const reverted = this.failWithRollback(
        tx,
        rec,
        STATUS_DESCRIPTION.failedByUser,
        rollback,
        true,
      )
      return { ...writeResponse(tx.index, this.createEval(tx)), RevertedJobVersion: reverted }
    })
  }

  /**
   * deploymentWatcher.setAllocHealth + state_store.go UpdateDeploymentAllocHealth.
   * `requestedId` is the ID as the request spelled it: the store compares allocs'
   * DeploymentID with it as a string.
   */
  apiSetAllocHealth(
    requestedId: string,
    healthyIds: string[],
    unhealthyIds: string[],
  ): DeploymentUpdateResponse {
    const rec = this.requireRecord(requestedId)
    // The watcher decides, before the write, whether an unhealthy alloc's group
    // reverts the job (first such alloc in the deployment's alloc order).
    let desc: string = STATUS_DESCRIPTION.failedAllocations
    let revertTo: SimJob | undefined
    if (unhealthyIds.length > 0) {
      const unhealthy = new Set(unhealthyIds)
      const reverting = this.allocsByDeploymentKey(uuidKey(rec.d.ID)).find(
        (a) => unhealthy.has(a.ID) && rec.d.TaskGroups[a.TaskGroup]?.AutoRevert,
      )
      if (reverting) {
        const target = this.rollbackTarget(rec, desc)
        if (target) ({ desc, job: revertTo } = target)
      }
    }
    const res = this.apply('alloc-health', (tx) => {
      const updates: Array<[Allocation, boolean]> = []
      for (const [ids, healthy] of [
        [healthyIds, true],
        [unhealthyIds, false],
      ] as const) {
        for (const id of ids) {
          const key = uuidIndexKey(id, true)
          if ('error' in key)
            throw new NomadError(`alloc ${goQuote(id)} lookup failed: ${key.error}`)
          const a = this.t.allocs.get(key.key)
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
        const old = this.t.allocs.get(uuidKey(a.ID)) as Allocation
        const next = clone(old)
        next.DeploymentStatus = {
          Healthy: healthy,
          Timestamp: goTime(tx.now),
          Canary: old.DeploymentStatus?.Canary ?? false,
          ModifyIndex: tx.index,
        }
        next.ModifyTime = unixNano(tx.now)
        this.updateDeploymentWithAlloc(tx, next, old)
        this.putAlloc(tx, next)
      }
      let reverted: number | null = null
      if (unhealthyIds.length > 0) {
        this.updateDeploymentStatus(tx, rec, 'failed', desc)
        if (revertTo) reverted = this.revertJob(tx, revertTo)
      }
      return { ...writeResponse(tx.index, this.createEval(tx)), RevertedJobVersion: reverted }
    })
    this.watcherReact(rec.d.ID)
    return res
  }

  // ---- lookups for the HTTP API --------------------------------------------------

  /** deploymentByIDImpl: by UUID bytes, so any case and hyphen placement of a full UUID. */
  protected deploymentByKey(key: string): SimDeployment | undefined {
    return this.t.deployments.get(key)?.d
  }

  /** All deployments in go-memdb's `id` index order (by UUID bytes). */
  protected deploymentsByKey(): Array<[string, SimDeployment]> {
    return [...this.t.deployments.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, r]) => [k, r.d])
  }

  /** AllocsByDeployment: the `deployment` index of allocs, ordered by alloc UUID. */
  protected allocsByDeploymentKey(key: string): Allocation[] {
    // The order only changes when an alloc is added: keep it, so a deployment
    // of thousands of allocs does not cost a sort on every change.
    let keys = this.allocOrder.get(key)
    if (!keys) {
      keys = [...this.t.allocs.entries()]
        .filter(([, a]) => uuidKey(a.DeploymentID) === key)
        .map(([k]) => k)
        .sort()
      this.allocOrder.set(key, keys)
    }
    return keys.map((k) => this.t.allocs.get(k) as Allocation)
  }

  protected allocDeploymentKey(allocId: string): string | undefined {
    const a = this.t.allocs.get(uuidKey(allocId))
    return a && uuidKey(a.DeploymentID)
  }

  protected jobLatest(namespace: string, id: string): SimJob | undefined {
    const versions = this.t.jobs.get(jobKey(namespace, id))
    return versions?.[versions.length - 1]
  }

  /**
   * Resolves when a change matching `pred` is applied (true), or after
   * `timeoutMs`, on `signal` or on `dispose` (false). A restore matches everything.
   */
  protected waitForChange(
    pred: (c: ChangeRecord) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false)
      const done = (woke: boolean): void => {
        clearTimeout(timer)
        this.listeners.delete(listener)
        this.waits.delete(cancel)
        signal.removeEventListener('abort', cancel)
        resolve(woke)
      }
      const listener = (c: ChangeRecord): void => {
        if (c.restore || pred(c)) done(true)
      }
      const cancel = (): void => done(false)
      const timer = setTimeout(cancel, timeoutMs)
      this.listeners.add(listener)
      this.waits.add(cancel)
      signal.addEventListener('abort', cancel)
    })
  }

  /** Ends every wait and deadline timer. */
  protected dispose(): void {
    for (const cancel of [...this.waits]) cancel()
    for (const { timer } of this.deadlines.values()) clearTimeout(timer)
    this.deadlines.clear()
  }

  // ---- the write path ----------------------------------------------------------------

  /**
   * One raft apply. The index is taken first (a failed apply still uses it up);
   * tables touched by the change take its index, then watchers are told.
   */
  private apply<T>(kind: string, fn: (tx: Tx) => T): T {
    const tx = new Tx(++this.t.raftIndex, Date.now())
    const result = fn(tx)
    for (const table of tx.tables) this.t.indexes[table] = tx.index
    for (const key of tx.deployments) {
      const rec = this.t.deployments.get(key)
      if (rec) this.rearmDeadline(rec)
    }
    this.emit({
      index: tx.index,
      at: performance.now(),
      kind,
      deployments: [...tx.deployments].map((k) => this.t.deployments.get(k)?.d.ID ?? k),
      allocs: [...tx.allocs].map((k) => this.t.allocs.get(k)?.ID ?? k),
      jobs: [...tx.jobs],
      tables: [...tx.tables],
    })
    return result
  }

  private emit(change: ChangeRecord): void {
    this.changes.push(change)
    for (const listener of [...this.listeners]) listener(change)
  }

  private putDeployment(tx: Tx, rec: DeploymentRecord): void {
    rec.d.ModifyIndex = tx.index
    for (const [g, at] of Object.entries(rec.progressBy)) {
      rec.d.TaskGroups[g].RequireProgressBy = goTime(at)
    }
    tx.deployments.add(uuidKey(rec.d.ID))
    tx.tables.add('deployment')
    // upsertDeploymentImpl: a successful deployment makes its job version stable.
    if (rec.d.Status === 'successful') {
      this.setJobStability(tx, rec.d.Namespace, rec.d.JobID, rec.d.JobVersion, true)
    }
  }

  private putAlloc(tx: Tx, a: Allocation): void {
    a.ModifyIndex = tx.index
    const before = this.t.allocs.get(uuidKey(a.ID))
    if (before?.DeploymentID !== a.DeploymentID) {
      if (before) this.allocOrder.delete(uuidKey(before.DeploymentID))
      this.allocOrder.delete(uuidKey(a.DeploymentID))
    }
    this.t.allocs.set(uuidKey(a.ID), a)
    tx.allocs.add(uuidKey(a.ID))
    tx.tables.add('allocs')
  }

  private putJobVersion(tx: Tx, job: SimJob): void {
    const key = jobKey(job.Namespace, job.ID)
    const versions = this.t.jobs.get(key) ?? []
    versions[job.Version] = job
    this.t.jobs.set(key, versions)
    tx.jobs.add(`${job.Namespace}/${job.ID}`)
    tx.tables.add('jobs')
  }

  private createEval(tx: Tx): string {
    tx.tables.add('evals')
    return randomUUID()
  }

  /** updateJobStabilityImpl: a no-op when the version already has that stability. */
  private setJobStability(
    tx: Tx,
    namespace: string,
    jobId: string,
    version: number,
    stable: boolean,
  ): void {
    const job = this.t.jobs.get(jobKey(namespace, jobId))?.[version]
    if (!job || job.Stable === stable) return
    this.putJobVersion(tx, { ...clone(job), Stable: stable, ModifyIndex: tx.index })
  }

  /** The watcher's revert: the stable version's spec as a new version (Stable kept, as Nomad does). */
  private revertJob(tx: Tx, stable: SimJob): number {
    const latest = this.jobLatest(stable.Namespace, stable.ID) as SimJob
    this.putJobVersion(tx, {
      ...clone(stable),
      Version: latest.Version + 1,
      Status: latest.Status,
      SubmitTime: unixNano(tx.now),
      CreateIndex: latest.CreateIndex,
      ModifyIndex: tx.index,
      JobModifyIndex: tx.index,
    })
    return stable.Version
  }

  /** updateDeploymentStatusImpl. */
  private updateDeploymentStatus(
    tx: Tx,
    rec: DeploymentRecord,
    status: DeploymentStatus,
    description: string,
  ): void {
    if (!isActive(rec.d)) {
      throw new NomadError(
        `Deployment ${goQuote(rec.d.ID)} has terminal status ${goQuote(rec.d.Status)}:`,
      )
    }
    rec.d.Status = status
    rec.d.StatusDescription = description
    rec.d.ModifyTime = unixNano(tx.now)
    // Pausing or resuming restarts every group's progress deadline from now.
    if (status === 'paused' || status === 'running') {
      for (const [g, s] of Object.entries(rec.d.TaskGroups)) {
        if (s.ProgressDeadline !== 0) rec.progressBy[g] = tx.now + s.ProgressDeadline / 1e6
      }
    }
    this.putDeployment(tx, rec)
  }

  /** latestStableJob + handleRollbackValidity: where a failed deployment rolls back to, if anywhere. */
  private rollbackTarget(
    rec: DeploymentRecord,
    base: string,
  ): { desc: string; job?: SimJob } | undefined {
    const versions = this.t.jobs.get(jobKey(rec.d.Namespace, rec.d.JobID)) ?? []
    const stable = [...versions].reverse().find((j) => j.Stable)
    if (!stable) return undefined
    const current = versions[versions.length - 1]
    // Only roll back to a different specification, or a failing stable version would loop.
    if (specOf(current) !== specOf(stable)) {
      return { desc: rollbackDescription(base, stable.Version), job: stable }
    }
    return { desc: rollbackNoopDescription(base, stable.Version) }
  }

  /** Fails a deployment, rolling back when asked; returns the version rolled back to. */
  private failWithRollback(
    tx: Tx,
    rec: DeploymentRecord,
    base: string,
    rollback: boolean,
    mentionNoTarget: boolean,
  ): number | null {
    let desc = base
    let job: SimJob | undefined
    if (rollback) {
      const target = this.rollbackTarget(rec, base)
      if (target) ({ desc, job } = target)
      else if (mentionNoTarget) desc = noRollbackTargetDescription(base)
    }
    this.updateDeploymentStatus(tx, rec, 'failed', desc)
    return job ? this.revertJob(tx, job) : null
  }

  /** state_store.go UpdateDeploymentPromotion. */
  private promote(tx: Tx, rec: DeploymentRecord, all: boolean, groups: string[]): void {
    const d = rec.d
    if (!isActive(d)) {
      throw new NomadError(`Deployment ${goQuote(d.ID)} has terminal status ${goQuote(d.Status)}:`)
    }
    const selected = (tg: string): boolean => all || groups.includes(tg)
    const canaries = new Set(Object.values(d.TaskGroups).flatMap((g) => g.PlacedCanaries ?? []))
    const healthyCounts: Record<string, number> = {}
    const promotable: Allocation[] = []
    for (const a of this.allocsByDeploymentKey(uuidKey(d.ID))) {
      if (!canaries.has(a.ID) || !selected(a.TaskGroup)) continue
      if (allocIsTerminal(a) || !isHealthy(a)) continue
      healthyCounts[a.TaskGroup] = (healthyCounts[a.TaskGroup] ?? 0) + 1
      promotable.push(a)
    }
    // Nomad walks a Go map here, so the order of several errors varies; ours is by name.
    const errors: string[] = []
    for (const [tg, s] of Object.entries(d.TaskGroups).sort(([a], [b]) => a.localeCompare(b))) {
      if (!selected(tg) || s.DesiredCanaries === 0) continue
      const have = healthyCounts[tg] ?? 0
      if (have < s.DesiredCanaries) {
        errors.push(
          `Task group ${goQuote(tg)} has ${have}/${s.DesiredCanaries} healthy allocations`,
        )
      }
    }
    if (errors.length > 0) throw new NomadError(multierrorText(errors))

    for (const [tg, s] of Object.entries(d.TaskGroups)) {
      if (!selected(tg)) continue
      if (s.ProgressDeadline > 0 && rec.progressBy[tg] !== 0) {
        rec.progressBy[tg] = tx.now + s.ProgressDeadline / 1e6
      }
      s.Promoted = true
    }
    if (!requiresPromotion(d) && d.Status === 'running') {
      d.StatusDescription = STATUS_DESCRIPTION.running
    }
    d.ModifyTime = unixNano(tx.now)
    this.putDeployment(tx, rec)
    // A promoted canary is no longer a canary (AllocDeploymentStatus.Canary doc).
    for (const a of promotable) {
      const next = clone(a)
      next.DeploymentStatus = { ...(a.DeploymentStatus as AllocDeploymentStatus), Canary: false }
      next.DeploymentStatus.ModifyIndex = tx.index
      this.putAlloc(tx, next)
    }
    tx.tables.add('allocs')
  }

  /** state_store.go updateDeploymentWithAlloc: the deployment's counters follow its allocs. */
  private updateDeploymentWithAlloc(tx: Tx, alloc: Allocation, existing?: Allocation): void {
    const rec = this.t.deployments.get(uuidKey(alloc.DeploymentID))
    const s = rec?.d.TaskGroups[alloc.TaskGroup]
    if (!rec || !s) return
    let placed = 0
    let healthy = 0
    let unhealthy = 0
    const existingHealth = existing?.DeploymentStatus?.Healthy ?? null
    const allocHealth = alloc.DeploymentStatus?.Healthy ?? null
    if (!existing || existing.DeploymentID !== alloc.DeploymentID) {
      placed++
    } else if (existingHealth === null && allocHealth !== null) {
      if (allocHealth) healthy++
      else unhealthy++
    } else if (existingHealth !== null && allocHealth !== null) {
      // Healthy → unhealthy moves one count across; unhealthy → healthy moves none.
      if (existingHealth && !allocHealth) {
        healthy--
        unhealthy++
      }
    }
    if (placed === 0 && healthy === 0 && unhealthy === 0) return
    if (alloc.DeploymentStatus && healthy + unhealthy !== 0) {
      alloc.DeploymentStatus.ModifyIndex = tx.index
    }
    rec.d.ModifyTime = alloc.ModifyTime
    s.PlacedAllocs += placed
    s.HealthyAllocs += healthy
    s.UnhealthyAllocs += unhealthy
    if (alloc.DeploymentStatus?.Canary && !(s.PlacedCanaries ?? []).includes(alloc.ID)) {
      s.PlacedCanaries = [...(s.PlacedCanaries ?? []), alloc.ID]
    }
    if (s.ProgressDeadline !== 0) {
      const pdMs = s.ProgressDeadline / 1e6
      if (placed !== 0 && rec.progressBy[alloc.TaskGroup] === 0) {
        rec.progressBy[alloc.TaskGroup] = alloc.ModifyTime / 1e6 + pdMs
      } else if (healthy !== 0) {
        rec.progressBy[alloc.TaskGroup] = Math.max(rec.progressBy[alloc.TaskGroup], tx.now + pdMs)
      }
    }
    this.putDeployment(tx, rec)
  }

  private place(
    rec: DeploymentRecord,
    group: string,
    count: number,
    canary: boolean,
    clientStatus: 'pending' | 'running',
  ): string[] {
    const ids: string[] = []
    this.apply(canary ? 'place-canaries' : 'place-allocs', (tx) => {
      const evalId = randomUUID()
      const first = rec.d.TaskGroups[group].PlacedAllocs
      for (let i = 0; i < count; i++) {
        const id = randomUUID()
        const alloc: Allocation = {
          ID: id,
          EvalID: evalId,
          Name: `${rec.d.JobID}.${group}[${first + i}]`,
          Namespace: rec.d.Namespace,
          NodeID: this.nodeId,
          NodeName: 'sim-node-1',
          JobID: rec.d.JobID,
          JobType: 'service',
          JobVersion: rec.d.JobVersion,
          TaskGroup: group,
          DesiredStatus: 'run',
          DesiredDescription: '',
          ClientStatus: clientStatus,
          ClientDescription: clientStatus === 'running' ? 'Tasks are running' : '',
          DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null },
          // A placed alloc has no task states until its client reports one.
          TaskStates: clientStatus === 'running' ? { [group]: taskState('running', tx.now) } : null,
          // The scheduler marks canaries; other allocs get a status with their health.
          DeploymentStatus: canary
            ? { Healthy: null, Timestamp: GO_ZERO_TIME, Canary: true, ModifyIndex: 0 }
            : null,
          FollowupEvalID: '',
          NextAllocation: '',
          RescheduleTracker: null,
          PreemptedAllocations: null,
          PreemptedByAllocation: '',
          CreateIndex: tx.index,
          ModifyIndex: tx.index,
          CreateTime: unixNano(tx.now),
          ModifyTime: unixNano(tx.now),
          DeploymentID: rec.d.ID,
        }
        this.updateDeploymentWithAlloc(tx, alloc)
        this.putAlloc(tx, alloc)
        ids.push(id)
      }
      const job = this.jobLatest(rec.d.Namespace, rec.d.JobID)
      if (job && job.Status !== 'running') {
        this.putJobVersion(tx, { ...clone(job), Status: 'running', ModifyIndex: tx.index })
      }
      this.createEval(tx)
    })
    this.watcherReact(rec.d.ID)
    return ids
  }

  /** A client alloc update (UpdateAllocsFromClient), then the watcher's reaction. */
  private clientUpdate(
    allocId: string,
    kind: string,
    change: (a: Allocation, now: number) => void,
  ): void {
    const old = this.requireAlloc(allocId)
    this.apply(kind, (tx) => {
      const a = clone(old)
      change(a, tx.now)
      const healthChanged = a.DeploymentStatus?.Healthy !== old.DeploymentStatus?.Healthy
      if (a.DeploymentStatus && healthChanged) a.DeploymentStatus.ModifyIndex = tx.index
      a.ModifyTime = unixNano(tx.now)
      this.updateDeploymentWithAlloc(tx, a, old)
      this.putAlloc(tx, a)
    })
    this.watcherReact(old.DeploymentID)
  }

  /**
   * deploymentWatcher.watch on an alloc change: fail the deployment on an
   * unhealthy alloc that cannot wait for its progress deadline (shouldFailEarly),
   * else auto-promote when every canary group allows it and is healthy.
   */
  private watcherReact(deploymentId: string): void {
    const rec = this.t.deployments.get(uuidKey(deploymentId))
    if (!rec || !isActive(rec.d)) return
    const allocs = this.allocsByDeploymentKey(uuidKey(deploymentId))
    let fail = false
    let rollback = false
    for (const a of allocs) {
      const s = rec.d.TaskGroups[a.TaskGroup]
      if (!s || a.DeploymentStatus?.Healthy !== false) continue
      const canReschedule = this.groupSpec(rec, a.TaskGroup)?.ReschedulePolicy.Unlimited ?? true
      if (s.ProgressDeadline === 0 || !canReschedule) {
        fail = true
        rollback ||= s.AutoRevert
      }
    }
    if (fail) {
      const base = this.deadlineHit.has(rec.d.ID)
        ? STATUS_DESCRIPTION.progressDeadline
        : STATUS_DESCRIPTION.failedAllocations
      this.apply('deployment-failed', (tx) => {
        this.failWithRollback(tx, rec, base, rollback, true)
        this.createEval(tx)
      })
      return
    }
    // autoPromoteDeployment
    const d = rec.d
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
      this.apply('auto-promote', (tx) => {
        this.promote(tx, rec, true, [])
        this.createEval(tx)
      })
    } catch (e) {
      // The watcher only logs a failed auto-promotion ("failed to auto promote deployment").
      if (!(e instanceof NomadError)) throw e
    }
  }

  /** deploymentWatcher.shouldFail, at the progress deadline. */
  private shouldFail(rec: DeploymentRecord): { fail: boolean; rollback: boolean } {
    if (rec.d.Status === 'paused') return { fail: false, rollback: false }
    let fail = false
    for (const s of Object.values(rec.d.TaskGroups)) {
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

  /**
   * The watcher's deadline timer (getDeploymentProgressCutoff): the earliest
   * RequireProgressBy of the groups not yet done; no timer while that is zero.
   */
  private rearmDeadline(rec: DeploymentRecord): void {
    const id = rec.d.ID
    const current = this.deadlines.get(id)
    if (!isActive(rec.d)) {
      clearTimeout(current?.timer)
      this.deadlines.delete(id)
      return
    }
    const healthy: Record<string, number> = {}
    for (const a of this.allocsByDeploymentKey(uuidKey(id))) {
      if (!allocIsTerminal(a) && isHealthy(a))
        healthy[a.TaskGroup] = (healthy[a.TaskGroup] ?? 0) + 1
    }
    let next = 0
    for (const [g, s] of Object.entries(rec.d.TaskGroups)) {
      const done = !(s.DesiredCanaries !== 0 && !s.Promoted) && (healthy[g] ?? 0) >= s.DesiredTotal
      const by = rec.progressBy[g]
      if (done || by === 0) continue
      if (next === 0 || by < next) next = by
    }
    if (current && current.at === next) return
    clearTimeout(current?.timer)
    const timer =
      next === 0
        ? undefined
        : setTimeout(() => this.expireProgressDeadline(id), Math.max(0, next - Date.now()))
    timer?.unref()
    this.deadlines.set(id, { at: next, timer })
  }

  private groupSpec(rec: DeploymentRecord, group: string): SimTaskGroup | undefined {
    const job = this.t.jobs.get(jobKey(rec.d.Namespace, rec.d.JobID))?.[rec.d.JobVersion]
    return job?.TaskGroups.find((g) => g.Name === group)
  }

  private requireRecord(id: string): DeploymentRecord {
    const rec = this.t.deployments.get(uuidKey(id))
    if (!rec) throw new NomadError('deployment not found')
    return rec
  }

  private activeDeployment(id: string): DeploymentRecord {
    const rec = this.t.deployments.get(uuidKey(id))
    if (!rec) throw new Error(`deployment ${id} not found`)
    if (!isActive(rec.d)) throw new Error(`deployment ${id} is ${rec.d.Status}`)
    return rec
  }

  private requireAlloc(id: string): Allocation {
    const a = this.t.allocs.get(uuidKey(id))
    if (!a) throw new Error(`allocation ${id} not found`)
    return a
  }
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

/** A task's state as the client reports it (structs.TaskState), with its one task named after the group. */
function taskState(
  state: TaskState['State'],
  startedAt: number,
): TaskState & Record<string, unknown> {
  return {
    State: state,
    Failed: false,
    Restarts: 0,
    LastRestart: GO_ZERO_TIME,
    StartedAt: goTime(startedAt),
    FinishedAt: GO_ZERO_TIME,
    Events: [],
  }
}

function newDeploymentState(g: SimTaskGroup): DeploymentState {
  return {
    AutoRevert: g.Update.AutoRevert,
    AutoPromote: g.Update.AutoPromote,
    ProgressDeadline: g.Update.ProgressDeadline,
    RequireProgressBy: GO_ZERO_TIME,
    Promoted: false,
    PlacedCanaries: null,
    DesiredCanaries: g.Update.Canary,
    DesiredTotal: g.Count,
    PlacedAllocs: 0,
    HealthyAllocs: 0,
    UnhealthyAllocs: 0,
  }
}

function toTaskGroup(g: GroupSpec): SimTaskGroup {
  const reschedule = g.reschedule ?? true
  return {
    Name: g.name,
    Count: g.count,
    Update: {
      Canary: g.canaries,
      AutoRevert: g.autoRevert ?? false,
      AutoPromote: g.autoPromote ?? false,
      ProgressDeadline: (g.progressDeadlineMs ?? DEFAULT_PROGRESS_DEADLINE_MS) * 1e6,
    },
    ReschedulePolicy: { Unlimited: reschedule, Attempts: 0 },
    Tasks: [{ Name: g.name, Driver: 'docker' }],
  }
}

function fromTaskGroup(g: SimTaskGroup): GroupSpec {
  return {
    name: g.Name,
    count: g.Count,
    canaries: g.Update.Canary,
    autoRevert: g.Update.AutoRevert,
    autoPromote: g.Update.AutoPromote,
    progressDeadlineMs: g.Update.ProgressDeadline / 1e6,
    reschedule: g.ReschedulePolicy.Unlimited,
  }
}

/** alloc.Stub(): the stub has no DeploymentID. */
function toStub(a: Allocation): SimAllocStub {
  const { DeploymentID: _omit, ...stub } = clone(a)
  return stub
}
