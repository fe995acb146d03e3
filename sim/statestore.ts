// The write half of nomad/state/state_store.go: what one raft apply does to the
// tables, as functions over a transaction (store.ts Tx). Each names the Go
// function it follows. They check before they write, so a failed one leaves
// the transaction as it found it; the caller's transaction then aborts whole.

import type { AllocDeploymentStatus, DeploymentStatus } from '../src/nomad/types.js'
import { goQuote, GO_ZERO_TIME, goTime, multierrorText, unixNano } from './go.js'
import {
  allocIsTerminal,
  clone,
  copyAlloc,
  isActive,
  isHealthy,
  NomadError,
  progressBy,
  requiresPromotion,
  setProgressBy,
  STATUS_DESCRIPTION,
  uuidKey,
  type SimAllocation,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
} from './model.js'
import type { Tx } from './tx.js'

/** upsertDeploymentImpl: a successful deployment makes its job version stable. */
export function upsertDeployment(tx: Tx, d: SimDeployment): void {
  d.CreateIndex = tx.deployment(uuidKey(d.ID))?.CreateIndex ?? tx.index
  tx.putDeployment(d)
  if (d.Status === 'successful') setJobStability(tx, d.Namespace, d.JobID, d.JobVersion, true)
}

/** updateJobStabilityImpl: a no-op when the version already has that stability. */
export function setJobStability(
  tx: Tx,
  namespace: string,
  jobId: string,
  version: number,
  stable: boolean,
): void {
  const job = tx.jobVersions(namespace, jobId)[version]
  if (!job || job.Stable === stable) return
  tx.putJobVersion({ ...clone(job), Stable: stable, ModifyIndex: tx.index })
}

/** updateDeploymentStatusImpl: only an active deployment changes status. */
export function updateDeploymentStatus(
  tx: Tx,
  id: string,
  status: DeploymentStatus,
  description: string,
): SimDeployment {
  activeDeployment(tx, id) // throws unless the deployment exists and is active
  const d = tx.editDeployment(uuidKey(id)) as SimDeployment
  d.Status = status
  d.StatusDescription = description
  d.ModifyTime = unixNano(tx.now)
  // Pausing or resuming restarts every group's progress deadline from now.
  if (status === 'paused' || status === 'running') {
    for (const s of Object.values(d.TaskGroups)) {
      if (s.ProgressDeadline !== 0) setProgressBy(s, tx.now + s.ProgressDeadline / 1e6)
    }
  }
  upsertDeployment(tx, d)
  return d
}

/** The deployment an update changes: the state store refuses a missing or terminal one. */
function activeDeployment(tx: Tx, id: string): SimDeployment {
  const current = tx.deployment(uuidKey(id))
  if (!current) {
    throw new NomadError(`Deployment ID ${goQuote(id)} couldn't be updated as it does not exist`)
  }
  if (!isActive(current)) {
    throw new NomadError(
      `Deployment ${goQuote(current.ID)} has terminal status ${goQuote(current.Status)}:`,
    )
  }
  return current
}

/**
 * UpdateDeploymentPromotion: every promoted group needs DesiredCanaries healthy,
 * non-terminal canaries of its PlacedCanaries; those stop being canaries.
 */
export function updateDeploymentPromotion(
  tx: Tx,
  id: string,
  all: boolean,
  groups: string[],
  /** The optional evaluation, upserted after the deployment and before the allocs (as Nomad orders them). */
  evaluation?: () => void,
): void {
  const current = activeDeployment(tx, id)
  const selected = (tg: string): boolean => all || groups.includes(tg)
  const canaries = new Set(Object.values(current.TaskGroups).flatMap((g) => g.PlacedCanaries ?? []))
  const healthyCounts: Record<string, number> = {}
  const promotable: SimAllocation[] = []
  for (const a of tx.allocsByDeployment(uuidKey(current.ID))) {
    if (!canaries.has(a.ID) || !selected(a.TaskGroup)) continue
    if (allocIsTerminal(a) || !isHealthy(a)) continue
    healthyCounts[a.TaskGroup] = (healthyCounts[a.TaskGroup] ?? 0) + 1
    promotable.push(a)
  }
  // Nomad walks a Go map here, so the order of several errors varies; ours is by name.
  const errors: string[] = []
  for (const [tg, s] of Object.entries(current.TaskGroups).sort(([a], [b]) => a.localeCompare(b))) {
    if (!selected(tg) || s.DesiredCanaries === 0) continue
    const have = healthyCounts[tg] ?? 0
    if (have < s.DesiredCanaries) {
      errors.push(`Task group ${goQuote(tg)} has ${have}/${s.DesiredCanaries} healthy allocations`)
    }
  }
  if (errors.length > 0) throw new NomadError(multierrorText(errors))

  const d = tx.editDeployment(uuidKey(id)) as SimDeployment
  for (const [tg, s] of Object.entries(d.TaskGroups)) {
    if (!selected(tg)) continue
    if (s.ProgressDeadline > 0 && progressBy(s) !== 0) {
      setProgressBy(s, tx.now + s.ProgressDeadline / 1e6)
    }
    s.Promoted = true
  }
  if (!requiresPromotion(d) && d.Status === 'running') {
    d.StatusDescription = STATUS_DESCRIPTION.running
  }
  d.ModifyTime = unixNano(tx.now)
  upsertDeployment(tx, d)
  evaluation?.()
  // A promoted canary is no longer a canary (AllocDeploymentStatus.Canary doc).
  for (const a of promotable) {
    const next = tx.editAlloc(uuidKey(a.ID)) as SimAllocation
    next.DeploymentStatus = { ...(a.DeploymentStatus as AllocDeploymentStatus), Canary: false }
    next.DeploymentStatus.ModifyIndex = tx.index
    tx.putAlloc(next)
  }
  tx.tables.add('allocs')
}

/**
 * updateDeploymentWithAlloc: the deployment's counters follow its allocs. Sets
 * the alloc's DeploymentStatus.ModifyIndex when its health moved.
 */
export function updateDeploymentWithAlloc(
  tx: Tx,
  alloc: SimAllocation,
  existing?: SimAllocation,
): void {
  if (!alloc.DeploymentID) return
  const current = tx.deployment(uuidKey(alloc.DeploymentID))
  if (!current?.TaskGroups[alloc.TaskGroup]) return
  let placed = 0
  let healthy = 0
  let unhealthy = 0
  const existingHealth = existing?.DeploymentStatus?.Healthy ?? null
  const allocHealth = alloc.DeploymentStatus?.Healthy ?? null
  if (!existing || existing.DeploymentID !== alloc.DeploymentID) {
    placed++
  } else if (existingHealth === null && allocHealth !== null) {
    if (allocHealth) healthy++
    else unhealthy++
  } else if (existingHealth !== null && allocHealth !== null) {
    // Healthy → unhealthy moves one count across; unhealthy → healthy moves none.
    if (existingHealth && !allocHealth) {
      healthy--
      unhealthy++
    }
  }
  if (placed === 0 && healthy === 0 && unhealthy === 0) return
  if (alloc.DeploymentStatus && healthy + unhealthy !== 0) {
    alloc.DeploymentStatus.ModifyIndex = tx.index
  }
  const d = tx.editDeployment(uuidKey(alloc.DeploymentID)) as SimDeployment
  const s = d.TaskGroups[alloc.TaskGroup]
  d.ModifyTime = alloc.ModifyTime
  s.PlacedAllocs += placed
  s.HealthyAllocs += healthy
  s.UnhealthyAllocs += unhealthy
  if (alloc.DeploymentStatus?.Canary && !(s.PlacedCanaries ?? []).includes(alloc.ID)) {
    s.PlacedCanaries = [...(s.PlacedCanaries ?? []), alloc.ID]
  }
  if (s.ProgressDeadline !== 0) {
    const pdMs = s.ProgressDeadline / 1e6
    if (placed !== 0 && progressBy(s) === 0) {
      // The modify time, not the create time: an alloc may be moved into a new deployment in place.
      setProgressBy(s, alloc.ModifyTime / 1e6 + pdMs)
    } else if (healthy !== 0) {
      const at = healthTime(alloc, tx.now) + pdMs
      if (at > progressBy(s)) setProgressBy(s, at)
    }
  }
  upsertDeployment(tx, d)
}

function healthTime(a: SimAllocation, fallback: number): number {
  const ts = a.DeploymentStatus?.Timestamp
  return ts && ts !== GO_ZERO_TIME ? Date.parse(ts) : fallback
}

/**
 * One allocation as the client reports it (nestedUpdateAllocFromClient): the
 * client owns ClientStatus, TaskStates and the health it first reports or
 * changes; the deployment's counters follow.
 */
export function updateAllocFromClient(
  tx: Tx,
  id: string,
  change: (a: SimAllocation) => void,
): SimAllocation | undefined {
  const old = tx.alloc(uuidKey(id))
  if (!old) return undefined
  // A copy, not editAlloc: `old` must stay as it was for the comparisons below.
  const a = copyAlloc(old)
  change(a)
  const healthChanged = a.DeploymentStatus?.Healthy !== old.DeploymentStatus?.Healthy
  if (a.DeploymentStatus && healthChanged) a.DeploymentStatus.ModifyIndex = tx.index
  a.ModifyTime = unixNano(tx.now)
  updateDeploymentWithAlloc(tx, a, old)
  tx.putAlloc(a)
  return a
}

/** The health a client reports (structs.AllocDeploymentStatus); Canary and ModifyIndex stay the server's. */
export function reportHealth(a: SimAllocation, healthy: boolean, now: number): void {
  if (a.DeploymentStatus?.Healthy === healthy) return
  a.DeploymentStatus = {
    Healthy: healthy,
    Timestamp: goTime(now),
    Canary: a.DeploymentStatus?.Canary ?? false,
    ModifyIndex: a.DeploymentStatus?.ModifyIndex ?? 0,
  }
}

/** A new job version (upsertJobImpl): the version goes up, the indexes follow. */
export function putNewJobVersion(tx: Tx, job: SimJob, latest?: SimJob): SimJob {
  const next: SimJob = {
    ...job,
    Version: latest ? latest.Version + 1 : 0,
    CreateIndex: latest?.CreateIndex ?? tx.index,
    ModifyIndex: tx.index,
    JobModifyIndex: tx.index,
    SubmitTime: unixNano(tx.now),
  }
  tx.putJobVersion(next)
  return next
}

/** The evaluation a write creates: pending, for the job, as deploymentWatcher.getEval builds it. */
export function newEvaluation(
  tx: Tx,
  fields: Pick<SimEvaluation, 'Namespace' | 'JobID' | 'Priority' | 'TriggeredBy'> &
    Partial<SimEvaluation>,
): SimEvaluation {
  return {
    ID: tx.newId(),
    Type: 'service',
    JobModifyIndex: 0,
    NodeID: '',
    NodeModifyIndex: 0,
    DeploymentID: '',
    Status: 'pending',
    StatusDescription: '',
    Wait: 0,
    WaitUntil: GO_ZERO_TIME,
    NextEval: '',
    PreviousEval: '',
    BlockedEval: '',
    RelatedEvals: null,
    FailedTGAllocs: null,
    PlanAnnotations: null,
    ClassEligibility: null,
    QuotaLimitReached: '',
    MissingNonNodeResources: null,
    EscapedComputedClass: false,
    AnnotatePlan: false,
    QueuedAllocations: null,
    LeaderACL: '',
    SnapshotIndex: 0,
    CreateIndex: tx.index,
    ModifyIndex: tx.index,
    CreateTime: unixNano(tx.now),
    ModifyTime: unixNano(tx.now),
    ...fields,
  }
}

/** nestedUpsertEval: keeps the CreateIndex of an existing evaluation. */
export function upsertEval(tx: Tx, e: SimEvaluation): SimEvaluation {
  const existing = tx.evaluation(uuidKey(e.ID))
  e.CreateIndex = existing?.CreateIndex ?? tx.index
  tx.putEval(e)
  return e
}

/** A pending evaluation for the deployment's job, by the deployment watcher (getEval). */
export function deploymentEval(tx: Tx, d: SimDeployment): SimEvaluation {
  const job = tx.jobLatest(d.Namespace, d.JobID)
  return upsertEval(
    tx,
    newEvaluation(tx, {
      Namespace: d.Namespace,
      JobID: d.JobID,
      Priority: d.EvalPriority || job?.Priority || 50,
      TriggeredBy: 'deployment-watcher',
      DeploymentID: d.ID,
    }),
  )
}

/**
 * setJobStatus / getJobStatus: running while a deployment is active or an alloc
 * is not terminal, pending while an evaluation is, else dead once evaluated.
 * Only for the jobs the scheduler runs (scripted jobs keep the status the verbs give).
 */
export function refreshJobStatus(tx: Tx, namespace: string, jobId: string): void {
  const job = tx.jobLatest(namespace, jobId)
  if (!job) return
  let status: SimJob['Status']
  if (
    tx
      .allDeployments()
      .some((d) => d.Namespace === namespace && d.JobID === jobId && isActive(d)) ||
    tx.allocsByJob(namespace, jobId).some((a) => !allocIsTerminal(a))
  ) {
    status = 'running'
  } else {
    const evals = tx.evalsByJob(namespace, jobId)
    if (evals.some((e) => e.Status === 'pending' || e.Status === 'blocked')) status = 'pending'
    else status = evals.length > 0 || job.Stop ? 'dead' : 'pending'
  }
  if (status !== job.Status) tx.putJobVersion({ ...job, Status: status, ModifyIndex: tx.index })
}
