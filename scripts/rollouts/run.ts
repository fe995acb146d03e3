// One generated rollout, played against a fresh simulator on a manual clock
// with the gate running in-process (runGate, a real NomadClient over
// loopback). The history is applied one step at a time, each once the gate
// has caught up (every open request a held blocking query): the gate sees the
// rollout as a sequence, not a race. Steps marked at-write land between the
// gate's read and its write, through the simulator's before-write hook.

import { parseSettings } from '../../src/config/parse.js'
import type { Outcome } from '../../src/gate/outcome.js'
import { runGate } from '../../src/gate/gate.js'
import { NomadClient } from '../../src/nomad/client.js'
import { ManualClock } from '../../sim/clock.js'
import type { GroupSpec, JobSpec } from '../../sim/jobspec.js'
import type { ChangeRecord, SimAllocStub, SimDeployment } from '../../sim/model.js'
import type { FaultSpec, RequestRecord } from '../../sim/server.js'
import { startSimulator, type Simulator } from '../../sim/simulator.js'
import { gateInputs, type GroupCase, type RolloutCase, type Step } from './case.js'

export interface RunRecord {
  case: RolloutCase
  inputs: Record<string, string>
  outcome: Outcome
  lines: string[]
  requests: RequestRecord[]
  changes: ChangeRecord[]
  /** Raft indexes of the changes the history made (and the watcher's reactions to them). */
  harness: Set<number>
  /** at-write steps that ran: the write request they ran before. */
  hooked: RequestRecord[]
  /** The version the gate must gate: 1 (registered before the gate starts). */
  version: number
  /** deployment-id targets: the deployment named. */
  deploymentId?: string
  /** The deployment the gate reported, as the simulator has it at the end. */
  final?: { deployment: SimDeployment; allocs: SimAllocStub[] }
  /** The raft index of the history's last change. */
  lastHarnessIndex: number
  /** Steps that were not applied: the deadline was near, or the simulator refused them. */
  notes: string[]
}

/** Fast back-off so a fault costs milliseconds. */
const RETRY = { baseMs: 5, maxMs: 40 }
/** No step within this much of the gate's deadline: it must have seen the last one when it ends. */
const GUARD_MS = 60
const TIMINGS = { evalLagMs: 100, clientStartMs: 50, clientBatchMs: 50, evalBatchMs: 100 }

export function groupSpec(g: GroupCase, version: 0 | 1 | 2): GroupSpec {
  return {
    name: g.name,
    count: g.canaries + g.extra,
    canaries: g.canaries,
    update: {
      canary: g.canaries,
      maxParallel: 1,
      minHealthyTimeMs: 100,
      healthyDeadlineMs: 1_000,
      progressDeadlineMs: g.progressDeadlineMs,
      autoRevert: g.autoRevert,
      autoPromote: g.autoPromote,
      // Version 0 deploys by itself: the client reports its health.
      healthCheck: version === 0 ? 'task_states' : g.healthCheck,
    },
    reschedule:
      g.reschedule === 'none'
        ? false
        : { attempts: 1, intervalMs: 3_600_000, delayMs: 200, delayFunction: 'constant' },
    outcome: version === 0 ? 'healthy' : g.outcome,
  }
}

const job = (c: RolloutCase, version: 0 | 1 | 2): JobSpec => ({
  id: 'web',
  groups: c.groups.map((g) => groupSpec(g, version)),
  spec: `v${version}`,
})

export async function runCase(c: RolloutCase): Promise<RunRecord> {
  const clock = new ManualClock()
  const sim = await startSimulator({ clock, seed: c.seed, timings: TIMINGS })
  try {
    return await play(c, sim, clock)
  } finally {
    await sim.stop()
  }
}

async function play(c: RolloutCase, sim: Simulator, clock: ManualClock): Promise<RunRecord> {
  const harness = new Set<number>()
  const notes: string[] = []
  /** Runs a piece of the history and marks every change it made as the history's. */
  const record = (what: string, fn: () => void): void => {
    const before = sim.changes.length
    try {
      fn()
    } catch (err) {
      notes.push(`${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
    for (const ch of sim.changes.slice(before)) harness.add(ch.index)
  }
  record('deploy v0', () => {
    sim.submitJob(job(c, 0))
    clock.runAll(30 * 60_000)
  })
  record('submit v1', () => sim.submitJob(job(c, 1)))
  if (c.gate.target === 'id' || !c.gate.early)
    record('evaluate v1', () => clock.advance(TIMINGS.evalLagMs))
  const v1 = () => sim.jobDeployments('web').find((d) => d.JobVersion === 1)
  const deploymentId = c.gate.target === 'id' ? v1()?.ID : undefined
  if (c.gate.target === 'id' && !deploymentId) throw new Error('version 1 got no deployment')

  const inputs = gateInputs(c, sim.address, deploymentId)
  const settings = parseSettings((name) => inputs[name] ?? '', {})
  const client = new NomadClient(settings.nomad, { retry: RETRY, requestTimeoutMs: 1_000 })
  const lines: string[] = []
  const log = {
    info: (l: string) => lines.push(l),
    warning: (l: string) => lines.push(`warning: ${l}`),
    debug: (l: string) => lines.push(`debug: ${l}`),
  }
  const deadline = performance.now() + c.gate.timeoutMs
  let ended = false
  const gate = runGate(settings, { client, log })
    .finally(() => client.close())
    .then((outcome) => {
      ended = true
      return outcome
    })

  const hooked: RequestRecord[] = []
  const apply = (step: Step): void => {
    if (step.kind === 'fault') return void sim.injectFault(fault(step))
    if (step.kind === 'at-write') {
      let done = false
      const off = sim.beforeWrite((r) => {
        if (done) return
        done = true
        off()
        hooked.push(r)
        record(`at-write ${step.step.kind}`, () => applyPlain(step.step))
      })
      return
    }
    record(step.kind, () => applyPlain(step))
  }
  const applyPlain = (step: Exclude<Step, { kind: 'at-write' } | { kind: 'fault' }>): void => {
    const d = v1()
    const canaries = (g: number) =>
      (d?.TaskGroups[c.groups[g]?.name ?? '']?.PlacedCanaries ?? []).filter((id) => {
        const a = sim.allocation(id)
        return (
          a && a.DesiredStatus === 'run' && !['complete', 'failed', 'lost'].includes(a.ClientStatus)
        )
      })
    switch (step.kind) {
      case 'advance':
        clock.advance(step.ms)
        return
      case 'health': {
        const live = canaries(step.group)
        const id = live[step.canary % Math.max(1, live.length)]
        if (!id) throw new Error('no live canary')
        sim.updateAllocsFromClient([
          { allocId: id, clientStatus: 'running', healthy: step.healthy },
        ])
        return
      }
      case 'batch': {
        const live = canaries(step.group)
        if (live.length === 0) throw new Error('no live canary')
        sim.updateAllocsFromClient(
          live.map((allocId) => ({ allocId, clientStatus: 'running', healthy: step.healthy })),
        )
        return
      }
      case 'all-healthy': {
        const live = c.groups.flatMap((_, g) => canaries(g))
        if (live.length === 0) throw new Error('no live canary')
        sim.updateAllocsFromClient(
          live.map((allocId) => ({ allocId, clientStatus: 'running', healthy: true })),
        )
        return
      }
      case 'crash': {
        const live = canaries(step.group)
        const id = live[step.canary % Math.max(1, live.length)]
        if (!id) throw new Error('no live canary')
        if (step.status === 'lost') sim.setClientStatus(id, 'lost')
        else sim.updateAllocsFromClient([{ allocId: id, clientStatus: 'failed' }])
        return
      }
      case 'operator': {
        if (!d) throw new Error('no deployment yet')
        if (step.action === 'promote') sim.apiPromote(d.ID, true, [])
        else if (step.action === 'promote-first') sim.apiPromote(d.ID, false, [c.groups[0].name])
        else if (step.action === 'fail') sim.apiFail(d.ID)
        else sim.apiPause(d.ID, step.action === 'pause')
        return
      }
      case 'newer':
        sim.submitJob(job(c, 2))
        return
      case 'spurious':
        sim.setSpuriousWakes(true)
        return
    }
  }

  for (const step of c.steps) {
    await sim.settled({ held: 1, timeoutMs: 100 }).catch(() => undefined)
    if (ended) break
    if (performance.now() > deadline - GUARD_MS) {
      notes.push(
        `${c.steps.length - c.steps.indexOf(step)} step(s) not applied: the deadline was near`,
      )
      break
    }
    apply(step)
  }
  const outcome = await Promise.race([
    gate,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error('the gate did not end within its timeout and 20 s')),
        c.gate.timeoutMs + 20_000,
      ).unref(),
    ),
  ])
  const id = outcome.deployment?.ID
  const deployment = id ? sim.deployment(id) : undefined
  return {
    case: c,
    inputs,
    outcome,
    lines,
    requests: [...sim.requests],
    changes: [...sim.changes],
    harness,
    hooked,
    version: 1,
    deploymentId,
    final: deployment && id ? { deployment, allocs: sim.allocations(id) } : undefined,
    lastHarnessIndex: Math.max(0, ...harness),
    notes,
  }
}

function fault(step: Extract<Step, { kind: 'fault' }>): FaultSpec {
  const where =
    step.on === 'read' ? { method: 'GET', path: /^\/v1\/(deployment|job)\// } : { method: 'PUT' }
  const count = step.count
  switch (step.fault) {
    case '503':
      return { ...where, count, kind: 'status', status: 503 }
    case 'no-leader':
      return { ...where, count, kind: 'status', status: 500, body: 'No cluster leader' }
    case 'reset':
      return { ...where, count, kind: 'reset' }
    case 'drop-response':
      return { ...where, count, kind: 'drop-response' }
    case 'slow':
      return { ...where, count, kind: 'delay', ms: 60 }
    case 'index-backwards':
      return step.on === 'read'
        ? { ...where, count, kind: 'index-backwards' }
        : { ...where, count, kind: 'reset' }
  }
}
