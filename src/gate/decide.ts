// Per-mode decisions as pure functions of what the gate knows: the readiness
// of the selected groups, the phase the step is in, and the user's policy.
// The orchestrator (gate.ts) asks after every change and does what it is told;
// table tests (decide.test.ts) pin every row.

import type { OnFailure, OnUnhealthyCanary } from '../config/settings.js'
import type { Deployment } from '../nomad/types.js'
import { shortId, type Verdict, type WriteKind } from './outcome.js'
import { describeGroups, describeProgress, type Readiness } from './readiness.js'

export interface Policy {
  mode: 'promote' | 'wait' | 'health'
  onFailure: OnFailure
  onUnhealthyCanary: OnUnhealthyCanary
  /** A soak follows the canaries' passing, before the write. */
  soak: boolean
}

/**
 * - gating: waiting for the canaries;
 * - soaking: they passed, the soak's clock runs;
 * - soaked: the soak passed;
 * - completing: promoted (wait-for-completion), waiting for the deployment to end.
 */
export type Phase = 'gating' | 'soaking' | 'soaked' | 'completing'

export interface Situation {
  readiness: Readiness
  deployment: Pick<Deployment, 'ID' | 'Status' | 'StatusDescription'>
  phase: Phase
  /** Nomad refused this gate's promote and nothing changed since: do not send it again yet. */
  promoteHeld?: boolean
  /** health mode: every selected group has its canaries placed and running. */
  canariesRunning?: boolean
  /** completing: how the step ended before it waited for completion. */
  promotedAs?: Verdict
}

export type Step =
  /** Keep watching; `phase` set: go back to it (a soak interrupted). */
  | { kind: 'wait'; why: string; phase?: Phase }
  /** The canaries pass: start the soak's clock. */
  | { kind: 'soak' }
  /** health mode: mark the canaries now. */
  | { kind: 'set-health' }
  | { kind: 'end'; verdict: Verdict }

export function decide(s: Situation, p: Policy): Step {
  const r = s.readiness
  const groups = describeGroups(r.groups)
  if (s.phase === 'completing') return decideCompletion(s)
  if (r.terminal) return { kind: 'end', verdict: terminalVerdict(s) }
  // The deployment as read is older than its allocations: decide on the next answer.
  if (r.behind) return { kind: 'wait', why: 'the deployment was promoted after it was read' }
  if (p.mode === 'health') {
    return s.canariesRunning
      ? { kind: 'set-health' }
      : { kind: 'wait', why: describeProgress(r.groups) }
  }
  if (r.promoted) {
    const during = s.phase === 'soaking' ? ' (by someone else during the soak)' : ''
    return end('already-promoted', true, `Already promoted${during}: ${groups}`)
  }
  const onFail = onFailureWrite(p.onFailure)
  const failFast = p.onUnhealthyCanary === 'fail-fast'
  if (!r.promotable) {
    const unhealthy = r.unhealthyAllocs.map(shortId).join(', ')
    if (s.phase === 'soaking') {
      const which = unhealthy ? ` (${unhealthy} unhealthy)` : ''
      if (failFast) {
        return end(
          'unhealthy',
          false,
          `Canaries stopped passing during the soak${which}: ${groups}`,
          onFail,
        )
      }
      return {
        kind: 'wait',
        why: `Soak interrupted${which}: ${describeProgress(r.groups)}`,
        phase: 'gating',
      }
    }
    if (r.unhealthyAllocs.length > 0) {
      if (failFast)
        return end('unhealthy', false, `Canary ${unhealthy} reported unhealthy: ${groups}`, onFail)
      return {
        kind: 'wait',
        why: `Canary ${unhealthy} reported unhealthy; waiting for Nomad to replace it: ${describeProgress(r.groups)}`,
      }
    }
    return { kind: 'wait', why: describeProgress(r.groups) }
  }
  // Promotable by the server's rule.
  if (p.soak && s.phase === 'gating') return { kind: 'soak' }
  if (s.phase === 'soaking') return { kind: 'wait', why: 'soaking' }
  if (p.mode === 'wait') return end('promotable', true, `Promotable: ${groups}`)
  if (r.autoPromotes) {
    return {
      kind: 'wait',
      why: `Canaries pass; Nomad promotes this deployment itself (auto_promote): ${groups}`,
    }
  }
  if (s.promoteHeld)
    return { kind: 'wait', why: 'Nomad refused the promote; waiting for the canaries to change' }
  return end('promoted', true, `Promoted: ${groups}`, 'promote')
}

/** The deadline passed before a decision. */
export function timeoutVerdict(s: Situation, p: Policy, timeout: string): Verdict {
  const groups = describeGroups(s.readiness.groups)
  if (s.phase === 'completing' && s.promotedAs) {
    return {
      result: 'timed-out',
      ok: false,
      message: `${s.promotedAs.result}, but the deployment did not complete in time: Timed out after ${timeout}: ${groups}`,
    }
  }
  const write = onFailureWrite(p.onFailure)
  return {
    result: 'timed-out',
    ok: false,
    message: `Timed out after ${timeout}: ${groups}`,
    ...(write ? { write } : {}),
  }
}

function decideCompletion(s: Situation): Step {
  const d = s.deployment
  if (d.Status === 'successful') {
    return {
      kind: 'end',
      verdict: {
        result: s.promotedAs?.result ?? 'promoted',
        ok: true,
        message: `${s.promotedAs?.message ?? 'Promoted'}; deployment successful`,
      },
    }
  }
  if (s.readiness.terminal) return { kind: 'end', verdict: terminalVerdict(s) }
  return { kind: 'wait', why: `Waiting for the deployment to complete (${d.Status})` }
}

function terminalVerdict(s: Situation): Verdict {
  const d = s.deployment
  const groups = describeGroups(s.readiness.groups)
  if (d.Status === 'successful') {
    return {
      result: 'already-promoted',
      ok: true,
      message: `Deployment already successful: ${groups}`,
    }
  }
  const superseded = /newer/i.test(d.StatusDescription)
    ? ' (superseded by a newer deployment of the job)'
    : ''
  return {
    result: 'deployment-failed',
    ok: false,
    message: `Deployment ${shortId(d.ID)} is ${d.Status}${superseded}: "${d.StatusDescription}"; ${groups}`,
  }
}

export function onFailureWrite(onFailure: OnFailure): WriteKind | undefined {
  return onFailure === 'none' ? undefined : onFailure
}

function end(result: Verdict['result'], ok: boolean, message: string, write?: WriteKind): Step {
  return { kind: 'end', verdict: write ? { result, ok, message, write } : { result, ok, message } }
}
