// The job endpoints the gate reads (api/jobs.go).

import type { ReadRequest } from './query.js'
import type { Deployment, Evaluation, Job } from './types.js'

const path = (jobId: string, rest = '') => `/v1/job/${encodeURIComponent(jobId)}${rest}`

/** GET /v1/job/:job_id: the job's current version; 404 `job not found`. */
export function jobRequest(jobId: string): ReadRequest<Job> {
  return { path: path(jobId) }
}

/** GET /v1/job/:job_id/deployment: the latest deployment, or `null` when none (or no such job). */
export function jobLatestDeploymentRequest(jobId: string): ReadRequest<Deployment | null> {
  return { path: path(jobId, '/deployment') }
}

/** GET /v1/job/:job_id/deployments: in the server's order, by deployment ID, not by age. */
export function jobDeploymentsRequest(jobId: string): ReadRequest<Deployment[]> {
  return { path: path(jobId, '/deployments') }
}

/** GET /v1/job/:job_id/evaluations: every evaluation of the job, in the server's order. */
export function jobEvaluationsRequest(jobId: string): ReadRequest<Evaluation[]> {
  return { path: path(jobId, '/evaluations') }
}

/** Highest CreateIndex first, as the Go client sorts them (api/evaluations.go EvalIndexSort). */
export function newestEvaluationsFirst(evaluations: Evaluation[]): Evaluation[] {
  return evaluations.sort((a, b) => b.CreateIndex - a.CreateIndex)
}
