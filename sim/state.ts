// The simulated cluster without its HTTP front: the state store (store.ts),
// the leader's deployment watcher (watcher.ts), the scheduler (scheduler.ts),
// the client node (clients.ts) and the scenario verbs (verbs.ts), composed, on
// one clock. `Simulator` puts the HTTP API and a socket in front of one of
// these; the benchmark uses one alone to build bodies.

import type { AllocClientStatus, DeploymentUpdateResponse } from '../src/nomad/types.js'
import { Clients, clientChange, type ClientAllocUpdate } from './clients.js'
import { EventBroker } from './events.js'
import { RealClock, type Clock } from './clock.js'
import { idSource } from './ids.js'
import type { ClientOutcome } from './jobspec.js'
import {
  clone,
  copyAlloc,
  copyDeployment,
  toStub,
  uuidKey,
  type ChangeRecord,
  type GroupSpec,
  type JobSpec,
  type SimAllocation,
  type SimAllocStub,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
  type Table,
} from './model.js'
import { Scheduler } from './scheduler.js'
import { Store, type StateSnapshot } from './store.js'
import { ScenarioVerbs, type SubmitResult } from './verbs.js'
import { DeploymentWatcher } from './watcher.js'

/** The lifecycle's timings (ms), on the clock, for the jobs `submitJob` registers. */
export interface LifecycleTimings {
  /** Evaluation pending → the scheduler takes it. Default 0. */
  evalLagMs?: number
  /** Placement → the tasks run (or fail); also how long the client takes to stop one. Default 1000. */
  clientStartMs?: number
  /** The client's alloc sync: updates within it land in one raft index. Default 200. */
  clientBatchMs?: number
  /** The deployment watcher's eval batching (perJobEvalBatchPeriod). Default 1000. */
  evalBatchMs?: number
}

export interface StateOptions {
  region?: string
  namespaces?: string[]
  /** Every timer and timestamp of the cluster; the real clock by default (a ManualClock in tests). */
  clock?: Clock
  /** Seeds the UUIDs the cluster creates, for a run that replays exactly; random by default. */
  seed?: number
  timings?: LifecycleTimings
  /** What the client does with an allocation, over its group's `outcome` (return undefined to keep that). */
  clientOutcome?: (alloc: SimAllocation) => ClientOutcome | undefined
  /** The event broker: `enabled: false` is enable_event_broker = false; `bufferSize` event_buffer_size (100). */
  eventBroker?: { enabled?: boolean; bufferSize?: number }
}

export class NomadState {
  readonly region: string
  readonly namespaces: string[]
  readonly clock: Clock
  readonly store: Store
  readonly watcher: DeploymentWatcher
  readonly scheduler: Scheduler
  readonly clients: Clients
  readonly verbs: ScenarioVerbs
  /** Undefined when the event broker is disabled. */
  readonly events?: EventBroker

  constructor(options: StateOptions = {}) {
    this.region = options.region ?? 'global'
    this.namespaces = options.namespaces ?? ['default']
    this.clock = options.clock ?? new RealClock()
    const t = options.timings ?? {}
    this.store = new Store(this.clock, idSource(options.seed))
    const nodeId = this.store.newId()
    this.watcher = new DeploymentWatcher(this.store, this.clock, t.evalBatchMs)
    this.scheduler = new Scheduler(this.store, this.clock, nodeId, { evalLagMs: t.evalLagMs })
    this.clients = new Clients(this.store, this.clock, {
      startMs: t.clientStartMs,
      batchMs: t.clientBatchMs,
      outcome: options.clientOutcome,
    })
    if (options.eventBroker?.enabled !== false) {
      this.events = new EventBroker(this.store, options.eventBroker?.bufferSize)
    }
    this.verbs = new ScenarioVerbs({
      store: this.store,
      watcher: this.watcher,
      region: this.region,
      namespaces: this.namespaces,
      nodeId,
    })
  }

  // ---- readers ---------------------------------------------------------------

  /** Every applied change, oldest first. */
  get changes(): ChangeRecord[] {
    return this.store.changes
  }

  /** The last raft index. */
  index(): number {
    return this.store.index()
  }

  /** state.Index(table): the last raft index that changed the table. */
  tableIndex(table: Table): number {
    return this.store.tableIndex(table)
  }

  deployment(id: string): SimDeployment | undefined {
    const d = this.store.deploymentByKey(uuidKey(id))
    return d && copyDeployment(d)
  }

  /** The deployment's allocations as `/v1/deployment/allocations/:id` lists them. */
  allocations(deploymentId: string): SimAllocStub[] {
    return this.store.allocsByDeploymentKey(uuidKey(deploymentId)).map((a) => toStub(copyAlloc(a)))
  }

  allocation(allocId: string): SimAllocStub | undefined {
    const a = this.store.allocByKey(uuidKey(allocId))
    return a && toStub(copyAlloc(a))
  }

  /** The job's latest version. */
  job(id: string, namespace = 'default'): SimJob | undefined {
    const j = this.store.jobLatest(namespace, id)
    return j && clone(j)
  }

  jobVersions(id: string, namespace = 'default'): SimJob[] {
    return clone(this.store.jobVersions(namespace, id))
  }

  /** The job's deployments, newest first. */
  jobDeployments(id: string, namespace = 'default'): SimDeployment[] {
    return this.store
      .deploymentsByKey()
      .map(([, d]) => d)
      .filter((d) => d.Namespace === namespace && d.JobID === id)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)
      .map((d) => copyDeployment(d))
  }

  /** The full allocation (with DeploymentID and PreviousAllocation, which the stub leaves out). */
  alloc(allocId: string): SimAllocation | undefined {
    const a = this.store.allocByKey(uuidKey(allocId))
    return a && copyAlloc(a)
  }

  /** The job's allocations (any version), as `/v1/job/:id/allocations` lists them, by ID. */
  jobAllocations(jobId: string, namespace = 'default'): SimAllocStub[] {
    return this.store
      .allocsWhere((a) => a.Namespace === namespace && a.JobID === jobId)
      .map((a) => toStub(copyAlloc(a)))
  }

  /** The job's evaluations, oldest first. */
  evaluations(jobId: string, namespace = 'default'): SimEvaluation[] {
    return this.store
      .allEvals()
      .filter((e) => e.Namespace === namespace && e.JobID === jobId)
      .sort((a, b) => a.CreateIndex - b.CreateIndex || (a.ID < b.ID ? -1 : 1))
      .map((e) => clone(e))
  }

  evaluation(evalId: string): SimEvaluation | undefined {
    const e = this.store.evalByKey(uuidKey(evalId))
    return e && clone(e)
  }

  on(event: 'change', listener: (change: ChangeRecord) => void): () => void {
    if (event !== 'change') throw new Error(`unknown event ${event}`)
    return this.store.on(listener)
  }

  // ---- the scenario verbs (verbs.ts) ---------------------------------------------

  /** `nomad job run`: a version (if the spec changed) and an evaluation, then the scheduler on the clock. */
  submitJob(spec: JobSpec): SubmitResult {
    return this.verbs.submitJob(spec)
  }

  /** Several client updates in one raft index (Node.UpdateAlloc's batch). Returns the index. */
  updateAllocsFromClient(updates: ClientAllocUpdate[]): number {
    for (const u of updates) {
      if (!this.store.allocByKey(uuidKey(u.allocId))) {
        throw new Error(`allocation ${u.allocId} not found`)
      }
    }
    const at = this.clock.now()
    return this.clients.send(
      updates.map((u) => ({ id: u.allocId, changes: [{ at, change: clientChange(u) }] })),
    )
  }

  /** What the simulated client does with the allocations placed from now on (undefined: the groups' outcomes). */
  setClientOutcome(fn: ((alloc: SimAllocation) => ClientOutcome | undefined) | undefined): void {
    this.clients.outcome = fn
  }

  registerJob(spec: JobSpec): { version: number; index: number } {
    return this.verbs.registerJob(spec)
  }

  markStable(jobId: string, version: number, namespace?: string): void {
    this.verbs.markStable(jobId, version, namespace)
  }

  startDeployment(jobId: string, options?: { namespace?: string }): string {
    return this.verbs.startDeployment(jobId, options)
  }

  rollout(
    jobId: string,
    options?: { namespace?: string; groups?: GroupSpec[]; spec?: string },
  ): { version: number; deploymentId: string } {
    return this.verbs.rollout(jobId, options)
  }

  placeCanaries(
    deploymentId: string,
    group: string,
    n?: number,
    options?: { clientStatus?: 'pending' | 'running' },
  ): string[] {
    return this.verbs.placeCanaries(deploymentId, group, n, options)
  }

  placeAllocs(
    deploymentId: string,
    group: string,
    n?: number,
    options?: { clientStatus?: 'pending' | 'running' },
  ): string[] {
    return this.verbs.placeAllocs(deploymentId, group, n, options)
  }

  setAllocHealth(allocId: string, healthy: boolean): void {
    this.verbs.setAllocHealth(allocId, healthy)
  }

  setClientStatus(allocId: string, status: AllocClientStatus): void {
    this.verbs.setClientStatus(allocId, status)
  }

  stopAlloc(allocId: string, description?: string): void {
    this.verbs.stopAlloc(allocId, description)
  }

  completeDeployment(id: string): void {
    this.verbs.completeDeployment(id)
  }

  cancelDeployment(id: string, description?: string): void {
    this.verbs.cancelDeployment(id, description)
  }

  /** The watcher's progress-deadline timer fires now; returns whether the deployment failed. */
  expireProgressDeadline(id: string): boolean {
    return this.watcher.expireProgressDeadline(id)
  }

  /** A copy of the whole state; `restore` brings it back as a newly elected leader would. */
  snapshot(): StateSnapshot {
    return this.store.snapshot()
  }

  /** Restores a snapshot: indexes go back, every blocking query wakes and keeps waiting. */
  restore(snapshot: StateSnapshot): void {
    this.store.restore(snapshot)
  }

  // ---- the write RPCs' effects, without the HTTP checks ------------------------------

  /** deploymentWatcher.PromoteDeployment. */
  apiPromote(id: string, all: boolean, groups: string[]): DeploymentUpdateResponse {
    return this.watcher.promote(id, all, groups)
  }

  /** deploymentWatcher.PauseDeployment (`pause: false` resumes). */
  apiPause(id: string, pause: boolean): DeploymentUpdateResponse {
    return this.watcher.pause(id, pause)
  }

  /** deploymentWatcher.FailDeployment. */
  apiFail(id: string): DeploymentUpdateResponse {
    return this.watcher.fail(id)
  }

  /** deploymentWatcher.SetAllocHealth. */
  apiSetAllocHealth(id: string, healthy: string[], unhealthy: string[]): DeploymentUpdateResponse {
    return this.watcher.setAllocHealth(id, healthy, unhealthy)
  }

  /** Ends every wait and timer. */
  dispose(): void {
    this.store.dispose()
    this.watcher.dispose()
    this.scheduler.dispose()
    this.clients.dispose()
  }
}
