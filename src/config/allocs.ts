// health mode's allocation lists: IDs (or prefixes) or the word `canaries`,
// only with mode health, at least one of them, and never naming one
// allocation in both.

import type { AllocSelector, Mode } from './settings.js'
import {
  InputError,
  fail,
  isUuidPrefix,
  shown,
  splitList,
  type InputValue,
  type Inputs,
} from './values.js'

export function parseAllocs(
  inputs: Inputs,
  mode: Mode,
): { healthyAllocs?: AllocSelector; unhealthyAllocs?: AllocSelector } {
  const healthyValue = inputs.get('healthy-allocs')
  const unhealthyValue = inputs.get('unhealthy-allocs')
  const healthy = healthyValue && parseSelector(healthyValue)
  const unhealthy = unhealthyValue && parseSelector(unhealthyValue)
  if (mode !== 'health') {
    const set = healthyValue ?? unhealthyValue
    if (set) fail(set, `is only used with mode 'health' (mode is '${mode}')`)
    return {}
  }
  if (!healthy && !unhealthy) {
    throw new InputError(
      'healthy-allocs',
      "Input 'healthy-allocs' or input 'unhealthy-allocs' is required with mode 'health': allocation IDs, or the word 'canaries'",
    )
  }
  const out = {
    ...(healthy && { healthyAllocs: healthy }),
    ...(unhealthy && { unhealthyAllocs: unhealthy }),
  }
  if (!healthy || !unhealthy) return out
  if ('canaries' in healthy || 'canaries' in unhealthy) {
    fail(
      unhealthyValue!,
      "cannot be set when the other list is 'canaries' (every canary would be marked twice); list allocation IDs in both",
    )
  }
  for (const a of healthy.ids) {
    // Prefixes that nest can name the same allocation.
    const b = unhealthy.ids.find((u) => u.startsWith(a) || a.startsWith(u))
    if (b !== undefined) {
      fail(
        unhealthyValue!,
        `must not name an allocation that healthy-allocs also names (${shown(b)} and ${shown(a)} overlap)`,
      )
    }
  }
  return out
}

function parseSelector(v: InputValue): AllocSelector {
  if (v.value === 'canaries') return { canaries: true }
  const what = "allocation IDs or ID prefixes, or the word 'canaries'"
  const ids = [...new Set(splitList(v, what).map((id) => id.toLowerCase()))]
  for (const id of ids) {
    if (!isUuidPrefix(id))
      fail(v, `must be ${what}; ${shown(id)} is neither (got ${shown(v.value)})`)
  }
  return { ids }
}
