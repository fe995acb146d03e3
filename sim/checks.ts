// Targets for the soak's analysis checks, on 127.0.0.1 and a free port: an HTTP
// endpoint answering a status the test sets, and a Prometheus answering
// GET /api/v1/query in Prometheus' own JSON shape (prometheus/web/api/v1/api.go).

import { STATUS_CODES } from 'node:http'
import type { ServerResponse } from 'node:http'
import { listen, sleep } from './net.js'

export interface CheckTarget {
  /** e.g. `http://127.0.0.1:41234/health` (any path answers the same). */
  url: string
  /** Status of the following answers (default 200); a 3xx answers with `Location` set by `setLocation`. */
  setStatus(code: number): void
  /** Wait this long before answering (default 0). */
  setDelay(ms: number): void
  /** Location header for 3xx answers (default `http://elsewhere.invalid/`). */
  setLocation(url: string): void
  /** Requests received. */
  hits: number
  /** The Authorization header of the last request, if any. */
  lastAuthorization?: string
  stop(): Promise<void>
}

export type PromSamples = Array<{ metric: Record<string, string>; value: number }>

export interface FakePrometheus {
  /** e.g. `http://127.0.0.1:41235` */
  url: string
  /** What `query` answers: an instant vector of these samples, or a bad_data error (HTTP 400). */
  set(query: string, samples: PromSamples | 'error'): void
  /** Answer the next requests with this body verbatim (HTTP 200, application/json), e.g. malformed JSON. */
  setRaw(body: string | undefined): void
  /** Queries received, in order. */
  queries: string[]
  stop(): Promise<void>
}

export async function startCheckTarget(): Promise<CheckTarget> {
  let status = 200
  let delay = 0
  let location = 'http://elsewhere.invalid/'
  const target: CheckTarget = {
    url: '',
    setStatus: (code) => void (status = code),
    setDelay: (ms) => void (delay = ms),
    setLocation: (url) => void (location = url),
    hits: 0,
    stop: async () => undefined,
  }
  const { url, stop } = await listen(async (req, res, stopping) => {
    req.resume()
    target.hits++
    target.lastAuthorization = req.headers.authorization
    if (delay > 0 && !(await sleep(delay, stopping))) return
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' }
    if (status >= 300 && status < 400) headers.Location = location
    send(res, status, headers, `${STATUS_CODES[status] ?? status}\n`)
  }, fakeError)
  target.url = `${url}/health`
  target.stop = stop
  return target
}

export async function startPrometheus(): Promise<FakePrometheus> {
  const answers = new Map<string, PromSamples | 'error'>()
  let raw: string | undefined
  const prom: FakePrometheus = {
    url: '',
    set: (query, samples) => void answers.set(query, samples),
    setRaw: (body) => void (raw = body),
    queries: [],
    stop: async () => undefined,
  }
  const { url, stop } = await listen(async (req, res) => {
    req.resume()
    const u = new URL(req.url ?? '/', 'http://prometheus')
    if (u.pathname !== '/api/v1/query') return send(res, 404, PLAIN, '404 page not found\n')
    if (req.method !== 'GET') {
      return send(res, 405, PLAIN, 'Method Not Allowed\n')
    }
    const query = u.searchParams.get('query')
    if (query === null || query === '') {
      return json(res, 400, {
        status: 'error',
        errorType: 'bad_data',
        error:
          'invalid parameter "query": unknown position: parse error: no expression found in input',
      })
    }
    prom.queries.push(query)
    if (raw !== undefined) return send(res, 200, JSON_TYPE, raw)
    const answer = answers.get(query) ?? []
    if (answer === 'error') {
      return json(res, 400, {
        status: 'error',
        errorType: 'bad_data',
        error: `invalid parameter "query": 1:1: parse error: unexpected identifier in ${JSON.stringify(query)}`,
      })
    }
    const now = Date.now() / 1000
    json(res, 200, {
      status: 'success',
      data: {
        resultType: 'vector',
        result: answer.map((s) => ({ metric: s.metric, value: [now, formatValue(s.value)] })),
      },
    })
  }, fakeError)
  prom.url = url
  prom.stop = stop
  return prom
}

/** As Go's strconv.FormatFloat(v, 'f', -1, 64) for the usual values; NaN and ±Inf as Prometheus writes them. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

// ---- server ------------------------------------------------------------------------

const PLAIN = { 'Content-Type': 'text/plain; charset=utf-8' }
const JSON_TYPE = { 'Content-Type': 'application/json' }

const fakeError = (res: ServerResponse, e: unknown): void =>
  send(res, 500, PLAIN, `fake error: ${String(e)}`)

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  if (res.destroyed) return
  const bytes = Buffer.from(body)
  res.writeHead(status, { ...headers, 'Content-Length': bytes.length })
  res.end(bytes)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON_TYPE, JSON.stringify(body))
}
