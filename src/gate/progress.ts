// The progress lines a person reads while the gate waits: one line per canary
// as it is placed, starts, reports health or stops (not one per poll).
// Canaries are the deployment's PlacedCanaries of the selected groups, never
// the allocations' Canary flag (Nomad clears it on promotion).

import { allocIsTerminal, type AllocView } from '../nomad/types.js'
import { shortId } from './outcome.js'
import type { GroupReadiness } from './readiness.js'
import type { RolloutView } from './view.js'

type CanaryState = 'pending' | 'running' | 'healthy' | 'unhealthy' | 'stopped'

export class CanaryLog {
  private readonly seen = new Map<string, CanaryState>()

  /** The lines for what changed since the last call. */
  changes(view: RolloutView, groups: readonly GroupReadiness[]): string[] {
    if (!view.allocsRead) return []
    const lines: string[] = []
    for (const g of groups) {
      for (const id of view.deployment.TaskGroups[g.name]?.PlacedCanaries ?? []) {
        const a = view.allocs.get(id)
        if (!a) continue
        const now = stateOf(a)
        const before = this.seen.get(id)
        if (before === now) continue
        this.seen.set(id, now)
        // A canary first seen already running is placed news only if it has no health yet.
        if (before === undefined && now === 'running') {
          lines.push(`${g.name}: canary ${shortId(id)} placed and running`)
          continue
        }
        lines.push(
          `${g.name}: canary ${shortId(id)} ${describe(now, a)} (${g.healthyCanaries}/${g.desiredCanaries} healthy)`,
        )
      }
    }
    return lines
  }
}

function stateOf(a: AllocView): CanaryState {
  const health = a.DeploymentStatus?.Healthy ?? null
  if (health === false) return 'unhealthy'
  if (allocIsTerminal(a)) return 'stopped'
  if (health === true) return 'healthy'
  return a.ClientStatus === 'pending' ? 'pending' : 'running'
}

function describe(state: CanaryState, a: AllocView): string {
  switch (state) {
    case 'pending':
      return 'placed, not started yet'
    case 'running':
      return 'is running, no health yet'
    case 'healthy':
      return 'is healthy'
    case 'unhealthy':
      return 'is unhealthy'
    case 'stopped':
      return `is no longer running (${a.DesiredStatus === 'run' ? a.ClientStatus : `${a.DesiredStatus}, ${a.ClientStatus}`})`
  }
}
