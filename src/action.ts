// The GitHub Action front: inputs -> gate -> outputs, summary, exit status.

import * as core from '@actions/core'
import { execute } from './front.js'
import type { Outcome } from './gate/gate.js'
import { startDeploymentReporter, type GitHubDeploymentState } from './github.js'
import { outputs } from './report/outputs.js'
import { headline, summaryMarkdown } from './report/summary.js'
import { parseSettings } from './config/parse.js'

export async function run(): Promise<void> {
  try {
    // Mask before anything is logged, even a parse error (interface.md).
    maskRaw(core.getInput('token') || process.env.NOMAD_TOKEN)
    maskRaw(userinfoPassword(core.getInput('address') || process.env.NOMAD_ADDR))
    const settings = parseSettings((name) => core.getInput(name), process.env)
    settings.secrets.forEach(maskRaw)

    // The GitHub side runs beside the gate, never in front of its first request.
    const reporter = settings.github
      ? startDeploymentReporter(settings.github, core.warning).then(async (r) => {
          await r.status('in_progress', 'Gating the Nomad canaries')
          return r
        })
      : undefined
    const outcome = await execute(settings, { info: core.info, warning: core.warning })
    for (const [name, value] of Object.entries(outputs(outcome))) core.setOutput(name, value)
    if (reporter) {
      const r = await reporter
      if (r.deploymentId) core.setOutput('github-deployment-id', String(r.deploymentId))
      await r.status(githubState(outcome), outcome.message)
    }
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summaryMarkdown(outcome)).write()
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

/** The runner masks a multi-line secret line by line only when told each line. */
function maskRaw(secret: string | undefined): void {
  if (!secret) return
  core.setSecret(secret)
  for (const line of secret.split(/\r?\n/)) if (line.trim().length > 3) core.setSecret(line.trim())
}

function userinfoPassword(address: string | undefined): string | undefined {
  const m = /^[a-z]+:\/\/([^/@]*)@/i.exec(address ?? '')
  if (!m) return undefined
  const info = decodeURIComponent(m[1])
  return info.includes(':') ? info.slice(info.indexOf(':') + 1) : info
}
