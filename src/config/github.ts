// The GitHub inputs (a token, and the deployment to post statuses to or the
// environment to create one in) with what the runner says about the run
// (GITHUB_* variables): everything the reporter in src/github.ts needs.

import type { GithubDeploymentSettings } from '../github.js'
import {
  envValue,
  fail,
  invalid,
  isHeaderSafe,
  type Env,
  type Inputs,
  type SecretList,
} from './values.js'

export function parseGithub(
  inputs: Inputs,
  env: Env,
  secrets: SecretList,
): GithubDeploymentSettings | undefined {
  const token = inputs.get('github-token')
  const id = inputs.get('github-deployment-id')
  const environment = inputs.get('environment')
  if (!token) {
    if (id || environment) {
      fail((id ?? environment)!, 'needs github-token to post deployment statuses')
    }
    return undefined
  }
  secrets.add(token.value)
  if (!isHeaderSafe(token.value)) invalid(token, 'must be a GitHub token', true)
  const github: GithubDeploymentSettings = { token: token.value, ...runnerContext(env) }
  if (id) {
    if (!/^[1-9]\d*$/.test(id.value)) {
      invalid(id, 'must be a GitHub deployment ID (a positive number)')
    }
    github.deploymentId = Number(id.value)
  }
  if (environment) github.environment = environment.value
  if (!id && !environment) {
    fail(
      token,
      'needs github-deployment-id, or environment to create a deployment in (e.g. production)',
    )
  }
  return github
}

/** The run as the runner describes it: the repository, the commit, the run's page, the API. */
export function runnerContext(
  env: Env,
): Pick<GithubDeploymentSettings, 'repository' | 'ref' | 'logUrl' | 'apiUrl'> {
  const server = envValue(env, 'GITHUB_SERVER_URL')
  const repository = envValue(env, 'GITHUB_REPOSITORY')
  const run = envValue(env, 'GITHUB_RUN_ID')
  return {
    repository: repository ?? '',
    ref: envValue(env, 'GITHUB_SHA'),
    logUrl:
      server && repository && run
        ? `${server.replace(/\/+$/, '')}/${repository}/actions/runs/${run}`
        : undefined,
    apiUrl: envValue(env, 'GITHUB_API_URL') ?? 'https://api.github.com',
  }
}
