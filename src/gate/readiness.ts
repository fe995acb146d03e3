// The product in one pure function: is this deployment promotable, by the
// server's own rule? (nomad/state/state_store.go UpdateDeploymentPromotion:
// for every group with DesiredCanaries > 0, the allocations in PlacedCanaries
// that are not terminal and report Healthy == true must number at least
// DesiredCanaries.) The HealthyAllocs counter is never used: it is not lowered
// when a healthy canary dies.

import {
  TERMINAL_DEPLOYMENT_STATUSES,
  allocIsTerminal,
  type AllocView,
  type Deployment,
} from '../nomad/types.js'

export interface GroupReadiness {
  name: string
  desiredCanaries: number
  placedCanaries: number
  healthyCanaries: number
  unhealthyCanaries: number
  promoted: boolean
}

export type Verdict =
  /** Every selected group passes the promotion rule; none promoted yet. */
  | 'ready'
  /** Some selected group still lacks healthy canaries. */
  | 'waiting'
  /** A selected canary was reported unhealthy. */
  | 'unhealthy'
  /** Every selected group with canaries is promoted already. */
  | 'promoted'
  /** The deployment is failed, cancelled or successful: nothing can change it. */
  | 'terminal'

export interface Readiness {
  verdict: Verdict
  groups: GroupReadiness[]
  /** IDs of the selected canaries reported unhealthy. */
  unhealthyAllocs: string[]
}

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

export function evaluate(
  d: Deployment,
  allocs: readonly AllocView[],
  selected: readonly string[],
): Readiness {
  const byId = new Map<string, AllocView>()
  for (const a of allocs) byId.set(a.ID, a)

  const unhealthyAllocs: string[] = []
  const groups = selected.map((name): GroupReadiness => {
    const state = d.TaskGroups[name]
    const placed = state?.PlacedCanaries ?? []
    let healthy = 0
    let unhealthy = 0
    for (const id of placed) {
      const a = byId.get(id)
      const health = a?.DeploymentStatus?.Healthy
      if (health === false) {
        unhealthy++
        unhealthyAllocs.push(id)
      } else if (health === true && a && !allocIsTerminal(a)) {
        healthy++
      }
    }
    return {
      name,
      desiredCanaries: state?.DesiredCanaries ?? 0,
      placedCanaries: placed.length,
      healthyCanaries: healthy,
      unhealthyCanaries: unhealthy,
      promoted: state?.Promoted ?? false,
    }
  })

  const withCanaries = groups.filter((g) => g.desiredCanaries > 0)
  let verdict: Verdict
  if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) verdict = 'terminal'
  else if (withCanaries.length > 0 && withCanaries.every((g) => g.promoted)) verdict = 'promoted'
  else if (unhealthyAllocs.length > 0) verdict = 'unhealthy'
  else if (withCanaries.every((g) => g.promoted || g.healthyCanaries >= g.desiredCanaries))
    verdict = 'ready'
  else verdict = 'waiting'
  return { verdict, groups, unhealthyAllocs }
}

/**
 * What evaluate() and the decisions read of a deployment. Nomad raises the
 * deployment's index on every health change (its counters move), so the
 * deployment's answer usually brings nothing new: when this key is unchanged,
 * the verdict cannot have changed and the evaluation is skipped.
 */
export function readinessKey(d: Deployment): string {
  let key = d.Status
  for (const [name, g] of Object.entries(d.TaskGroups)) {
    key += `|${name}:${g.Promoted}:${g.DesiredCanaries}:${(g.PlacedCanaries ?? []).join(',')}`
  }
  return key
}

/** `web 1/2 healthy, api 1/1 healthy (1 unhealthy)`: the counts every message carries. */
export function describeGroups(groups: readonly GroupReadiness[]): string {
  if (groups.length === 0) return 'no groups with canaries'
  return groups
    .map((g) => {
      let s = `${g.name} ${g.healthyCanaries}/${g.desiredCanaries} healthy`
      if (g.unhealthyCanaries > 0) s += ` (${g.unhealthyCanaries} unhealthy)`
      if (g.promoted) s += ' (promoted)'
      return s
    })
    .join(', ')
}
