// The Nomad objects the gate reads and writes, with Nomad's own field names
// (nomad/structs/structs.go, api/deployments.go). Only the fields we use or the
// simulator serves are typed; Nomad sends more.

export type DeploymentStatus =
  | 'running'
  | 'paused'
  | 'failed'
  | 'successful'
  | 'cancelled'
  | 'initializing'
  | 'pending'
  | 'blocked'
  | 'unblocking'

/** Statuses after which a deployment never changes again (structs.Deployment.Active). */
export const TERMINAL_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  'failed',
  'successful',
  'cancelled',
]

export interface DeploymentState {
  AutoRevert: boolean
  AutoPromote: boolean
  /** Nanoseconds. */
  ProgressDeadline: number
  /** RFC 3339. */
  RequireProgressBy: string
  Promoted: boolean
  /** Allocation IDs of the canaries placed for this group. */
  PlacedCanaries: string[] | null
  DesiredCanaries: number
  DesiredTotal: number
  PlacedAllocs: number
  /** A running counter, never lowered when an alloc stops: a hint, not the gate. */
  HealthyAllocs: number
  UnhealthyAllocs: number
}

export interface Deployment {
  ID: string
  Namespace: string
  JobID: string
  JobVersion: number
  JobModifyIndex: number
  JobSpecModifyIndex: number
  JobCreateIndex: number
  IsMultiregion: boolean
  TaskGroups: Record<string, DeploymentState>
  Status: DeploymentStatus
  StatusDescription: string
  EvalPriority: number
  CreateIndex: number
  ModifyIndex: number
}

export interface AllocDeploymentStatus {
  /** null until the client (or an operator) reports health. */
  Healthy: boolean | null
  Timestamp: string
  Canary: boolean
  ModifyIndex: number
}

export type AllocClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown'
export type AllocDesiredStatus = 'run' | 'stop' | 'evict'

export interface TaskState {
  State: 'pending' | 'running' | 'dead'
  Failed: boolean
  StartedAt: string | null
  FinishedAt: string | null
}

/** An `AllocListStub` as `/v1/deployment/allocations/:id` returns it. */
export interface AllocListStub {
  ID: string
  EvalID: string
  Name: string
  Namespace: string
  NodeID: string
  JobID: string
  JobVersion: number
  TaskGroup: string
  DesiredStatus: AllocDesiredStatus
  DesiredDescription: string
  ClientStatus: AllocClientStatus
  ClientDescription: string
  TaskStates: Record<string, TaskState> | null
  DeploymentStatus: AllocDeploymentStatus | null
  CreateIndex: number
  ModifyIndex: number
  CreateTime: number
  ModifyTime: number
}

/** structs.Job as GET /v1/job/:job_id returns it; only its identity and state are typed. */
export interface Job {
  ID: string
  Namespace: string
  /** The job's current version: the one `nomad job run` registered last. */
  Version: number
  Type: 'service' | 'batch' | 'system' | 'sysbatch'
  /** Stopped with `nomad job stop` (not purged). */
  Stop: boolean
  Status: 'pending' | 'running' | 'dead'
  /** Raft index of the last change of the job's specification. */
  JobModifyIndex: number
  CreateIndex: number
  ModifyIndex: number
}

/** Evaluation statuses (nomad/structs/eval.go); note Nomad's spelling `canceled` here. */
export type EvaluationStatus = 'blocked' | 'pending' | 'complete' | 'failed' | 'canceled'

/** structs.Evaluation (nomad/structs/eval.go) as GET /v1/job/:job_id/evaluations returns it. */
export interface Evaluation {
  ID: string
  Namespace: string
  JobID: string
  /** The job's JobModifyIndex when the evaluation was created. */
  JobModifyIndex: number
  /** Why it was created: `job-register`, `deployment-watcher`, `alloc-failure`, ... */
  TriggeredBy: string
  Status: EvaluationStatus
  StatusDescription: string
  /** The deployment that triggered it, when one did. */
  DeploymentID: string
  CreateIndex: number
  ModifyIndex: number
  /** The blocked evaluation created when not every allocation could be placed. */
  BlockedEval: string
  /** The follow-up evaluation (rolling updates, failed follow-ups). */
  NextEval: string
}

/** structs.DeploymentUpdateResponse as the HTTP API returns it. */
export interface DeploymentUpdateResponse {
  EvalID: string
  EvalCreateIndex: number
  DeploymentModifyIndex: number
  RevertedJobVersion: number | null
  Index: number
}

export interface DeploymentPromoteRequest {
  DeploymentID: string
  All: boolean
  Groups: string[] | null
}

export interface DeploymentPauseRequest {
  DeploymentID: string
  Pause: boolean
}

export interface DeploymentFailRequest {
  DeploymentID: string
}

export interface DeploymentAllocHealthRequest {
  DeploymentID: string
  HealthyAllocationIDs: string[]
  UnhealthyAllocationIDs: string[]
}

/**
 * What the gate keeps of an allocation: what readiness, the progress lines and
 * health mode read. A deployment of thousands of allocations answers megabytes
 * of stubs on every change; keeping only this keeps the step's memory small.
 */
export type AllocView = Pick<
  AllocListStub,
  | 'ID'
  | 'Name'
  | 'TaskGroup'
  | 'DesiredStatus'
  | 'ClientStatus'
  | 'DeploymentStatus'
  | 'ModifyIndex'
>

/** From a list stub, or from the full allocation an event carries (the same field names). */
export function allocView(a: AllocListStub): AllocView {
  const { ID, Name, TaskGroup, DesiredStatus, ClientStatus, DeploymentStatus, ModifyIndex } = a
  return { ID, Name, TaskGroup, DesiredStatus, ClientStatus, DeploymentStatus, ModifyIndex }
}

/** An allocation is terminal once the server wants it stopped or the client reports it ended (structs.Allocation.TerminalStatus). */
export function allocIsTerminal(a: Pick<AllocListStub, 'DesiredStatus' | 'ClientStatus'>): boolean {
  return (
    a.DesiredStatus === 'stop' ||
    a.DesiredStatus === 'evict' ||
    a.ClientStatus === 'complete' ||
    a.ClientStatus === 'failed' ||
    a.ClientStatus === 'lost'
  )
}
