// The gate's orchestration: resolve the deployment, follow it until the
// decisions (decide.ts) end the step, and send the one write they ask for.
// Knows nothing of GitHub: action.ts and cli.ts are thin fronts on runGate().
//
// One loop owns everything that changes: the view (written only by the
// follower's watches), the phase, the soak's clock and the write. It asks
// decide() after every change; a wait ends at the next change, the soak's end
// or the deadline, whichever comes first.

import { formatDuration } from '../duration.js'
import type { CheckRun } from '../checks.js'
import type { NomadClient } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import {
  TERMINAL_DEPLOYMENT_STATUSES,
  type AllocView,
  type DeploymentUpdateResponse,
} from '../nomad/types.js'
import type { AllocSelector, Settings } from '../config/settings.js'
import { decide, timeoutVerdict, type Phase, type Policy, type Situation } from './decide.js'
import { GateError } from './errors.js'
import { followBlocking, type Follower } from './follow.js'
import {
  DRY_RUN_RESULT,
  shortId,
  type Log,
  type Outcome,
  type TimelineEvent,
  type Verdict,
  type WriteKind,
} from './outcome.js'
import { CanaryLog } from './progress.js'
import { describeGroups, selectGroups, unknownGroups } from './readiness.js'
import { resolveDeployment } from './resolve.js'
import { startSoak, type Soak } from './soak.js'
import { RolloutView } from './view.js'
import { applyWrite, writeRequest } from './write.js'

export type { Log, Outcome, Result, TimelineEvent } from './outcome.js'

export interface GateDeps {
  client: NomadClient
  log: Log
  /** Aborts held requests at once (runner cancellation). */
  signal?: AbortSignal
  /** While nothing changes, a waiting line at least this often (default 60 s). */
  progressMs?: number
}

export function runGate(settings: Settings, deps: GateDeps): Promise<Outcome> {
  return new GateRun(settings, deps).run()
}

/** After a write: how long the watches get to show its effect before one plain read does. */
const SETTLE_MS = 5_000

const PROGRESS_MS = 60_000

class GateRun {
  private readonly started = performance.now()
  private readonly deadline: number
  private readonly signal: AbortSignal
  private readonly timeline: TimelineEvent[] = []
  private readonly checkRuns: CheckRun[] = []
  private readonly canaries = new CanaryLog()
  private view?: RolloutView
  private follower?: Follower
  private write?: DeploymentUpdateResponse
  private writeIndex = 0
  /** dry-run: the write that was planned (and only logged). */
  private planned?: WriteKind
  private health = { healthy: [] as string[], unhealthy: [] as string[] }
  /** performance.now() of the last waiting line. */
  private lastProgressAt = performance.now()

  constructor(
    private readonly settings: Settings,
    private readonly deps: GateDeps,
  ) {
    this.deadline = this.started + settings.timeoutMs
    this.signal = deps.signal ?? new AbortController().signal
  }

  async run(): Promise<Outcome> {
    try {
      return this.finish(await this.gate())
    } catch (err) {
      if (this.signal.aborted) return this.finish(cancelled())
      if (err instanceof GateError)
        return this.finish({ result: err.result, ok: false, message: err.message })
      if (err instanceof NomadError)
        return this.finish({ result: 'error', ok: false, message: err.message })
      throw err
    } finally {
      this.follower?.stop()
    }
  }

  private async gate(): Promise<Verdict> {
    const { settings, deps } = this
    const resolved = await resolveDeployment(settings.target, deps.client, {
      deadline: this.deadline,
      signal: this.signal,
      log: (line) => this.event(line),
    })
    const d = resolved.deployment
    this.event(
      `Deployment ${d.ID} of job "${d.JobID}" version ${d.JobVersion} (namespace ${d.Namespace}): ${d.Status}, "${d.StatusDescription}"`,
    )
    const mode = settings.mode
    const gating = mode === 'promote' || mode === 'wait' || mode === 'health'
    if (gating) {
      const missing = unknownGroups(d, settings.groups)
      if (missing.length > 0) {
        throw new GateError(
          `Input 'groups': deployment ${shortId(d.ID)} has no task group ${missing.map((g) => `"${g}"`).join(', ')}; its groups are ${Object.keys(d.TaskGroups).sort().join(', ') || '(none)'}`,
        )
      }
    }
    const selected = selectGroups(d, settings.groups)
    if (gating && !selected.some((g) => d.TaskGroups[g].DesiredCanaries > 0)) {
      throw new GateError(
        `Deployment ${shortId(d.ID)} has no canaries to gate in ${settings.groups.length ? `groups ${selected.join(', ')}` : 'any group'} (job "${d.JobID}" version ${d.JobVersion}); add a canary count to the job's update block`,
      )
    }
    const view = (this.view = new RolloutView(d, resolved.meta.lastIndex, selected))
    // fail / pause / resume read no allocations: their outputs have no group counts.
    this.follower = followBlocking(deps.client, view, {
      deadline: this.deadline,
      signal: this.signal,
      allocs: gating,
    })
    if (!gating) return this.actNow(mode)
    this.event(
      `Gating on ${selected.join(', ')} (${mode}); deadline ${formatDuration(settings.timeoutMs)}`,
    )
    const verdict = await this.watch()
    return verdict.write ? this.onFailure(verdict.write, verdict) : verdict
  }

  /** on-failure's write after a failed gate; a deployment that ended meanwhile needs none. */
  private async onFailure(kind: WriteKind, verdict: Verdict): Promise<Verdict> {
    if ((await this.send(kind)) === 'sent') return verdict
    await this.follower!.refresh({ signal: AbortSignal.timeout(SETTLE_MS) }).catch(() => undefined)
    const d = this.view!.deployment
    return {
      ...verdict,
      message: `${verdict.message}; on-failure ${kind} not applied: the deployment is ${d.Status}`,
    }
  }

  /** promote / wait / health: decide after every change until a verdict. */
  private async watch(): Promise<Verdict> {
    const { settings } = this
    const view = this.view!
    const follower = this.follower!
    const policy: Policy = {
      mode: settings.mode as Policy['mode'],
      onFailure: settings.onFailure,
      onUnhealthyCanary: settings.onUnhealthyCanary,
      soak: settings.soakMs > 0,
    }
    let phase: Phase = 'gating'
    let soak: Soak | undefined
    /** view.version when Nomad refused the promote: not sent again before the next change. */
    let heldAt: number | undefined
    let promotedAs: Verdict | undefined
    let said = ''
    let timer: NodeJS.Timeout | undefined
    const timeUp = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, this.deadline - performance.now()))
    })
    try {
      for (;;) {
        const version = view.version
        // Nothing is judged before the allocations are read.
        if (view.allocsRead) {
          const readiness = view.readiness()
          for (const line of this.canaries.changes(view, readiness.groups)) this.event(line)
          const situation: Situation = {
            readiness,
            deployment: view.deployment,
            phase,
            promoteHeld: heldAt === version,
            canariesRunning: policy.mode === 'health' && view.runningCanaries() !== undefined,
            promotedAs,
          }
          const step = decide(situation, policy)
          if (step.kind === 'end' && !view.consistent) {
            await follower.catchUp()
            continue
          }
          if (step.kind === 'end') {
            if (step.verdict.write !== 'promote') return step.verdict
            if ((await this.send('promote')) === 'refused') {
              heldAt = view.version
              continue
            }
            const { write: _sent, ...promoted } = step.verdict
            const verdict = this.promotedBySomeoneElse() ?? promoted
            if (!settings.waitForCompletion || settings.dryRun) return verdict
            promotedAs = verdict
            phase = 'completing'
            this.event('Waiting for the deployment to complete')
            continue
          }
          if (step.kind === 'soak') {
            phase = 'soaking'
            const options = { ...settings, started: this.started, runs: this.checkRuns }
            soak = startSoak({ ...options, event: (l) => this.event(l) }, this.signal)
            continue
          }
          if (step.kind === 'set-health') {
            const verdict = this.healthVerdict(view.runningCanaries()!)
            if ((await this.send('health')) === 'sent') return verdict
            continue
          }
          if (step.phase) {
            phase = step.phase
            soak?.stop()
            soak = undefined
          }
          if (step.why !== said && step.why !== 'soaking') this.progress(step.why)
          said = step.why
        }
        // While nothing changes, a line at least every minute: a long wait must not look hung.
        const quiet = this.lastProgressAt + (this.deps.progressMs ?? PROGRESS_MS)
        const woke = await Promise.race([
          follower.changed(version, quiet),
          timeUp,
          soak?.done ?? NEVER,
        ])
        if (woke === undefined && view.version === version && !follower.ended) {
          if (performance.now() >= quiet && said !== 'soaking')
            this.progress(said || 'Waiting for the allocations')
          continue
        }
        if (woke === 'passed') {
          phase = 'soaked'
          soak = undefined
        } else if (woke !== undefined && woke !== 'deadline') {
          return woke
        }
        if (woke === 'deadline' || follower.ended) {
          // The watches stop at the same deadline: a read that was failing until
          // then is the answer, not a quiet timeout.
          await follower.done
          if (this.signal.aborted) return cancelled()
          const readiness = view.readiness()
          const s: Situation = { readiness, deployment: view.deployment, phase, promotedAs }
          return timeoutVerdict(s, policy, formatDuration(settings.timeoutMs))
        }
      }
    } finally {
      clearTimeout(timer)
      soak?.stop()
    }
  }

  /** fail / pause / resume: one write, no waiting. */
  private async actNow(mode: 'fail' | 'pause' | 'resume'): Promise<Verdict> {
    const view = this.view!
    const done = { fail: 'failed', pause: 'paused', resume: 'running' } as const
    const result = { fail: 'failed', pause: 'paused', resume: 'resumed' } as const
    // A refusal means the deployment changed meanwhile: read it, and judge again.
    for (let tries = 1; ; tries++) {
      const d = view.deployment
      if (d.Status === done[mode]) {
        const message = `Deployment ${shortId(d.ID)} is already ${d.Status}; nothing sent`
        return { result: result[mode], ok: true, message }
      }
      if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) {
        throw new GateError(
          `Cannot ${mode} deployment ${shortId(d.ID)}: it is ${d.Status} ("${d.StatusDescription}")`,
        )
      }
      if ((await this.send(mode)) === 'sent') {
        return {
          result: result[mode],
          ok: true,
          message: `Deployment ${shortId(d.ID)} ${result[mode]}`,
        }
      }
      if (tries === 3)
        throw new GateError(`Nomad refused to ${mode} deployment ${shortId(d.ID)} ${tries} times`)
      await this.follower!.refresh()
    }
  }

  /** Sends a write (or, in a dry run, logs it), then waits until the view shows the state after it. */
  private async send(kind: WriteKind): Promise<'sent' | 'refused'> {
    const view = this.view!
    const ctx = {
      client: this.deps.client,
      view,
      follower: this.follower!,
      groups: this.settings.groups.length ? [...view.selected] : [],
      ...this.health,
      deadline: this.deadline,
      signal: this.signal,
      log: (line: string) => this.deps.log.warning(line),
    }
    if (this.settings.dryRun) {
      this.planned = kind
      this.event(
        `Dry run: would send ${this.deps.client.describe(writeRequest(kind, view.deployment.ID, ctx))}`,
      )
      return 'sent'
    }
    const out = await applyWrite(kind, ctx)
    if (out.kind === 'refused') {
      this.event(
        `Nomad refused the ${kind} (${out.reason}): the deployment changed after the gate read it; reading it again`,
      )
      return 'refused'
    }
    if (out.kind === 'seen') {
      this.event(
        `The ${kind} took effect although its answer was lost (seen by re-reading the deployment)`,
      )
      return 'sent'
    }
    const r = out.response
    this.write = r
    this.writeIndex = Math.max(out.index, r.DeploymentModifyIndex)
    this.event(
      `Sent ${kind}: EvalID ${r.EvalID || '(none)'}, DeploymentModifyIndex ${r.DeploymentModifyIndex}` +
        (r.RevertedJobVersion != null ? `, reverted to job version ${r.RevertedJobVersion}` : ''),
    )
    await this.settle(kind)
    return 'sent'
  }

  /** Until the view is at or past the write's index (the outputs describe the state after it). */
  private async settle(kind: WriteKind): Promise<void> {
    const allocs = kind === 'promote' || kind === 'health'
    // After a promote with wait-for-completion the watches go on; after any other write the step ends.
    const last = !(kind === 'promote' && this.settings.waitForCompletion)
    const until = performance.now() + SETTLE_MS
    if (await this.follower!.settle(this.writeIndex, { allocs, last, until })) return
    // Best effort: the write stands whatever this read says.
    await this.follower!.refresh({ signal: AbortSignal.timeout(SETTLE_MS) }).catch(() => undefined)
  }

  /** Another actor's promotion landed before this gate's own (which Nomad then applied again). */
  private promotedBySomeoneElse(): Verdict | undefined {
    const at = this.view!.promotedAt
    if (at === undefined || this.writeIndex === 0 || at >= this.writeIndex) return undefined
    const groups = this.view!.readiness().groups
    return {
      result: 'already-promoted',
      ok: true,
      message: `Already promoted by someone else (index ${at}) before this gate's promote (index ${this.writeIndex}) reached Nomad: ${describeGroups(groups)}`,
    }
  }

  private healthVerdict(canaries: AllocView[]): Verdict {
    const healthy = this.pickAllocs('healthy-allocs', this.settings.healthyAllocs, canaries)
    const unhealthy = this.pickAllocs('unhealthy-allocs', this.settings.unhealthyAllocs, canaries)
    this.health = { healthy, unhealthy }
    const parts = [
      healthy.length ? `${healthy.length} healthy (${healthy.map(shortId).join(', ')})` : '',
      unhealthy.length
        ? `${unhealthy.length} unhealthy (${unhealthy.map(shortId).join(', ')})`
        : '',
    ].filter(Boolean)
    return { result: 'health-set', ok: true, message: `Marked ${parts.join(' and ')}` }
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
          `Input '${input}': "${prefix}" is not a placed canary of deployment ${shortId(this.view!.deployment.ID)} in ${this.view!.selected.join(', ')}; its canaries are ${canaries.map((a) => shortId(a.ID)).join(', ')}`,
        )
      }
      throw new GateError(
        `Input '${input}': "${prefix}" matches several canaries (${matches.map((a) => a.ID).join(', ')}); give more characters`,
      )
    })
  }

  /** A waiting line: what the canaries wait for, and the time left. */
  private progress(why: string): void {
    this.lastProgressAt = performance.now()
    const left = Math.max(0, this.deadline - this.lastProgressAt)
    this.event(`${why} (${formatDuration(left)} left)`)
  }

  private event(text: string): void {
    const atMs = performance.now() - this.started
    this.timeline.push({ atMs, text })
    this.deps.log.info(`[${formatDuration(atMs).padStart(6)}] ${text}`)
  }

  private finish(verdict: Verdict): Outcome {
    const view = this.view
    const would = this.planned && DRY_RUN_RESULT[verdict.result]
    return {
      ok: verdict.ok,
      result: would || verdict.result,
      message: would ? `Dry run, nothing sent: ${verdict.message}` : verdict.message,
      deployment: view?.deployment,
      groups: view?.allocsRead ? view.readiness().groups : [],
      write: this.write,
      index: Math.max(view?.lastIndex ?? 0, this.writeIndex),
      elapsedMs: performance.now() - this.started,
      timeline: this.timeline,
      checks: this.checkRuns,
    }
  }
}

const NEVER = new Promise<never>(() => {})

function cancelled(): Verdict {
  return { result: 'cancelled', ok: false, message: 'Cancelled by a signal; nothing was sent' }
}
