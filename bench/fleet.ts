// The fleet: many gates waiting at once on one simulator, each on its own
// deployment, as a large organisation's pipelines wait on one Nomad cluster.
// The gates run in-process (runGate with a real NomadClient, as in gated.ts),
// `perWorker` to a Node process (fleet-worker.ts, on the Node that runs
// dist/); the baseline is the same number of 1 s pollers (poller.ts). For
// each kind, on a fresh simulator:
//   - quiet: once every gate waits, what the server handles while nothing
//     changes, over `quietMs`: requests and bytes (meter.ts, on its sockets),
//     its CPU (this process's, which runs the simulator), connections open;
//   - per change (gates): one canary turns healthy in `changes` of the
//     deployments, a few milliseconds apart; requests, bytes and server CPU
//     until every gate waits again, per change;
//   - memory: each worker's resident memory once its gates wait, less that
//     of a worker with the same modules loaded and nothing to wait on, per gate.
// What a blocking query or a stream costs over a longer quiet time than the
// window (a held query is answered after Nomad's 5 minute wait, a stream's
// heartbeat comes every 30 s) is modelled in render.ts from these figures.

import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Simulator } from '../sim/simulator.js'
import { startSimulator } from '../sim/simulator.js'
import { ROOT, startNode, type Started } from '../scripts/run-dist.js'
import { join } from 'node:path'
import { GROUPS, canaryRollout, delay } from './gated.js'
import type { FleetWorkerConfig } from './fleet-worker.js'
import { SocketMeter, processMemory } from './meter.js'
import type { FleetResults, FleetRow } from './results.js'
import { round } from './stats.js'

export interface FleetOptions {
  gates: number
  perWorker: number
  /** Gates' `watch` inputs to measure; the pollers are measured too. */
  watches: string[]
  pollerIntervalMs: number
  quietMs: number
  /** Deployments that see one health change each, in the per-change phase. */
  changes: number
}

const WORKER = join(ROOT, 'lib/bench/fleet-worker.js')
const STREAM = '/v1/event/stream'

interface Worker {
  started: Started
  gates: number
}

function startWorker(config: FleetWorkerConfig): Worker {
  const started = startNode([WORKER], {
    env: { FLEET_WORKER: JSON.stringify(config) },
    limitMs: 30 * 60_000,
  })
  started.done.catch(() => undefined)
  return { started, gates: config.deployments.length }
}

async function stopWorker(w: Worker): Promise<void> {
  w.started.child.kill('SIGTERM')
  const run = await w.started.done.catch((err: Error) => ({ code: -1, stderr: err.message }))
  if (run.code !== 0) throw new Error(`fleet worker exited ${run.code}: ${run.stderr.slice(-1000)}`)
}

/** Polls `pred` every 20 ms until it holds, or throws after `limitMs`. */
async function until(pred: () => boolean, limitMs: number, what: () => string): Promise<void> {
  const end = performance.now() + limitMs
  while (!pred()) {
    if (performance.now() > end) throw new Error(`fleet: ${what()} within ${limitMs} ms`)
    await delay(20)
  }
}

/** Resolves once the server has seen no new request for `quietMs` (and `pred` holds). */
async function steady(
  sim: Simulator,
  pred: () => boolean,
  limitMs: number,
  what: () => string,
): Promise<void> {
  let count = -1
  let since = performance.now()
  await until(
    () => {
      if (sim.requests.length !== count) {
        count = sim.requests.length
        since = performance.now()
      }
      return pred() && performance.now() - since >= 300
    },
    limitMs,
    what,
  )
}

/**
 * How many of the gates on `ids` wait (gated.ts holding, for many at once): the
 * event stream held with an allocations read since it opened, or blocking
 * queries held on the deployment and on its allocations. The request log is
 * scanned once, from where the last call stopped.
 */
function waitingGates(sim: Simulator, ids: string[]): () => number {
  const known = new Set(ids)
  /** Per deployment: when its last stream opened, and its last plain allocations read. */
  const opened = new Map<string, number>()
  const read = new Map<string, number>()
  let seen = 0
  return () => {
    for (; seen < sim.requests.length; seen++) {
      const r = sim.requests[seen]
      if (r.path === STREAM && r.status === 200) {
        for (const t of [r.query.topic ?? ''].flat()) {
          const id = t.split(':')[1]
          if (id && known.has(id)) opened.set(id, r.at)
        }
      } else if (r.path.startsWith(ALLOCS) && r.query.index === undefined) {
        read.set(r.path.slice(ALLOCS.length), r.at)
      }
    }
    const streams = new Set<string>()
    const allocs = new Set<string>()
    const deployments = new Set<string>()
    for (const q of sim.heldQueries()) {
      if (q.path === STREAM) {
        for (const t of [q.query.topic ?? ''].flat()) {
          const id = t.split(':')[1]
          if (id) streams.add(id)
        }
      } else if (q.path.startsWith(ALLOCS)) allocs.add(q.path.slice(ALLOCS.length))
      else if (q.path.startsWith(DEPLOYMENT)) deployments.add(q.path.slice(DEPLOYMENT.length))
    }
    let n = 0
    for (const id of ids) {
      const o = opened.get(id)
      const evented = streams.has(id) && o !== undefined && (read.get(id) ?? -1) >= o
      if (evented || (allocs.has(id) && deployments.has(id))) n++
    }
    return n
  }
}

const ALLOCS = '/v1/deployment/allocations/'
const DEPLOYMENT = '/v1/deployment/'

/** CPU of this process (the simulator's) in ms. */
function ownCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Counts the held requests the server answers (a blocking query's answer after a change). */
class Answers {
  count = 0
  private readonly on = () => void this.count++
  constructor() {
    subscribe('http.server.response.finish', this.on)
  }
  stop(): void {
    unsubscribe('http.server.response.finish', this.on)
  }
}

async function measureKind(
  kind: 'gate' | 'poller',
  watch: string | undefined,
  options: FleetOptions,
  progress: (line: string) => void,
): Promise<FleetRow> {
  const sim = await startSimulator({ host: '127.0.0.1', port: 0 })
  const meter = new SocketMeter(sim.port)
  const workers: Worker[] = []
  const name =
    kind === 'gate'
      ? `gates, watch ${watch}`
      : `pollers, every ${options.pollerIntervalMs / 1000} s`
  try {
    const rollouts = Array.from({ length: options.gates }, (_, i) =>
      canaryRollout(sim, `fleet-${i}`, GROUPS),
    )
    const ids = rollouts.map((r) => r.id)
    const baseline = startWorker({ address: sim.address, deployments: [], kind })
    workers.push(baseline)
    for (let i = 0; i < ids.length; i += options.perWorker) {
      workers.push(
        startWorker({
          address: sim.address,
          deployments: ids.slice(i, i + options.perWorker),
          kind,
          watch,
          intervalMs: options.pollerIntervalMs,
        }),
      )
    }
    const t0 = performance.now()
    // Every gate waits: it holds the event stream and has read the allocations
    // since opening it, or holds blocking queries on both the deployment and its
    // allocations; nothing in flight for a moment (steady). Pollers: each has polled.
    const gatesWaiting = waitingGates(sim, ids)
    const waiting = () =>
      kind === 'gate' ? gatesWaiting() >= options.gates : sim.requests.length >= 2 * options.gates
    if (kind === 'gate') {
      await steady(
        sim,
        waiting,
        120_000,
        () => `${gatesWaiting()} of ${options.gates} gates waiting`,
      )
    } else {
      await until(
        waiting,
        120_000,
        () => `${sim.requests.length / 2} of ${options.gates} pollers polling`,
      )
    }
    const readyMs = performance.now() - t0
    const streams = sim.requests.filter((r) => r.path === STREAM).length
    const held = sim.heldQueries().length
    progress(
      `fleet: ${options.gates} ${name}: waiting after ${(readyMs / 1000).toFixed(1)} s, ${held} requests held, ${meter.connections} connections`,
    )

    // Quiet.
    const q0 = {
      traffic: meter.read(),
      requests: sim.requests.length,
      cpu: ownCpuMs(),
      at: performance.now(),
    }
    await delay(options.quietMs)
    const seconds = (performance.now() - q0.at) / 1000
    const traffic = meter.read()
    const quiet = {
      seconds: round(seconds),
      requestsPerSecond: round((sim.requests.length - q0.requests) / seconds),
      bytesSentPerSecond: Math.round((traffic.sent - q0.traffic.sent) / seconds),
      bytesReceivedPerSecond: Math.round((traffic.received - q0.traffic.received) / seconds),
      serverCpuPercent: round(((ownCpuMs() - q0.cpu) / 1000 / seconds) * 100),
      connections: meter.connections,
    }

    // Memory, once everything waits.
    const mem = workers.map((w) => processMemory(w.started.child.pid!))
    const base = mem[0]
    const loaded = mem.slice(1)
    const gatesIn = workers.slice(1).map((w) => w.gates)
    const total = gatesIn.reduce((a, b) => a + b, 0)
    const rssPerGate = loaded.reduce((s, m) => s + (m.rss - base.rss), 0) / total
    const peakPerGate = loaded.reduce((s, m) => s + (m.peak - base.peak), 0) / total

    // One change in each of `changes` deployments (gates only: a poller's cost is all time).
    let perChange: FleetRow['perChange']
    if (kind === 'gate') {
      const answers = new Answers()
      try {
        const c0 = {
          traffic: meter.read(),
          requests: sim.requests.length,
          cpu: ownCpuMs(),
          answers: 0,
        }
        const step = Math.max(1, Math.floor(options.gates / options.changes))
        let n = 0
        for (let i = 0; i < options.gates && n < options.changes; i += step, n++) {
          sim.setAllocHealth(rollouts[i].canaries[0], true)
          await delay(2)
        }
        await steady(
          sim,
          waiting,
          120_000,
          () => `${gatesWaiting()} of ${options.gates} gates waiting again`,
        )
        const t = meter.read()
        perChange = {
          changes: n,
          requests: round((sim.requests.length - c0.requests) / n),
          answers: round(answers.count / n),
          bytesSent: Math.round((t.sent - c0.traffic.sent) / n),
          bytesReceived: Math.round((t.received - c0.traffic.received) / n),
          // Includes the 300 ms of quiet that ends the phase; see README.
          serverCpuMs: round((ownCpuMs() - c0.cpu) / n),
        }
      } finally {
        answers.stop()
      }
    }
    const row: FleetRow = {
      kind,
      watch,
      followedBy: kind === 'poller' ? 'polling' : streams > 0 ? 'events' : 'blocking',
      gates: options.gates,
      processes: workers.length - 1,
      readySeconds: round(readyMs / 1000),
      held,
      quiet,
      perChange,
      memory: {
        baselineRssBytes: base.rss,
        rssPerGateBytes: Math.round(rssPerGate),
        peakPerGateBytes: Math.round(peakPerGate),
      },
    }
    progress(
      `fleet: ${name}: quiet ${quiet.requestsPerSecond} req/s, ${quiet.bytesSentPerSecond} B/s sent; ` +
        (perChange
          ? `per change ${perChange.requests} requests, ${perChange.bytesSent} B sent; `
          : '') +
        `${(rssPerGate / 1024).toFixed(0)} KiB per gate`,
    )
    return row
  } finally {
    for (const w of workers)
      await stopWorker(w).catch((err: Error) => progress(`fleet: ${err.message}`))
    meter.stop()
    await sim.stop()
  }
}

export async function measureFleet(
  options: FleetOptions,
  progress: (line: string) => void,
): Promise<FleetResults> {
  const rows: FleetRow[] = []
  for (const watch of options.watches)
    rows.push(await measureKind('gate', watch, options, progress))
  rows.push(await measureKind('poller', undefined, options, progress))
  return { quietMs: options.quietMs, rows }
}
