// The gate as the CLI runs it, in-process: settings through parseSettings (the
// same parser and defaults), a real NomadClient over loopback, runGate. Plus the
// simulator helpers the benchmarks share.

import { runGate, type Outcome } from '../src/gate/gate.js'
import { NomadClient } from '../src/nomad/client.js'
import { parseSettings } from '../src/config/parse.js'
import type { ChangeRecord, GroupSpec, RequestRecord, Simulator } from '../sim/simulator.js'

export { ACTION, CLI } from '../scripts/run-dist.js'

/** The demo's job: web (3, 2 canaries) and api (2, 1 canary). */
export const GROUPS: GroupSpec[] = [
  { name: 'web', count: 3, canaries: 2 },
  { name: 'api', count: 2, canaries: 1 },
]

export interface GateRun {
  outcome: Promise<Outcome>
  /** The gate's log lines (kept, not printed: writing them is not what is measured). */
  lines: string[]
}

export function startGate(
  address: string,
  deploymentId: string,
  options: { signal?: AbortSignal; timeout?: string; inputs?: Record<string, string> } = {},
): GateRun {
  const inputs: Record<string, string> = {
    ...options.inputs,
    address,
    'deployment-id': deploymentId,
    mode: 'promote',
    timeout: options.timeout ?? '2m',
    'on-failure': 'none',
    'wait-for-completion': 'false',
  }
  const settings = parseSettings((name) => inputs[name] ?? '', {})
  const client = new NomadClient(settings.nomad)
  const lines: string[] = []
  const log = { info: (l: string) => lines.push(l), warning: (l: string) => lines.push(l) }
  const outcome = runGate(settings, { client, log, signal: options.signal }).finally(() =>
    client.close(),
  )
  return { outcome, lines }
}

/** Registers `jobId` (version 0 stable) and rolls out version 1 with its canaries placed and running. */
export function canaryRollout(
  sim: Simulator,
  jobId: string,
  groups: GroupSpec[],
): { id: string; canaries: string[] } {
  sim.registerJob({ id: jobId, groups, spec: 'v0', stable: true })
  const { deploymentId: id } = sim.rollout(jobId, { spec: 'v1' })
  const canaries = groups.flatMap((g) => (g.canaries > 0 ? sim.placeCanaries(id, g.name) : []))
  return { id, canaries }
}

/** Reports the alloc healthy, as its Nomad client would; returns the change it made. */
export function reportHealthy(sim: Simulator, allocId: string): ChangeRecord {
  sim.setAllocHealth(allocId, true)
  const change = sim.changes.findLast(
    (c) => c.kind === 'alloc-health' && c.allocs.includes(allocId),
  )
  if (!change) throw new Error(`no alloc-health change recorded for ${allocId}`)
  return change
}

/**
 * Resolves once the gate waits for changes, having taken in every change up to
 * `minIndex`: with blocking queries, it holds them on both the deployment and
 * its allocations at that index or later; with the event stream, it holds the
 * stream, has read the allocations since subscribing, and the stream has
 * delivered up to `minIndex` (as __tests__/helpers/wait.ts caughtUp).
 */
export async function holding(
  sim: Simulator,
  deploymentId: string,
  minIndex: number,
  limitMs = 10_000,
): Promise<void> {
  const end = performance.now() + limitMs
  while (!waits(sim, deploymentId, minIndex)) {
    if (performance.now() > end) {
      throw new Error(
        `the gate on ${deploymentId} was not waiting past index ${minIndex} within ${limitMs} ms`,
      )
    }
    await delay(1)
  }
}

const STREAM = '/v1/event/stream'

function waits(sim: Simulator, id: string, index: number): boolean {
  const allocs = `/v1/deployment/allocations/${id}`
  const held = sim.heldQueries()
  const stream = held.find((q) => q.path === STREAM && q.index >= index)
  if (stream) {
    const opened = sim.requests.findLast(
      (r) => r.path === STREAM && r.status === 200 && r.at <= stream.since,
    )
    return (
      !!opened &&
      sim.requests.some(
        (r) => r.path === allocs && r.query.index === undefined && r.at >= opened.at,
      )
    )
  }
  return (
    held.some((q) => q.path === allocs && q.index >= Math.max(index, 1)) &&
    held.some((q) => q.path === `/v1/deployment/${id}` && q.index >= index)
  )
}

/** How the gates whose requests are logged from `from` on followed: the event stream if one opened it. */
export function followedBy(sim: Simulator, from = 0): 'events' | 'blocking' {
  return sim.requests.slice(from).some((r) => r.path === STREAM && r.status === 200)
    ? 'events'
    : 'blocking'
}

export const isPromote = (deploymentId: string) => (r: RequestRecord) =>
  r.method !== 'GET' && r.path === `/v1/deployment/promote/${deploymentId}`

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A small seeded PRNG (mulberry32), so a run's random waits can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
