// What a step ends with, and the words on the way there: the one vocabulary
// that the gate, the reports and the fronts share. Imports nothing of the gate,
// so every part of it can import this without a cycle.

import type { CheckRun } from '../checks.js'
import type { Deployment, DeploymentUpdateResponse } from '../nomad/types.js'
import type { GroupReadiness } from './readiness.js'

/** The `result` output (interface.md). */
export type Result =
  | 'promoted'
  | 'already-promoted'
  | 'promotable'
  | 'failed'
  | 'paused'
  | 'resumed'
  | 'health-set'
  | 'timed-out'
  | 'unhealthy'
  | 'deployment-failed'
  /** A check failed during the soak more often than failure-limit allows. */
  | 'check-failed'
  /** dry-run: what the write would have been. */
  | 'would-promote'
  | 'would-fail'
  | 'would-pause'
  | 'would-resume'
  | 'would-set-health'
  /** A request failed for good, or the target cannot be gated (not found, no canaries, ...). */
  | 'error'
  /** SIGINT/SIGTERM: the runner cancelled the step. */
  | 'cancelled'

/** The writes a step can send: the mode's own, or on-failure's. */
export type WriteKind = 'promote' | 'fail' | 'pause' | 'resume' | 'health'

/** How a step ends: its result, and the one write to send first, if any. */
export interface Verdict {
  result: Result
  ok: boolean
  /** One line: what happened, with the per-group counts. */
  message: string
  write?: WriteKind
}

export interface Log {
  info(line: string): void
  warning(line: string): void
  /** Lines for a debug re-run (RUNNER_DEBUG, the CLI's --debug): every decision, with the indexes it was made on. */
  debug?(line: string): void
}

export interface TimelineEvent {
  /** Milliseconds since the step started. */
  atMs: number
  text: string
}

export interface Outcome {
  ok: boolean
  result: Result
  /** One line: what happened, with the per-group counts. */
  message: string
  deployment?: Deployment
  groups: GroupReadiness[]
  /** The answer to the write, when one was sent and answered. */
  write?: DeploymentUpdateResponse
  /** X-Nomad-Index of the last response. */
  index: number
  elapsedMs: number
  timeline: TimelineEvent[]
  /** Check runs during the soak. */
  checks: CheckRun[]
  /** How the deployment was followed in the end: Nomad's event stream, or blocking queries. */
  followed?: 'events' | 'blocking'
  /** The deployments of the job in Nomad's UI. */
  uiUrl?: string
}

/**
 * The job's deployments in Nomad's web UI (ui/app/router.js: `jobs/:job_name`
 * with the id `<job>@<namespace>`, and its `deployments` tab); the address
 * without credentials or query.
 */
export function nomadUiUrl(address: string, jobId: string, namespace: string): string {
  const u = new URL(address)
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  const base = u.toString().replace(/\/+$/, '')
  return `${base}/ui/jobs/${encodeURIComponent(jobId)}@${encodeURIComponent(namespace)}/deployments`
}

/** What a dry run reports instead of the result of a write it did not send. */
export const DRY_RUN_RESULT: Partial<Record<Result, Result>> = {
  promoted: 'would-promote',
  failed: 'would-fail',
  paused: 'would-pause',
  resumed: 'would-resume',
  'health-set': 'would-set-health',
}

export function shortId(id: string): string {
  return id.slice(0, 8)
}

/** A write's answer, its empty fields left out: `EvalID 5f1c…, DeploymentModifyIndex 12`. */
export function describeAnswer(r: DeploymentUpdateResponse): string {
  const parts: string[] = []
  if (r.EvalID) parts.push(`EvalID ${r.EvalID}`)
  if (r.EvalCreateIndex) parts.push(`EvalCreateIndex ${r.EvalCreateIndex}`)
  if (r.DeploymentModifyIndex) parts.push(`DeploymentModifyIndex ${r.DeploymentModifyIndex}`)
  if (r.RevertedJobVersion != null) parts.push(`reverted to job version ${r.RevertedJobVersion}`)
  return parts.join(', ') || 'no fields in the answer'
}
