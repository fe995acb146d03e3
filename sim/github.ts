// A local fake of the two GitHub REST endpoints the gate uses, on 127.0.0.1 and
// a free port, answering in GitHub's shapes and with GitHub's validation of
// what the gate sends (docs.github.com/rest/deployments):
//   POST /repos/{owner}/{repo}/deployments
//   POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses

import { STATUS_CODES } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listen } from './net.js'

export interface FakeDeploymentStatus {
  id: number
  state: string
  description: string
  log_url: string
  environment: string
}

export interface FakeDeployment {
  id: number
  /** owner/repo */
  repository: string
  ref: string
  environment: string
  description: string | null
  auto_merge: unknown
  required_contexts: unknown
  statuses: FakeDeploymentStatus[]
}

export interface FakeRequest {
  method: string
  path: string
  /** The Authorization header as sent. */
  auth?: string
  body?: unknown
}

export interface GithubFakeOptions {
  /** When set, any other token is answered 401 Bad credentials. */
  token?: string
}

export interface GithubFake {
  /** Base URL for the API, e.g. `http://127.0.0.1:41236` (as GITHUB_API_URL). */
  url: string
  deployments: FakeDeployment[]
  requests: FakeRequest[]
  /** Answer the next request with this status and `{"message": ...}` (after logging it). */
  failNext(status: number, message?: string): void
  /** A deployment made outside the gate (as by an earlier workflow step); returns its ID. */
  addDeployment(d: { repository?: string; ref: string; environment: string }): number
  stop(): Promise<void>
}

const DOCS = 'https://docs.github.com/rest/deployments'
const STATES = new Set([
  'error',
  'failure',
  'inactive',
  'in_progress',
  'queued',
  'pending',
  'success',
])

export async function startGithubFake(options: GithubFakeOptions = {}): Promise<GithubFake> {
  const deployments: FakeDeployment[] = []
  const requests: FakeRequest[] = []
  const failures: Array<{ status: number; message?: string }> = []
  let nextId = 1_000_001
  let base = ''

  const create = (d: Omit<FakeDeployment, 'id' | 'statuses'>): FakeDeployment => {
    const deployment: FakeDeployment = { id: nextId++, ...d, statuses: [] }
    deployments.push(deployment)
    return deployment
  }
  const deploymentJson = (d: FakeDeployment) => ({
    url: `${base}/repos/${d.repository}/deployments/${d.id}`,
    id: d.id,
    node_id: `DE_${d.id}`,
    sha: d.ref,
    ref: d.ref,
    task: 'deploy',
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: CREATOR,
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    statuses_url: `${base}/repos/${d.repository}/deployments/${d.id}/statuses`,
    repository_url: `${base}/repos/${d.repository}`,
    transient_environment: false,
    production_environment: false,
  })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const method = req.method ?? 'GET'
    const path = new URL(req.url ?? '/', 'http://github').pathname
    const auth = req.headers.authorization
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      body = text
    }
    requests.push({ method, path, ...(auth !== undefined ? { auth } : {}), body })

    const failure = failures.shift()
    if (failure) {
      return json(res, failure.status, {
        message: failure.message ?? STATUS_CODES[failure.status] ?? 'Error',
        documentation_url: DOCS,
      })
    }
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(auth ?? '')?.[1]
    if (!token) {
      return json(res, 401, { message: 'Requires authentication', documentation_url: DOCS })
    }
    if (options.token !== undefined && token !== options.token) {
      return json(res, 401, { message: 'Bad credentials', documentation_url: DOCS })
    }
    if (typeof body === 'string') {
      return json(res, 400, { message: 'Problems parsing JSON', documentation_url: DOCS })
    }
    const b = (body ?? {}) as Record<string, unknown>

    const list = /^\/repos\/([^/]+)\/([^/]+)\/deployments$/.exec(path)
    if (list && method === 'POST') {
      if (typeof b.ref !== 'string' || b.ref === '') {
        return invalid(res, `"ref" wasn't supplied.`)
      }
      const d = create({
        repository: `${list[1]}/${list[2]}`,
        ref: b.ref,
        environment: typeof b.environment === 'string' ? b.environment : 'production',
        description: typeof b.description === 'string' ? b.description : null,
        auto_merge: b.auto_merge,
        required_contexts: b.required_contexts,
      })
      return json(res, 201, deploymentJson(d))
    }

    const statuses = /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/.exec(path)
    if (statuses && method === 'POST') {
      const repository = `${statuses[1]}/${statuses[2]}`
      const d = deployments.find((x) => x.id === Number(statuses[3]) && x.repository === repository)
      if (!d) return json(res, 404, { message: 'Not Found', documentation_url: DOCS })
      if (typeof b.state !== 'string' || !STATES.has(b.state)) {
        return invalid(
          res,
          `${JSON.stringify(b.state)} is not a member of ${JSON.stringify([...STATES])}.`,
        )
      }
      const description = typeof b.description === 'string' ? b.description : ''
      if ([...description].length > 140) {
        return json(res, 422, {
          message: 'Validation Failed',
          errors: [
            {
              resource: 'DeploymentStatus',
              code: 'custom',
              field: 'description',
              message: 'description is too long (maximum is 140 characters)',
            },
          ],
          documentation_url: DOCS,
        })
      }
      const status: FakeDeploymentStatus = {
        id: nextId++,
        state: b.state,
        description,
        log_url: typeof b.log_url === 'string' ? b.log_url : '',
        environment: typeof b.environment === 'string' ? b.environment : d.environment,
      }
      d.statuses.push(status)
      return json(res, 201, {
        url: `${base}/repos/${repository}/deployments/${d.id}/statuses/${status.id}`,
        id: status.id,
        node_id: `DES_${status.id}`,
        state: status.state,
        creator: CREATOR,
        description: status.description,
        environment: status.environment,
        target_url: status.log_url,
        log_url: status.log_url,
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
        deployment_url: `${base}/repos/${repository}/deployments/${d.id}`,
        repository_url: `${base}/repos/${repository}`,
        environment_url: '',
      })
    }
    json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })
  }

  const server = await listen(
    (req, res) => handle(req, res),
    (res, e) => json(res, 500, { message: `fake error: ${String(e)}` }),
  )
  base = server.url

  return {
    url: base,
    deployments,
    requests,
    failNext: (status, message) => void failures.push({ status, message }),
    addDeployment: (d) =>
      create({
        repository: d.repository ?? 'octo/app',
        ref: d.ref,
        environment: d.environment,
        description: null,
        auto_merge: true,
        required_contexts: undefined,
      }).id,
    stop: server.stop,
  }
}

const CREATOR = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' }

function invalid(res: ServerResponse, detail: string): void {
  json(res, 422, { message: `Invalid request.\n\n${detail}`, documentation_url: DOCS })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return
  const bytes = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': bytes.length,
  })
  res.end(bytes)
}
