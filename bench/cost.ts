// Cost per change: what one canary health change costs the gate as the
// deployment grows, with each way of following it (`watch`). The gate is the
// built action, spawned as the runner spawns it (scripts/run-dist.ts), one
// process per run, against the simulator; a deployment of `groups` task groups
// of 25 running canaries each, none healthy. After the gate has read the
// deployment and waits, canaries turn healthy one at a time; after each, once
// the gate has taken the change in (its CPU idle again, and with blocking
// queries both of them held again at the new index), the benchmark reads:
//   - the gate's CPU time for the change, all threads (meter.ts: schedstat),
//     so its parsing, evaluation, garbage collection and I/O alike;
//   - the bytes the simulator sent on the gate's connections for it, and the
//     requests the gate sent.
// The last canary never turns healthy: the gate keeps waiting and is stopped
// with SIGTERM (the runner's cancel) at the end.
//
// `watch: events` is measured only when the build follows the event stream
// (the simulator logs its GET /v1/event/stream); a build that takes the input
// but still follows by blocking queries is reported as such.

import type { Simulator } from '../sim/simulator.js'
import { startSimulator } from '../sim/simulator.js'
import { startAction } from '../scripts/run-dist.js'
import type { RequestRecord } from '../sim/simulator.js'
import { delay } from './gated.js'
import { SocketMeter, cpuSettled, processCpuMs, processMemory } from './meter.js'
import type { CostResults, CostRow } from './results.js'
import { median, round, roundSummary, summarize } from './stats.js'

export type Watch = 'blocking' | 'events'

export interface CostOptions {
  /** Task groups of 25 canaries each. */
  groups: number[]
  watches: Watch[]
  /** Measured changes at this size (after `warmup` unmeasured ones). */
  changes: (allocs: number) => number
  warmup: number
}

const PER_GROUP = 25
const STREAM = '/v1/event/stream'

/** A deployment of `groups` × 25 running canaries, none healthy yet. */
function bigRollout(
  sim: Simulator,
  jobId: string,
  groups: number,
): { id: string; canaries: string[] } {
  const specs = Array.from({ length: groups }, (_, i) => ({
    name: `group-${String(i).padStart(4, '0')}`,
    count: PER_GROUP,
    canaries: PER_GROUP,
  }))
  sim.registerJob({ id: jobId, groups: specs, spec: 'v0', stable: true })
  const { deploymentId: id } = sim.rollout(jobId, { spec: 'v1' })
  const canaries = specs.flatMap((g) => sim.placeCanaries(id, g.name))
  return { id, canaries }
}

/**
 * Resolves once the gate holds blocking queries on the deployment and on its
 * allocations at `index` or later (gated.ts `holding`, with room for the
 * seconds a 50 MB answer takes).
 */
async function holding(sim: Simulator, id: string, index: number): Promise<void> {
  const blocking = (path: string) => (r: RequestRecord) =>
    r.method === 'GET' && r.path === path && Number(r.query.index ?? 0) >= index
  await Promise.all([
    sim.waitForRequest(blocking(`/v1/deployment/${id}`), 120_000),
    sim.waitForRequest(blocking(`/v1/deployment/allocations/${id}`), 120_000),
  ])
}

/** Resolves once `pred` holds, polled every few milliseconds, or rejects after `limitMs`. */
async function until(pred: () => boolean, limitMs: number, what: string): Promise<void> {
  const end = performance.now() + limitMs
  while (!pred()) {
    if (performance.now() > end) throw new Error(`cost: ${what} within ${limitMs} ms`)
    await delay(2)
  }
}

async function measureOne(groups: number, watch: Watch, options: CostOptions): Promise<CostRow> {
  const sim = await startSimulator({ host: '127.0.0.1', port: 0 })
  const meter = new SocketMeter(sim.port)
  try {
    const { id, canaries } = bigRollout(sim, `cost-${watch}-${groups}`, groups)
    const allocs = canaries.length
    const run = startAction(
      { address: sim.address, 'deployment-id': id, watch, timeout: '30m' },
      { limitMs: 30 * 60_000, stdio: 'ignore' },
    )
    run.done.catch(() => undefined)
    const pid = run.child.pid!
    try {
      const streamed = () => sim.requests.some((r) => r.path === STREAM)
      const blocking = () => !streamed()
      // Ready: the first reads answered, and the gate waits (queries held, or CPU idle on its stream).
      await until(() => sim.requests.length > 0, 60_000, 'no request from the gate')
      await cpuSettled(pid, { quietMs: 50, limitMs: 120_000 })
      if (blocking()) await holding(sim, id, 1)
      await cpuSettled(pid, { quietMs: 20, limitMs: 60_000 })
      const startup = { cpuMs: processCpuMs(pid), traffic: meter.read() }

      const cpu: number[] = []
      const bytes: number[] = []
      const requests: number[] = []
      const wanted = options.warmup + options.changes(allocs)
      for (let i = 0; i < wanted && i < canaries.length - 1; i++) {
        const cpu0 = processCpuMs(pid)
        const traffic0 = meter.read()
        const requests0 = sim.requests.length
        sim.setAllocHealth(canaries[i], true)
        const index = sim.index()
        // Taken in: the server has written to the gate, the gate's CPU is idle again,
        // and with blocking queries both are held at the new index.
        await until(
          () => meter.read().sent > traffic0.sent,
          60_000,
          'no answer sent after a change',
        )
        if (blocking()) await holding(sim, id, index)
        const cpu1 = await cpuSettled(pid, { quietMs: 20, limitMs: 60_000 })
        if (i < options.warmup) continue
        cpu.push(cpu1 - cpu0)
        bytes.push(meter.read().sent - traffic0.sent)
        requests.push(sim.requests.length - requests0)
      }
      const memory = processMemory(pid)
      const followed: CostRow['followedBy'] = streamed() ? 'events' : 'blocking'
      const cpuSummary = summarize(cpu)
      return {
        watch,
        followedBy: followed,
        groups,
        allocs,
        changes: cpu.length,
        cpuMs: roundSummary(cpuSummary),
        bytesPerChange: Math.round(median(bytes)),
        requestsPerChange: median(requests),
        startup: {
          cpuMs: round(startup.cpuMs),
          bytes: startup.traffic.sent,
        },
        peakRssBytes: memory.peak,
      }
    } finally {
      run.child.kill('SIGTERM')
      await run.done.catch(() => undefined)
    }
  } finally {
    meter.stop()
    await sim.stop()
  }
}

export async function measureCost(
  options: CostOptions,
  progress: (line: string) => void,
): Promise<CostResults> {
  const rows: CostRow[] = []
  for (const groups of options.groups) {
    for (const watch of options.watches) {
      const row = await measureOne(groups, watch, options)
      progress(
        `cost: ${row.allocs} allocs, watch ${watch}${row.followedBy !== watch ? ` (followed by ${row.followedBy})` : ''}: CPU p50 ${row.cpuMs.p50.toFixed(2)} ms, ${row.bytesPerChange} bytes, ${row.requestsPerChange} requests per change`,
      )
      rows.push(row)
    }
  }
  return { perGroup: PER_GROUP, rows }
}
