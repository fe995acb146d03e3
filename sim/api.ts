// Nomad's HTTP API over the simulated state, without sockets: request in, reply
// out. Follows command/agent/http.go (parsing, error codes, headers),
// command/agent/{deployment,job}_endpoint.go (routes and body checks) and the
// RPC endpoints in nomad/{deployment,job}_endpoint.go (order of checks, ACLs,
// blocking queries with nomad/rpc.go blockingRPC).

import type { IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'

import { TERMINAL_DEPLOYMENT_STATUSES, type DeploymentUpdateResponse } from '../src/nomad/types.js'
import { decodeGoJSONBody, parseGoDuration, uuidIndexKey, type GoStruct } from './go.js'
import { NomadError, NomadState, type ChangeRecord, type StateOptions } from './state.js'

export interface AclToken {
  /** Namespaces the token may read (`*` for all). */
  namespaces: string[]
  /** Whether it may also write (submit-job) in them. */
  write: boolean
}

export interface ApiOptions extends StateOptions {
  /** Enables ACLs: requests need one of these secrets (`X-Nomad-Token` or `Authorization: Bearer`). */
  acl?: { tokens: Record<string, AclToken> }
  /** Source of the blocking-query jitter; Math.random by default. */
  random?: () => number
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
}

export interface ApiReply {
  status: number
  headers: Record<string, string>
  body: string
}

/** command/agent/http.go ErrInvalidMethod. */
const INVALID_METHOD = 'Invalid method'
/** structs.ErrPermissionDenied / ErrTokenNotFound: both answer 403 (http.go wrap). */
const PERMISSION_DENIED = 'Permission denied'
const TOKEN_NOT_FOUND = 'ACL token not found'
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

interface WriteOptions {
  region: string
  namespace: string
  token: string
}

/** One run of a blocking query: its answer, its index and what would change it. */
interface QueryResult {
  index: number
  body: unknown
  watch: (c: ChangeRecord) => boolean
}

type Allow = (namespace: string, write: boolean) => boolean
type Handler = (r: ApiRequest, id: string) => Promise<ApiReply> | ApiReply

// Go structs the write bodies decode into (nomad/structs), with WriteRequest's fields.
const WRITE_REQUEST = {
  Region: 'string',
  Namespace: 'string',
  AuthToken: 'string',
  IdempotencyToken: 'string',
} as const
const PROMOTE: GoStruct = {
  name: 'DeploymentPromoteRequest',
  fields: { DeploymentID: 'string', All: 'bool', Groups: '[]string', ...WRITE_REQUEST },
}
const PAUSE: GoStruct = {
  name: 'DeploymentPauseRequest',
  fields: { DeploymentID: 'string', Pause: 'bool', ...WRITE_REQUEST },
}
const ALLOC_HEALTH: GoStruct = {
  name: 'DeploymentAllocHealthRequest',
  fields: {
    DeploymentID: 'string',
    HealthyAllocationIDs: '[]string',
    UnhealthyAllocationIDs: '[]string',
    ...WRITE_REQUEST,
  },
}

/** Job sub-resources Nomad serves that the simulator does not. */
const UNSIMULATED_JOB_SUFFIXES = [
  '/evaluate',
  '/allocations',
  '/evaluations',
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

export class NomadApi extends NomadState {
  protected readonly acl?: { tokens: Record<string, AclToken> }
  private readonly random: () => number

  constructor(options: ApiOptions = {}) {
    super(options)
    this.acl = options.acl
    this.random = options.random ?? Math.random
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
    if (p.startsWith('/v1/job/')) {
      const rest = p.slice('/v1/job/'.length)
      if (rest.endsWith('/deployments')) return this.jobDeploymentList(r, rest.slice(0, -12))
      if (rest.endsWith('/deployment')) return this.jobLatestDeployment(r, rest.slice(0, -11))
      if (UNSIMULATED_JOB_SUFFIXES.some((s) => rest.endsWith(s))) throw notSimulated(p)
      if (r.method === 'GET') return this.jobQuery(r, rest)
      if (['PUT', 'POST', 'DELETE'].includes(r.method)) throw notSimulated(`${r.method} ${p}`)
      throw new NomadError(INVALID_METHOD, 405)
    }
    if (p === '/v1/status/leader') {
      requireMethod(r, 'GET')
      return jsonReply(r, 200, {}, '127.0.0.1:4647')
    }
    // handleRootFallthrough: an unknown path is a bare 404.
    return { status: 404, headers: {}, body: '' }
  }

  // ---- reads ---------------------------------------------------------------------

  /** GET /v1/deployments: Deployment.List. */
  private async deploymentList(r: ApiRequest): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    if (!allow(q.namespace, false)) throw permissionDenied()
    const ns = q.namespace
    const inNamespace = (dns: string): boolean => ns === '*' || dns === ns
    const prefix = q.prefix === '' ? undefined : uuidIndexKey(q.prefix, false)
    if (prefix && 'error' in prefix) throw new NomadError(prefix.error)
    const out = await this.blocking(r, q, () => {
      let list = this.deploymentsByKey()
      if (prefix) {
        // DeploymentsByIDPrefix walks the `id` index (UUID order), filtered by namespace.
        list = list.filter(([k, d]) => k.startsWith(prefix.key) && inNamespace(d.Namespace))
      } else {
        // DeploymentsByNamespaceOrdered / Deployments: creation order.
        list = list
          .filter(([, d]) => inNamespace(d.Namespace))
          .sort(([ka, a], [kb, b]) => a.CreateIndex - b.CreateIndex || (ka < kb ? -1 : 1))
      }
      if (q.reverse) list.reverse()
      return {
        index: this.tableIndex('deployment'),
        body: list.map(([, d]) => d).filter((d) => allow(d.Namespace, false)),
        watch: (c) =>
          c.deployments.some((id) =>
            prefix
              ? id.replaceAll('-', '').startsWith(prefix.key)
              : inNamespace(this.deploymentByKey(id.replaceAll('-', ''))?.Namespace ?? ''),
          ),
      }
    })
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/deployment/:id: Deployment.GetDeployment; 404 after the meta headers are set. */
  private async deploymentQuery(r: ApiRequest, id: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    if (!allow(q.namespace, false)) throw permissionDenied()
    const out = await this.blocking(r, q, () => {
      if (id === '') throw new NomadError('missing deployment ID')
      const key = uuidIndexKey(id, true)
      if ('error' in key) throw new NomadError(`deployment lookup failed: ${key.error}`)
      let d = this.deploymentByKey(key.key)
      // Re-checked against the deployment's own namespace: hidden if not allowed.
      if (d && !allow(d.Namespace, false)) d = undefined
      return d
        ? { index: d.ModifyIndex, body: d, watch: (c) => c.deployments.includes(d.ID) }
        : {
            index: this.tableIndex('deployment'),
            body: null,
            watch: (c) => c.deployments.length > 0,
          }
    })
    if (out.body === null) return textReply(404, meta(out.index), 'deployment not found')
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /**
   * GET /v1/deployment/allocations/:id: Deployment.Allocations. Answers with the
   * allocs table's index but wakes only for this deployment's allocs. An unknown
   * deployment has no allocations (200 `[]`), not a 404.
   */
  private async deploymentAllocations(r: ApiRequest, id: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    if (!allow(q.namespace, false)) throw permissionDenied()
    const out = await this.blocking(r, q, () => {
      const key = uuidIndexKey(id, true)
      if ('error' in key) throw new NomadError(key.error)
      const allocs = this.allocations(id)
      const ns = allocs[0]?.Namespace
      if (ns !== undefined && ns !== q.namespace && !allow(ns, false)) throw permissionDenied()
      return {
        index: this.tableIndex('allocs'),
        body: allocs,
        watch: (c) => c.allocs.some((a) => this.allocDeploymentKey(a) === key.key),
      }
    })
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/job/:job_id/deployments: Job.Deployments, in the store's order (by deployment ID). */
  private async jobDeploymentList(r: ApiRequest, jobId: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const all = parseGoBool(r.query.get('all') ?? '') ?? false
    const q = this.parseQuery(r)
    const out = await this.jobDeploymentsQuery(r, q, jobId, all)
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  /** GET /v1/job/:job_id/deployment: Job.LatestDeployment; `null` when there is none, even for no job. */
  private async jobLatestDeployment(r: ApiRequest, jobId: string): Promise<ApiReply> {
    requireMethod(r, 'GET')
    const q = this.parseQuery(r)
    const out = await this.jobDeploymentsQuery(r, q, jobId, false)
    const list = out.body as Array<{ CreateIndex: number }>
    const latest = [...list].sort((a, b) => b.CreateIndex - a.CreateIndex)[0] ?? null
    return jsonReply(r, 200, meta(out.index), latest)
  }

  private jobDeploymentsQuery(
    r: ApiRequest,
    q: QueryOptions,
    jobId: string,
    all: boolean,
  ): Promise<QueryResult> {
    const allow = this.authorize(q.region, q.token)
    if (!allow(q.namespace, false)) throw permissionDenied()
    return this.blocking(r, q, () => {
      // DeploymentsByJobID: deployments of an earlier job with the same ID are left out unless `all`.
      const job = this.jobLatest(q.namespace, jobId)
      const list = this.deploymentsByKey()
        .map(([, d]) => d)
        .filter((d) => d.Namespace === q.namespace && d.JobID === jobId)
        .filter((d) => all || !job || d.JobCreateIndex === job.CreateIndex)
      return {
        index: this.tableIndex('deployment'),
        body: list,
        watch: (c) =>
          c.deployments.some((id) => {
            const d = this.deploymentByKey(id.replaceAll('-', ''))
            return d?.Namespace === q.namespace && d.JobID === jobId
          }),
      }
    })
  }

  /** GET /v1/job/:job_id: Job.GetJob; 404 `job not found`. */
  private async jobQuery(r: ApiRequest, jobId: string): Promise<ApiReply> {
    const q = this.parseQuery(r)
    const allow = this.authorize(q.region, q.token)
    if (!allow(q.namespace, false)) throw permissionDenied()
    const out = await this.blocking(r, q, () => {
      const job = this.jobLatest(q.namespace, jobId)
      const key = `${q.namespace}/${jobId}`
      return job
        ? { index: job.ModifyIndex, body: job, watch: (c) => c.jobs.includes(key) }
        : { index: this.tableIndex('jobs'), body: null, watch: (c) => c.jobs.length > 0 }
    })
    if (out.body === null) return textReply(404, meta(out.index), 'job not found')
    return jsonReply(r, 200, meta(out.index), out.body)
  }

  // ---- writes ----------------------------------------------------------------------

  /** PUT/POST /v1/deployment/fail/:id: no body is read at all. */
  private deploymentFail(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const w = this.parseWrite(r, {})
    this.checkWrite(w, id, "can't fail terminal deployment")
    return writeReply(r, this.apiFail(id))
  }

  private deploymentPause(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, PAUSE, id)
    const w = this.parseWrite(r, body)
    const pause = body.Pause === true
    this.checkWrite(
      w,
      id,
      pause ? "can't pause terminal deployment" : "can't resume terminal deployment",
    )
    return writeReply(r, this.apiPause(id, pause))
  }

  private deploymentPromote(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, PROMOTE, id)
    const w = this.parseWrite(r, body)
    this.checkWrite(w, id, "can't promote terminal deployment")
    return writeReply(r, this.apiPromote(id, body.All === true, (body.Groups as string[]) ?? []))
  }

  private deploymentAllocHealth(r: ApiRequest, id: string): ApiReply {
    requireMethod(r, 'PUT', 'POST')
    const body = decodeWriteBody(r, ALLOC_HEALTH, id)
    const w = this.parseWrite(r, body)
    const healthy = (body.HealthyAllocationIDs as string[] | undefined) ?? []
    const unhealthy = (body.UnhealthyAllocationIDs as string[] | undefined) ?? []
    this.checkWrite(w, id, "can't set health of allocations for a terminal deployment", () => {
      if (healthy.length + unhealthy.length === 0) {
        throw new NomadError('must specify at least one healthy/unhealthy allocation ID')
      }
    })
    return writeReply(r, this.apiSetAllocHealth(id, healthy, unhealthy))
  }

  /**
   * The checks every deployment write RPC makes, in Nomad's order: region
   * (forwarding), token, ID, the deployment's existence, submit-job in the
   * deployment's own namespace (not the request's), then that it is active.
   */
  private checkWrite(w: WriteOptions, id: string, terminal: string, validate?: () => void): void {
    const allow = this.authorize(w.region, w.token)
    if (id === '') throw new NomadError('missing deployment ID')
    validate?.()
    const key = uuidIndexKey(id, true)
    if ('error' in key) throw new NomadError(`deployment lookup failed: ${key.error}`)
    const d = this.deploymentByKey(key.key)
    if (!d) throw new NomadError('deployment not found')
    if (!allow(d.Namespace, true)) throw permissionDenied()
    if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) throw new NomadError(terminal)
  }

  /** http.go parseWriteRequest: the query wins; the body's WriteRequest fields are the fallback. */
  private parseWrite(r: ApiRequest, body: Record<string, unknown>): WriteOptions {
    return {
      namespace: r.query.get('namespace') || (body.Namespace as string) || 'default',
      token: requestToken(r) || (body.AuthToken as string) || '',
      region: r.query.get('region') || (body.Region as string) || this.region,
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
      region: q.get('region') || this.region,
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
   * for any other), then fail an unknown token. Returns the ACL check.
   */
  private authorize(region: string, token: string): Allow {
    const acl = this.acl
    const unknownToken = acl !== undefined && token !== '' && !Object.hasOwn(acl.tokens, token)
    if (region !== this.region) throw new NomadError('No path to region')
    if (unknownToken) throw permissionDenied()
    return (namespace, write) => {
      if (!acl) return true
      const t = token === '' ? undefined : acl.tokens[token] // no anonymous policy
      if (!t) return false
      const nsOk =
        t.namespaces.includes('*') ||
        t.namespaces.includes(namespace) ||
        (namespace === '*' && t.namespaces.length > 0)
      return nsOk && (t.write || !write)
    }
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
    // Copy the answer as it was at this index: other requests may change the state before it is sent.
    const run = (): QueryResult => {
      const res = query()
      return { ...res, body: structuredClone(res.body) }
    }
    let out = run()
    if (q.minIndex === 0 || r.nonBlocking) return out
    let waitMs =
      q.waitMs > MAX_QUERY_MS ? MAX_QUERY_MS : q.waitMs <= 0 ? DEFAULT_QUERY_MS : q.waitMs
    waitMs += Math.floor(this.random() * (waitMs / JITTER_FRACTION))
    const deadline = performance.now() + waitMs
    while (out.index <= q.minIndex) {
      const left = deadline - performance.now()
      if (left <= 0 || !(await this.waitForChange(out.watch, left, r.signal))) break
      out = run()
    }
    return out
  }
}

function decodeWriteBody(r: ApiRequest, target: GoStruct, id: string): Record<string, unknown> {
  const decoded = decodeGoJSONBody(r.body, r.noBody, target)
  if ('error' in decoded) throw new NomadError(decoded.error, 400)
  const body = decoded.value
  if (!body.DeploymentID) throw new NomadError('DeploymentID must be specified', 400)
  if (body.DeploymentID !== id) throw new NomadError('Deployment ID does not match', 400)
  return body
}

function requireMethod(r: ApiRequest, ...methods: string[]): void {
  if (!methods.includes(r.method)) throw new NomadError(INVALID_METHOD, 405)
}

/** http.go parseToken: X-Nomad-Token, else `Authorization: Bearer <token>`. */
function requestToken(r: ApiRequest): string {
  const header = (name: string): string => {
    const v = r.headers[name]
    return (Array.isArray(v) ? v[0] : v) ?? ''
  }
  const token = header('x-nomad-token')
  if (token !== '') return token.trim()
  const parts = header('authorization').split(' ')
  if (parts.length > 1 && parts[0].toLowerCase() === 'bearer') {
    return parts.slice(1).join(' ').trim().split(' ')[0].trim()
  }
  return ''
}

/** strconv.ParseBool; null on error. */
function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return null
}

function permissionDenied(): NomadError {
  return new NomadError(PERMISSION_DENIED, 403)
}

function notSimulated(what: string): NomadError {
  return new NomadError(`${what}: not implemented by the Nomad simulator`, 501)
}

/** http.go setMeta: the headers of every successful query answer. */
function meta(index: number): Record<string, string> {
  return {
    'X-Nomad-Index': String(index),
    'X-Nomad-LastContact': '0',
    'X-Nomad-KnownLeader': 'true',
  }
}

/** http.go wrap: JSON, indented by 4 with a final newline under `?pretty` (unless `pretty=0`). */
function jsonReply(
  r: ApiRequest,
  status: number,
  headers: Record<string, string>,
  body: unknown,
): ApiReply {
  const pretty = r.query.has('pretty') && r.query.get('pretty') !== '0'
  return {
    status,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: pretty ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body),
  }
}

/** Writes answer with the response and only `X-Nomad-Index` (deployment_endpoint.go setIndex). */
function writeReply(r: ApiRequest, res: DeploymentUpdateResponse): ApiReply {
  return jsonReply(r, 200, { 'X-Nomad-Index': String(res.Index) }, res)
}

function textReply(status: number, headers: Record<string, string>, text: string): ApiReply {
  return {
    status,
    headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
    body: text,
  }
}

/** http.go wrap: errors are plain text; permission errors become 403 by their suffix. */
function errorReply(e: NomadError): ApiReply {
  let { status, message } = e
  for (const text of [PERMISSION_DENIED, TOKEN_NOT_FOUND]) {
    if (message.endsWith(text)) {
      status = 403
      message = text
    }
  }
  return textReply(status, {}, message)
}
