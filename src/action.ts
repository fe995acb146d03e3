// The GitHub Action front: inputs in; outputs, the job summary, GitHub
// deployment statuses and the exit status out. The gate does the rest.

import * as core from '@actions/core'
import { parseSettings } from './config/parse.js'
import type { Outcome } from './gate/gate.js'
import { startDeploymentReporter, type GitHubDeploymentState } from './github.js'
import { outputs } from './report/outputs.js'
import { headline, summaryMarkdown } from './report/summary.js'
import { runStep } from './step.js'

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    // Each secret is masked as the parser reads it, before anything is logged,
    // even when a later input turns out bad (interface.md).
    const settings = parseSettings((name) => core.getInput(name), env, { onSecret: mask })

    // auth-method: the workflow's OIDC token, unless login-token gave one (core masks it).
    const login = settings.login
    const loginToken = login && !login.token ? await workflowIdToken(login.audience) : undefined
    // The GitHub side runs beside the gate, never in front of its first request.
    const reporter = settings.github
      ? startDeploymentReporter(settings.github, core.warning).then(async (r) => {
          await r.status('in_progress', 'Gating the Nomad canaries')
          return r
        })
      : undefined
    // A re-run with debug logging (RUNNER_DEBUG=1): every request, retry and decision.
    const debug = core.isDebug() ? core.debug : undefined
    const outcome = await runStep(
      settings,
      { info: core.info, warning: core.warning, debug },
      { loginToken, onSecret: mask },
    )
    for (const [name, value] of Object.entries(outputs(outcome))) core.setOutput(name, value)
    if (reporter) {
      const r = await reporter
      if (r.deploymentId) core.setOutput('github-deployment-id', String(r.deploymentId))
      await r.status(githubState(outcome), outcome.message)
    }
    if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(outcome)).write()
    if (outcome.ok) core.info(headline(outcome))
    else core.setFailed(headline(outcome))
  } catch (err) {
    core.setOutput('result', 'error')
    core.setFailed(err instanceof Error ? err.message : String(err))
  }
}

/** success once promoted; still in progress while only promotable (a later step promotes). */
function githubState(o: Outcome): GitHubDeploymentState {
  if (o.result === 'cancelled') return 'inactive'
  if (!o.ok) return 'failure'
  return o.result === 'promotable' || o.result.startsWith('would-') ? 'in_progress' : 'success'
}

/**
 * The job's OIDC ID token for `audience` (core.getIDToken, which masks it).
 * Without `permissions: id-token: write` the runner sets no
 * ACTIONS_ID_TOKEN_REQUEST_URL, and core says only that.
 */
async function workflowIdToken(audience: string): Promise<string> {
  try {
    return await core.getIDToken(audience)
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/^Error message: /, '')
    if (/ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.test(why)) {
      throw new Error(
        `auth-method needs the workflow's OIDC token, and the runner offers none: give the job \`permissions: id-token: write\` (pull requests from forks never get one) (${why})`,
      )
    }
    const first = why
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ')
    throw new Error(`Could not get the workflow's OIDC token for audience "${audience}": ${first}`)
  }
}

/** The runner masks a multi-line secret line by line only when told each line. */
function mask(secret: string): void {
  core.setSecret(secret)
  for (const line of secret.split(/\r?\n/)) if (line.trim().length > 3) core.setSecret(line.trim())
}
