// The scheduler's reconciler for service jobs (scheduler/reconciler/
// reconcile_cluster.go AllocReconciler.Compute and computeGroup, with filters.go
// and allocs.go): from the job, its latest deployment and its allocations, what
// to place, stop and update, and which deployment to create or change. Pure:
// the scheduler (scheduler.ts) applies the result as one plan.
//
// The cluster is one healthy node: no tainted, lost, migrating or disconnected
// allocations, and every placement fits. Go walks maps in random order; here
// allocations are walked by ID and names by index.

import type { DeploymentState, DeploymentStatus } from '../src/nomad/types.js'
import { GO_ZERO_TIME } from './go.js'
import { updateIsEmpty, type SimTaskGroup } from './jobspec.js'
import {
  allocIsTerminal,
  isActive,
  isHealthy,
  newDeployment,
  requiresPromotion,
  STATUS_DESCRIPTION,
  type SimAllocation,
  type SimDeployment,
  type SimJob,
} from './model.js'
import { AllocNameIndex, byId, nameOrder } from './allocnames.js'
import { nextRescheduleTime } from './reschedule.js'

/** scheduler/structs/const.go */
export const ALLOC_NOT_NEEDED = 'alloc not needed due to job update'
export const ALLOC_UPDATING = 'alloc is being updated due to job update'
export const ALLOC_RESCHEDULED = 'alloc was rescheduled because it failed'
const RESCHEDULING_FOLLOWUP = 'created for delayed rescheduling'
/** batchedFailedAllocWindowSize and rescheduleWindowSize. */
const FAILED_ALLOC_WINDOW_MS = 5_000
const RESCHEDULE_WINDOW_MS = 1_000

export interface ReconcileInput {
  job: SimJob
  /** Every version of the job, to read an allocation's own version. */
  versions: SimJob[]
  /** LatestDeploymentByJobID: the job's deployment with the highest CreateIndex. */
  deployment: SimDeployment | undefined
  /** AllocsByJob, terminal ones included. */
  allocs: SimAllocation[]
  now: number
  evalId: string
  evalPriority: number
  newId: () => string
}

export interface Placement {
  name: string
  group: string
  canary: boolean
  /** The failed allocation this one replaces. */
  previous?: SimAllocation
}

export interface Stop {
  alloc: SimAllocation
  description: string
}

export interface FollowupEval {
  id: string
  waitUntil: number
  triggeredBy: 'alloc-reschedule' | 'alloc-failure'
  description: string
}

export interface ReconcileResult {
  /** A deployment to create. */
  created?: SimDeployment
  updates: Array<{ id: string; status: DeploymentStatus; description: string }>
  place: Placement[]
  /** Destructive updates: stop the old allocation, place a new one with its name. */
  destructive: Array<{ name: string; group: string; stop: SimAllocation }>
  inplace: SimAllocation[]
  stop: Stop[]
  /** FollowupEvalID to set per alloc ID (createRescheduleLaterEvals' attribute updates). */
  followupOf: Map<string, string>
  followupEvals: FollowupEval[]
}

interface State {
  old?: SimDeployment
  current?: SimDeployment
  paused: boolean
  failed: boolean
}

export function reconcile(input: ReconcileInput): ReconcileResult {
  const r: ReconcileResult = {
    updates: [],
    place: [],
    destructive: [],
    inplace: [],
    stop: [],
    followupOf: new Map(),
    followupEvals: [],
  }
  const { job } = input
  const st = cancelUnneededDeployments(job, input.deployment, r)
  const byGroup = new Map<string, SimAllocation[]>(job.TaskGroups.map((g) => [g.Name, []]))
  for (const a of [...input.allocs].sort(byId)) {
    byGroup.set(a.TaskGroup, [...(byGroup.get(a.TaskGroup) ?? []), a])
  }
  if (job.Stop) {
    // handleStop: every non-terminal allocation stops.
    for (const allocs of byGroup.values()) {
      for (const a of allocs.filter((x) => !allocIsTerminal(x))) {
        r.stop.push({ alloc: a, description: ALLOC_NOT_NEEDED })
      }
    }
    return r
  }
  if (st.current) {
    st.paused = ['paused', 'pending', 'initializing'].includes(st.current.Status)
    st.failed = st.current.Status === 'failed'
  }
  let complete = true
  for (const [group, allocs] of byGroup) {
    complete = computeGroup(input, st, group, allocs, r) && complete
  }
  // setDeploymentStatusAndUpdates
  if (st.current && complete) {
    r.updates.push({
      id: st.current.ID,
      status: 'successful',
      description: STATUS_DESCRIPTION.successful,
    })
  }
  if (r.created && requiresPromotion(r.created)) {
    r.created.StatusDescription = Object.values(r.created.TaskGroups).every(
      (g) => g.DesiredCanaries <= 0 || g.AutoPromote,
    )
      ? STATUS_DESCRIPTION.runningAutoPromotion
      : STATUS_DESCRIPTION.runningNeedsPromotion
  }
  return r
}

/** cancelUnneededServiceDeployments: an active deployment of another version (or job) is cancelled. */
function cancelUnneededDeployments(
  job: SimJob,
  d: SimDeployment | undefined,
  r: ReconcileResult,
): State {
  const st: State = { paused: false, failed: false }
  if (job.Stop) {
    if (d && isActive(d)) {
      r.updates.push({ id: d.ID, status: 'cancelled', description: STATUS_DESCRIPTION.stoppedJob })
    }
    st.old = d
    return st
  }
  if (!d) return st
  if (d.JobCreateIndex !== job.CreateIndex || d.JobVersion !== job.Version) {
    if (isActive(d)) {
      r.updates.push({ id: d.ID, status: 'cancelled', description: STATUS_DESCRIPTION.newerJob })
    }
    st.old = d
    return st
  }
  if (d.Status === 'successful') {
    st.old = d
    return st
  }
  st.current = d
  return st
}

function computeGroup(
  input: ReconcileInput,
  st: State,
  group: string,
  groupAllocs: SimAllocation[],
  r: ReconcileResult,
): boolean {
  const { job } = input
  const tg = job.TaskGroups.find((g) => g.Name === group)
  // filterServerTerminalAllocs
  let all = groupAllocs.filter((a) => a.DesiredStatus === 'run')
  if (!tg || tg.Count === 0) {
    for (const a of all.filter((x) => !allocIsTerminal(x))) {
      r.stop.push({ alloc: a, description: ALLOC_NOT_NEEDED })
    }
    return true
  }
  // initializeDeploymentState
  const existing = st.current?.TaskGroups[group]
  const dstate: DeploymentState = existing ?? {
    AutoRevert: updateIsEmpty(tg.Update) ? false : (tg.Update?.AutoRevert ?? false),
    AutoPromote: updateIsEmpty(tg.Update) ? false : (tg.Update?.AutoPromote ?? false),
    ProgressDeadline: updateIsEmpty(tg.Update) ? 0 : (tg.Update?.ProgressDeadline ?? 0),
    RequireProgressBy: GO_ZERO_TIME,
    Promoted: false,
    PlacedCanaries: null,
    DesiredCanaries: 0,
    DesiredTotal: 0,
    PlacedAllocs: 0,
    HealthyAllocs: 0,
    UnhealthyAllocs: 0,
  }

  // cancelUnneededCanaries: unpromoted canaries of an older or failed deployment stop.
  const cancel = new Set<string>()
  for (const d of [st.old, st.current?.Status === 'failed' ? st.current : undefined]) {
    for (const s of Object.values(d?.TaskGroups ?? {})) {
      if (!s.Promoted) for (const id of s.PlacedCanaries ?? []) cancel.add(id)
    }
  }
  for (const a of all.filter((x) => cancel.has(x.ID))) {
    r.stop.push({ alloc: a, description: ALLOC_NOT_NEEDED })
  }
  all = all.filter((a) => !cancel.has(a.ID))
  const canaryIds = new Set(
    Object.values(st.current?.TaskGroups ?? {}).flatMap((s) => s.PlacedCanaries ?? []),
  )
  const canaries = all.filter((a) => canaryIds.has(a.ID))

  const { untainted: kept, now, later } = filterByRescheduleable(input, st, all)
  let untainted = kept
  if (later.length > 0) createRescheduleLaterEvals(input, later, r)

  const names = new AllocNameIndex(job.ID, group, tg.Count, [...untainted, ...now])
  let canarying = dstate.DesiredCanaries !== 0 && !dstate.Promoted
  untainted = computeStop(tg, names, untainted, canaries, canarying, r)

  // computeUpdates (genericAllocUpdateFn)
  const inplace: SimAllocation[] = []
  const destructive: SimAllocation[] = []
  for (const a of untainted) {
    const own = input.versions[a.JobVersion]
    if (!own || own.JobModifyIndex === job.JobModifyIndex) continue
    if (taskSpec(own, group) !== taskSpec(job, group)) destructive.push(a)
    else if (!allocIsTerminal(a)) inplace.push(a)
  }
  r.inplace.push(...inplace)
  if (!existing) dstate.DesiredTotal += destructive.length + inplace.length

  if (canarying) untainted = untainted.filter((a) => !canaryIds.has(a.ID))
  const requiresCanaries =
    tg.Update !== null &&
    destructive.length !== 0 &&
    canaries.length < tg.Update.Canary &&
    !dstate.Promoted
  const groupPlace: Placement[] = []
  if (requiresCanaries && tg.Update) {
    // computeCanaries
    dstate.DesiredCanaries = tg.Update.Canary
    if (!st.paused && !st.failed) {
      const n = tg.Update.Canary - canaries.length
      for (const name of names.nextCanaries(n, canaries, destructive)) {
        groupPlace.push({ name, group, canary: true })
      }
    }
  }
  canarying = dstate.DesiredCanaries !== 0 && !dstate.Promoted
  let underProvisionedBy = computeUnderProvisionedBy(st, tg, untainted, destructive, canarying)

  // computePlacements: replacements for failed allocs, then new names up to the count.
  const place: Placement[] = now.map((a) => ({
    name: a.Name,
    group,
    canary: a.DeploymentStatus?.Canary ?? false,
    previous: a,
  }))
  const existingCount = untainted.length + now.length
  if (existingCount < tg.Count) {
    for (const name of names.next(tg.Count - existingCount))
      place.push({ name, group, canary: false })
  }
  if (!existing) dstate.DesiredTotal += place.length

  // placeAllocs
  const ready = !st.paused && !st.failed && !canarying
  if (ready) {
    groupPlace.push(...place)
    for (const a of now) r.stop.push({ alloc: a, description: ALLOC_RESCHEDULED })
    underProvisionedBy -= Math.min(place.length, underProvisionedBy)
  } else if (now.length > 0) {
    // Failed allocations are replaced even while canarying or paused, unless
    // they belong to a failed deployment.
    for (const p of place) {
      const prev = p.previous
      if (!prev || (st.failed && st.current?.ID === prev.DeploymentID)) continue
      groupPlace.push(p)
      r.stop.push({ alloc: prev, description: ALLOC_RESCHEDULED })
    }
  }
  if (ready) {
    // computeDestructiveUpdates: as many as max_parallel and the deployment's health allow.
    const n = Math.min(destructive.length, underProvisionedBy)
    for (const a of nameOrder(destructive).slice(0, n)) {
      r.destructive.push({ name: a.Name, group, stop: a })
    }
  }

  createDeployment(input, st, tg, existing !== undefined, dstate, all, destructive, inplace, r)
  // We can never have more placements than the count.
  r.place.push(...groupPlace.slice(0, Math.max(tg.Count, 0)))

  // isDeploymentComplete
  const done =
    destructive.length + inplace.length + groupPlace.length + now.length + later.length === 0 &&
    !requiresCanaries
  if (!done || !st.current) return false
  const s = st.current.TaskGroups[group]
  if (!s) return true
  return !(
    s.HealthyAllocs < Math.max(s.DesiredTotal, s.DesiredCanaries) ||
    (s.DesiredCanaries > 0 && !s.Promoted)
  )
}

/**
 * filterByRescheduleable for a service job: allocations already replaced or
 * finished drop out; failed ones are rescheduled now, later, or kept.
 */
function filterByRescheduleable(
  input: ReconcileInput,
  st: State,
  allocs: SimAllocation[],
): { untainted: SimAllocation[]; now: SimAllocation[]; later: Array<[SimAllocation, number]> } {
  const untainted: SimAllocation[] = []
  const now: SimAllocation[] = []
  const later: Array<[SimAllocation, number]> = []
  for (const a of allocs) {
    if (a.NextAllocation !== '' && allocIsTerminal(a)) continue
    // shouldFilter (service): stopped, complete or lost allocations are ignored.
    const lastFailed = a.RescheduleTracker?.LastReschedule === 'no placement'
    if (a.DesiredStatus !== 'run' && !lastFailed) continue
    if (a.ClientStatus === 'complete' || a.ClientStatus === 'lost') continue
    // updateByReschedulable: within an active deployment only once the watcher allowed it.
    const d = st.current
    const held =
      d !== undefined &&
      a.DeploymentID === d.ID &&
      isActive(d) &&
      a.DesiredTransition.Reschedule !== true
    if (!held) {
      const policy = input.versions[a.JobVersion]?.TaskGroups.find(
        (g) => g.Name === a.TaskGroup,
      )?.ReschedulePolicy
      const next = nextRescheduleTime(a, policy)
      if (
        next.eligible &&
        (a.FollowupEvalID === input.evalId || next.at - input.now <= RESCHEDULE_WINDOW_MS)
      ) {
        now.push(a)
        continue
      }
      if (next.eligible && a.FollowupEvalID === '') later.push([a, next.at])
    }
    untainted.push(a)
  }
  return { untainted, now, later }
}

/** createRescheduleLaterEvals / createLaterEvals: one delayed evaluation per 5 s window. */
function createRescheduleLaterEvals(
  input: ReconcileInput,
  later: Array<[SimAllocation, number]>,
  r: ReconcileResult,
): void {
  const sorted = [...later].sort((a, b) => a[1] - b[1])
  let batchStart = sorted[0][1]
  let current: FollowupEval = {
    id: input.newId(),
    waitUntil: batchStart,
    triggeredBy: 'alloc-reschedule',
    description: RESCHEDULING_FOLLOWUP,
  }
  r.followupEvals.push(current)
  for (const [a, at] of sorted) {
    if (at - batchStart >= FAILED_ALLOC_WINDOW_MS) {
      batchStart = at
      current = { id: input.newId(), waitUntil: at, triggeredBy: 'alloc-failure', description: '' }
      r.followupEvals.push(current)
    }
    r.followupOf.set(a.ID, current.id)
  }
}

/** computeStop: beyond the count, stop allocs named like the promoted canaries first, then the highest names. */
function computeStop(
  tg: SimTaskGroup,
  names: AllocNameIndex,
  untainted: SimAllocation[],
  canaries: SimAllocation[],
  canarying: boolean,
  r: ReconcileResult,
): SimAllocation[] {
  const canaryIds = new Set(canaries.map((a) => a.ID))
  let working = canarying ? untainted.filter((a) => !canaryIds.has(a.ID)) : [...untainted]
  let remove = working.filter((a) => a.ClientStatus !== 'unknown').length - tg.Count
  if (remove <= 0) return untainted
  const stop = new Set<string>()
  const stopOne = (a: SimAllocation): void => {
    stop.add(a.ID)
    r.stop.push({ alloc: a, description: ALLOC_NOT_NEEDED })
    working = working.filter((x) => x.ID !== a.ID)
    remove--
  }
  if (!canarying && canaries.length > 0) {
    const canaryNames = new Set(canaries.map((a) => a.Name))
    for (const a of working.filter((x) => !canaryIds.has(x.ID) && canaryNames.has(x.Name))) {
      if (remove > 0) stopOne(a)
    }
  }
  const highest = names.highest(Math.max(remove, 0))
  for (const a of [...working]) if (remove > 0 && highest.has(a.Name)) stopOne(a)
  for (const a of [...working]) if (remove > 0) stopOne(a)
  return untainted.filter((a) => !stop.has(a.ID))
}

/** computeUnderProvisionedBy: how many non-canary allocs may be replaced now. */
function computeUnderProvisionedBy(
  st: State,
  tg: SimTaskGroup,
  untainted: SimAllocation[],
  destructive: SimAllocation[],
  canarying: boolean,
): number {
  if (updateIsEmpty(tg.Update) || destructive.length === 0) return tg.Count
  const maxParallel = tg.Update?.MaxParallel ?? 0
  if (!st.current) return maxParallel
  if (st.paused || st.failed || canarying) return 0
  let n = maxParallel
  for (const a of untainted.filter((x) => x.DeploymentID === st.current?.ID)) {
    if (a.DeploymentStatus?.Healthy === false) return 0
    if (!isHealthy(a)) n--
  }
  return Math.max(n, 0)
}

/** createDeployment: only for a spec change, or the first run of this version. */
function createDeployment(
  input: ReconcileInput,
  st: State,
  tg: SimTaskGroup,
  existing: boolean,
  dstate: DeploymentState,
  all: SimAllocation[],
  destructive: SimAllocation[],
  inplace: SimAllocation[],
  r: ReconcileResult,
): void {
  if (existing || updateIsEmpty(tg.Update) || dstate.DesiredTotal === 0) return
  const updatingSpec = destructive.length !== 0 || inplace.length !== 0
  const { job } = input
  const hadRunning = all.some((a) => {
    const own = input.versions[a.JobVersion]
    return a.JobVersion === job.Version && own?.CreateIndex === job.CreateIndex
  })
  if (hadRunning && !updatingSpec) return
  if (!st.current) {
    st.current = newDeployment(job, input.newId(), input.evalPriority, input.now)
    r.created = st.current
  }
  st.current.TaskGroups[tg.Name] = dstate
}

/** What tasksUpdated compares: tasks, and the job's, group's and tasks' meta. */
function taskSpec(job: SimJob, group: string): string {
  const tg = job.TaskGroups.find((g) => g.Name === group)
  return JSON.stringify([job.Meta, tg?.Meta ?? null, tg?.Tasks ?? null])
}
