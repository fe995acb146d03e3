// The scenario verbs: what a test makes the cluster do by hand, standing in for
// the scheduler (register a version, start its deployment, place allocations)
// and for the clients (report status and health). Each verb is one raft index,
// like the change it stands for; the deployment watcher reacts after it.

import type { AllocClientStatus, DeploymentState } from '../src/nomad/types.js'
import { goQuote, goTime, GO_ZERO_TIME, unixNano } from './go.js'
import {
  clone,
  copyAlloc,
  fromTaskGroup,
  hasAutoPromote,
  isActive,
  newDeployment,
  newDeploymentState,
  requiresPromotion,
  specOf,
  STATUS_DESCRIPTION,
  taskState,
  toTaskGroup,
  uuidKey,
  type GroupSpec,
  type JobSpec,
  type SimAllocation,
  type SimDeployment,
  type SimJob,
} from './model.js'
import {
  newEvaluation,
  putNewJobVersion,
  refreshJobStatus,
  reportHealth,
  setJobStability,
  updateAllocFromClient,
  updateDeploymentStatus,
  updateDeploymentWithAlloc,
  upsertDeployment,
  upsertEval,
} from './statestore.js'
import type { Store } from './store.js'
import type { Tx } from './tx.js'
import type { DeploymentWatcher } from './watcher.js'

export interface Cluster {
  readonly store: Store
  readonly watcher: DeploymentWatcher
  readonly region: string
  readonly namespaces: string[]
  /** The one simulated client node. */
  readonly nodeId: string
}

export class ScenarioVerbs {
  constructor(private readonly c: Cluster) {}

  // ---- jobs --------------------------------------------------------------------------

  /** Registers a new version of a job (version 0 first). No evaluation: nothing schedules it. */
  registerJob(spec: JobSpec): { version: number; index: number } {
    const namespace = this.requireNamespace(spec)
    let version = 0
    const index = this.c.store.apply('register-job', (tx) => {
      const latest = tx.jobLatest(namespace, spec.id)
      version = latest ? latest.Version + 1 : 0
      tx.putJobVersion({
        ...jobVersion(this.c.region, namespace, spec, latest),
        Version: version,
        SubmitTime: unixNano(tx.now),
        CreateIndex: latest?.CreateIndex ?? tx.index,
        ModifyIndex: tx.index,
        JobModifyIndex: tx.index,
      })
      return tx.index
    })
    return { version, index }
  }

  /**
   * `nomad job run` (nomad/job_endpoint.go Register): a new version when the
   * specification changed, else none, and a pending `job-register` evaluation
   * either way; the scheduler takes it after its lag. In the same raft index as
   * the version (fsm.go applyUpsertJob), the evaluation's JobModifyIndex is that
   * index; for an unchanged specification Register writes the evaluation alone
   * (EvalUpdateRequestType) and its JobModifyIndex stays 0.
   */
  submitJob(spec: JobSpec): SubmitResult {
    const namespace = this.requireNamespace(spec)
    const latest = this.c.store.jobLatest(namespace, spec.id)
    const candidate = jobVersion(this.c.region, namespace, spec, latest)
    const changed = !latest || specOf(latest) !== specOf(candidate)
    return this.c.store.apply(changed ? 'job-register' : 'eval-update', (tx) => {
      tx.schedule(namespace, spec.id)
      let job = latest as SimJob
      if (changed) {
        job = putNewJobVersion(tx, candidate, latest)
      }
      const e = upsertEval(
        tx,
        newEvaluation(tx, {
          Namespace: namespace,
          JobID: spec.id,
          Priority: job.Priority,
          TriggeredBy: 'job-register',
          JobModifyIndex: changed ? tx.index : 0,
        }),
      )
      refreshJobStatus(tx, namespace, spec.id)
      return {
        evalId: e.ID,
        version: job.Version,
        index: tx.index,
        jobModifyIndex: changed ? tx.index : job.ModifyIndex,
        changed,
      }
    })
  }

  /** Marks a job version stable, as a successful deployment does (updateJobStabilityImpl). */
  markStable(jobId: string, version: number, namespace = 'default'): void {
    if (!this.c.store.jobVersions(namespace, jobId)[version]) {
      throw new Error(`job ${goQuote(jobId)} has no version ${version}`)
    }
    this.c.store.apply('mark-stable', (tx) => setJobStability(tx, namespace, jobId, version, true))
  }

  // ---- deployments ---------------------------------------------------------------------

  /**
   * Creates the deployment of the job's latest version, as the scheduler's plan
   * does, cancelling the job's active older deployment in the same change
   * (reconcile_cluster.go: `Cancelled due to newer version of job`).
   */
  startDeployment(jobId: string, options: { namespace?: string } = {}): string {
    const namespace = options.namespace ?? 'default'
    const job = this.c.store.jobLatest(namespace, jobId)
    if (!job) throw new Error(`job ${goQuote(jobId)} not found in namespace ${namespace}`)
    for (const [, d] of this.c.store.deploymentsByKey()) {
      if (d.Namespace === namespace && d.JobID === jobId && d.JobVersion === job.Version) {
        throw new Error(`job ${jobId} version ${job.Version} already has deployment ${d.ID}`)
      }
    }
    const id = this.c.store.newId()
    this.c.store.apply('start-deployment', (tx) => {
      for (const d of tx.allDeployments()) {
        if (d.Namespace === namespace && d.JobID === jobId && isActive(d)) {
          updateDeploymentStatus(tx, d.ID, 'cancelled', STATUS_DESCRIPTION.newerJob)
        }
      }
      upsertDeployment(tx, jobDeployment(tx, job, id))
    })
    return id
  }

  /** Registers a new job version (copying the latest one's groups unless given) and starts its deployment. */
  rollout(
    jobId: string,
    options: { namespace?: string; groups?: GroupSpec[]; spec?: string } = {},
  ): { version: number; deploymentId: string } {
    const namespace = options.namespace ?? 'default'
    const latest = this.c.store.jobLatest(namespace, jobId)
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
    const [d, g] = this.activeGroup(deploymentId, group)
    if (g.DesiredCanaries === 0 || g.Promoted) throw new Error(`group ${group} takes no canaries`)
    const count = n ?? g.DesiredCanaries - (g.PlacedCanaries?.length ?? 0)
    return this.place(d, group, count, true, options.clientStatus ?? 'running')
  }

  /** Places non-canary allocations of the deployment (the rollout after promotion). */
  placeAllocs(
    deploymentId: string,
    group: string,
    n?: number,
    options: { clientStatus?: 'pending' | 'running' } = {},
  ): string[] {
    const [d, g] = this.activeGroup(deploymentId, group)
    const count =
      n ?? Math.max(0, g.DesiredTotal - (g.PlacedAllocs - (g.PlacedCanaries?.length ?? 0)))
    return this.place(d, group, count, false, options.clientStatus ?? 'running')
  }

  /** The scheduler marks the deployment successful; its job version becomes stable. */
  completeDeployment(id: string): void {
    const d = this.activeDeployment(id)
    const unpromoted = Object.entries(d.TaskGroups).filter(
      ([, g]) => g.DesiredCanaries > 0 && !g.Promoted,
    )
    if (unpromoted.length > 0) {
      throw new Error(`deployment ${id} still needs promotion of ${unpromoted.map(([n]) => n)}`)
    }
    this.c.store.apply('complete-deployment', (tx) =>
      updateDeploymentStatus(tx, d.ID, 'successful', STATUS_DESCRIPTION.successful),
    )
  }

  cancelDeployment(id: string, description: string = STATUS_DESCRIPTION.stoppedJob): void {
    const d = this.activeDeployment(id)
    this.c.store.apply('cancel-deployment', (tx) =>
      updateDeploymentStatus(tx, d.ID, 'cancelled', description),
    )
  }

  // ---- allocations -------------------------------------------------------------------------

  /**
   * The client reports an alloc's health (state_store.go nestedUpdateAllocFromClient),
   * then the deployment watcher reacts: an unhealthy alloc fails the deployment
   * when the group has no progress deadline or cannot reschedule, and healthy
   * canaries of auto-promote groups are promoted.
   */
  setAllocHealth(allocId: string, healthy: boolean): void {
    this.requireAlloc(allocId)
    this.c.store.apply('alloc-health', (tx) =>
      updateAllocFromClient(tx, allocId, (a) => reportHealth(a, healthy, tx.now)),
    )
  }

  /**
   * The client reports a new ClientStatus. The alloc's ModifyIndex moves, the
   * deployment's does not (health stays as it was). A task that fails before its
   * health is known makes the client report the alloc unhealthy (client/allochealth).
   */
  setClientStatus(allocId: string, status: AllocClientStatus): void {
    this.requireAlloc(allocId)
    this.c.store.apply('client-status', (tx) =>
      updateAllocFromClient(tx, allocId, (a) => applyClientStatus(a, status, tx.now)),
    )
  }

  /** The scheduler stops an alloc (DesiredStatus stop); the client keeps its own status. */
  stopAlloc(allocId: string, description = 'alloc not needed due to job update'): void {
    const old = this.requireAlloc(allocId)
    this.c.store.apply('stop-alloc', (tx) => {
      const a = copyAlloc(old)
      a.DesiredStatus = 'stop'
      a.DesiredDescription = description
      a.ModifyTime = unixNano(tx.now)
      tx.putAlloc(a)
    })
  }

  // ---- shared -------------------------------------------------------------------------------

  private place(
    d: SimDeployment,
    group: string,
    count: number,
    canary: boolean,
    clientStatus: 'pending' | 'running',
  ): string[] {
    const ids: string[] = []
    this.c.store.apply(canary ? 'place-canaries' : 'place-allocs', (tx) => {
      const evalId = tx.newId()
      const first = (tx.deployment(uuidKey(d.ID)) as SimDeployment).TaskGroups[group].PlacedAllocs
      for (let i = 0; i < count; i++) {
        const alloc = newAllocation(tx, d, group, `${d.JobID}.${group}[${first + i}]`, {
          evalId,
          nodeId: this.c.nodeId,
          clientStatus,
          canary,
        })
        updateDeploymentWithAlloc(tx, alloc)
        tx.putAlloc(alloc)
        ids.push(alloc.ID)
      }
      const job = tx.jobLatest(d.Namespace, d.JobID)
      if (job && job.Status !== 'running') {
        tx.putJobVersion({ ...clone(job), Status: 'running', ModifyIndex: tx.index })
      }
      // The plan updates its evaluation (UpsertPlanResults updateEvalModifyIndex).
      tx.tables.add('evals')
    })
    return ids
  }

  private requireNamespace(spec: JobSpec): string {
    const namespace = spec.namespace ?? 'default'
    if (!this.c.namespaces.includes(namespace)) {
      // state_store.go upsertJobImpl
      throw new Error(`job ${goQuote(spec.id)} is in nonexistent namespace ${goQuote(namespace)}`)
    }
    return namespace
  }

  private activeDeployment(id: string): SimDeployment {
    const d = this.c.store.deploymentByKey(uuidKey(id))
    if (!d) throw new Error(`deployment ${id} not found`)
    if (!isActive(d)) throw new Error(`deployment ${id} is ${d.Status}`)
    return d
  }

  /** An active deployment and one of its groups' state. */
  private activeGroup(deploymentId: string, group: string): [SimDeployment, DeploymentState] {
    const d = this.activeDeployment(deploymentId)
    const g = d.TaskGroups[group]
    if (!g) throw new Error(`deployment ${deploymentId} has no group ${group}`)
    return [d, g]
  }

  private requireAlloc(id: string): SimAllocation {
    const a = this.c.store.allocByKey(uuidKey(id))
    if (!a) throw new Error(`allocation ${id} not found`)
    return a
  }
}

/** What `submitJob` did. */
export interface SubmitResult {
  /** The `job-register` evaluation. */
  evalId: string
  /** The job's version: a new one, or the latest when the specification did not change. */
  version: number
  /** The raft index of the registration (and of the evaluation). */
  index: number
  jobModifyIndex: number
  /** Whether the specification changed (a new version). */
  changed: boolean
}

/** The job version a spec describes, before the store sets its version and indexes. */
function jobVersion(region: string, namespace: string, spec: JobSpec, latest?: SimJob): SimJob {
  return {
    Region: region,
    Namespace: namespace,
    ID: spec.id,
    Name: spec.id,
    Type: 'service',
    Priority: spec.priority ?? 50,
    Stop: false,
    Status: spec.stable ? 'running' : (latest?.Status ?? 'pending'),
    StatusDescription: '',
    Stable: spec.stable ?? false,
    Version: 0,
    SubmitTime: 0,
    Meta: spec.spec === undefined ? null : { spec: spec.spec },
    TaskGroups: spec.groups.map(toTaskGroup),
    CreateIndex: 0,
    ModifyIndex: 0,
    JobModifyIndex: 0,
  }
}

/**
 * The deployment the scheduler would create for the whole job (structs.NewDeployment
 * with every group), described as reconcile_cluster.go setDeploymentStatusAndUpdates does.
 */
export function jobDeployment(tx: Tx, job: SimJob, id: string): SimDeployment {
  const d = newDeployment(job, id, job.Priority, tx.now)
  d.TaskGroups = Object.fromEntries(job.TaskGroups.map((g) => [g.Name, newDeploymentState(g)]))
  d.CreateIndex = tx.index
  d.ModifyIndex = tx.index
  if (requiresPromotion(d)) {
    d.StatusDescription = hasAutoPromote(d)
      ? STATUS_DESCRIPTION.runningAutoPromotion
      : STATUS_DESCRIPTION.runningNeedsPromotion
  }
  return d
}

/** A placed allocation (generic_sched.go computePlacements), without task states until its client reports. */
export function newAllocation(
  tx: Tx,
  d: Pick<SimDeployment, 'ID' | 'Namespace' | 'JobID' | 'JobVersion'>,
  group: string,
  name: string,
  o: { evalId: string; nodeId: string; clientStatus: 'pending' | 'running'; canary: boolean },
): SimAllocation {
  return {
    ID: tx.newId(),
    EvalID: o.evalId,
    Name: name,
    Namespace: d.Namespace,
    NodeID: o.nodeId,
    NodeName: 'sim-node-1',
    JobID: d.JobID,
    JobType: 'service',
    JobVersion: d.JobVersion,
    TaskGroup: group,
    DesiredStatus: 'run',
    DesiredDescription: '',
    ClientStatus: o.clientStatus,
    ClientDescription: o.clientStatus === 'running' ? 'Tasks are running' : '',
    DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null },
    TaskStates: o.clientStatus === 'running' ? { [group]: taskState('running', tx.now) } : null,
    // The scheduler marks canaries; other allocs get a status with their health.
    DeploymentStatus: o.canary
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
    DeploymentID: d.ID,
    PreviousAllocation: '',
  }
}

/** What the client reports with a new ClientStatus: task states follow; a failure before health is unhealthy. */
export function applyClientStatus(a: SimAllocation, status: AllocClientStatus, now: number): void {
  a.ClientStatus = status
  const dead = status === 'complete' || status === 'failed' || status === 'lost'
  a.TaskStates ??= { [a.TaskGroup]: taskState('pending', 0) }
  for (const ts of Object.values(a.TaskStates)) {
    ts.State = dead ? 'dead' : status === 'running' ? 'running' : ts.State
    ts.Failed = status === 'failed'
    if (status === 'running' && ts.StartedAt === GO_ZERO_TIME) ts.StartedAt = goTime(now)
    if (dead) ts.FinishedAt = goTime(now)
  }
  // alloc_runner.go clientAlloc: a failed alloc of a deployment without health is unhealthy.
  if (status === 'failed' && a.DeploymentID && (a.DeploymentStatus?.Healthy ?? null) === null) {
    a.DeploymentStatus = {
      Healthy: false,
      Timestamp: goTime(now),
      Canary: a.DeploymentStatus?.Canary ?? false,
      ModifyIndex: 0,
    }
  }
}
