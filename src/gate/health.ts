// health mode: which allocations to mark, from healthy-allocs and
// unhealthy-allocs (the word `canaries`, or IDs and unique prefixes of the
// selected groups' placed canaries).

import type { AllocSelector } from '../config/settings.js'
import type { AllocView } from '../nomad/types.js'
import { GateError } from './errors.js'
import { shortId, type Verdict } from './outcome.js'

export interface HealthTargets {
  healthy: string[]
  unhealthy: string[]
  verdict: Verdict
}

export function healthTargets(
  selectors: { healthyAllocs?: AllocSelector; unhealthyAllocs?: AllocSelector },
  canaries: readonly AllocView[],
  where: { deploymentId: string; groups: readonly string[] },
): HealthTargets {
  const pick = (input: string, selector: AllocSelector | undefined): string[] => {
    if (!selector) return []
    if ('canaries' in selector) return canaries.map((a) => a.ID)
    return selector.ids.map((prefix) => {
      const matches = canaries.filter((a) => a.ID.startsWith(prefix))
      if (matches.length === 1) return matches[0].ID
      if (matches.length === 0) {
        throw new GateError(
          `Input '${input}': "${prefix}" is not a placed canary of deployment ${shortId(where.deploymentId)} in ${where.groups.join(', ')}; its canaries are ${canaries.map((a) => shortId(a.ID)).join(', ')}`,
        )
      }
      throw new GateError(
        `Input '${input}': "${prefix}" matches several canaries (${matches.map((a) => a.ID).join(', ')}); give more characters`,
      )
    })
  }
  const healthy = pick('healthy-allocs', selectors.healthyAllocs)
  const unhealthy = pick('unhealthy-allocs', selectors.unhealthyAllocs)
  const parts = [
    healthy.length ? `${healthy.length} healthy (${healthy.map(shortId).join(', ')})` : '',
    unhealthy.length ? `${unhealthy.length} unhealthy (${unhealthy.map(shortId).join(', ')})` : '',
  ].filter(Boolean)
  return {
    healthy,
    unhealthy,
    verdict: { result: 'health-set', ok: true, message: `Marked ${parts.join(' and ')}` },
  }
}
