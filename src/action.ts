// The GitHub Action front: inputs in; outputs, the job summary, GitHub
// deployment statuses and the exit status out. The gate does the rest.
//
// @actions/core is loaded once the gate has something to say, not before its
// first request: it imports @actions/http-client and undici (for OIDC tokens),
// most of this bundle, which Node 24 takes tens of milliseconds to compile and
// run (bench/README.md, "Start-up"). Until then the front needs only its inputs
// and the masking of secrets: the runner's INPUT_* variables and one workflow
// command, read and written here as @actions/core does (actions/toolkit,
// packages/core/src/core.ts getInput and setSecret, command.ts escapeData).

import { EOL } from 'node:os'
import { parseSettings } from './config/parse.js'
import type { Outcome } from './gate/gate.js'
import { startDeploymentReporter, type GitHubDeploymentState } from './github.js'
import { outputs } from './report/outputs.js'
import { headline, summaryMarkdown } from './report/summary.js'
import { runStep } from './step.js'

type Core = typeof import('@actions/core')

let loading: Promise<Core> | undefined
/** @actions/core, loaded on first use; what waits for it keeps its order. */
const core = (): Promise<Core> => (loading ??= import('@actions/core'))
const info = (line: string): void => void core().then((c) => c.info(line))
const warning = (line: string): void => void core().then((c) => c.warning(line))
const debugLine = (line: string): void => void core().then((c) => c.debug(line))

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    // Each secret is masked as the parser reads it, before anything is logged,
    // even when a later input turns out bad (interface.md).
    const settings = parseSettings(getInput, env, { onSecret: mask })

    // auth-method: the workflow's OIDC token, unless login-token gave one (core masks it).
    const login = settings.login
    const loginToken = login && !login.token ? await workflowIdToken(login.audience) : undefined

    // The GitHub side runs beside the gate, never in front of its first request.
    const reporter = settings.github
      ? core().then(async (c) => {
          const r = await startDeploymentReporter(settings.github!, c.warning)
          await r.status('in_progress', 'Gating the Nomad canaries')
          return r
        })
      : undefined
    // A re-run with debug logging: every request, retry and decision. The
    // runner sets RUNNER_DEBUG=1 (core.ts isDebug reads the same).
    const debug = env.RUNNER_DEBUG === '1' ? debugLine : undefined
    const outcome = await runStep(
      settings,
      { info, warning, debug },
      { loginToken, onSecret: mask },
    )
    const c = await core()
    for (const [name, value] of Object.entries(outputs(outcome))) c.setOutput(name, value)
    if (reporter) {
      const r = await reporter
      if (r.deploymentId) c.setOutput('github-deployment-id', String(r.deploymentId))
      await r.status(githubState(outcome), outcome.message)
    }
    if (env.GITHUB_STEP_SUMMARY) await c.summary.addRaw(summaryMarkdown(outcome)).write()
    if (outcome.ok) c.info(headline(outcome))
    else c.setFailed(headline(outcome))
  } catch (err) {
    const c = await core()
    c.setOutput('result', 'error')
    c.setFailed(err instanceof Error ? err.message : String(err))
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
    return await (await core()).getIDToken(audience)
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/^Error message: /, '')
    if (/ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)/.test(why)) {
      throw new Error(
        `auth-method needs the workflow's OIDC token, and the runner offers none: give the job \`permissions: id-token: write\` (pull requests from forks never get one) (${why})`,
        { cause: err },
      )
    }
    const first = why
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ')
    throw new Error(
      `Could not get the workflow's OIDC token for audience "${audience}": ${first}`,
      { cause: err },
    )
  }
}

/** core.getInput(name): INPUT_<NAME> (spaces as underscores), trimmed. */
function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}

/** The runner masks a multi-line secret line by line only when told each line. */
function mask(secret: string): void {
  addMask(secret)
  for (const line of secret.split(/\r?\n/)) if (line.trim().length > 3) addMask(line.trim())
}

/** core.setSecret: the add-mask command, at once (before anything that could print the secret). */
function addMask(secret: string): void {
  const data = secret.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
  process.stdout.write(`::add-mask::${data}${EOL}`)
}
