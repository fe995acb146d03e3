// The Nomad HTTP API simulator: a simulated cluster (state.ts: store, deployment
// watcher, scheduler, client, scenario verbs, on one clock) behind Nomad's HTTP
// API (endpoints.ts, http.ts) on a real socket with a request log, fault
// injection and quiescence (server.ts). `Simulator` composes them and keeps one
// surface for tests, scripts and the benchmark.

import type { AllocClientStatus, DeploymentUpdateResponse } from '../src/nomad/types.js'
import type { Clock } from './clock.js'
import { Endpoints } from './endpoints.js'
import { EventStream, type EventStreamOptions } from './stream.js'
import { AclState, type AclOptions } from './acl.js'
import { NomadHttp, type ApiReply, type ApiRequest } from './http.js'
import type { ClientOutcome } from './jobspec.js'
import type {
  ChangeRecord,
  GroupSpec,
  JobSpec,
  SimAllocation,
  SimAllocStub,
  SimDeployment,
  SimEvaluation,
  SimJob,
  Table,
} from './model.js'
import {
  SimServer,
  type FaultSpec,
  type HeldQuery,
  type InjectedFault,
  type RequestRecord,
  type ServerOptions,
} from './server.js'
import {
  NomadState,
  type ClientAllocUpdate,
  type StateOptions,
  type SubmitResult,
} from './state.js'
import type { StateSnapshot } from './store.js'

export type {
  AclOptions,
  AclToken,
  AclTokenSpec,
  AuthMethodSpec,
  BindingRuleSpec,
  SimAclPolicy,
  SimAclToken,
} from './acl.js'
export type { FaultSpec, HeldQuery, InjectedFault, RequestRecord } from './server.js'
export {
  NomadError,
  STATUS_DESCRIPTION,
  type ChangeRecord,
  type GroupSpec,
  type JobSpec,
  type SimAllocation,
  type SimAllocStub,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
} from './model.js'
export type { ClientOutcome, RescheduleSpec, UpdateSpec } from './jobspec.js'
export type { StateSnapshot } from './store.js'
export type { ClientAllocUpdate, LifecycleTimings, SubmitResult } from './state.js'
export { ManualClock, RealClock, type Clock } from './clock.js'
export type { EventStreamOptions } from './stream.js'
export type { EventBatch, SimEvent } from './events.js'

export interface ApiOptions extends StateOptions {
  /**
   * Enables ACLs: requests need a token (`X-Nomad-Token` or `Authorization:
   * Bearer`) that allows them. Tokens in the simple model or Nomad's, policies,
   * roles, JWT auth methods and binding rules (sim/acl.ts).
   */
  acl?: AclOptions
  /** Source of the blocking-query jitter; Math.random by default. */
  random?: () => number
  /**
   * Held queries wake on any change to the tables they read, as Nomad's watch
   * channels can: a query indexed by its table (the allocations of a
   * deployment, a job's deployments or evaluations, the deployment list) then
   * answers with the same body and a higher X-Nomad-Index when an unrelated
   * object of that table changes. Default false (woken only by what it reads).
   */
  spuriousWakes?: boolean
  /**
   * GET /v1/event/stream: `enabled` (enable_event_broker, default true),
   * `bufferSize` (event_buffer_size, 100), `heartbeatMs` (30 s), `hijack`
   * (default true: Nomad ≥ 1.11.2, a refused stream is a 200 that closes;
   * false: Nomad ≤ 1.11.1, a 403 or 500).
   */
  eventStream?: EventStreamOptions
}

export interface SimulatorOptions extends ApiOptions, ServerOptions {}

export function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return Simulator.start(options)
}

export class Simulator {
  /** The simulated cluster: store, watcher, verbs. */
  readonly state: NomadState
  readonly http: NomadHttp
  /** The ACL state when ACLs are on: policies, tokens, auth methods (sim/acl.ts). */
  readonly acl?: AclState
  private readonly server: SimServer
  private spurious: boolean

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator(options)
    await sim.server.listen(options)
    return sim
  }

  private constructor(options: SimulatorOptions) {
    const stream = options.eventStream ?? {}
    this.state = new NomadState({
      ...options,
      eventBroker: { enabled: stream.enabled, bufferSize: stream.bufferSize },
    })
    this.spurious = options.spuriousWakes ?? false
    const endpoints = new Endpoints(this.state.store, this.state.watcher)
    if (options.acl) this.acl = new AclState(this.state.store, options.acl)
    this.http = new NomadHttp(this.state.store, endpoints, {
      region: this.state.region,
      acl: this.acl,
      now: () => this.state.clock.now(),
      random: options.random ?? Math.random,
      spuriousWakes: () => this.spurious,
      eventStream: new EventStream(this.state.events, this.state.namespaces, stream),
    })
    this.server = new SimServer(
      { serve: (r) => this.serve(r), index: () => this.state.index() },
      options,
    )
  }

  /** e.g. `http://127.0.0.1:41234` (`https://` with tls). */
  get address(): string {
    return this.server.address
  }

  get port(): number {
    return this.server.port
  }

  /** Answers one request as a Nomad server agent would, without a socket. */
  serve(r: ApiRequest): Promise<ApiReply> {
    return this.http.serve(r)
  }

  /** Closes the server and every open or held connection at once; ends every timer. */
  stop(): Promise<void> {
    this.state.dispose()
    return this.server.stop()
  }

  // ---- the server: request log and faults (server.ts) --------------------------------

  get requests(): RequestRecord[] {
    return this.server.requests
  }

  /** Requests that change a deployment (non-GET `/v1/deployment/...`). */
  writes(): RequestRecord[] {
    return this.server.writes()
  }

  clearRequests(): void {
    this.server.clearRequests()
  }

  /** The first logged request (already logged or yet to come) that matches. */
  waitForRequest(pred: (r: RequestRecord) => boolean, timeoutMs?: number): Promise<RequestRecord> {
    return this.server.waitForRequest(pred, timeoutMs)
  }

  injectFault(spec: FaultSpec): InjectedFault {
    return this.server.injectFault(spec)
  }

  clearFaults(): void {
    this.server.clearFaults()
  }

  /** Runs `fn` (awaited) just before each write request is handled; returns the remover. */
  beforeWrite(fn: (r: RequestRecord) => void | Promise<void>): () => void {
    return this.server.beforeWrite(fn)
  }

  /** The blocking queries held now, with the index each waits past. */
  heldQueries(): HeldQuery[] {
    return this.server.heldQueries()
  }

  /** Quiescence (server.ts settled): nothing processing, at least `held` queries held. */
  settled(options?: { held?: number; timeoutMs?: number }): Promise<void> {
    return this.server.settled(options)
  }

  /** Turns spurious wakes (SimulatorOptions.spuriousWakes) on or off for the queries held from now on. */
  setSpuriousWakes(on: boolean): void {
    this.spurious = on
  }

  // ---- the cluster (state.ts) ------------------------------------------------------------

  /** The cluster's clock (a ManualClock when the options gave one). */
  get clock(): Clock {
    return this.state.clock
  }

  get region(): string {
    return this.state.region
  }

  get namespaces(): string[] {
    return this.state.namespaces
  }

  /** Every applied change, oldest first. */
  get changes(): ChangeRecord[] {
    return this.state.changes
  }

  index(): number {
    return this.state.index()
  }

  tableIndex(table: Table): number {
    return this.state.tableIndex(table)
  }

  deployment(id: string): SimDeployment | undefined {
    return this.state.deployment(id)
  }

  allocations(deploymentId: string): SimAllocStub[] {
    return this.state.allocations(deploymentId)
  }

  allocation(allocId: string): SimAllocStub | undefined {
    return this.state.allocation(allocId)
  }

  job(id: string, namespace?: string): SimJob | undefined {
    return this.state.job(id, namespace)
  }

  jobVersions(id: string, namespace?: string): SimJob[] {
    return this.state.jobVersions(id, namespace)
  }

  jobDeployments(id: string, namespace?: string): SimDeployment[] {
    return this.state.jobDeployments(id, namespace)
  }

  /** The full allocation (with DeploymentID and PreviousAllocation). */
  alloc(allocId: string): SimAllocation | undefined {
    return this.state.alloc(allocId)
  }

  jobAllocations(jobId: string, namespace?: string): SimAllocStub[] {
    return this.state.jobAllocations(jobId, namespace)
  }

  /** The job's evaluations, oldest first. */
  evaluations(jobId: string, namespace?: string): SimEvaluation[] {
    return this.state.evaluations(jobId, namespace)
  }

  evaluation(evalId: string): SimEvaluation | undefined {
    return this.state.evaluation(evalId)
  }

  on(event: 'change', listener: (change: ChangeRecord) => void): () => void {
    return this.state.on(event, listener)
  }

  /** `nomad job run`: see NomadState.submitJob. */
  submitJob(spec: JobSpec): SubmitResult {
    return this.state.submitJob(spec)
  }

  /** Several client updates in one raft index. */
  updateAllocsFromClient(updates: ClientAllocUpdate[]): number {
    return this.state.updateAllocsFromClient(updates)
  }

  setClientOutcome(fn: ((alloc: SimAllocation) => ClientOutcome | undefined) | undefined): void {
    this.state.setClientOutcome(fn)
  }

  registerJob(spec: JobSpec): { version: number; index: number } {
    return this.state.registerJob(spec)
  }

  markStable(jobId: string, version: number, namespace?: string): void {
    this.state.markStable(jobId, version, namespace)
  }

  startDeployment(jobId: string, options?: { namespace?: string }): string {
    return this.state.startDeployment(jobId, options)
  }

  rollout(
    jobId: string,
    options?: { namespace?: string; groups?: GroupSpec[]; spec?: string },
  ): { version: number; deploymentId: string } {
    return this.state.rollout(jobId, options)
  }

  placeCanaries(
    deploymentId: string,
    group: string,
    n?: number,
    options?: { clientStatus?: 'pending' | 'running' },
  ): string[] {
    return this.state.placeCanaries(deploymentId, group, n, options)
  }

  placeAllocs(
    deploymentId: string,
    group: string,
    n?: number,
    options?: { clientStatus?: 'pending' | 'running' },
  ): string[] {
    return this.state.placeAllocs(deploymentId, group, n, options)
  }

  setAllocHealth(allocId: string, healthy: boolean): void {
    this.state.setAllocHealth(allocId, healthy)
  }

  setClientStatus(allocId: string, status: AllocClientStatus): void {
    this.state.setClientStatus(allocId, status)
  }

  stopAlloc(allocId: string, description?: string): void {
    this.state.stopAlloc(allocId, description)
  }

  completeDeployment(id: string): void {
    this.state.completeDeployment(id)
  }

  cancelDeployment(id: string, description?: string): void {
    this.state.cancelDeployment(id, description)
  }

  expireProgressDeadline(id: string): boolean {
    return this.state.expireProgressDeadline(id)
  }

  snapshot(): StateSnapshot {
    return this.state.snapshot()
  }

  restore(snapshot: StateSnapshot): void {
    this.state.restore(snapshot)
  }

  apiPromote(id: string, all: boolean, groups: string[]): DeploymentUpdateResponse {
    return this.state.apiPromote(id, all, groups)
  }

  apiPause(id: string, pause: boolean): DeploymentUpdateResponse {
    return this.state.apiPause(id, pause)
  }

  apiFail(id: string): DeploymentUpdateResponse {
    return this.state.apiFail(id)
  }

  apiSetAllocHealth(id: string, healthy: string[], unhealthy: string[]): DeploymentUpdateResponse {
    return this.state.apiSetAllocHealth(id, healthy, unhealthy)
  }
}
