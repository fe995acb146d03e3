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
import type { Settings } from '../config/settings.js'
import { checkWriteAccess } from './access.js'
import { actNow } from './act.js'
import {
  decide,
  timeoutVerdict,
  type Phase,
  type Policy,
  type Situation,
  type Step,
} from './decide.js'
import { GateError } from './errors.js'
import { follow, type Follower } from './follow.js'
import { healthTargets } from './health.js'
import {
  DRY_RUN_RESULT,
  nomadUiUrl,
  shortId,
  type Log,
  type Outcome,
  type Verdict,
  type WriteKind,
} from './outcome.js'
import { CanaryLog } from './progress.js'
import { selectGroups, unknownGroups } from './readiness.js'
import { resolveDeployment } from './resolve.js'
import { startSoak, type Soak } from './soak.js'
import { Timeline } from './timeline.js'
import { RolloutView } from './view.js'
import { Writer } from './write.js'

export type { Log, Outcome, Result, TimelineEvent } from './outcome.js'

export interface GateDeps {
  client: NomadClient
  log: Log
  /** Aborts held requests at once (runner cancellation). */
  signal?: AbortSignal
  /** While nothing changes, a waiting line at least this often (default 60 s). */
  progressMs?: number
  /** The event stream's first heartbeat must come within this (default 1.5 s); tests shorten it. */
  streamWaitMs?: number
}

export function runGate(settings: Settings, deps: GateDeps): Promise<Outcome> {
  return new GateRun(settings, deps).run()
}

const PROGRESS_MS = 60_000

const FOLLOWING = { events: 'the event stream', blocking: 'with blocking queries' } as const

class GateRun {
  private readonly timeline: Timeline
  private readonly deadline: number
  private readonly signal: AbortSignal
  private readonly checkRuns: CheckRun[] = []
  private readonly canaries = new CanaryLog()
  private view?: RolloutView
  private follower?: Follower
  private writer?: Writer
  private uiUrl?: string
  /** performance.now() of the last waiting line. */
  private lastProgressAt = performance.now()

  constructor(
    private readonly settings: Settings,
    private readonly deps: GateDeps,
  ) {
    this.timeline = new Timeline(deps.log)
    this.deadline = this.timeline.started + settings.timeoutMs
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
    this.uiUrl = nomadUiUrl(settings.nomad.address, d.JobID, d.Namespace)
    this.event(
      `Deployment ${d.ID} of job "${d.JobID}" version ${d.JobVersion} (namespace ${d.Namespace}): ${d.Status}, "${d.StatusDescription}"`,
    )
    this.event(`In Nomad's UI: ${this.uiUrl}`)
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
    const view = (this.view = new RolloutView(d, resolved.meta.lastIndex, selected, gating))
    // fail / pause / resume read no allocations: their outputs have no group counts.
    this.follower = follow(deps.client, view, {
      deadline: this.deadline,
      signal: this.signal,
      allocs: gating,
      watch: settings.watch,
      streamWaitMs: deps.streamWaitMs,
      note: (line) => this.event(line),
    })
    // Beside the wait, not in front of it: a token that evidently cannot write
    // is said at the start, and always before the first write.
    const access = gating
      ? checkWriteAccess({
          client: deps.client,
          namespace: d.Namespace,
          writes: settings.dryRun ? [] : stepWrites(settings),
          signal: this.signal,
          warning: (line) => this.timeline.warning(line),
          debug: (line) => this.timeline.debug(line),
        })
      : undefined
    const writer = (this.writer = new Writer({
      client: deps.client,
      view,
      follower: this.follower,
      timeline: this.timeline,
      groups: settings.groups.length ? [...selected] : [],
      dryRun: settings.dryRun,
      waitForCompletion: settings.waitForCompletion,
      deadline: this.deadline,
      signal: this.signal,
      before: access,
    }))
    if (!gating) return actNow(mode, view, writer, this.follower)
    try {
      this.event(
        `Gating on ${selected.join(', ')} (${mode}); deadline ${formatDuration(settings.timeoutMs)}; following ${FOLLOWING[this.follower.method]}`,
      )
      const verdict = await this.watch()
      return verdict.write ? await writer.onFailure(verdict.write, verdict) : verdict
    } finally {
      await access
    }
  }

  /** promote / wait / health: decide after every change until a verdict. */
  private async watch(): Promise<Verdict> {
    const { settings } = this
    const view = this.view!
    const follower = this.follower!
    const writer = this.writer!
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
          this.timeline.debug(
            `Decision on deployment @${view.deploymentIndex}, allocations @${view.allocsIndex}: ${describeStep(step)}`,
          )
          // A verdict that ends the step without a write is made on one snapshot (a
          // promote is not held up for it: Nomad judges it, and the watches settle after it).
          if (step.kind === 'end' && step.verdict.write !== 'promote' && !view.consistent) {
            await follower.confirm()
            continue
          }
          if (step.kind === 'end') {
            if (step.verdict.write !== 'promote') return step.verdict
            if ((await writer.send('promote')) === 'refused') {
              // Read again, and do not send it again before something changes after that read.
              await follower.refresh()
              heldAt = view.version
              continue
            }
            const { write: _sent, ...promoted } = step.verdict
            const verdict = writer.promotedBySomeoneElse() ?? promoted
            if (!settings.waitForCompletion || settings.dryRun) return verdict
            promotedAs = verdict
            phase = 'completing'
            this.event('Waiting for the deployment to complete')
            continue
          }
          if (step.kind === 'soak') {
            phase = 'soaking'
            const options = { ...settings, started: this.timeline.started, runs: this.checkRuns }
            soak = startSoak({ ...options, event: (l) => this.event(l) }, this.signal)
            continue
          }
          if (step.kind === 'set-health') {
            const where = { deploymentId: view.deployment.ID, groups: view.selected }
            const { verdict, ...health } = healthTargets(settings, view.runningCanaries()!, where)
            if ((await writer.send('health', health)) === 'sent') return verdict
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

  /** A waiting line: what the canaries wait for, and the time left. */
  private progress(why: string): void {
    this.lastProgressAt = performance.now()
    const left = Math.max(0, this.deadline - this.lastProgressAt)
    this.event(`${why} (${formatDuration(left)} left)`)
  }

  private event(text: string): void {
    this.timeline.event(text)
  }

  private finish(verdict: Verdict): Outcome {
    const view = this.view
    const writer = this.writer
    const would = writer?.planned && DRY_RUN_RESULT[verdict.result]
    return {
      ok: verdict.ok,
      result: would || verdict.result,
      message: would ? `Dry run, nothing sent: ${verdict.message}` : verdict.message,
      deployment: view?.deployment,
      groups: view?.allocsRead ? view.readiness().groups : [],
      write: writer?.response,
      index: Math.max(view?.lastIndex ?? 0, writer?.index ?? 0),
      elapsedMs: this.timeline.elapsedMs,
      timeline: this.timeline.events,
      checks: this.checkRuns,
      uiUrl: this.uiUrl,
      ...(this.follower ? { followed: this.follower.method } : {}),
    }
  }
}

const NEVER = new Promise<never>(() => {})

/** The writes a gating step may send: its mode's, and on-failure's. */
function stepWrites(settings: Settings): WriteKind[] {
  const writes: WriteKind[] = []
  if (settings.mode === 'promote' || settings.mode === 'health') writes.push(settings.mode)
  if (settings.onFailure !== 'none') writes.push(settings.onFailure)
  return writes
}

function cancelled(): Verdict {
  return { result: 'cancelled', ok: false, message: 'Cancelled by a signal; nothing was sent' }
}

/** A decision in a few words, for the debug lines. */
function describeStep(step: Step): string {
  switch (step.kind) {
    case 'end':
      return `${step.verdict.result}${step.verdict.write ? ` (send ${step.verdict.write})` : ''}`
    case 'wait':
      return `wait: ${step.why}`
    default:
      return step.kind
  }
}
