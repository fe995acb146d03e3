// THE spec of the step's outputs (the interface doc's table): action.yml's
// outputs and the README's table are generated from it, and
// __tests__/docs.test.ts checks that the outputs the step sets are these.

import type { OutputSpec } from './spec.js'

export const OUTPUTS = [
  {
    name: 'result',
    description:
      'promoted, already-promoted, promotable, failed, paused, resumed, health-set, timed-out, unhealthy, deployment-failed; also check-failed (soak checks), would-* (dry-run), error (a request or the target failed) and cancelled (the run was cancelled).',
  },
  {
    name: 'message',
    description:
      'One line saying what happened, with the per-group counts, e.g. "Promoted: web 2/2 healthy".',
  },
  { name: 'deployment-id', description: 'The full ID of the deployment acted on.' },
  { name: 'job-id', description: "The deployment's job ID." },
  { name: 'job-version', description: "The deployment's job version." },
  { name: 'namespace', description: "The deployment's namespace." },
  {
    name: 'status',
    description: "The deployment's status after the step, e.g. running, successful, failed.",
  },
  {
    name: 'status-description',
    description: "The deployment's status description after the step.",
  },
  {
    name: 'eval-id',
    description:
      "EvalID of the mutation's response (empty when none was sent or its answer was lost).",
  },
  { name: 'eval-create-index', description: "EvalCreateIndex of the mutation's response." },
  {
    name: 'deployment-modify-index',
    description: "DeploymentModifyIndex of the mutation's response.",
  },
  { name: 'index', description: 'The X-Nomad-Index of the last response.' },
  {
    name: 'reverted-job-version',
    description: 'RevertedJobVersion when a fail triggered an auto-revert.',
  },
  {
    name: 'healthy-canaries',
    description:
      "Healthy canaries over the selected groups (the server's rule: placed, not terminal, healthy).",
  },
  { name: 'desired-canaries', description: 'Desired canaries over the selected groups.' },
  {
    name: 'groups',
    description:
      'JSON array of {name, desiredCanaries, placedCanaries, healthyCanaries, unhealthyCanaries, promoted}.',
  },
  {
    name: 'checks',
    description:
      'JSON array of the check runs during the soak: {atMs, ok, results: [{name, ok, detail, ms}]}.',
  },
  {
    name: 'github-deployment-id',
    description: 'The GitHub deployment the statuses were posted to (with github-token).',
  },
  { name: 'elapsed-ms', description: 'Milliseconds the step took.' },
] as const satisfies readonly OutputSpec[]

export type OutputName = (typeof OUTPUTS)[number]['name']
