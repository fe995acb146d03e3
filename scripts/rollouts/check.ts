// What must hold after every generated rollout, whatever happened in it
// (issue "Real rollouts"). Each check returns a line per violation; none is
// about timing, so a slow machine changes which path a rollout takes, never
// whether these hold.

import { evaluate, selectGroups } from '../../src/gate/readiness.js'
import type { Result } from '../../src/gate/outcome.js'
import type { RunRecord } from './run.js'

const PASSING: Result[] = [
  'promoted',
  'already-promoted',
  'promotable',
  'failed',
  'paused',
  'resumed',
  'health-set',
  'would-promote',
  'would-fail',
  'would-pause',
  'would-resume',
  'would-set-health',
]
const WRITE_KINDS = ['promote', 'pause', 'resume', 'fail', 'alloc-health']

export interface Checked {
  violations: string[]
  /** The outputs were compared with the final state (the gate saw the history's last change). */
  comparedFinalState: boolean
}

export function check(r: RunRecord): Checked {
  const v: string[] = []
  const o = r.outcome
  const d = o.deployment
  const writes = r.requests.filter(
    (q) => q.method !== 'GET' && q.path.startsWith('/v1/deployment/'),
  )
  /** Writes of the gate that Nomad applied: changes of a write kind the history did not make. */
  const applied = r.changes.filter(
    (ch) => WRITE_KINDS.includes(ch.kind) && !r.harness.has(ch.index),
  )
  const onD = (kind: string) =>
    applied.filter((ch) => ch.kind === kind && d && ch.deployments.includes(d.ID))

  // Exit status 0 exactly for the passing results.
  if (o.ok !== PASSING.includes(o.result)) v.push(`ok=${o.ok} with result ${o.result}`)

  // Never a pass on another job version's deployment, nor on another deployment than the one named.
  if (o.ok && d) {
    if (d.JobVersion !== r.version)
      v.push(`passed on version ${d.JobVersion}'s deployment, not version ${r.version}'s`)
    if (r.deploymentId && d.ID !== r.deploymentId)
      v.push(`passed on ${d.ID}, not the named ${r.deploymentId}`)
  }
  if (o.ok && !d) v.push(`passed (${o.result}) without a deployment`)

  // promoted: Nomad applied this gate's promote, on the gated deployment. Or its promote got
  // no answer it can trust (a 5xx, a cut connection) while another actor promoted: the gate
  // cannot tell the two apart from the deployment, and says it took effect (write.ts).
  const lostAnswer = writes.some(
    (w) => w.path.includes('/promote/') && (w.status === 0 || w.status >= 500),
  )
  const byAnother = r.changes.some(
    (ch) => ch.kind === 'promote' && r.harness.has(ch.index) && d && ch.deployments.includes(d.ID),
  )
  const indistinguishable = lostAnswer && byAnother && onD('promote').length === 0
  if (o.result === 'promoted' && onD('promote').length !== 1 && !indistinguishable) {
    v.push(`promoted, but ${onD('promote').length} promote(s) of the gate applied to ${d?.ID}`)
  }
  // At most one effective write.
  if (applied.length > 1)
    v.push(
      `${applied.length} writes applied: ${applied.map((ch) => `${ch.kind}@${ch.index}`).join(', ')}`,
    )
  if (r.case.gate.dryRun && writes.length > 0) v.push(`dry run sent ${writes.length} write(s)`)

  // No promote that Nomad refuses, unless the state changed after the gate's last read: after
  // the view each promote decision was made on (the gate's debug lines give its indexes).
  const decisions = r.lines
    .map((l) =>
      /^debug: Decision on deployment @(\d+), allocations @(\d+): promoted \(send promote\)/.exec(
        l,
      ),
    )
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Math.max(Number(m[1]), Number(m[2])))
  const refused = writes.filter((q) => q.path.includes('/promote/') && q.status === 500 && !q.fault)
  refused.forEach((w, i) => {
    // Refused promotes come first: one that passes ends the gating.
    const view = decisions[i]
    if (view === undefined) return void v.push('a refused promote that no decision accounts for')
    const changed = r.changes.some(
      (ch) => r.harness.has(ch.index) && ch.index > view && ch.at <= (w.answeredAt ?? Infinity),
    )
    if (!changed)
      v.push(
        `a promote decided on the state at index ${view} was refused with nothing changed since`,
      )
  })

  // on-failure exactly when the result calls for it.
  const failing =
    o.result === 'unhealthy' ||
    o.result === 'check-failed' ||
    (o.result === 'timed-out' && !o.message.includes('did not complete in time'))
  const mode = r.case.gate.mode
  const onFailure = r.case.gate.onFailure
  const gateModeWrite = mode === 'fail' || mode === 'pause' || mode === 'resume'
  const sentOnFailure = writes.filter((q) =>
    q.path.includes(`/${onFailure === 'pause' ? 'pause' : 'fail'}/`),
  )
  if (!gateModeWrite && !r.case.gate.dryRun) {
    // on-failure acts on the deployment: none when the step ended before it had one.
    const expected =
      failing &&
      onFailure !== 'none' &&
      d !== undefined &&
      (mode === 'promote' || mode === 'wait' || mode === 'health')
    const otherFails = writes.filter(
      (q) => /\/(fail|pause)\//.test(q.path) && !sentOnFailure.includes(q),
    )
    if (otherFails.length > 0)
      v.push(
        `sent ${otherFails.map((q) => q.path.split('/')[3]).join(', ')} with on-failure ${onFailure}`,
      )
    if (expected && sentOnFailure.length === 0 && !/on-failure \w+ not applied/.test(o.message)) {
      v.push(`${o.result} with on-failure ${onFailure}, but no ${onFailure} sent`)
    }
    if (!expected && sentOnFailure.length > 0)
      v.push(`${onFailure} sent although the result is ${o.result}`)
  }

  // The outputs are the server's final state, when the gate saw the history's last change.
  // The gate follows the deployment (and, but for fail/pause/resume, its allocations): it must
  // have seen every change the history made to them, unless the history went on after the end.
  let comparedFinalState = false
  const followsAllocs = !['fail', 'pause', 'resume'].includes(mode)
  const ids = new Set(r.final?.allocs.map((a) => a.ID) ?? [])
  const touched = r.changes.filter(
    (ch) =>
      r.harness.has(ch.index) &&
      d &&
      (ch.deployments.includes(d.ID) || (followsAllocs && ch.allocs.some((a) => ids.has(a)))),
  )
  const lastTouched = Math.max(0, ...touched.map((ch) => ch.index))
  if (d && r.final && o.index >= lastTouched && o.result !== 'cancelled') {
    comparedFinalState = true
    const fd = r.final.deployment
    if (d.Status !== fd.Status) v.push(`outputs say status ${d.Status}, Nomad has ${fd.Status}`)
    if (o.groups.length > 0) {
      const selected = selectGroups(fd, r.inputs.groups ? r.inputs.groups.split(',') : [])
      const want = evaluate(fd, r.final.allocs, selected).groups
      const got = o.groups
      const counts = (gs: typeof got) =>
        gs
          .map(
            (g) =>
              `${g.name} ${g.healthyCanaries}/${g.desiredCanaries} placed ${g.placedCanaries} unhealthy ${g.unhealthyCanaries}${g.promoted ? ' promoted' : ''}`,
          )
          .join(', ')
      if (counts(got) !== counts(want))
        v.push(`outputs say ${counts(got)}; Nomad has ${counts(want)}`)
    }
    if (o.index < fd.ModifyIndex)
      v.push(`index ${o.index} is below the deployment's ModifyIndex ${fd.ModifyIndex}`)
  }
  if (o.write) {
    const at = o.write.DeploymentModifyIndex
    if (!applied.some((ch) => ch.index === at))
      v.push(`the write's DeploymentModifyIndex ${at} is no applied write`)
  }
  return { violations: v, comparedFinalState }
}

/** A failing run in a few lines: the case, the gate's log, its requests. */
export function describeRun(r: RunRecord): string {
  const requests = r.requests
    .map(
      (q) =>
        `${q.method} ${q.path}${q.query.index ? `?index=${q.query.index}` : ''} -> ${q.status}${q.index !== undefined ? ` @${q.index}` : ''}${q.fault ? ` (${q.fault})` : ''}`,
    )
    .join('\n    ')
  const changes = r.changes
    .filter(
      (ch) =>
        ch.index >
        (r.changes.find((x) => x.kind === 'register-job' && r.harness.has(x.index))?.index ?? 0) -
          1,
    )
    .map((ch) => `${ch.index} ${ch.kind}${r.harness.has(ch.index) ? '' : ' (gate)'}`)
    .join(', ')
  return [
    `case: ${JSON.stringify(r.case)}`,
    `inputs: ${JSON.stringify(r.inputs)}`,
    `outcome: ${r.outcome.result}: ${r.outcome.message}`,
    `notes: ${r.notes.join('; ')}`,
    `log:\n    ${r.lines.join('\n    ')}`,
    `requests:\n    ${requests}`,
    `changes: ${changes}`,
  ].join('\n')
}
