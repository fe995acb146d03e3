// The one write of a step. Never sent twice blindly: after a failure whose
// answer was lost, the deployment is read back (the follower's view), and only
// a write that visibly did not take effect, and failed in a way that can pass
// on a second try, is sent again (nomad-api.md: "read the deployment before
// writing again").

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
import type { Follower } from './follow.js'
import { describeAnswer, shortId, type Verdict, type WriteKind } from './outcome.js'
import { describeGroups } from './readiness.js'
import type { Timeline } from './timeline.js'
import type { RolloutView } from './view.js'

export interface WriteContext {
  client: NomadClient
  view: RolloutView
  follower: Follower
  /** Groups to promote; empty: `All: true`. */
  groups: string[]
  healthy: string[]
  unhealthy: string[]
  /** performance.now() value of the step's deadline. */
  deadline: number
  signal: AbortSignal
  log: (line: string) => void
}

export type WriteOutcome =
  /** Nomad answered: applied at `response.Index`. */
  | { kind: 'applied'; response: DeploymentUpdateResponse; index: number }
  /** The answer was lost, but the view shows the effect. */
  | { kind: 'seen' }
  /** Nomad refused it for a reason the deployment's state explains: the state changed since the gate read it. */
  | { kind: 'refused'; reason: string }

/** A write that has started gets this long to finish even past the step's deadline. */
export const WRITE_GRACE_MS = 15_000

/** After a write: how long the watches get to show its effect before one plain read does. */
const SETTLE_MS = 5_000

export interface WriterOptions {
  client: NomadClient
  view: RolloutView
  follower: Follower
  timeline: Timeline
  /** Groups to promote; empty: `All: true`. */
  groups: string[]
  dryRun: boolean
  /** After a promote the watches go on (wait-for-completion); after any other write the step ends. */
  waitForCompletion: boolean
  deadline: number
  signal: AbortSignal
  /** Settles before the first write: the access check, so its warning comes first. */
  before?: Promise<void>
}

/** The step's writes: sent (or, in a dry run, logged), read back when lost, and settled. */
export class Writer {
  /** The answer to the write, when one was sent and answered. */
  response?: DeploymentUpdateResponse
  /** The index at which Nomad applied it; 0 before. */
  index = 0
  /** dry-run: the write that was planned (and only logged). */
  planned?: WriteKind

  constructor(private readonly o: WriterOptions) {}

  /** Sends a write, then waits until the view shows the state after it. */
  async send(
    kind: WriteKind,
    health = { healthy: [] as string[], unhealthy: [] as string[] },
  ): Promise<'sent' | 'refused'> {
    const { o } = this
    await o.before
    // Info lines: the step's retries are summed up in one warning (step.ts).
    const ctx: WriteContext = { ...o, ...health, log: (line) => o.timeline.event(line) }
    if (o.dryRun) {
      this.planned = kind
      o.timeline.event(
        `Dry run: would send ${o.client.describe(writeRequest(kind, o.view.deployment.ID, ctx))}`,
      )
      return 'sent'
    }
    const out = await applyWrite(kind, ctx)
    if (out.kind === 'refused') {
      o.timeline.event(
        `Nomad refused the ${kind} (${out.reason}): the deployment changed after the gate read it; reading it again`,
      )
      return 'refused'
    }
    if (out.kind === 'seen') {
      o.timeline.event(
        `The ${kind} took effect although its answer was lost (seen by re-reading the deployment)`,
      )
      return 'sent'
    }
    const r = out.response
    this.response = r
    this.index = Math.max(out.index, r.DeploymentModifyIndex)
    o.timeline.event(`Sent ${kind}: ${describeAnswer(r)}`)
    await this.settle(kind)
    return 'sent'
  }

  /** on-failure's write after a failed gate; a deployment that ended meanwhile needs none. */
  async onFailure(kind: WriteKind, verdict: Verdict): Promise<Verdict> {
    if ((await this.send(kind)) === 'sent') {
      // What on-failure did, in words: the step's message and the summary say it.
      const did = this.o.dryRun ? `would ${kind}` : PAST[kind]
      const id = shortId(this.o.view.deployment.ID)
      const after = AFTER[verdict.result] ?? `after ${verdict.result}`
      const sentence = `${did[0].toUpperCase()}${did.slice(1)} deployment ${id} ${after} (on-failure: ${kind})`
      return { ...verdict, message: `${verdict.message}. ${sentence}` }
    }
    await this.readAfterWrite()
    const d = this.o.view.deployment
    return {
      ...verdict,
      message: `${verdict.message}; on-failure ${kind} not applied: the deployment is ${d.Status}`,
    }
  }

  /** Another actor's promotion landed before this step's own (which Nomad then applied again). */
  promotedBySomeoneElse(): Verdict | undefined {
    const at = this.o.view.promotedAt
    if (at === undefined || this.index === 0 || at >= this.index) return undefined
    return {
      result: 'already-promoted',
      ok: true,
      message: `Already promoted by someone else (index ${at}) before this gate's promote (index ${this.index}) reached Nomad: ${describeGroups(this.o.view.readiness().groups)}`,
    }
  }

  /** Until the view is at or past the write's index (the outputs describe the state after it). */
  private async settle(kind: WriteKind): Promise<void> {
    const allocs = kind === 'promote' || kind === 'health'
    const last = !(kind === 'promote' && this.o.waitForCompletion)
    const until = performance.now() + SETTLE_MS
    if (await this.o.follower.settle(this.index, { allocs, last, until })) return
    await this.readAfterWrite()
  }

  /**
   * The watches did not show the state after the write (they end at the
   * deadline; an on-failure write comes after it): read it, retrying within
   * SETTLE_MS. Best effort: the write stands whatever this read says.
   */
  private async readAfterWrite(): Promise<void> {
    const o = { signal: AbortSignal.timeout(SETTLE_MS), deadline: performance.now() + SETTLE_MS }
    await this.o.follower.refresh(o).catch(() => undefined)
  }
}

/**
 * Refusals that the state explains (nomad/state/state_store.go
 * UpdateDeploymentPromotion, nomad/deployment_endpoint.go): too few healthy
 * canaries now, or a deployment that ended meanwhile. Re-reading and deciding
 * again is the answer; sending again is not.
 */
const REFUSED_BY_STATE = /has \d+\/\d+ healthy allocations|terminal (deployment|status)/i

export async function applyWrite(kind: WriteKind, ctx: WriteContext): Promise<WriteOutcome> {
  const deadline = Math.max(ctx.deadline, performance.now() + WRITE_GRACE_MS)
  const request = writeRequest(kind, ctx.view.deployment.ID, ctx)
  for (let attempt = 1; ; attempt++) {
    try {
      // No abort signal: a cancellation that arrives now waits for the answer, so
      // the outputs say what the server did.
      const { body, meta } = await ctx.client.write(request)
      return { kind: 'applied', response: body, index: meta.lastIndex }
    } catch (err) {
      if (!(err instanceof NomadError)) throw err
      if (err.kind === 'http' && !err.retryable && REFUSED_BY_STATE.test(err.detail)) {
        return { kind: 'refused', reason: err.detail }
      }
      // A 4xx is the server refusing the request as sent: nothing was applied.
      if (err.kind === 'http' && err.status !== undefined && err.status < 500) throw err
      if (await readBack(kind, ctx, err, deadline)) {
        ctx.log(
          `The ${kind} request failed (${err.detail}), but the deployment shows it in effect: not sending it again`,
        )
        return { kind: 'seen' }
      }
      if (!err.retryable && !err.ambiguous) throw err
      const delayMs = backoffMs({ baseMs: 200, maxMs: 2_000 }, attempt)
      if (performance.now() + delayMs >= deadline) throw err
      ctx.client.reportRetry(err, attempt, delayMs)
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
  id: string,
  ctx: Pick<WriteContext, 'groups' | 'healthy' | 'unhealthy'>,
): WriteRequest {
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
 * Is the write's effect there? Read the deployment and its allocations now; a
 * write that timed out may still be queued on the server, which applies it
 * whether or not we still listen: then watch for it as long again as we
 * waited for the answer before sending it a second time.
 */
async function readBack(
  kind: WriteKind,
  ctx: WriteContext,
  cause: NomadError,
  deadline: number,
): Promise<boolean> {
  try {
    await ctx.follower.refresh({ deadline })
    if (cause.kind !== 'timeout') return inEffect(kind, ctx)
    const until = performance.now() + ctx.client.requestTimeoutMs
    while (!inEffect(kind, ctx) && performance.now() < until && !ctx.signal.aborted) {
      if (!ctx.follower.ended) await ctx.follower.changed(ctx.view.version, until)
      else
        await sleep(Math.min(250, until - performance.now())).then(() =>
          ctx.follower.refresh({ deadline }),
        )
    }
    return inEffect(kind, ctx)
  } catch (err) {
    if (!(err instanceof NomadError)) throw err
    const id = ctx.view.deployment.ID
    throw new GateError(
      `The ${kind} of deployment ${id} may or may not have been applied: its answer was lost (${cause.detail}) and reading the deployment back failed (${err.detail}); check it with 'nomad deployment status ${id}' before running the step again`,
    )
  }
}

function inEffect(kind: WriteKind, ctx: WriteContext): boolean {
  const d = ctx.view.deployment
  if (kind !== 'health') return deploymentShows(kind, d, ctx.groups)
  const health = (id: string) => ctx.view.allocs.get(id)?.DeploymentStatus?.Healthy ?? null
  return (
    ctx.healthy.every((a) => health(a) === true) && ctx.unhealthy.every((a) => health(a) === false)
  )
}

export function deploymentShows(
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

/** on-failure's write, done. */
const PAST: Record<WriteKind, string> = {
  fail: 'failed',
  pause: 'paused',
  resume: 'resumed',
  promote: 'promoted',
  health: 'set health in',
}

/** Why on-failure acted, by the verdict. */
const AFTER: Partial<Record<Verdict['result'], string>> = {
  'timed-out': 'after the deadline',
  unhealthy: 'after a canary turned unhealthy',
  'check-failed': 'after the checks failed',
}
