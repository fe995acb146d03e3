// The simulator's objects, shaped as Nomad serves them (nomad/structs), and the
// pure rules over them that several parts of the simulator share. Nothing here
// touches the state: the store (store.ts) holds these objects, the state-store
// operations (statestore.ts) change them.

import {
  allocIsTerminal,
  type AllocListStub,
  type Deployment,
  type DeploymentState,
  type TaskState,
  TERMINAL_DEPLOYMENT_STATUSES,
} from '../src/nomad/types.js'
import { goTime, GO_ZERO_TIME } from './go.js'
import type { SimTaskGroup } from './jobspec.js'

/** structs.DeploymentStatusDescription* (nomad/structs/deployment.go). */
export const STATUS_DESCRIPTION = {
  running: 'Deployment is running',
  runningNeedsPromotion: 'Deployment is running but requires manual promotion',
  runningAutoPromotion: 'Deployment is running pending automatic promotion',
  paused: 'Deployment is paused',
  successful: 'Deployment completed successfully',
  stoppedJob: 'Cancelled because job is stopped',
  newerJob: 'Cancelled due to newer version of job',
  failedAllocations: 'Failed due to unhealthy allocations',
  progressDeadline: 'Failed due to progress deadline',
  failedByUser: 'Deployment marked as failed',
} as const

/** structs.DeploymentStatusDescriptionRollback. */
export const rollbackDescription = (base: string, version: number): string =>
  `${base} - rolling back to job version ${version}`
/** structs.DeploymentStatusDescriptionRollbackNoop. */
export const rollbackNoopDescription = (base: string, version: number): string =>
  `${base} - not rolling back to stable job version ${version} as current job has same specification`
/** structs.DeploymentStatusDescriptionNoRollbackTarget. */
export const noRollbackTargetDescription = (base: string): string =>
  `${base} - no stable job version to auto revert to`

/** An error as a Nomad RPC returns it: the text is what the HTTP API prints, 500 unless coded. */
export class NomadError extends Error {
  constructor(
    message: string,
    readonly status = 500,
  ) {
    super(message)
  }
}

export {
  fromTaskGroup,
  toTaskGroup,
  type GroupSpec,
  type JobSpec,
  type SimTaskGroup,
} from './jobspec.js'

/** A job version as GET /v1/job/:job_id serves it: the part of structs.Job the simulator models. */
export interface SimJob {
  Region: string
  Namespace: string
  ID: string
  Name: string
  Type: 'service'
  Priority: number
  Stop: boolean
  Status: 'pending' | 'running' | 'dead'
  StatusDescription: string
  Stable: boolean
  Version: number
  SubmitTime: number
  Meta: Record<string, string> | null
  TaskGroups: SimTaskGroup[]
  CreateIndex: number
  ModifyIndex: number
  JobModifyIndex: number
}

/** structs.Deployment also carries its creation and modification times (Unix ns). */
export type SimDeployment = Deployment & { CreateTime: number; ModifyTime: number }

/** structs.RescheduleEvent; times and delays in nanoseconds. */
export interface RescheduleEvent {
  RescheduleTime: number
  PrevAllocID: string
  PrevNodeID: string
  Delay: number
}

/** structs.RescheduleTracker: the reschedule attempts that led to an allocation. */
export interface RescheduleTracker {
  Events: RescheduleEvent[] | null
  /** `ok` or `no placement` once the scheduler tried to replace the allocation. */
  LastReschedule: '' | 'ok' | 'no placement'
}

/** The rest of structs.AllocListStub, served as Nomad serves it. */
export interface SimAllocStub extends AllocListStub {
  NodeName: string
  JobType: string
  DesiredTransition: { Migrate: null; Reschedule: boolean | null; ForceReschedule: null }
  FollowupEvalID: string
  NextAllocation: string
  RescheduleTracker: RescheduleTracker | null
  PreemptedAllocations: null
  PreemptedByAllocation: string
}

/**
 * An allocation as stored: the stub plus what structs.Allocation has and the
 * stub leaves out (its deployment, the allocation it replaced).
 */
export type SimAllocation = SimAllocStub & { DeploymentID: string; PreviousAllocation: string }

/** structs.Evaluation, as GET /v1/evaluation/:id serves it. */
export interface SimEvaluation {
  ID: string
  Namespace: string
  Priority: number
  Type: string
  TriggeredBy: string
  JobID: string
  JobModifyIndex: number
  NodeID: string
  NodeModifyIndex: number
  DeploymentID: string
  Status: 'blocked' | 'pending' | 'complete' | 'failed' | 'canceled'
  StatusDescription: string
  /** Nanoseconds. */
  Wait: number
  /** RFC 3339; Go's zero time unless the evaluation is delayed. */
  WaitUntil: string
  NextEval: string
  PreviousEval: string
  BlockedEval: string
  RelatedEvals: null
  FailedTGAllocs: null
  PlanAnnotations: null
  ClassEligibility: null
  QuotaLimitReached: string
  MissingNonNodeResources: null
  EscapedComputedClass: boolean
  AnnotatePlan: boolean
  QueuedAllocations: Record<string, number> | null
  LeaderACL: string
  SnapshotIndex: number
  CreateIndex: number
  ModifyIndex: number
  /** Unix nanoseconds. */
  CreateTime: number
  ModifyTime: number
}

export type Table = 'jobs' | 'deployment' | 'allocs' | 'evals'

/** One applied change, as `on('change')` reports it and blocking queries watch it. */
export interface ChangeRecord {
  /** The raft index of the change; after `restore` it is the snapshot's (lower) index. */
  index: number
  /** performance.now() when the change was applied. */
  at: number
  kind: string
  deployments: string[]
  allocs: string[]
  /** `namespace/jobID` */
  jobs: string[]
  evals: string[]
  tables: Table[]
  /** A restored snapshot: Nomad abandons the old state store and wakes every blocking query. */
  restore?: boolean
}

export const jobKey = (namespace: string, id: string): string => `${namespace}\0${id}`
/** go-memdb's UUIDFieldIndex key of a well-formed UUID: its lower-case hex. */
export const uuidKey = (id: string): string => id.replaceAll('-', '').toLowerCase()
export const isActive = (d: Deployment): boolean => !TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)
export const isHealthy = (a: Pick<AllocListStub, 'DeploymentStatus'>): boolean =>
  a.DeploymentStatus?.Healthy === true
export const clone = <T>(v: T): T => structuredClone(v)
export { allocIsTerminal }

/** structs.NewDeployment: running, no groups yet; the store sets its indexes. */
export function newDeployment(
  job: SimJob,
  id: string,
  evalPriority: number,
  now: number,
): SimDeployment {
  return {
    ID: id,
    Namespace: job.Namespace,
    JobID: job.ID,
    JobVersion: job.Version,
    JobModifyIndex: job.ModifyIndex,
    JobSpecModifyIndex: job.JobModifyIndex,
    JobCreateIndex: job.CreateIndex,
    IsMultiregion: false,
    TaskGroups: {},
    Status: 'running',
    StatusDescription: STATUS_DESCRIPTION.running,
    EvalPriority: evalPriority,
    CreateIndex: 0,
    ModifyIndex: 0,
    CreateTime: now * 1e6,
    ModifyTime: now * 1e6,
  }
}

/** structs.Deployment.RequiresPromotion. */
export function requiresPromotion(d: Deployment): boolean {
  if (d.Status !== 'running') return false
  return Object.values(d.TaskGroups).some((g) => g.DesiredCanaries > 0 && !g.Promoted)
}

/** structs.Deployment.HasAutoPromote. */
export function hasAutoPromote(d: Deployment): boolean {
  const groups = Object.values(d.TaskGroups)
  if (groups.length === 0 || d.Status !== 'running') return false
  return groups.every((g) => g.DesiredCanaries <= 0 || g.AutoPromote)
}

/** Job.SpecChanged: everything but status, stability, version, indexes and submit time. */
export function specOf(j: SimJob): string {
  return JSON.stringify([j.Priority, j.Meta, j.TaskGroups, j.Stop])
}

/** A group's RequireProgressBy as epoch ms; 0 for Go's zero time. */
export function progressBy(s: DeploymentState): number {
  return s.RequireProgressBy === GO_ZERO_TIME ? 0 : Date.parse(s.RequireProgressBy)
}

export function setProgressBy(s: DeploymentState, ms: number): void {
  s.RequireProgressBy = goTime(ms)
}

/** A task's state as the client reports it (structs.TaskState), with its one task named after the group. */
export function taskState(
  state: TaskState['State'],
  startedAt: number,
): TaskState & Record<string, unknown> {
  return {
    State: state,
    Failed: false,
    Restarts: 0,
    LastRestart: GO_ZERO_TIME,
    StartedAt: goTime(startedAt),
    FinishedAt: GO_ZERO_TIME,
    Events: [],
  }
}

export function newDeploymentState(g: SimTaskGroup): DeploymentState {
  return {
    AutoRevert: g.Update?.AutoRevert ?? false,
    AutoPromote: g.Update?.AutoPromote ?? false,
    ProgressDeadline: g.Update?.ProgressDeadline ?? 0,
    RequireProgressBy: GO_ZERO_TIME,
    Promoted: false,
    PlacedCanaries: null,
    DesiredCanaries: g.Update?.Canary ?? 0,
    DesiredTotal: g.Count,
    PlacedAllocs: 0,
    HealthyAllocs: 0,
    UnhealthyAllocs: 0,
  }
}

/**
 * structs.Deployment.Copy. Committed objects are never changed in place (a
 * write copies, changes and puts), so these copies only go as deep as a write
 * reaches, and readers may hold on to what they read.
 */
export function copyDeployment(d: SimDeployment): SimDeployment {
  const groups: SimDeployment['TaskGroups'] = {}
  for (const [name, s] of Object.entries(d.TaskGroups)) {
    groups[name] = { ...s, PlacedCanaries: s.PlacedCanaries && [...s.PlacedCanaries] }
  }
  return { ...d, TaskGroups: groups }
}

/** structs.Allocation.Copy, as deep as the simulator's writes reach. */
export function copyAlloc(a: SimAllocation): SimAllocation {
  let states: SimAllocation['TaskStates'] = null
  if (a.TaskStates) {
    states = {}
    for (const [name, ts] of Object.entries(a.TaskStates)) states[name] = { ...ts }
  }
  return {
    ...a,
    DesiredTransition: { ...a.DesiredTransition },
    TaskStates: states,
    DeploymentStatus: a.DeploymentStatus && { ...a.DeploymentStatus },
    RescheduleTracker: a.RescheduleTracker && {
      ...a.RescheduleTracker,
      Events: a.RescheduleTracker.Events && [...a.RescheduleTracker.Events],
    },
  }
}

/** alloc.Stub(): no DeploymentID nor PreviousAllocation. Shares the (immutable) stored parts. */
export function toStub(a: SimAllocation): SimAllocStub {
  const { DeploymentID: _d, PreviousAllocation: _p, ...stub } = a
  return stub
}

/** Healthy, non-terminal allocs per task group (deploymentWatcher.doneGroups, UpdateDeploymentPromotion). */
export function healthyByGroup(allocs: SimAllocation[]): Record<string, number> {
  const healthy: Record<string, number> = {}
  for (const a of allocs) {
    if (!allocIsTerminal(a) && isHealthy(a)) healthy[a.TaskGroup] = (healthy[a.TaskGroup] ?? 0) + 1
  }
  return healthy
}
