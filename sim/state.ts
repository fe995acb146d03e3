// The simulated cluster without its HTTP front: the state store (store.ts),
// the leader's deployment watcher (watcher.ts) and the scenario verbs
// (verbs.ts), composed. `Simulator` puts the HTTP API and a socket in front of
// one of these; the benchmark uses one alone to build bodies.

import { randomUUID } from 'node:crypto'

import type { AllocClientStatus, DeploymentUpdateResponse } from '../src/nomad/types.js'
import { RealClock, type Clock } from './clock.js'
import {
  clone,
  copyAlloc,
  copyDeployment,
  toStub,
  uuidKey,
  type ChangeRecord,
  type GroupSpec,
  type JobSpec,
  type SimAllocStub,
  type SimDeployment,
  type SimJob,
  type Table,
} from './model.js'
import { Store, type StateSnapshot } from './store.js'
import { ScenarioVerbs } from './verbs.js'
import { DeploymentWatcher } from './watcher.js'

export {
  NomadError,
  STATUS_DESCRIPTION,
  type ChangeRecord,
  type GroupSpec,
  type JobSpec,
  type SimAllocStub,
  type SimDeployment,
  type SimJob,
} from './model.js'
export type { StateSnapshot } from './store.js'

export interface StateOptions {
  region?: string
  namespaces?: string[]
  /** Every timer and timestamp of the cluster; the real clock by default. */
  clock?: Clock
}

export class NomadState {
  readonly region: string
  readonly namespaces: string[]
  readonly clock: Clock
  readonly store: Store
  readonly watcher: DeploymentWatcher
  readonly verbs: ScenarioVerbs

  constructor(options: StateOptions = {}) {
    this.region = options.region ?? 'global'
    this.namespaces = options.namespaces ?? ['default']
    this.clock = options.clock ?? new RealClock()
    this.store = new Store(this.clock)
    this.watcher = new DeploymentWatcher(this.store, this.clock)
    this.verbs = new ScenarioVerbs({
      store: this.store,
      watcher: this.watcher,
      region: this.region,
      namespaces: this.namespaces,
      nodeId: randomUUID(),
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

  on(event: 'change', listener: (change: ChangeRecord) => void): () => void {
    if (event !== 'change') throw new Error(`unknown event ${event}`)
    return this.store.on(listener)
  }

  // ---- the scenario verbs (verbs.ts) ---------------------------------------------

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
  }
}
