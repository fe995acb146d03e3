// Nomad's HTTP API, without sockets: request in, reply out. Follows
// command/agent/http.go (parsing, error codes, headers, ACL token), the routes
// of command/agent/{deployment,job}_endpoint.go and nomad/rpc.go blockingRPC.
// What each RPC reads and writes is endpoints.ts.

import type { IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'

import type { AclState } from './acl.js'
import { AclApi } from './aclhttp.js'
import { permissionDenied, type Allow, type Endpoints, type QueryResult } from './endpoints.js'
import { parseGoDuration } from './go.js'
import {
  ALLOC_HEALTH,
  decodeWriteBody,
  errorReply,
  INVALID_METHOD,
  jsonReply,
  meta,
  notSimulated,
  parseGoBool,
  PAUSE,
  PROMOTE,
  requestToken,
  requireMethod,
  textReply,
  writeReply,
} from './httputil.js'
import { NomadError, type ChangeRecord } from './model.js'
import type { Store } from './store.js'
import type { EventStream, StreamBody } from './stream.js'

export interface HttpOptions {
  region: string
  /** Enables ACLs: tokens (`X-Nomad-Token` or `Authorization: Bearer`), policies, auth methods (acl.ts). */
  acl?: AclState
  /** The cluster's clock: ACL tokens expire on it. */
  now: () => number
  /** Source of the blocking-query jitter. */
  random: () => number
  /** Whether a held query wakes on any change to the tables it read (see SimulatorOptions.spuriousWakes). */
  spuriousWakes: () => boolean
  /** GET /v1/event/stream. */
  eventStream: EventStream
}

export interface ApiRequest {
  method: string
  /** The decoded path, as Go's URL.Path. */
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  body: Buffer
  /** Go's http.NoBody: neither a Content-Length above 0 nor a chunked body. */
  noBody: boolean
  /** Aborted when the client goes away or the simulator stops: ends a held request. */
  signal: AbortSignal
  /** Answer a blocking query at once (used by the `index-backwards` fault). */
  nonBlocking?: boolean
  /** Told when a blocking query starts waiting for a change (with the index sent), and when it stops. */
  onHold?: (index: number | undefined) => void
}

export interface ApiReply {
  status: number
  headers: Record<string, string>
  body: string
  /** A streamed body (the event stream): the server runs it once the head is sent. */
  stream?: StreamBody
}

/** structs.MaxBlockingRPCQueryTime, DefaultBlockingRPCQueryTime and JitterFraction. */
const MAX_QUERY_MS = 300_000
const DEFAULT_QUERY_MS = 300_000
const JITTER_FRACTION = 16

interface QueryOptions {
  region: string
  namespace: string
  token: string
  prefix: string
  reverse: boolean
  minIndex: number
  waitMs: number
}

type Handler = (r: ApiRequest, id: string) => Promise<ApiReply> | ApiReply

/** Job sub-resources Nomad serves that the simulator does not. */
const UNSIMULATED_JOB_SUFFIXES = [
  '/evaluate',
  '/allocations',
  '/periodic/force',
  '/plan',
  '/summary',
  '/dispatch',
  '/versions',
  '/revert',
  '/stable',
  '/scale',
  '/services',
  '/submission',
  '/actions',
  '/action',
  '/tag',
]

export type { AclToken } from './acl.js'

export class NomadHttp {
  private readonly aclApi: AclApi

  constructor(
    private readonly store: Store,
    private readonly endpoints: Endpoints,
    private readonly options: HttpOptions,
  ) {
    this.aclApi = new AclApi(options.acl, { region: options.region, now: options.now })
  }

  /** Answers one request as a Nomad server agent would. */
  async serve(r: ApiRequest): Promise<ApiReply> {
    try {
      return await this.route(r)
    } catch (e) {
      if (!(e instanceof NomadError)) throw e
      return errorReply(e)
    }
  }

  private route(r: ApiRequest): Promise<ApiReply> | ApiReply {
    const p = r.path
    if (p === '/v1/deployments') return this.deploymentList(r)
    if (p.startsWith('/v1/deployment/')) {
      const rest = p.slice('/v1/deployment/'.length)
      // deployment_endpoint.go DeploymentSpecificRequest: the first matching prefix wins.
      const handlers: Array<[string, Handler]> = [
        ['allocations/', (req, id) => this.deploymentAllocations(req, id)],
        ['fail/', (req, id) => this.deploymentFail(req, id)],
        ['pause/', (req, id) => this.deploymentPause(req, id)],
        ['promote/', (req, id) => this.deploymentPromote(req, id)],
        ['allocation-health/', (req, id) => this.deploymentAllocHealth(req, id)],
        ['unblock/', () => Promise.reject(notSimulated('multiregion unblock'))],
      ]
      for (const [prefix, handler] of handlers) {
        if (rest.startsWith(prefix)) return handler(r, rest.slice(prefix.length))
      }
      return this.deploymentQuery(r, rest)
    }
    if (p.startsWith('/v1/evaluation/')) {
      const rest = p.slice('/v1/evaluation/'.length)
      if (rest.endsWith('/allocations')) throw notSimulated(p)
      return this.evaluationQuery(r, rest)
    }
    if (p === '/v1/evaluations') throw notSimulated(p)
    if (p.startsWith('/v1/job/')) {
      const rest = p.slice('/v1/job/'.length)
      if (rest.endsWith('/evaluations')) return this.jobEvaluations(r, rest.slice(0, -12))
      if (rest.endsWith('/deployments')) return this.jobDeploymentList(r, rest.slice(0, -12))
      if (rest.endsWith('/deployment')) return this.jobLatestDeployment(r, rest.slice(0, -11))
      if (UNSIMULATED_JOB_SUFFIXES.some((s) => rest.endsWith(s))) throw notSimulated(p)
      if (r.method === 'GET') return this.jobQuery(r, rest)
      if (['PUT', 'POST', 'DELETE'].includes(r.method)) throw notSimulated(`${r.method} ${p}`)
      throw new NomadError(INVALID_METHOD, 405)
    }
    if (p.startsWith('/v1/acl/')) return this.aclApi.route(r)
    if (p === '/v1/event/stream') {
      const region = r.query.get('region') || this.options.region
      const token = requestToken(r)
      const resolved = this.options.acl?.resolve(token, this.options.now())
      const management = !resolved || (typeof resolved !== 'string' && resolved.acl.management)
      // Event.Stream authenticates the token before it forwards to the region.
      const refused = typeof resolved === 'string'
      const authorize = (reg: string, tok: string): Allow => {
        if (refused) throw permissionDenied()
        return this.authorize(reg, tok)
      }
      return this.options.eventStream.handle(r, authorize, region, token, management)
    }
    if (p === '/v1/status/leader') {
      requireMethod(r, 'GET')
      return jsonReply(r, 200, {}, '127.0.0.1:4647')
    }
    // handleRootFallthrough: an unknown path is a bare 404.
    return { status: 404, headers: {}, body: '' }
  }

  // ---- reads ---------------------------------------------------------------------

  /** GET /v1/deployments. */
  private async deploymentList(r: ApiRequest): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const run = this.endpoints.deploymentList(q.namespace, q.prefix, q.reverse, allow)
    const out = await this.blocking(r, q, run)
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/deployment/:id; 404 after the meta headers are set. */
  private async deploymentQuery(r: ApiRequest, id: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const out = await this.blocking(r, q, this.endpoints.deployment(q.namespace, id, allow))
    if (out.body === null) return textReply(404, meta(out.index), 'deployment not found')
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/deployment/allocations/:id. */
  private async deploymentAllocations(r: ApiRequest, id: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const run = this.endpoints.deploymentAllocations(q.namespace, id, allow)
    const out = await this.blocking(r, q, run)
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/job/:job_id/deployments. */
  private async jobDeploymentList(r: ApiRequest, jobId: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const all = parseGoBool(r.query.get('all') ?? '') ?? false
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const run = this.endpoints.jobDeployments(q.namespace, jobId, all, allow)
    const out = await this.blocking(r, q, run)
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/job/:job_id/deployment: Job.LatestDeployment; `null` when there is none, even for no job. */
  private async jobLatestDeployment(r: ApiRequest, jobId: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const run = this.endpoints.jobDeployments(q.namespace, jobId, false, allow)
    const out = await this.blocking(r, q, run)
    const list = out.body as Array<{ CreateIndex: number }>
    const latest = [...list].sort((a, b) => b.CreateIndex - a.CreateIndex)[0] ?? null
    return jsonReply(r, 200, meta(out.index), latest)
  }

  /** GET /v1/job/:job_id; 404 `job not found`. */
  private async jobQuery(r: ApiRequest, jobId: string): Promise<ApiReply> {
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const out = await this.blocking(r, q, this.endpoints.job(q.namespace, jobId, allow))
    if (out.body === null) return textReply(404, meta(out.index), 'job not found')
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/job/:job_id/evaluations: `[]` when there are none. */
  private async jobEvaluations(r: ApiRequest, jobId: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const out = await this.blocking(r, q, this.endpoints.jobEvaluations(q.namespace, jobId, allow))
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/evaluation/:id; 404 `eval not found` (command/agent/eval_endpoint.go evalQuery). */
  private async evaluationQuery(r: ApiRequest, id: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    const out = await this.blocking(r, q, this.endpoints.evaluation(q.namespace, id, allow))
    if (out.body === null) return textReply(404, meta(out.index), 'eval not found')
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  // ---- writes ----------------------------------------------------------------------

  /** PUT/POST /v1/deployment/fail/:id: no body is read at all. */
  private deploymentFail(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const w = this.parseWrite(r, {})
    return writeReply(r, this.endpoints.fail(this.authorize(w.region, w.token), id))
  }

  private deploymentPause(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, PAUSE, id)
    const w = this.parseWrite(r, body)
    const allow = this.authorize(w.region, w.token)
    return writeReply(r, this.endpoints.pause(allow, id, body.Pause === true))
  }

  private deploymentPromote(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, PROMOTE, id)
    const w = this.parseWrite(r, body)
    const allow = this.authorize(w.region, w.token)
    const groups = (body.Groups as string[] | undefined) ?? []
    return writeReply(r, this.endpoints.promote(allow, id, body.All === true, groups))
  }

  private deploymentAllocHealth(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, ALLOC_HEALTH, id)
    const w = this.parseWrite(r, body)
    const allow = this.authorize(w.region, w.token)
    const healthy = (body.HealthyAllocationIDs as string[] | undefined) ?? []
    const unhealthy = (body.UnhealthyAllocationIDs as string[] | undefined) ?? []
    return writeReply(r, this.endpoints.setAllocHealth(allow, id, healthy, unhealthy))
  }

  /** http.go parseWriteRequest: the query wins; the body's WriteRequest fields are the fallback. */
  private parseWrite(
    r: ApiRequest,
    body: Record<string, unknown>,
  ): { region: string; namespace: string; token: string } {
    return {
      namespace: r.query.get('namespace') || (body.Namespace as string) || 'default',
      token: requestToken(r) || (body.AuthToken as string) || '',
      region: r.query.get('region') || (body.Region as string) || this.options.region,
    }
  }

  // ---- shared ------------------------------------------------------------------------

  /** http.go parse: region, token, stale, prefix, namespace, per_page, reverse, wait, index. */
  private parseQuery(r: ApiRequest): QueryOptions {
    const q = r.query
    if (q.has('stale') && q.get('stale') !== '' && parseGoBool(q.get('stale') ?? '') === null) {
      throw new NomadError('Expect `true` or `false` for `stale` query string parameter', 400)
    }
    const perPage = q.get('per_page')
    if (perPage && !/^[-+]?\d+$/.test(perPage)) {
      throw new NomadError('Expect a number for `per_page` query string parameter', 400)
    }
    let waitMs = 0
    const wait = q.get('wait')
    if (wait) {
      const ms = parseGoDuration(wait)
      if (ms === null) throw new NomadError('Invalid wait time', 400)
      waitMs = ms
    }
    let minIndex = 0
    const index = q.get('index')
    if (index) {
      if (!/^\d+$/.test(index) || BigInt(index) > 0xffff_ffff_ffff_ffffn) {
        throw new NomadError('Invalid index', 400)
      }
      minIndex = Number(index)
    }
    return {
      region: q.get('region') || this.options.region,
      namespace: q.get('namespace') || 'default',
      token: requestToken(r),
      prefix: q.get('prefix') ?? '',
      reverse: q.get('reverse') === 'true',
      minIndex,
      waitMs,
    }
  }

  /**
   * The start of every RPC: forward to the request's region (`No path to region`
   * for any other), then fail an unknown or expired token. Returns the ACL check.
   */
  authorize(region: string, token: string): Allow {
    const acl = this.options.acl
    // Authenticate runs first, but its error is returned after the forward.
    const resolved = acl?.resolve(token, this.options.now())
    if (region !== this.options.region) throw new NomadError('No path to region')
    if (resolved === undefined) return () => true
    // An unknown or expired token: the RPC answers ErrPermissionDenied.
    if (typeof resolved === 'string') throw permissionDenied()
    return (namespace, ...anyOf) => resolved.acl.allowAnyOf(namespace, anyOf)
  }

  /**
   * nomad/rpc.go blockingRPC: with `index` > 0, rerun the query on each relevant
   * change until its index is above the one sent, or the wait (capped at 5m,
   * default 5m, plus up to wait/16 jitter) runs out; then answer with the last run.
   */
  private async blocking(
    r: ApiRequest,
    q: QueryOptions,
    query: () => QueryResult,
  ): Promise<QueryResult> {
    // No copy needed: a write replaces stored objects and never changes them, so the
    // answer stays as it was at this index while other requests change the state.
    const run = query
    let out = run()
    if (q.minIndex === 0 || r.nonBlocking) return out
    let waitMs =
      q.waitMs > MAX_QUERY_MS ? MAX_QUERY_MS : q.waitMs <= 0 ? DEFAULT_QUERY_MS : q.waitMs
    waitMs += Math.floor(this.options.random() * (waitMs / JITTER_FRACTION))
    const deadline = performance.now() + waitMs
    try {
      while (out.index <= q.minIndex) {
        const left = deadline - performance.now()
        if (left <= 0) break
        // Nomad's watch channels cover more than one record: with spurious wakes,
        // any change to a table the query read wakes it; it answers only if its
        // index moved (a table's index: same body, higher index).
        const tables = out.tables
        const watch = this.options.spuriousWakes()
          ? (c: ChangeRecord) => c.tables.some((t) => tables.includes(t))
          : out.watch
        r.onHold?.(q.minIndex)
        const woke = await this.store.waitForChange(watch, left, r.signal)
        r.onHold?.(undefined)
        if (!woke) break
        out = run()
      }
    } finally {
      r.onHold?.(undefined)
    }
    return out
  }
}
