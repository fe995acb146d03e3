// The Nomad HTTP API simulator: a simulated cluster (state.ts: store, deployment
// watcher, scheduler, client, scenario verbs, on one clock) behind Nomad's HTTP
// API (endpoints.ts, http.ts) on a real socket with a request log, fault
// injection and quiescence (server.ts). `Simulator` composes them and keeps one
// surface for tests, scripts and the benchmark.

import { Endpoints } from './endpoints.js'
import { EventStream, type EventStreamOptions } from './stream.js'
import { AclState, type AclOptions } from './acl.js'
import type { ApiReply, ApiRequest } from './api.js'
import { NomadHttp } from './http.js'
import {
  SimServer,
  type FaultSpec,
  type HeldQuery,
  type InjectedFault,
  type RequestRecord,
  type ServerOptions,
} from './server.js'
import { NomadState, type StateOptions } from './state.js'

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
export type { LifecycleTimings } from './state.js'
export type { ClientAllocUpdate } from './clients.js'
export type { SubmitResult } from './verbs.js'
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

/**
 * The cluster's surface that the simulator shows as its own: NomadState's
 * readers, scenario verbs and write effects, documented there once.
 */
const CLUSTER = [
  'clock',
  'region',
  'namespaces',
  'changes',
  'index',
  'tableIndex',
  'deployment',
  'allocations',
  'allocation',
  'job',
  'jobVersions',
  'jobDeployments',
  'alloc',
  'jobAllocations',
  'evaluations',
  'evaluation',
  'on',
  'submitJob',
  'updateAllocsFromClient',
  'setClientOutcome',
  'registerJob',
  'markStable',
  'startDeployment',
  'rollout',
  'placeCanaries',
  'placeAllocs',
  'setAllocHealth',
  'setClientStatus',
  'stopAlloc',
  'completeDeployment',
  'cancelDeployment',
  'expireProgressDeadline',
  'snapshot',
  'restore',
  'apiPromote',
  'apiPause',
  'apiFail',
  'apiSetAllocHealth',
] as const satisfies readonly (keyof NomadState)[]

/**
 * A base class whose instances answer each of `names` with the member of the
 * same name of their `state`: methods are called on it, properties read from
 * it. The facade is a list of names, not a forwarding method each.
 */
function servingState<K extends keyof NomadState>(names: readonly K[]) {
  abstract class ServesState {
    abstract readonly state: NomadState
  }
  for (const name of names) {
    const own = Object.getOwnPropertyDescriptor(NomadState.prototype, name)
    Object.defineProperty(
      ServesState.prototype,
      name,
      typeof own?.value === 'function'
        ? {
            value(this: ServesState, ...args: unknown[]): unknown {
              const method = this.state[name] as (...a: unknown[]) => unknown
              return method.apply(this.state, args)
            },
          }
        : {
            get(this: ServesState): unknown {
              return this.state[name]
            },
          },
    )
  }
  return ServesState as abstract new () => ServesState & Pick<NomadState, K>
}

export class Simulator extends servingState(CLUSTER) {
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
    super()
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
}
