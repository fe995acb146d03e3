// The gate: resolve the deployment, watch it with blocking queries until the
// canaries decide, then send the one mutation the mode asks for. Knows nothing
// of GitHub: main.ts and cli.ts are thin fronts on runGate().

import { formatDuration } from '../duration.js'
import { hasChecks, runChecks, type CheckRun } from '../checks.js'
import { sleep, type NomadClient, type QueryMeta } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import {
  TERMINAL_DEPLOYMENT_STATUSES,
  allocIsTerminal,
  type AllocView,
  type Deployment,
  type DeploymentUpdateResponse,
} from '../nomad/types.js'
import { watch } from '../nomad/watch.js'
import type { AllocSelector, Settings } from '../config/settings.js'
import { GateError } from './errors.js'
import { resolveDeployment } from './resolve.js'
import { applyWrite, writeRequest, type WriteKind } from './mutate.js'
import {
  describeGroups,
  evaluate,
  readinessKey,
  selectGroups,
  unknownGroups,
  type GroupReadiness,
  type Readiness,
} from './readiness.js'

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

export interface Log {
  info(line: string): void
  warning(line: string): void
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
  /** The answer to the mutation, when one was sent and answered. */
  write?: DeploymentUpdateResponse
  /** X-Nomad-Index of the last response. */
  index: number
  elapsedMs: number
  timeline: TimelineEvent[]
  /** Check runs during the soak. */
  checks: CheckRun[]
}

/** What a dry run reports instead of the result of a write it did not send. */
const WOULD: Partial<Record<Result, Result>> = {
  promoted: 'would-promote',
  failed: 'would-fail',
  paused: 'would-pause',
  resumed: 'would-resume',
  'health-set': 'would-set-health',
}

export interface GateDeps {
  client: NomadClient
  log: Log
  /** Aborts held requests at once (runner cancellation). */
  signal?: AbortSignal
}

/** Lets a decide function start work beside the watch (the soak's clock) that may end it. */
interface Side {
  start(task: (finish: (d: Decision) => void, signal: AbortSignal) => Promise<void>): void
}

/** A decision reached while watching: the outcome, and what to write first. */
interface Decision {
  result: Result
  ok: boolean
  message: string
  write?: WriteKind
}

export async function runGate(settings: Settings, deps: GateDeps): Promise<Outcome> {
  return new Gate(settings, deps).run()
}

class Gate {
  private readonly started = performance.now()
  private readonly deadline: number
  private readonly signal: AbortSignal
  private deployment?: Deployment
  private allocs?: AllocView[]
  private readiness?: Readiness
  private selected: string[] = []
  private index = 0
  private write?: DeploymentUpdateResponse
  private readonly timeline: TimelineEvent[] = []
  private readonly health = new Map<string, boolean | null>()
  private allocsIndex = 0
  private readonly checkRuns: CheckRun[] = []
  /** dry-run: the write that was planned (and only logged). */
  private planned?: WriteKind
  /** health mode: the full IDs to mark, resolved once the canaries run. */
  private healthIds: { healthy: string[]; unhealthy: string[] } = { healthy: [], unhealthy: [] }

  constructor(
    private readonly settings: Settings,
    private readonly deps: GateDeps,
  ) {
    this.deadline = this.started + settings.timeoutMs
    this.signal = deps.signal ?? new AbortController().signal
  }

  async run(): Promise<Outcome> {
    try {
      return this.finish(await this.decide())
    } catch (err) {
      if (this.signal.aborted) return this.finish(cancelled())
      if (err instanceof GateError) {
        return this.finish({ result: err.result, ok: false, message: err.message })
      }
      if (err instanceof NomadError) {
        return this.finish({ result: 'error', ok: false, message: err.message })
      }
      throw err
    }
  }

  private async decide(): Promise<Decision> {
    const { settings, deps } = this
    const resolved = await resolveDeployment(settings.target, deps.client, {
      deadline: this.deadline,
      signal: this.signal,
      log: (line) => this.event(line),
    })
    this.deployment = resolved.deployment
    this.noteIndex(resolved.meta)
    const d = resolved.deployment
    this.event(
      `Deployment ${d.ID} of job "${d.JobID}" version ${d.JobVersion} (namespace ${d.Namespace}): ${d.Status}, "${d.StatusDescription}"`,
    )

    const mode = settings.mode
    if (mode === 'fail' || mode === 'pause' || mode === 'resume') return this.actNow(mode)

    const missing = unknownGroups(d, settings.groups)
    if (missing.length > 0) {
      throw new GateError(
        `Input 'groups': deployment ${short(d.ID)} has no task group ${missing.map((g) => `"${g}"`).join(', ')}; its groups are ${Object.keys(d.TaskGroups).sort().join(', ') || '(none)'}`,
      )
    }
    this.selected = selectGroups(d, settings.groups)
    if (!this.selected.some((g) => d.TaskGroups[g].DesiredCanaries > 0)) {
      throw new GateError(
        `Deployment ${short(d.ID)} has no canaries to gate in ${settings.groups.length ? `groups ${this.selected.join(', ')}` : 'any group'} (job "${d.JobID}" version ${d.JobVersion}); add a canary count to the job's update block`,
      )
    }
    this.event(
      `Gating on ${this.selected.join(', ')} (${mode}); deadline ${formatDuration(settings.timeoutMs)}`,
    )
    const decision = mode === 'health' ? await this.watchForHealth() : await this.watchCanaries()
    if (decision.write) await this.mutate(decision.write)
    if (
      mode === 'promote' &&
      settings.waitForCompletion &&
      !settings.dryRun &&
      (decision.result === 'promoted' || decision.result === 'already-promoted')
    ) {
      return this.watchCompletion(decision)
    }
    return decision
  }

  /** fail / pause / resume: one write, no waiting. */
  private async actNow(mode: 'fail' | 'pause' | 'resume'): Promise<Decision> {
    const d = this.deployment!
    const done = { fail: 'failed', pause: 'paused', resume: 'running' } as const
    const result = { fail: 'failed', pause: 'paused', resume: 'resumed' } as const
    if (d.Status === done[mode]) {
      return {
        result: result[mode],
        ok: true,
        message: `Deployment ${short(d.ID)} is already ${d.Status}; nothing sent`,
      }
    }
    if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) {
      throw new GateError(
        `Cannot ${mode} deployment ${short(d.ID)}: it is ${d.Status} ("${d.StatusDescription}")`,
      )
    }
    await this.mutate(mode)
    return { result: result[mode], ok: true, message: `Deployment ${short(d.ID)} ${result[mode]}` }
  }

  /**
   * promote / wait: until every selected group passes the server's promotion
   * rule; then, with a soak, until the canaries stayed passing (and the checks
   * passed) for the whole soak. One watch for both phases: the held queries go
   * on through the soak, so it costs no request beyond the changes and checks.
   */
  private watchCanaries(): Promise<Decision> {
    const { mode, onFailure, soakMs } = this.settings
    const onFail = onFailureWrite(onFailure)
    let soaking = false
    return this.watchDeployment((r, d, _allocs, side) => {
      if (r.verdict === 'terminal') return terminalDecision(d, r)
      if (r.verdict === 'promoted') {
        return {
          result: 'already-promoted',
          ok: true,
          message: `Already promoted${soaking ? ' (by someone else during the soak)' : ''}: ${describeGroups(r.groups)}`,
        }
      }
      if (soaking && r.verdict !== 'ready') {
        // Unhealthy, or a healthy canary gone (terminal): either fails the soak.
        const which = r.unhealthyAllocs.length
          ? ` (${r.unhealthyAllocs.map(short).join(', ')} unhealthy)`
          : ''
        return {
          result: 'unhealthy',
          ok: false,
          message: `Canaries stopped passing during the soak${which}: ${describeGroups(r.groups)}`,
          write: onFail,
        }
      }
      if (r.verdict === 'unhealthy') {
        return {
          result: 'unhealthy',
          ok: false,
          message: `Canary ${r.unhealthyAllocs.map(short).join(', ')} reported unhealthy: ${describeGroups(r.groups)}`,
          write: onFail,
        }
      }
      if (r.verdict !== 'ready' || soaking) return undefined
      const passed: Decision =
        mode === 'promote'
          ? {
              result: 'promoted',
              ok: true,
              message: `Promoted: ${describeGroups(r.groups)}`,
              write: 'promote',
            }
          : { result: 'promotable', ok: true, message: `Promotable: ${describeGroups(r.groups)}` }
      if (soakMs === 0) return passed
      soaking = true
      side.start((finish, signal) => this.soak(passed, finish, signal))
      return undefined
    }, onFail)
  }

  /** health: until the selected canaries are placed and running, then set their health. */
  private watchForHealth(): Promise<Decision> {
    return this.watchDeployment((r, d, allocs) => {
      if (r.verdict === 'terminal') return terminalDecision(d, r)
      const canaries = runningCanaries(d, allocs, this.selected)
      if (!canaries) return undefined
      const healthy = this.pickAllocs('healthy-allocs', this.settings.healthyAllocs, canaries)
      const unhealthy = this.pickAllocs('unhealthy-allocs', this.settings.unhealthyAllocs, canaries)
      this.healthIds = { healthy, unhealthy }
      const parts = [
        healthy.length ? `${healthy.length} healthy (${healthy.map(short).join(', ')})` : '',
        unhealthy.length
          ? `${unhealthy.length} unhealthy (${unhealthy.map(short).join(', ')})`
          : '',
      ].filter(Boolean)
      return {
        result: 'health-set',
        ok: true,
        message: `Marked ${parts.join(' and ')}`,
        write: 'health',
      }
    }, onFailureWrite(this.settings.onFailure))
  }

  private pickAllocs(
    input: string,
    selector: AllocSelector | undefined,
    canaries: AllocView[],
  ): string[] {
    if (!selector) return []
    if ('canaries' in selector) return canaries.map((a) => a.ID)
    return selector.ids.map((prefix) => {
      const matches = canaries.filter((a) => a.ID.startsWith(prefix))
      if (matches.length === 1) return matches[0].ID
      if (matches.length === 0) {
        throw new GateError(
          `Input '${input}': "${prefix}" is not a placed canary of deployment ${short(this.deployment!.ID)} in ${this.selected.join(', ')}; its canaries are ${canaries.map((a) => short(a.ID)).join(', ')}`,
        )
      }
      throw new GateError(
        `Input '${input}': "${prefix}" matches several canaries (${matches.map((a) => a.ID).join(', ')}); give more characters`,
      )
    })
  }

  /** The soak's clock: runs the checks every check-interval, then passes the soak. */
  private async soak(
    passed: Decision,
    finish: (d: Decision) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { soakMs, checks, onFailure } = this.settings
    const withChecks = hasChecks(checks)
    this.event(
      `Canaries pass the gate; soaking for ${formatDuration(soakMs)}` +
        (withChecks ? ` with checks every ${formatDuration(checks.intervalMs)}` : ''),
    )
    const end = performance.now() + soakMs
    let failures = 0
    for (;;) {
      if (withChecks) {
        const run = await runChecks(checks, signal)
        if (signal.aborted) return
        this.checkRuns.push({ ...run, atMs: run.atMs - this.started })
        const detail = run.results.map((c) => `${c.name} ${c.ok ? 'ok' : c.detail}`).join('; ')
        this.event(
          `Check run ${this.checkRuns.length}: ${run.ok ? 'passed' : 'failed'} (${detail})`,
        )
        if (!run.ok && ++failures > checks.failureLimit) {
          return finish({
            result: 'check-failed',
            ok: false,
            message: `Checks failed ${failures} time(s) during the soak (failure-limit ${checks.failureLimit}): ${detail}`,
            write: onFailureWrite(onFailure),
          })
        }
      }
      const left = end - performance.now()
      if (left <= 0) break
      try {
        await sleep(withChecks ? Math.min(left, checks.intervalMs) : left, signal)
      } catch {
        return
      }
    }
    this.event(`Soak of ${formatDuration(soakMs)} passed`)
    finish(passed)
  }

  /** After a promotion: until the deployment is successful, failed or cancelled. */
  private async watchCompletion(promoted: Decision): Promise<Decision> {
    this.event('Waiting for the deployment to complete')
    const decision = await this.watchDeployment((r, d) => {
      if (d.Status === 'successful') {
        return { ...promoted, message: `${promoted.message}; deployment successful` }
      }
      if (r.verdict === 'terminal') return terminalDecision(d, r)
      return undefined
    }, undefined)
    return decision.result === 'timed-out'
      ? {
          ...decision,
          message: `${promoted.result}, but the deployment did not complete in time: ${decision.message}`,
        }
      : decision
  }

  /**
   * Blocking queries on the deployment and on its allocations at once: either can
   * change alone (a canary that dies after being healthy leaves the deployment's
   * ModifyIndex as it was). `decide` runs on every change of either.
   */
  private async watchDeployment(
    decide: (r: Readiness, d: Deployment, allocs: AllocView[], side: Side) => Decision | undefined,
    onTimeout: WriteKind | undefined,
  ): Promise<Decision> {
    const id = this.deployment!.ID
    const stop = new AbortController()
    const signal = AbortSignal.any([stop.signal, this.signal])
    let decision: Decision | undefined
    let failure: unknown
    const run = (p: Promise<void>) =>
      p.catch((err) => {
        failure ??= err
        stop.abort()
      })
    const check = () => {
      if (decision || !this.deployment || !this.allocs) return
      const r = evaluate(this.deployment, this.allocs, this.selected)
      this.readiness = r
      this.logHealthChanges(r)
      decision = decide(r, this.deployment, this.allocs, side)
      if (decision) stop.abort()
    }
    const finish = (d: Decision) => {
      decision ??= d
      stop.abort()
    }
    const tasks: Promise<void>[] = []
    const side: Side = { start: (task) => void tasks.push(run(task(finish, signal))) }
    // What is known already is judged at once; the queries then block from there.
    check()
    const options = { deadline: this.deadline, signal }
    await Promise.all([
      run(
        watch(
          (q) => this.deps.client.deployment(id, q),
          (body, meta) => {
            const before = this.deployment && readinessKey(this.deployment)
            this.deployment = body
            this.noteIndex(meta)
            if (readinessKey(body) !== before) check()
          },
          { ...options, index: this.deployment!.ModifyIndex },
        ),
      ),
      run(
        watch(
          (q) => this.deps.client.deploymentAllocations(id, q),
          (body, meta) => {
            this.allocs = body
            this.allocsIndex = meta.lastIndex
            this.noteIndex(meta)
            check()
          },
          { ...options, index: this.allocs ? this.allocsIndex : 0 },
        ),
      ),
    ])
    await Promise.all(tasks)
    if (decision) return decision
    if (this.signal.aborted) return cancelled()
    if (failure) throw failure
    return {
      result: 'timed-out',
      ok: false,
      message: `Timed out after ${formatDuration(this.settings.timeoutMs)}: ${describeGroups(this.readiness?.groups ?? [])}`,
      write: onTimeout,
    }
  }

  private async mutate(kind: WriteKind): Promise<void> {
    const d = this.deployment!
    const ctx = {
      client: this.deps.client,
      deployment: d,
      groups: this.settings.groups.length ? this.selected : [],
      healthy: this.healthIds.healthy,
      unhealthy: this.healthIds.unhealthy,
      deadline: this.deadline,
      signal: this.signal,
      log: (line: string) => this.deps.log.warning(line),
    }
    if (this.settings.dryRun) {
      this.planned = kind
      this.event(`Dry run: would send ${this.deps.client.describe(writeRequest(kind, ctx))}`)
      return
    }
    const res = await applyWrite(kind, ctx)
    if (res.response) {
      this.write = res.response
      this.index = res.index
      const r = res.response
      this.event(
        `Sent ${kind}: EvalID ${r.EvalID || '(none)'}, DeploymentModifyIndex ${r.DeploymentModifyIndex}` +
          (r.RevertedJobVersion != null ? `, reverted to job version ${r.RevertedJobVersion}` : ''),
      )
    } else {
      this.event(
        `The ${kind} took effect although its answer was lost (seen by re-reading the deployment)`,
      )
    }
    this.deployment = res.deployment ?? (await this.reread()) ?? d
    if (this.allocs) this.readiness = evaluate(this.deployment, this.allocs, this.selected)
  }

  /** The deployment after a write, for the outputs; best effort (the write already stands). */
  private async reread(): Promise<Deployment | undefined> {
    try {
      const { body, meta } = await this.deps.client.deployment(this.deployment!.ID, {
        deadline: performance.now() + 5_000,
      })
      this.noteIndex(meta)
      return body
    } catch {
      return undefined
    }
  }

  private logHealthChanges(r: Readiness): void {
    if (!this.allocs || !this.deployment) return
    const inGroups = new Set(this.selected)
    for (const a of this.allocs) {
      if (!a.DeploymentStatus?.Canary || !inGroups.has(a.TaskGroup)) continue
      const now =
        allocIsTerminal(a) && a.DeploymentStatus.Healthy ? null : a.DeploymentStatus.Healthy
      const before = this.health.get(a.ID)
      if (before === now || (before === undefined && now === null)) {
        this.health.set(a.ID, now)
        continue
      }
      this.health.set(a.ID, now)
      const g = r.groups.find((x) => x.name === a.TaskGroup)
      const state =
        now === true
          ? 'healthy'
          : now === false
            ? 'unhealthy'
            : `no longer healthy (${a.ClientStatus})`
      this.event(
        `${a.TaskGroup}: canary ${short(a.ID)} is ${state} (${g ? `${g.healthyCanaries}/${g.desiredCanaries} healthy` : ''})`,
      )
    }
  }

  private noteIndex(meta: QueryMeta): void {
    this.index = meta.lastIndex
  }

  private event(text: string): void {
    const atMs = performance.now() - this.started
    this.timeline.push({ atMs, text })
    this.deps.log.info(`[${formatDuration(atMs).padStart(6)}] ${text}`)
  }

  private finish(decision: Decision): Outcome {
    const elapsedMs = performance.now() - this.started
    const would = this.planned && WOULD[decision.result]
    return {
      ok: decision.ok,
      result: would || decision.result,
      message: would ? `Dry run, nothing sent: ${decision.message}` : decision.message,
      deployment: this.deployment,
      groups: this.readiness?.groups ?? [],
      write: this.write,
      index: this.index,
      elapsedMs,
      timeline: this.timeline,
      checks: this.checkRuns,
    }
  }
}

export function short(id: string): string {
  return id.slice(0, 8)
}

function cancelled(): Decision {
  return { result: 'cancelled', ok: false, message: 'Cancelled by a signal; nothing was sent' }
}

function onFailureWrite(onFailure: Settings['onFailure']): WriteKind | undefined {
  return onFailure === 'none' ? undefined : onFailure
}

function terminalDecision(d: Deployment, r: Readiness): Decision {
  if (d.Status === 'successful') {
    return {
      result: 'already-promoted',
      ok: true,
      message: `Deployment already successful: ${describeGroups(r.groups)}`,
    }
  }
  const superseded = /newer/i.test(d.StatusDescription)
    ? ' (superseded by a newer deployment of the job)'
    : ''
  return {
    result: 'deployment-failed',
    ok: false,
    message: `Deployment ${short(d.ID)} is ${d.Status}${superseded}: "${d.StatusDescription}"; ${describeGroups(r.groups)}`,
  }
}

/** The canaries to mark in health mode, once every selected group has them placed and running. */
function runningCanaries(
  d: Deployment,
  allocs: readonly AllocView[],
  selected: readonly string[],
): AllocView[] | undefined {
  const byId = new Map(allocs.map((a) => [a.ID, a]))
  const out: AllocView[] = []
  for (const name of selected) {
    const state = d.TaskGroups[name]
    const live = (state.PlacedCanaries ?? [])
      .map((id) => byId.get(id))
      .filter((a): a is AllocView => !!a && !allocIsTerminal(a))
    if (live.length < state.DesiredCanaries || live.some((a) => a.ClientStatus !== 'running'))
      return undefined
    out.push(...live)
  }
  return out
}
