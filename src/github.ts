// GitHub deployment statuses for the gate, so the environment page shows the
// canary as in progress, then success or failure. Reporting is a side show: a
// failure to talk to GitHub is logged and never fails the gate.
//
// @actions/github is imported only here and only when used: loading it (with
// Octokit and undici) costs start-up time that runs without github-token
// should not pay.

export interface GithubDeploymentSettings {
  token: string
  /** Environment to create the deployment in (with no deploymentId), and to name in statuses. */
  environment?: string
  /** Post statuses to this deployment instead of creating one. */
  deploymentId?: number
  /** owner/repo (the runner's GITHUB_REPOSITORY). */
  repository: string
  /** The commit to create a deployment for (GITHUB_SHA). */
  ref?: string
  /** The run's page, linked from every status. */
  logUrl?: string
  /** GitHub's REST API (GITHUB_API_URL). */
  apiUrl: string
}

/** A GitHub deployment status's state (not Nomad's DeploymentState, a task group's progress). */
export type GitHubDeploymentState = 'in_progress' | 'success' | 'failure' | 'inactive' | 'error'

export interface DeploymentReporter {
  /** The deployment the statuses go to; 0 when none could be created (status() then does nothing). */
  deploymentId: number
  /** Posts one status, after the ones before it. Never rejects: a failure is logged. */
  status(state: GitHubDeploymentState, description: string): Promise<void>
}

/** GitHub rejects a deployment status description longer than this. */
export const DESCRIPTION_LIMIT = 140

/** A hung GitHub must not hold the gate. */
const REQUEST_TIMEOUT_MS = 10_000

/**
 * Creates the deployment (or takes the given one) and returns a reporter for
 * its statuses. Never rejects: when no deployment can be had, `log` says why
 * and the reporter does nothing.
 */
export async function startDeploymentReporter(
  s: GithubDeploymentSettings,
  log: (line: string) => void,
): Promise<DeploymentReporter> {
  const scrub = (text: string): string => (s.token ? text.split(s.token).join('***') : text)
  const warn = (line: string): void => log(scrub(line))
  const none: DeploymentReporter = { deploymentId: 0, status: async () => undefined }

  const repository = s.repository
  const [owner, repo, extra] = repository.split('/')
  if (!owner || !repo || extra !== undefined) {
    warn(
      `GitHub deployment statuses not posted: the repository must be owner/repo (got ${JSON.stringify(repository)}; GITHUB_REPOSITORY is set by the runner)`,
    )
    return none
  }
  const environment = s.environment
  const logUrl = s.logUrl
  const baseUrl = s.apiUrl.replace(/\/+$/, '')

  let octokit: Octokit
  try {
    const { getOctokit } = await import('@actions/github')
    octokit = getOctokit(s.token, { baseUrl })
  } catch (err) {
    warn(`GitHub deployment statuses not posted: ${describeError(err)}`)
    return none
  }

  let deploymentId = s.deploymentId ?? 0
  if (!deploymentId) {
    const ref = s.ref
    if (!ref || !environment) {
      warn(
        `GitHub deployment not created: ${!ref ? 'no ref (GITHUB_SHA is set by the runner)' : 'no environment'}; give github-deployment-id, or environment and a ref`,
      )
      return none
    }
    try {
      const res = await octokit.rest.repos.createDeployment({
        owner,
        repo,
        ref,
        environment,
        auto_merge: false,
        // Without this GitHub refuses the deployment until every commit status is green.
        required_contexts: [],
        description: 'Nomad canary gate',
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      })
      const id = (res.data as { id?: unknown }).id
      if (typeof id !== 'number') {
        throw new Error(`GitHub answered HTTP ${res.status} without a deployment ID`)
      }
      deploymentId = id
    } catch (err) {
      warn(
        `GitHub deployment not created in ${repository} for environment "${environment}": ${describeError(err)}`,
      )
      return none
    }
  }

  let last: Promise<void> = Promise.resolve()
  const post = async (state: GitHubDeploymentState, description: string): Promise<void> => {
    try {
      await octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: deploymentId,
        state,
        description: truncateDescription(description),
        ...(logUrl ? { log_url: logUrl } : {}),
        ...(environment ? { environment } : {}),
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      })
    } catch (err) {
      warn(
        `GitHub deployment status "${state}" not posted to deployment ${deploymentId}: ${describeError(err)}`,
      )
    }
  }
  return {
    deploymentId,
    status(state, description) {
      last = last.then(() => post(state, description))
      return last
    },
  }
}

type Octokit = ReturnType<typeof import('@actions/github').getOctokit>

/** At most DESCRIPTION_LIMIT characters (code points, so no emoji is cut in half). */
export function truncateDescription(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, ' ').trim())
  if (chars.length <= DESCRIPTION_LIMIT) return chars.join('')
  return `${chars.slice(0, DESCRIPTION_LIMIT - 1).join('')}…`
}

/**
 * What went wrong, from Octokit's RequestError (status, GitHub's message) or
 * the socket error beneath it. Built from parts, never from the request, whose
 * headers hold the token.
 */
function describeError(err: unknown): string {
  const e = err as {
    name?: string
    status?: number
    message?: string
    response?: { data?: unknown }
    cause?: { cause?: { code?: string }; code?: string }
  }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`
  }
  const code = e?.cause?.cause?.code ?? e?.cause?.code
  if (e?.response === undefined) {
    if (code === 'ECONNREFUSED') return 'connection refused'
    return code ? `${e?.message ?? String(err)} (${code})` : (e?.message ?? String(err))
  }
  const data = e.response.data as
    | { message?: string; errors?: Array<{ message?: string; field?: string; code?: string }> }
    | string
    | undefined
  let text = typeof data === 'string' ? data : (data?.message ?? '')
  if (typeof data === 'object' && Array.isArray(data?.errors)) {
    const details = data.errors.map((x) => x.message ?? `${x.field ?? ''} ${x.code ?? ''}`.trim())
    if (details.length) text += `: ${details.join('; ')}`
  }
  text = text.trim().replace(/\s+/g, ' ').slice(0, 300) || '(empty body)'
  const hint =
    e.status === 401
      ? ' (the token is invalid or expired)'
      : e.status === 403 || e.status === 404
        ? ' (the token needs the deployments: write permission on the repository)'
        : ''
  return `HTTP ${e.status}: ${text}${hint}`
}
