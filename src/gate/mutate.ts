// The one write of a step. Never sent twice blindly: after any failure the
// deployment is read back, and only a write that visibly did not take effect,
// and failed in a way that can pass on a second try, is sent again
// (nomad-api.md: "read the deployment before writing again").

import {
  allocHealthRequest,
  backoffMs,
  failRequest,
  pauseRequest,
  promoteRequest,
  sleep,
  type NomadClient,
  type WriteRequest,
} from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import type { Deployment, DeploymentUpdateResponse } from '../nomad/types.js'
import { GateError } from './errors.js'

export type WriteKind = 'promote' | 'fail' | 'pause' | 'resume' | 'health'

export interface WriteContext {
  client: NomadClient
  deployment: Deployment
  /** Groups to promote; empty: `All: true`. */
  groups: string[]
  healthy: string[]
  unhealthy: string[]
  /** performance.now() value of the step's deadline. */
  deadline: number
  signal: AbortSignal
  log: (line: string) => void
}

export interface WriteOutcome {
  /** The server's answer; absent when the effect was seen by re-reading instead. */
  response?: DeploymentUpdateResponse
  index: number
  /** The deployment as re-read, when it was. */
  deployment?: Deployment
}

/** A write that has started gets this long to finish even past the step's deadline. */
const WRITE_GRACE_MS = 15_000

export async function applyWrite(kind: WriteKind, ctx: WriteContext): Promise<WriteOutcome> {
  const deadline = Math.max(ctx.deadline, performance.now() + WRITE_GRACE_MS)
  for (let attempt = 1; ; attempt++) {
    try {
      // No abort signal: a cancellation that arrives now waits for the answer, so
      // the outputs say what the server did.
      const { body, meta } = await ctx.client.write(writeRequest(kind, ctx))
      return { response: body, index: meta.lastIndex }
    } catch (err) {
      if (!(err instanceof NomadError)) throw err
      // A 4xx is the server refusing the request as sent: nothing was applied.
      if (err.kind === 'http' && err.status !== undefined && err.status < 500) throw err
      // A write that timed out may still be queued on the server, which applies
      // it whether or not we still listen: watch for it as long again as we
      // waited for the answer before sending it a second time.
      const settle =
        err.kind === 'timeout' ? performance.now() + ctx.client.requestTimeoutMs : undefined
      const seen = await readBack(kind, ctx, deadline, err, settle)
      if (seen.done) {
        ctx.log(
          `The ${kind} request failed (${err.detail}), but the deployment shows it in effect: not sending it again`,
        )
        return { index: seen.index, deployment: seen.deployment }
      }
      if (!err.retryable && !err.ambiguous) throw err
      const delayMs = backoffMs({ baseMs: 200, maxMs: 2_000 }, attempt)
      if (performance.now() + delayMs >= deadline) throw err
      ctx.log(
        `The ${kind} request failed (${err.detail}) and did not take effect; sending it again in ${delayMs} ms`,
      )
      await sleep(delayMs, ctx.signal).catch(() => {
        throw err
      })
    }
  }
}

/** The request a write of this kind sends. */
export function writeRequest(
  kind: WriteKind,
  ctx: Omit<WriteContext, 'client' | 'deadline' | 'signal' | 'log'>,
): WriteRequest {
  const id = ctx.deployment.ID
  switch (kind) {
    case 'promote':
      return promoteRequest(id, ctx.groups)
    case 'fail':
      return failRequest(id)
    case 'pause':
      return pauseRequest(id, true)
    case 'resume':
      return pauseRequest(id, false)
    case 'health':
      return allocHealthRequest(id, ctx.healthy, ctx.unhealthy)
  }
}

/**
 * Read the deployment (and, for health, its allocations): is the write's effect
 * there? With `settleUntil`, keep watching (blocking queries) until it is, or
 * until then.
 */
async function readBack(
  kind: WriteKind,
  ctx: WriteContext,
  deadline: number,
  cause: NomadError,
  settleUntil?: number,
): Promise<{ done: boolean; index: number; deployment?: Deployment }> {
  const id = ctx.deployment.ID
  let index = 0
  try {
    for (;;) {
      const waitMs = (settleUntil ?? 0) - performance.now()
      const q = { deadline, signal: ctx.signal, ...(index > 0 ? { index, waitMs } : {}) }
      let seen: { done: boolean; index: number; deployment?: Deployment }
      if (kind === 'health') {
        const { body, meta } = await ctx.client.deploymentAllocations(id, q)
        const health = new Map(body.map((a) => [a.ID, a.DeploymentStatus?.Healthy ?? null]))
        const done =
          ctx.healthy.every((a) => health.get(a) === true) &&
          ctx.unhealthy.every((a) => health.get(a) === false)
        seen = { done, index: meta.lastIndex }
      } else {
        const { body: d, meta } = await ctx.client.deployment(id, q)
        seen = { done: inEffect(kind, d, ctx.groups), index: meta.lastIndex, deployment: d }
      }
      if (seen.done || settleUntil === undefined || performance.now() >= settleUntil) return seen
      index = Math.max(1, seen.index)
    }
  } catch (err) {
    if (!(err instanceof NomadError)) throw err
    throw new GateError(
      `The ${kind} of deployment ${id} may or may not have been applied: its answer was lost (${cause.detail}) and reading the deployment back failed (${err.detail}); check it with 'nomad deployment status ${id}' before running the step again`,
    )
  }
}

export function inEffect(
  kind: Exclude<WriteKind, 'health'>,
  d: Deployment,
  groups: string[],
): boolean {
  switch (kind) {
    case 'promote': {
      const names = groups.length ? groups : Object.keys(d.TaskGroups)
      return names
        .map((g) => d.TaskGroups[g])
        .filter((s) => s && s.DesiredCanaries > 0)
        .every((s) => s.Promoted)
    }
    case 'fail':
      return d.Status === 'failed'
    case 'pause':
      return d.Status === 'paused'
    case 'resume':
      return d.Status === 'running'
  }
}
