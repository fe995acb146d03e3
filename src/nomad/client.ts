// NomadClient: the endpoints the gate uses over one transport, shaped like
// Nomad's Go API client (api/api.go): every read takes QueryOptions and returns
// the body with a QueryMeta, retried on transient failures until the caller's
// deadline; every write returns the body with a WriteMeta and is never retried
// here (see gate/mutate.ts for the re-read rule).
//
// This module is the Nomad package's one door: besides NomadClient it passes on
// what a caller of it needs (the query shapes, the write requests, the back-off
// and sleep), so the gate imports from here only.

import {
  isRetryableLogin,
  loginRequest,
  policyRequest,
  tokenSelfRequest,
  type ACLToken,
} from './acl.js'
import type { Config } from './config.js'
import {
  allocHealthRequest,
  deploymentAllocationsRequest,
  deploymentListRequest,
  deploymentRequest,
  failRequest,
  pauseRequest,
  promoteRequest,
  type WriteRequest,
} from './deployments.js'
import { NomadError, neverReached, notReached } from './errors.js'
import { readEventStream, type StreamHandlers, type Subscription } from './events.js'
import {
  jobDeploymentsRequest,
  jobEvaluationsRequest,
  jobLatestDeploymentRequest,
  jobRequest,
  newestEvaluationsFirst,
} from './jobs.js'
import {
  blockingParams,
  headerNumber,
  queryMeta,
  type QueryMeta,
  type QueryOptions,
  type ReadRequest,
  type Response,
  type WriteMeta,
  type WriteOptions,
} from './query.js'
import { DEFAULT_RETRY, retrying, type RetryPolicy } from './retry.js'
import { Transport, type ExchangeRecord } from './transport.js'
import type { DeploymentUpdateResponse } from './types.js'

export type { Config, TLSConfig, HttpBasicAuth } from './config.js'
export {
  loginRefusal,
  type ACLNamespaceRules,
  type ACLPolicy,
  type ACLToken,
  type LoginRefusal,
} from './acl.js'
export {
  allocHealthRequest,
  failRequest,
  pauseRequest,
  promoteRequest,
  type WriteRequest,
} from './deployments.js'
export {
  MAX_WAIT_MS,
  blockingTimeoutMs,
  type QueryMeta,
  type QueryOptions,
  type ReadRequest,
  type Response,
  type WriteMeta,
  type WriteOptions,
} from './query.js'
export { backoffMs, sleep, type RetryPolicy } from './retry.js'
export { WRITE_NEEDS, describeNeed, grantedIn, type Need } from './capabilities.js'
export type { ExchangeRecord } from './transport.js'
export type { EventBatch, NomadEvent, StreamHandlers, Subscription } from './events.js'

/**
 * Before Nomad's first answer, a failure to reach it (refused, reset, no name,
 * TLS, a proxy that cannot get there) is retried this long, then final: a
 * mistyped address must not wait out the step's timeout. An agent that is
 * still starting gets these seconds; after a first answer the same failures are
 * retried until the deadline.
 */
export const FIRST_CONTACT_MS = 8_000

export interface ClientOptions {
  /** Time limit of a request that is not a blocking query (a write's too). Default 30s. */
  requestTimeoutMs?: number
  retry?: RetryPolicy
  /**
   * Told about every retry, so the user sees why the gate is slower than usual;
   * `told`: the caller has said it in its own words already (reportRetry).
   */
  onRetry?: (err: NomadError, attempt: number, delayMs: number, told?: boolean) => void
  /** Told about every request when it ends (the debug lines). */
  onExchange?: (r: ExchangeRecord) => void
  userAgent?: string
}

export class NomadClient {
  readonly address: string
  readonly namespace?: string
  /** A token is sent (X-Nomad-Token): the given one, or the one a login returned. */
  readonly hasToken: boolean
  /** Time limit of a request that is not a blocking query (a write's too). */
  readonly requestTimeoutMs: number
  private readonly transport: Transport
  private readonly retry: RetryPolicy
  private readonly onRetry?: ClientOptions['onRetry']
  /** performance.now() of the first request: where the first-contact budget starts. */
  private firstSentAt?: number

  constructor(config: Config, options: ClientOptions = {}) {
    this.transport = new Transport(
      config,
      options.userAgent ?? 'nomad-canary-gate',
      options.onExchange,
    )
    this.address = config.address
    this.namespace = config.namespace
    this.hasToken = Boolean(config.token)
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    this.retry = options.retry ?? DEFAULT_RETRY
    this.onRetry = options.onRetry
  }

  /** Close idle keep-alive sockets so the process can exit. */
  close(): void {
    this.transport.close()
  }

  /** How requests to Nomad go: directly, or through which proxy. */
  get route() {
    return this.transport.route
  }

  /** Nomad has answered once: the address is right. */
  get contacted(): boolean {
    return this.transport.contacted
  }

  /**
   * Tells the client's onRetry of a request that a caller sends again itself
   * and has logged in its own words (a write: gate/write.ts), so every retry
   * of a step is counted in one place.
   */
  reportRetry(err: NomadError, attempt: number, delayMs: number): void {
    this.onRetry?.(err, attempt, delayMs, true)
  }

  // Reads -------------------------------------------------------------------

  listDeployments(prefix: string, q: QueryOptions = {}) {
    return this.query(deploymentListRequest(prefix), q)
  }

  deployment(id: string, q: QueryOptions = {}) {
    return this.query(deploymentRequest(id), q)
  }

  /** The deployment's allocations, each cut down to an AllocView as it arrives. */
  deploymentAllocations(id: string, q: QueryOptions = {}) {
    return this.query(deploymentAllocationsRequest(id), q)
  }

  /** The job at its current version. */
  job(jobId: string, q: QueryOptions = {}) {
    return this.query(jobRequest(jobId), q)
  }

  /** The job's latest deployment, or null when it has none (or no such job exists). */
  jobLatestDeployment(jobId: string, q: QueryOptions = {}) {
    return this.query(jobLatestDeploymentRequest(jobId), q)
  }

  /** The job's deployments, in the server's order (by ID): sort by CreateIndex for age. */
  jobDeployments(jobId: string, q: QueryOptions = {}) {
    return this.query(jobDeploymentsRequest(jobId), q)
  }

  /**
   * One subscription to the event stream (events.ts): resolves when the server
   * ends it, rejects when it is refused or breaks. Not retried: the caller
   * reads the state again after every (re)connect.
   */
  eventStream(sub: Subscription, on: StreamHandlers): Promise<void> {
    return readEventStream(this.transport, sub, on)
  }

  /** The job's evaluations, newest (highest CreateIndex) first. */
  async jobEvaluations(jobId: string, q: QueryOptions = {}) {
    const res = await this.query(jobEvaluationsRequest(jobId), q)
    return { body: newestEvaluationsFirst(res.body), meta: res.meta }
  }

  /** The token this client sends (GET /v1/acl/token/self). */
  tokenSelf(q: QueryOptions = {}) {
    return this.query(tokenSelfRequest(), q)
  }

  /** An ACL policy, with the capabilities each namespace block expands to. */
  policy(name: string, q: QueryOptions = {}) {
    return this.query(policyRequest(name), q)
  }

  // ACL login ---------------------------------------------------------------

  /**
   * POST /v1/acl/login: the token that the JWT auth method `authMethod` gives
   * for `loginToken`. Sent again (until `q.deadline`) only when nothing final
   * was said: a login that is retried creates one more short-lived token.
   */
  login(authMethod: string, loginToken: string, q: Pick<QueryOptions, 'signal' | 'deadline'> = {}) {
    const { path, body } = loginRequest(authMethod, loginToken)
    const attempt = async (): Promise<Response<ACLToken, WriteMeta>> => {
      try {
        const res = await this.transport.exchange<ACLToken>({
          method: 'POST',
          path,
          data: JSON.stringify(body),
          timeoutMs: this.requestTimeoutMs,
          signal: q.signal,
        })
        return { body: res.body, meta: { lastIndex: headerNumber(res.headers, 'x-nomad-index') } }
      } catch (err) {
        if (err instanceof NomadError && err.retryable && !isRetryableLogin(err)) {
          throw new NomadError({ ...err, retryable: false, cause: err.cause })
        }
        throw err
      }
    }
    return retrying(attempt, {
      policy: this.retry,
      deadline: q.deadline,
      signal: q.signal,
      onRetry: this.onRetry,
      method: 'POST',
      path,
    })
  }

  // Writes: never retried here; see gate/mutate.ts for the re-read rule ------

  promote(id: string, groups: string[], w: WriteOptions = {}) {
    return this.write(promoteRequest(id, groups), w)
  }

  pause(id: string, pause: boolean, w: WriteOptions = {}) {
    return this.write(pauseRequest(id, pause), w)
  }

  fail(id: string, w: WriteOptions = {}) {
    return this.write(failRequest(id), w)
  }

  setAllocHealth(id: string, healthy: string[], unhealthy: string[], w: WriteOptions = {}) {
    return this.write(allocHealthRequest(id, healthy, unhealthy), w)
  }

  /** The exact request a write sends, as one line (for dry runs and logs). */
  describe(req: WriteRequest): string {
    return `PUT ${this.transport.url(req.path).toString()} ${JSON.stringify(req.body)}`
  }

  // The two shapes every endpoint above is sent in ---------------------------

  /** A read, as a blocking query when `q.index` is set, retried until `q.deadline`. */
  async query<T>(req: ReadRequest<T>, q: QueryOptions = {}): Promise<Response<T, QueryMeta>> {
    const blocking = blockingParams(q, this.requestTimeoutMs)
    const params = { ...req.params, ...blocking.params }
    this.firstSentAt ??= performance.now()
    const attempt = async () => {
      const { body, headers } = await this.transport.exchange<T>({
        method: 'GET',
        path: req.path,
        params,
        timeoutMs: blocking.timeoutMs,
        signal: q.signal,
        reader: req.reader?.(),
      })
      return { body, meta: queryMeta(headers) }
    }
    return retrying(attempt, {
      policy: this.retry,
      deadline: q.deadline,
      signal: q.signal,
      onRetry: this.onRetry,
      // After a first answer, failing to reach Nomad is an outage to wait out.
      retryable: (err) => err.retryable || (this.contacted && notReached(err)),
      giveUp: (err, tries, delayMs, attemptMs) => {
        if (this.contacted || !notReached(err)) return undefined
        const spent = performance.now() - this.firstSentAt!
        // Only a try that can end within the budget (one that took 5 s will again).
        if (spent + delayMs + attemptMs < FIRST_CONTACT_MS) return undefined
        return neverReached(err, this.address, tries, spent)
      },
      method: 'GET',
      path: req.path,
    })
  }

  async write(
    { path, body }: WriteRequest,
    w: WriteOptions = {},
  ): Promise<Response<DeploymentUpdateResponse, WriteMeta>> {
    const res = await this.transport.exchange<DeploymentUpdateResponse>({
      method: 'PUT',
      path,
      data: JSON.stringify(body),
      timeoutMs: this.requestTimeoutMs,
      signal: w.signal,
    })
    const lastIndex = headerNumber(res.headers, 'x-nomad-index') || res.body.Index
    return { body: res.body, meta: { lastIndex } }
  }
}
