// Step outputs (interface.md), on success and on failure, as far as known.

import type { Outcome } from '../gate/outcome.js'

export function outputs(o: Outcome): Record<string, string> {
  const d = o.deployment
  const w = o.write
  const str = (v: number | string | null | undefined) =>
    v === null || v === undefined ? '' : String(v)
  return {
    result: o.result,
    message: o.message,
    'deployment-id': str(d?.ID),
    'job-id': str(d?.JobID),
    'job-version': str(d?.JobVersion),
    namespace: str(d?.Namespace),
    status: str(d?.Status),
    'status-description': str(d?.StatusDescription),
    'eval-id': str(w?.EvalID),
    'eval-create-index': str(w?.EvalCreateIndex),
    'deployment-modify-index': str(w?.DeploymentModifyIndex),
    index: o.index ? String(o.index) : '',
    'reverted-job-version': str(w?.RevertedJobVersion),
    'healthy-canaries': String(o.groups.reduce((n, g) => n + g.healthyCanaries, 0)),
    'desired-canaries': String(o.groups.reduce((n, g) => n + g.desiredCanaries, 0)),
    // Exactly the interface's fields, whatever else the gate keeps per group.
    groups: JSON.stringify(
      o.groups.map((g) => ({
        name: g.name,
        desiredCanaries: g.desiredCanaries,
        placedCanaries: g.placedCanaries,
        healthyCanaries: g.healthyCanaries,
        unhealthyCanaries: g.unhealthyCanaries,
        promoted: g.promoted,
      })),
    ),
    checks: JSON.stringify(o.checks),
    'elapsed-ms': String(Math.round(o.elapsedMs)),
  }
}

/** The outputs that are numbers, and those that are JSON (interface.md). */
const NUMBERS = new Set([
  'job-version',
  'eval-create-index',
  'deployment-modify-index',
  'index',
  'reverted-job-version',
  'healthy-canaries',
  'desired-canaries',
  'elapsed-ms',
])
const JSON_OUTPUTS = new Set(['groups', 'checks'])

/**
 * The outputs with their types, for the CLI's --json: numbers as numbers (null
 * when unknown), `groups` and `checks` as arrays, the rest as strings.
 */
export function typedOutputs(o: Outcome): Record<string, unknown> {
  const typed: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(outputs(o))) {
    if (NUMBERS.has(name)) typed[name] = value === '' ? null : Number(value)
    else if (JSON_OUTPUTS.has(name)) typed[name] = JSON.parse(value) as unknown
    else typed[name] = value
  }
  return typed
}
