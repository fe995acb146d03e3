// The product in pure functions: what the deployment's canaries say, read the
// way Nomad's server reads them.
//
// The promotion rule is nomad/state/state_store.go UpdateDeploymentPromotion:
// for every group being promoted with DesiredCanaries > 0, *already promoted
// groups included*, the allocations listed in the deployment's PlacedCanaries
// that are not terminal (Allocation.TerminalStatus) and report
// DeploymentStatus.IsHealthy() must number at least DesiredCanaries. Unhealthy
// canaries do not count against it: enough healthy ones pass (a failed canary
// that Nomad replaced leaves its replacement in PlacedCanaries too). The
// HealthyAllocs counter is never read: it is not lowered when a healthy canary
// dies. The alloc's DeploymentStatus.Canary flag is not read either: Nomad
// clears it on promotion, while the canary stays in PlacedCanaries.

import {
  TERMINAL_DEPLOYMENT_STATUSES,
  allocIsTerminal,
  type AllocView,
  type Deployment,
  type DeploymentState,
} from '../nomad/types.js'

/** One selected group: the `groups` output's fields (interface.md), then what the progress lines add. */
export interface GroupReadiness {
  name: string
  desiredCanaries: number
  placedCanaries: number
  healthyCanaries: number
  unhealthyCanaries: number
  promoted: boolean
  /** Placed canaries the client has not started yet. */
  pending: number
  /** Running canaries with no health reported yet. */
  awaitingHealth: number
  /** Canaries that stopped (terminal) without being unhealthy: lost, or healthy and then gone. */
  stopped: number
}

export interface Readiness {
  groups: GroupReadiness[]
  /** The deployment is failed, cancelled or successful: nothing can change it. */
  terminal: boolean
  /** Every selected group passes the server's promotion rule: a promote now would be applied. */
  promotable: boolean
  /** Every selected group with canaries is promoted. */
  promoted: boolean
  /** IDs of the selected canaries reported unhealthy. */
  unhealthyAllocs: string[]
  /** Nomad's deployment watcher will promote by itself (auto_promote), now or at its next look. */
  autoPromotes: boolean
  /**
   * The allocations show a promotion (Canary cleared) that the deployment as
   * read does not: the deployment's answer is older than the allocations'.
   */
  behind: boolean
}

/** What readiness reads of the allocations: by ID, as a Map or a list. */
export type Allocs = ReadonlyMap<string, AllocView> | readonly AllocView[]

/** The groups the gate acts on: the given ones, else every group that has canaries. */
export function selectGroups(d: Deployment, groups: readonly string[]): string[] {
  if (groups.length > 0) return [...groups]
  return Object.keys(d.TaskGroups)
    .filter((name) => d.TaskGroups[name].DesiredCanaries > 0)
    .sort()
}

/** Given groups that the deployment does not have (Nomad would ignore them silently). */
export function unknownGroups(d: Deployment, groups: readonly string[]): string[] {
  return groups.filter((g) => !(g in d.TaskGroups))
}

/** What one group's canaries say: its row of the outputs, and what the deployment's verdict needs of it. */
export interface GroupState extends GroupReadiness {
  /** IDs of its canaries reported unhealthy. */
  unhealthyAllocs: string[]
  /** A canary of it shows a promotion (Canary cleared) that the group as read does not. */
  behind: boolean
  /** Placed canaries reporting healthy, terminal or not: what autoPromoteDeployment counts. */
  reportedHealthy: number
}

/**
 * One group, from the deployment's state of it and the allocations: the work
 * per canary. The view keeps these per group and computes again only the
 * groups a change touches; evaluate() computes them all.
 */
export function evaluateGroup(
  name: string,
  state: DeploymentState | undefined,
  allocs: ReadonlyMap<string, AllocView>,
): GroupState {
  const placed = state?.PlacedCanaries ?? []
  const g: GroupState = {
    name,
    desiredCanaries: state?.DesiredCanaries ?? 0,
    placedCanaries: placed.length,
    healthyCanaries: 0,
    unhealthyCanaries: 0,
    promoted: state?.Promoted ?? false,
    pending: 0,
    awaitingHealth: 0,
    stopped: 0,
    unhealthyAllocs: [],
    behind: false,
    reportedHealthy: 0,
  }
  for (const id of placed) {
    const a = allocs.get(id)
    if (!a) continue
    const health = a.DeploymentStatus?.Healthy ?? null
    if (health === true) g.reportedHealthy++
    // UpdateDeploymentPromotion clears Canary on the canaries it promotes.
    if (a.DeploymentStatus?.Canary === false && !g.promoted) g.behind = true
    if (health === false) {
      g.unhealthyCanaries++
      g.unhealthyAllocs.push(id)
    } else if (allocIsTerminal(a)) {
      g.stopped++
    } else if (health === true) {
      g.healthyCanaries++
    } else if (a.ClientStatus === 'pending') {
      g.pending++
    } else {
      g.awaitingHealth++
    }
  }
  return g
}

/** The deployment's readiness from its groups' states (every group of the deployment). */
export function combine(
  d: Deployment,
  group: (name: string) => GroupState,
  selected: readonly string[],
): Readiness {
  const states = selected.map(group)
  const withCanaries = states.filter((g) => g.desiredCanaries > 0)
  return {
    groups: states.map(
      ({ unhealthyAllocs: _u, behind: _b, reportedHealthy: _r, ...row }): GroupReadiness => row,
    ),
    terminal: TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status),
    promotable: withCanaries.every((g) => g.healthyCanaries >= g.desiredCanaries),
    promoted: withCanaries.length > 0 && withCanaries.every((g) => g.promoted),
    unhealthyAllocs: states.flatMap((g) => g.unhealthyAllocs),
    autoPromotes: watcherPromotes(d, group),
    behind: states.some((g) => g.behind),
  }
}

export function evaluate(d: Deployment, allocs: Allocs, selected: readonly string[]): Readiness {
  const byId = toMap(allocs)
  return combine(d, (name) => evaluateGroup(name, d.TaskGroups[name], byId), selected)
}

/**
 * nomad/deploymentwatcher/deployment_watcher.go autoPromoteDeployment: a
 * running deployment that still requires promotion, with canaries placed, in
 * which every group with canaries has auto_promote and exactly DesiredCanaries
 * of its PlacedCanaries healthy (terminal or not: the watcher does not look).
 */
export function autoPromotes(d: Deployment, allocs: Allocs): boolean {
  const byId = toMap(allocs)
  return watcherPromotes(d, (name) => evaluateGroup(name, d.TaskGroups[name], byId))
}

function watcherPromotes(d: Deployment, group: (name: string) => GroupState): boolean {
  const groups = Object.entries(d.TaskGroups)
  if (d.Status !== 'running') return false
  if (!groups.some(([, g]) => (g.PlacedCanaries ?? []).length > 0)) return false
  if (!groups.some(([, g]) => g.DesiredCanaries > 0 && !g.Promoted)) return false
  return groups.every(([name, g]) => {
    if (g.DesiredCanaries < 1) return true
    const placed = g.PlacedCanaries ?? []
    if (!g.AutoPromote || placed.length < g.DesiredCanaries) return false
    return group(name).reportedHealthy === g.DesiredCanaries
  })
}

/** The selected canaries that are placed, live and running, or undefined until every group has its DesiredCanaries so. */
export function runningCanaries(
  d: Deployment,
  allocs: Allocs,
  selected: readonly string[],
): AllocView[] | undefined {
  const byId = toMap(allocs)
  const out: AllocView[] = []
  for (const name of selected) {
    const state = d.TaskGroups[name]
    const live = (state?.PlacedCanaries ?? [])
      .map((id) => byId.get(id))
      .filter((a): a is AllocView => !!a && !allocIsTerminal(a))
    if (
      live.length < (state?.DesiredCanaries ?? 0) ||
      live.some((a) => a.ClientStatus !== 'running')
    )
      return undefined
    out.push(...live)
  }
  return out
}

/** `web 1/2 healthy, api 1/1 healthy (1 unhealthy)`: the counts every message carries. */
export function describeGroups(groups: readonly GroupReadiness[]): string {
  if (groups.length === 0) return 'no groups with canaries'
  return groups
    .map((g) => {
      let s = `${g.name} ${g.healthyCanaries}/${g.desiredCanaries} healthy`
      if (g.unhealthyCanaries > 0) s += ` (${g.unhealthyCanaries} unhealthy)`
      if (g.stopped > 0) s += ` (${g.stopped} stopped)`
      if (g.promoted) s += ' (promoted)'
      return s
    })
    .join(', ')
}

/**
 * The state of each group in plain words, for the progress lines:
 * `web: 1/2 healthy, 1 running with no health yet; api: waiting for placement`.
 */
export function describeProgress(groups: readonly GroupReadiness[]): string {
  // Many groups: the ones still waiting, a few by name, so a line stays a line.
  if (groups.length > PROGRESS_GROUPS) {
    // A group with no canaries has none to wait for (0 < 0 is false).
    const waiting = groups.filter((g) => g.healthyCanaries < g.desiredCanaries)
    const shown = describeEach(waiting.slice(0, PROGRESS_GROUPS - 1))
    const more = waiting.length - (PROGRESS_GROUPS - 1)
    const passing = `${groups.length - waiting.length}/${groups.length} groups pass`
    if (waiting.length === 0) return passing
    return `${passing}; ${shown}${more > 0 ? `; and ${more} more group(s) waiting` : ''}`
  }
  return describeEach(groups)
}

/** Groups named one by one in a progress line, at most. */
const PROGRESS_GROUPS = 5

function describeEach(groups: readonly GroupReadiness[]): string {
  return groups
    .map((g) => {
      if (g.desiredCanaries === 0) return `${g.name}: no canaries`
      if (g.placedCanaries === 0) return `${g.name}: waiting for placement`
      const parts = [`${g.healthyCanaries}/${g.desiredCanaries} healthy`]
      if (g.unhealthyCanaries) parts.push(`${g.unhealthyCanaries} unhealthy`)
      if (g.awaitingHealth) parts.push(`${g.awaitingHealth} running with no health yet`)
      if (g.pending) parts.push(`${g.pending} placed, not started yet`)
      if (g.stopped) parts.push(`${g.stopped} stopped`)
      // Healthy canaries are live, so a group with all its healthy ones misses none.
      const live = g.placedCanaries - g.unhealthyCanaries - g.stopped
      const missing = g.desiredCanaries - live
      if (missing > 0) parts.push(`${missing} to be placed`)
      if (g.promoted) parts.push('promoted')
      return `${g.name}: ${parts.join(', ')}`
    })
    .join('; ')
}

function toMap(allocs: Allocs): ReadonlyMap<string, AllocView> {
  if (!Array.isArray(allocs)) return allocs as ReadonlyMap<string, AllocView>
  const m = new Map<string, AllocView>()
  for (const a of allocs as readonly AllocView[]) m.set(a.ID, a)
  return m
}
