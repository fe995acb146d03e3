// The one write of a step. Never sent twice blindly: after any failure the
// deployment is read back, and only a write that visibly did not take effect,
// and failed in a way that can pass on a second try, is sent again
// (nomad-api.md: "read the deployment before writing again").

import { backoffMs, sleep, type NomadClient } from '../nomad/client.js'
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
      const { body, meta } = await send(kind, ctx)
      return { response: body, index: meta.lastIndex }
    } catch (err) {
      if (!(err instanceof NomadError)) throw err
      // A 4xx is the server refusing the request as sent: nothing was applied.
      if (err.kind === 'http' && err.status !== undefined && err.status < 500) throw err
      const seen = await readBack(kind, ctx, deadline, err)
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

function send(kind: WriteKind, ctx: WriteContext) {
  const id = ctx.deployment.ID
  switch (kind) {
    case 'promote':
      return ctx.client.promote(id, ctx.groups)
    case 'fail':
      return ctx.client.fail(id)
    case 'pause':
      return ctx.client.pause(id, true)
    case 'resume':
      return ctx.client.pause(id, false)
    case 'health':
      return ctx.client.setAllocHealth(id, ctx.healthy, ctx.unhealthy)
  }
}

/** Read the deployment (and, for health, its allocations): is the write's effect there? */
async function readBack(
  kind: WriteKind,
  ctx: WriteContext,
  deadline: number,
  cause: NomadError,
): Promise<{ done: boolean; index: number; deployment?: Deployment }> {
  const id = ctx.deployment.ID
  const q = { deadline, signal: ctx.signal }
  try {
    if (kind === 'health') {
      const { body, meta } = await ctx.client.deploymentAllocations(id, q)
      const health = new Map(body.map((a) => [a.ID, a.DeploymentStatus?.Healthy ?? null]))
      const done =
        ctx.healthy.every((a) => health.get(a) === true) &&
        ctx.unhealthy.every((a) => health.get(a) === false)
      return { done, index: meta.lastIndex }
    }
    const { body: d, meta } = await ctx.client.deployment(id, q)
    return { done: inEffect(kind, d, ctx.groups), index: meta.lastIndex, deployment: d }
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
