// A job's specification: what a test writes (GroupSpec, with the jobspec's
// `update` and `reschedule` blocks) and the task groups Nomad stores from it,
// with the defaults the API client fills in (api/jobs.go DefaultUpdateStrategy,
// api/tasks.go NewDefaultReschedulePolicy, both mirrored in nomad/structs).

/** What the simulated client does with an allocation of the group (clients.ts). */
export type ClientOutcome =
  /** Tasks start and keep running: healthy after min_healthy_time. */
  | 'healthy'
  /** The task fails as it starts: client status failed, unhealthy. */
  | 'crash'
  /** Never starts (stays pending): unhealthy at healthy_deadline. */
  | 'stuck'
  /** Runs, but its service checks never pass: unhealthy at healthy_deadline under health_check "checks". */
  | 'unhealthy'
  /** Runs; the client reports no health: the test sets it. */
  | 'silent'

/** The jobspec's `update` block (durations in ms); unset fields take Nomad's defaults. */
export interface UpdateSpec {
  canary?: number
  maxParallel?: number
  /** Default 10 s. */
  minHealthyTimeMs?: number
  /** Default 5 min. */
  healthyDeadlineMs?: number
  /** Default 10 min; 0 fails the deployment on the first unhealthy alloc. */
  progressDeadlineMs?: number
  autoRevert?: boolean
  autoPromote?: boolean
  /** Default `checks`; the simulated tasks have no checks, so it behaves as `task_states` unless the outcome is `unhealthy`. */
  healthCheck?: 'checks' | 'task_states' | 'manual'
  staggerMs?: number
}

/** The jobspec's `reschedule` block (durations in ms); unset fields take the service job defaults. */
export interface RescheduleSpec {
  attempts?: number
  intervalMs?: number
  delayMs?: number
  delayFunction?: 'constant' | 'exponential' | 'fibonacci'
  maxDelayMs?: number
  unlimited?: boolean
}

export interface GroupSpec {
  name: string
  count: number
  /** update.canary; `update.canary` wins. */
  canaries: number
  /** update.auto_revert; `update.autoRevert` wins. */
  autoRevert?: boolean
  /** update.auto_promote; `update.autoPromote` wins. */
  autoPromote?: boolean
  /** update.progress_deadline; `update.progressDeadlineMs` wins. Default 10 min. */
  progressDeadlineMs?: number
  /**
   * The update block. `null`: an empty update strategy (`max_parallel = 0`),
   * the only way a service job submitted through Nomad's API has no deployments.
   */
  update?: UpdateSpec | null
  /**
   * The reschedule block; `true` (default): the service default (unlimited,
   * 30 s exponential delay up to 1 h); `false`: no rescheduling (attempts 0),
   * so an unhealthy alloc fails its deployment at once (watcher shouldFailEarly).
   */
  reschedule?: boolean | RescheduleSpec
  /** What the simulated client does with the group's allocations; kept in the group's Meta (a spec change). */
  outcome?: ClientOutcome
}

export interface JobSpec {
  id: string
  namespace?: string
  groups: GroupSpec[]
  /** Anything else that belongs to the job's specification (an image tag, say); kept in Meta.spec. */
  spec?: string
  /** Register this version as already deployed: stable and running (e.g. version 0 before a test). */
  stable?: boolean
  priority?: number
}

/** structs.UpdateStrategy; durations in nanoseconds. */
export interface SimUpdateStrategy {
  Stagger: number
  MaxParallel: number
  HealthCheck: 'checks' | 'task_states' | 'manual'
  MinHealthyTime: number
  HealthyDeadline: number
  ProgressDeadline: number
  AutoRevert: boolean
  AutoPromote: boolean
  Canary: number
}

/** structs.ReschedulePolicy; durations in nanoseconds. */
export interface SimReschedulePolicy {
  Attempts: number
  Interval: number
  Delay: number
  DelayFunction: 'constant' | 'exponential' | 'fibonacci'
  MaxDelay: number
  Unlimited: boolean
}

export interface SimTaskGroup {
  Name: string
  Count: number
  /** null: no (or an empty) update strategy. */
  Update: SimUpdateStrategy | null
  Tasks: Array<{ Name: string; Driver: string }>
  Meta: Record<string, string> | null
  ReschedulePolicy: SimReschedulePolicy
}

const NS_PER_MS = 1e6

/** api/jobs.go DefaultUpdateStrategy (ms). */
export const DEFAULT_UPDATE = {
  staggerMs: 30_000,
  maxParallel: 1,
  healthCheck: 'checks',
  minHealthyTimeMs: 10_000,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
} as const

/** structs.DefaultServiceJobReschedulePolicy (ms). */
export const DEFAULT_SERVICE_RESCHEDULE: Required<RescheduleSpec> = {
  attempts: 0,
  intervalMs: 0,
  delayMs: 30_000,
  delayFunction: 'exponential',
  maxDelayMs: 3_600_000,
  unlimited: true,
}

/** The group's Meta key the simulated client reads its outcome from. */
export const OUTCOME_META = 'sim_outcome'

/** UpdateStrategy.IsEmpty: MaxParallel 0 (or no strategy) means no deployments. */
export function updateIsEmpty(u: SimUpdateStrategy | null): boolean {
  return !u || u.MaxParallel === 0
}

export function toTaskGroup(g: GroupSpec): SimTaskGroup {
  return {
    Name: g.name,
    Count: g.count,
    Update: g.update === null ? null : toUpdate(g),
    Tasks: [{ Name: g.name, Driver: 'docker' }],
    Meta: g.outcome ? { [OUTCOME_META]: g.outcome } : null,
    ReschedulePolicy: toReschedule(g.reschedule),
  }
}

function toUpdate(g: GroupSpec): SimUpdateStrategy {
  const u = g.update ?? {}
  return {
    Stagger: (u.staggerMs ?? DEFAULT_UPDATE.staggerMs) * NS_PER_MS,
    MaxParallel: u.maxParallel ?? DEFAULT_UPDATE.maxParallel,
    HealthCheck: u.healthCheck ?? DEFAULT_UPDATE.healthCheck,
    MinHealthyTime: (u.minHealthyTimeMs ?? DEFAULT_UPDATE.minHealthyTimeMs) * NS_PER_MS,
    HealthyDeadline: (u.healthyDeadlineMs ?? DEFAULT_UPDATE.healthyDeadlineMs) * NS_PER_MS,
    ProgressDeadline:
      (u.progressDeadlineMs ?? g.progressDeadlineMs ?? DEFAULT_UPDATE.progressDeadlineMs) *
      NS_PER_MS,
    AutoRevert: u.autoRevert ?? g.autoRevert ?? false,
    AutoPromote: u.autoPromote ?? g.autoPromote ?? false,
    Canary: u.canary ?? g.canaries ?? 0,
  }
}

/** api/tasks.go ReschedulePolicy.Canonicalize: the service defaults under what the spec sets. */
function toReschedule(r: GroupSpec['reschedule']): SimReschedulePolicy {
  const spec: RescheduleSpec =
    r === false ? { attempts: 0, unlimited: false } : r === true || r === undefined ? {} : r
  const p = { ...DEFAULT_SERVICE_RESCHEDULE, ...spec }
  return {
    Attempts: p.attempts,
    Interval: p.intervalMs * NS_PER_MS,
    Delay: p.delayMs * NS_PER_MS,
    DelayFunction: p.delayFunction,
    MaxDelay: p.maxDelayMs * NS_PER_MS,
    Unlimited: p.unlimited,
  }
}

export function fromTaskGroup(g: SimTaskGroup): GroupSpec {
  const u = g.Update
  const r = g.ReschedulePolicy
  return {
    name: g.Name,
    count: g.Count,
    canaries: u?.Canary ?? 0,
    update: u && {
      canary: u.Canary,
      maxParallel: u.MaxParallel,
      minHealthyTimeMs: u.MinHealthyTime / NS_PER_MS,
      healthyDeadlineMs: u.HealthyDeadline / NS_PER_MS,
      progressDeadlineMs: u.ProgressDeadline / NS_PER_MS,
      autoRevert: u.AutoRevert,
      autoPromote: u.AutoPromote,
      healthCheck: u.HealthCheck,
      staggerMs: u.Stagger / NS_PER_MS,
    },
    reschedule: {
      attempts: r.Attempts,
      intervalMs: r.Interval / NS_PER_MS,
      delayMs: r.Delay / NS_PER_MS,
      delayFunction: r.DelayFunction,
      maxDelayMs: r.MaxDelay / NS_PER_MS,
      unlimited: r.Unlimited,
    },
    outcome: g.Meta?.[OUTCOME_META] as ClientOutcome | undefined,
  }
}

/** The client outcome a group asks for (its Meta), `healthy` by default. */
export function outcomeOf(g: SimTaskGroup | undefined): ClientOutcome {
  return (g?.Meta?.[OUTCOME_META] as ClientOutcome | undefined) ?? 'healthy'
}
