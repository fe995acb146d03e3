// One client for the Nomad endpoints the gate uses, shaped like Nomad's Go API
// client (api/api.go): every read takes QueryOptions and returns the body with a
// QueryMeta; every write returns the body with a WriteMeta.

import * as http from 'node:http'
import * as https from 'node:https'
import type { IncomingMessage } from 'node:http'
import { HttpClient } from '@actions/http-client'
import type { NomadSettings } from '../settings.js'
import { NomadError, describeStatus, fromNetworkError, isTransientStatus } from './errors.js'
import {
  allocView,
  type AllocView,
  type Deployment,
  type DeploymentAllocHealthRequest,
  type DeploymentFailRequest,
  type DeploymentPauseRequest,
  type DeploymentPromoteRequest,
  type DeploymentUpdateResponse,
  type Evaluation,
  type Job,
} from './types.js'

export interface QueryMeta {
  /** X-Nomad-Index: the index to send with the next blocking query. */
  lastIndex: number
  knownLeader: boolean
  /** Milliseconds since the answering server last heard from the leader. */
  lastContact: number
}

export interface WriteMeta {
  lastIndex: number
}

export interface Response<T, M> {
  body: T
  meta: M
}

export interface QueryOptions {
  /** Blocking query: hold until the result's index exceeds this. 0 or absent: answer at once. */
  index?: number
  /** How long the server may hold a blocking query (it caps this at 5 minutes). */
  waitMs?: number
  /** Ends the request (and any retry back-off) at once. */
  signal?: AbortSignal
  /** performance.now() value after which retries stop. */
  deadline?: number
}

export interface WriteOptions {
  signal?: AbortSignal
}

export interface RetryPolicy {
  baseMs: number
  maxMs: number
}

export interface ClientOptions {
  /** Time limit of a request that is not a blocking query. */
  requestTimeoutMs?: number
  retry?: RetryPolicy
  /** Told about every retry, so the user sees why the gate is slower than usual. */
  onRetry?: (err: NomadError, attempt: number, delayMs: number) => void
  userAgent?: string
}

/** The server adds up to wait/16 of jitter to a blocking query (nomad/rpc.go); allow that plus a margin. */
export function blockingTimeoutMs(waitMs: number): number {
  return waitMs + Math.ceil(waitMs / 16) + 5_000
}

export const MAX_WAIT_MS = 5 * 60_000

const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, maxMs: 5_000 }

export class NomadClient {
  readonly address: string
  readonly namespace?: string
  private readonly settings: NomadSettings
  private readonly agent: http.Agent
  /** Time limit of a request that is not a blocking query (a write's too). */
  readonly requestTimeoutMs: number
  private readonly retry: RetryPolicy
  private readonly onRetry?: ClientOptions['onRetry']
  private readonly userAgent: string

  constructor(settings: NomadSettings, options: ClientOptions = {}) {
    const url = new URL(settings.address)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(
        `Nomad address must start with http:// or https:// (got "${url.protocol}//${url.host}")`,
      )
    }
    this.settings = settings
    this.address = settings.address
    this.namespace = settings.namespace
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    this.retry = options.retry ?? DEFAULT_RETRY
    this.onRetry = options.onRetry
    this.userAgent = options.userAgent ?? 'nomad-canary-gate'
    const tls = settings.tls
    // Keep-alive: the blocking loop sends a request per change; a warm socket
    // saves the TCP (and TLS) handshake on the path that decides the latency.
    this.agent =
      url.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: tls.caCert,
            cert: tls.clientCert,
            key: tls.clientKey,
            servername: tls.serverName,
            rejectUnauthorized: !tls.skipVerify,
          })
        : new http.Agent({ keepAlive: true })
  }

  /** Close idle keep-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy()
  }

  // Reads -------------------------------------------------------------------

  listDeployments(prefix: string, q: QueryOptions = {}) {
    return this.read<Deployment[]>('/v1/deployments', q, { prefix })
  }

  deployment(id: string, q: QueryOptions = {}) {
    return this.read<Deployment>(`/v1/deployment/${encodeURIComponent(id)}`, q)
  }

  /**
   * The deployment's allocations as AllocViews. With thousands of allocations
   * the answer is megabytes on every change: each stub is parsed and cut down
   * on its own, so the full stubs (task states and all) never all live at once.
   */
  deploymentAllocations(id: string, q: QueryOptions = {}) {
    const path = `/v1/deployment/allocations/${encodeURIComponent(id)}`
    return this.read<AllocView[]>(path, q, {}, () => new ArrayStream(allocView))
  }

  /** The job's latest version. */
  job(jobId: string, q: QueryOptions = {}) {
    return this.read<Job>(`/v1/job/${encodeURIComponent(jobId)}`, q)
  }

  /** The job's evaluations (Job.Evaluations). */
  jobEvaluations(jobId: string, q: QueryOptions = {}) {
    return this.read<Evaluation[]>(`/v1/job/${encodeURIComponent(jobId)}/evaluations`, q)
  }

  /** The job's latest deployment, or null when it has none (or no such job exists). */
  jobLatestDeployment(jobId: string, q: QueryOptions = {}) {
    return this.read<Deployment | null>(`/v1/job/${encodeURIComponent(jobId)}/deployment`, q)
  }

  /** The job's deployments, newest first. */
  jobDeployments(jobId: string, q: QueryOptions = {}) {
    return this.read<Deployment[]>(`/v1/job/${encodeURIComponent(jobId)}/deployments`, q)
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
    return `PUT ${this.url(req.path, {}).toString()} ${JSON.stringify(req.body)}`
  }

  // Transport -----------------------------------------------------------------

  private async read<T>(
    path: string,
    q: QueryOptions,
    extra: Record<string, string> = {},
    /** Reads a 2xx answer as it arrives instead of parsing its whole text. */
    stream?: () => ArrayStream<unknown>,
  ): Promise<Response<T, QueryMeta>> {
    const query: Record<string, string> = { ...extra }
    let timeoutMs = this.requestTimeoutMs
    if (q.index && q.index > 0) {
      const waitMs = Math.max(1, Math.round(Math.min(q.waitMs ?? MAX_WAIT_MS, MAX_WAIT_MS)))
      query.index = String(q.index)
      query.wait = `${waitMs}ms`
      timeoutMs = blockingTimeoutMs(waitMs)
    }
    let failed: NomadError | undefined
    for (let attempt = 1; ; attempt++) {
      try {
        const sink = stream?.()
        const res = await this.send('GET', path, query, undefined, timeoutMs, q.signal, sink)
        const meta: QueryMeta = {
          lastIndex: headerNumber(res.message, 'x-nomad-index'),
          knownLeader: res.message.headers['x-nomad-knownleader'] === 'true',
          lastContact: headerNumber(res.message, 'x-nomad-lastcontact'),
        }
        const body = sink ? (sink.end('GET', path) as T) : parseJson<T>(res.text, 'GET', path)
        return { body, meta }
      } catch (err) {
        // Aborted on a retry: say why it was being retried.
        if (failed && err instanceof NomadError && err.kind === 'aborted') {
          throw abortedError('GET', path, failed)
        }
        if (!(err instanceof NomadError) || !err.retryable) throw err
        failed = err
        // Retry until the deadline itself (the last try is at the deadline): the
        // read fails for good only once the deadline has passed.
        const left = q.deadline === undefined ? Infinity : q.deadline - performance.now()
        if (left <= 0) throw err
        const delayMs = Math.min(backoffMs(this.retry, attempt), Math.ceil(left))
        this.onRetry?.(err, attempt, delayMs)
        await sleep(delayMs, q.signal).catch(() => {
          throw abortedError('GET', path, err)
        })
      }
    }
  }

  async write(
    { path, body }: WriteRequest,
    w: WriteOptions = {},
  ): Promise<Response<DeploymentUpdateResponse, WriteMeta>> {
    const res = await this.send(
      'PUT',
      path,
      {},
      JSON.stringify(body),
      this.requestTimeoutMs,
      w.signal,
    )
    const parsed = parseJson<DeploymentUpdateResponse>(res.text, 'PUT', path)
    const lastIndex = headerNumber(res.message, 'x-nomad-index') || parsed.Index
    return { body: parsed, meta: { lastIndex } }
  }

  private url(path: string, query: Record<string, string>): URL {
    const url = new URL(path, this.address)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
    if (this.settings.namespace) url.searchParams.set('namespace', this.settings.namespace)
    if (this.settings.region) url.searchParams.set('region', this.settings.region)
    return url
  }

  /** One HTTP exchange: resolves with a 2xx answer, rejects with a NomadError otherwise. */
  private async send(
    method: 'GET' | 'PUT',
    path: string,
    query: Record<string, string>,
    data: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    sink?: ArrayStream<unknown>,
  ): Promise<{ message: IncomingMessage; text: string }> {
    const url = this.url(path, query)

    const timeout = AbortSignal.timeout(timeoutMs)
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.settings.token) headers['x-nomad-token'] = this.settings.token
    if (this.settings.httpAuth) {
      headers.authorization = `Basic ${Buffer.from(this.settings.httpAuth).toString('base64')}`
    }
    if (data !== undefined) headers['content-type'] = 'application/json'

    // @actions/http-client builds and sends the request; a per-request handler
    // gives it our keep-alive/TLS agent and the abort signal, which it has no
    // option for. Redirects stay off: X-Nomad-Token would follow them.
    type RequestHandler = HttpClient['handlers'][number]
    const handler: RequestHandler = {
      prepareRequest: (options) => Object.assign(options, { agent: this.agent, signal: combined }),
      canHandleAuthentication: () => false,
      handleAuthentication: () => Promise.reject(new Error('unreachable')),
    }
    const client = new HttpClient(this.userAgent, [handler], {
      allowRedirects: false,
      allowRetries: false,
      // Our AbortSignal.timeout ends the request; this is only a backstop.
      socketTimeout: timeoutMs + 1_000,
    })
    const fail = (err: unknown): never => {
      if (err instanceof NomadError) throw err
      if (signal?.aborted) throw abortedError(method, path, err, data !== undefined)
      if (timeout.aborted) {
        throw new NomadError({
          kind: 'timeout',
          method,
          path,
          detail: `no answer from ${this.address} within ${timeoutMs} ms`,
          retryable: true,
          ambiguous: true,
          cause: err,
        })
      }
      throw fromNetworkError(err, method, path, this.address)
    }

    let message: IncomingMessage
    let text: string
    try {
      const res = await client.request(method, url.toString(), data ?? null, headers)
      message = res.message
      const ok = (message.statusCode ?? 0) >= 200 && (message.statusCode ?? 0) < 300
      text = await readText(message, sink && ok ? (c) => sink.feed(c, method, path) : undefined)
    } catch (err) {
      return fail(err)
    }
    const status = message.statusCode ?? 0
    if (status >= 200 && status < 300) return { message, text }
    if (status >= 300 && status < 400) {
      throw new NomadError({
        kind: 'protocol',
        method,
        path,
        status,
        detail: `Nomad answered with a redirect to ${redactUrl(message.headers.location)}, which is not followed so that the token is never sent elsewhere; set the address to the final URL`,
        retryable: false,
        ambiguous: false,
      })
    }
    const retryable = isTransientStatus(status, text)
    throw new NomadError({
      kind: 'http',
      method,
      path,
      status,
      detail: describeStatus(status, text, this.settings.namespace),
      retryable,
      // A gateway error may hide a write the server applied.
      ambiguous: status >= 502 && status <= 504,
    })
  }
}

// The deployment writes (api/deployments.go): path and body of each.

export interface WriteRequest {
  path: string
  body:
    | DeploymentPromoteRequest
    | DeploymentPauseRequest
    | DeploymentFailRequest
    | DeploymentAllocHealthRequest
}

const deploymentPath = (verb: string, id: string) =>
  `/v1/deployment/${verb}/${encodeURIComponent(id)}`

/** No groups: `All: true`. Nomad ignores unknown groups silently, so callers check them first. */
export function promoteRequest(id: string, groups: string[]): WriteRequest {
  return {
    path: deploymentPath('promote', id),
    body:
      groups.length === 0
        ? { DeploymentID: id, All: true, Groups: null }
        : { DeploymentID: id, All: false, Groups: groups },
  }
}

export function pauseRequest(id: string, pause: boolean): WriteRequest {
  return { path: deploymentPath('pause', id), body: { DeploymentID: id, Pause: pause } }
}

export function failRequest(id: string): WriteRequest {
  return { path: deploymentPath('fail', id), body: { DeploymentID: id } }
}

export function allocHealthRequest(
  id: string,
  healthy: string[],
  unhealthy: string[],
): WriteRequest {
  return {
    path: deploymentPath('allocation-health', id),
    body: { DeploymentID: id, HealthyAllocationIDs: healthy, UnhealthyAllocationIDs: unhealthy },
  }
}

function readText(message: IncomingMessage, sink?: (chunk: string) => void): Promise<string> {
  // Not HttpClientResponse.readBody(): it never settles when the connection
  // breaks mid-body, which would hang the gate until its deadline.
  return new Promise((resolve, reject) => {
    // Decoded as it arrives; with a sink (see ArrayStream) the text is handed
    // on instead of kept, so an answer of megabytes is never held whole.
    let text = ''
    message.setEncoding('utf8')
    message.on('data', (c: string) => {
      if (!sink) return void (text += c)
      try {
        sink(c)
      } catch (err) {
        message.destroy()
        reject(err)
      }
    })
    message.on('end', () => resolve(text))
    message.on('error', reject)
    message.on('close', () => {
      if (!message.complete)
        reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }))
    })
  })
}

function parseJson<T>(text: string, method: string, path: string): T {
  try {
    return JSON.parse(text) as T
  } catch {
    throw new NomadError({
      kind: 'protocol',
      method,
      path,
      detail: `the answer is not valid JSON (${text.length} bytes: ${JSON.stringify(text.slice(0, 60))})`,
      retryable: true,
      ambiguous: true,
    })
  }
}

/**
 * A JSON array of objects read as it arrives, each element parsed and mapped on
 * its own: neither the whole text nor every full element is ever held at once.
 * The list of a deployment's allocations is megabytes with thousands of them,
 * on every change; this keeps the gate's memory to what it keeps.
 */
export class ArrayStream<U> {
  private readonly out: U[] = []
  /** The text of the element being read, from its `{`. */
  private element = ''
  private depth = 0
  private inString = false
  private escaped = false
  private closed = false

  constructor(private readonly each: (element: never) => U) {}

  feed(chunk: string, method = 'GET', path = ''): void {
    try {
      this.scan(chunk)
    } catch (err) {
      throw malformed(method, path, err)
    }
  }

  /** The mapped elements; throws when the array did not end. */
  end(method = 'GET', path = ''): U[] {
    if (!this.closed) throw malformed(method, path, new SyntaxError('the array is not complete'))
    return this.out
  }

  private scan(chunk: string): void {
    let start = this.depth >= 2 ? 0 : -1
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) {
        i = this.skipString(chunk, i)
        continue
      }
      const c = chunk.charCodeAt(i)
      if (c <= 0x20) {
        // whitespace
      } else if (this.closed) {
        throw new SyntaxError('text after the array')
      } else if (this.depth === 0) {
        if (c !== 0x5b) throw new SyntaxError('not an array')
        this.depth = 1
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 1) {
          if (c !== 0x7b) throw new SyntaxError('an element that is not an object')
          start = i
        }
        this.depth++
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--
        if (this.depth === 1) {
          this.element += chunk.slice(start, i + 1)
          this.out.push(this.each(JSON.parse(this.element) as never))
          this.element = ''
          start = -1
        } else if (this.depth === 0) {
          if (c !== 0x5d) throw new SyntaxError('unbalanced brackets')
          this.closed = true
        }
      } else if (this.depth === 1) {
        if (c !== 0x2c) throw new SyntaxError('an element that is not an object')
      } else if (c === 0x22) {
        this.inString = true
      }
    }
    if (start >= 0) this.element += chunk.slice(start)
  }

  /** From `i` inside a string: the index of its closing quote, or the chunk's last index. */
  private skipString(chunk: string, i: number): number {
    if (this.escaped) {
      this.escaped = false
      i++
    }
    for (let from = i; ;) {
      const q = chunk.indexOf('"', from)
      // Backslashes just before the quote (or the chunk's end): an odd run escapes it.
      const end = q < 0 ? chunk.length : q
      let run = 0
      while (end - 1 - run >= i && chunk.charCodeAt(end - 1 - run) === 0x5c) run++
      if (q < 0) {
        this.escaped = run % 2 === 1
        return chunk.length - 1
      }
      if (run % 2 === 0) {
        this.inString = false
        return q
      }
      from = q + 1
    }
  }
}

function malformed(method: string, path: string, err: unknown): NomadError {
  return new NomadError({
    kind: 'protocol',
    method,
    path,
    detail: `the answer is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    retryable: true,
    ambiguous: true,
  })
}

function headerNumber(message: IncomingMessage, name: string): number {
  const raw = message.headers[name]
  const n = Number(Array.isArray(raw) ? raw[0] : raw)
  return Number.isFinite(n) ? n : 0
}

function redactUrl(location: string | undefined): string {
  if (!location) return '(no Location header)'
  try {
    const u = new URL(location)
    u.username = ''
    u.password = ''
    u.search = ''
    return u.toString()
  } catch {
    return '(an invalid Location header)'
  }
}

function abortedError(method: string, path: string, cause: unknown, ambiguous = false): NomadError {
  return new NomadError({
    kind: 'aborted',
    method,
    path,
    detail: 'aborted',
    retryable: false,
    ambiguous,
    cause,
  })
}

/** Capped exponential back-off with "equal jitter": half fixed, half random. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 20))
  return Math.round(cap / 2 + Math.random() * (cap / 2))
}

/** Sleep that ends early, rejecting with the signal's reason, when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort)
      resolve()
    }, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}
