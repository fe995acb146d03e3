// Reaction latency: from the simulator applying the change that makes the last
// canary healthy (its change record's `at`) to the promote request arriving (the
// request log's `at`); both are performance.now() in this process, one clock.
// The gate runs one rollout at a time; the baseline pollers run their rollouts
// concurrently (different jobs, same simulator) so the 5 s one takes seconds.
//
// The headline is the built action, `node dist/index.js` with INPUT_*, spawned
// fresh for every rollout as the runner spawns it (scripts/run-dist.ts, on Node
// 24): its code as cold as in a pipeline. The in-process gate, warmed by
// `warmup` rollouts first, is the second row: what the code can do once V8 has
// optimised it. The CLI, also a process per rollout, is the third.
//
// The simulator's store is emptied (a restore of its empty snapshot) before each
// gated rollout, so every rollout is served by the same small store rather than
// by one that grows with the rollouts before it.

import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { NomadClient } from '../src/nomad/client.js'
import type { Simulator } from '../sim/simulator.js'
import {
  GROUPS,
  canaryRollout,
  delay,
  followedBy,
  holding,
  isPromote,
  prng,
  reportHealthy,
  startGate,
} from './gated.js'
import { pollAndPromote } from './poller.js'
import { startAction, startCli, type Started } from '../scripts/run-dist.js'
import type { LatencyResults, PollerLatency, ProcessLatency } from './results.js'
import { median, round, roundSummary, summarize } from './stats.js'

const SCENARIO =
  'groups web (2 canaries) and api (1 canary); the 3 canaries turn healthy one at a time in random order, 2-10 ms after the gate has taken in the previous change'

export interface LatencyOptions {
  /** Rollouts gated by an action process each (the headline). */
  actionRollouts: number
  /** Rollouts gated in-process, after `warmup` unmeasured ones. */
  rollouts: number
  warmup: number
  /** Rollouts gated by an action process each with `watch: blocking`. */
  blockingRollouts: number
  /** Rollouts gated by a CLI process each. */
  cliRollouts: number
  pollerRollouts: number
  intervalsMs: number[]
}

interface GatedSample {
  latencyMs: number
  reads: number
  /** Change -> simulator done writing the allocations answer -> gate starts the promote request -> it arrives. */
  parts: [number, number, number]
}

/**
 * Node's HTTP diagnostics channels: when the simulator finished an answer, when
 * the in-process gate started a request, and which requests the simulator
 * received on a connection that had carried one before (a warm keep-alive socket).
 */
class HttpMarks {
  answered: Array<{ url: string; at: number }> = []
  sent: Array<{ method: string; path: string; at: number }> = []
  received: Array<{ method: string; url: string; reused: boolean }> = []
  private readonly used = new WeakSet<object>()
  private readonly onAnswered = (m: unknown) => {
    const req = (m as { request: { url?: string } }).request
    this.answered.push({ url: req.url ?? '', at: performance.now() })
  }
  private readonly onSent = (m: unknown) => {
    const req = (m as { request: { method: string; path: string } }).request
    this.sent.push({ method: req.method, path: req.path, at: performance.now() })
  }
  private readonly onReceived = (m: unknown) => {
    const { request, socket } = m as { request: { method?: string; url?: string }; socket: object }
    const reused = this.used.has(socket)
    this.used.add(socket)
    this.received.push({ method: request.method ?? '', url: request.url ?? '', reused })
  }
  start(): void {
    subscribe('http.server.response.finish', this.onAnswered)
    subscribe('http.client.request.start', this.onSent)
    subscribe('http.server.request.start', this.onReceived)
  }
  stop(): void {
    unsubscribe('http.server.response.finish', this.onAnswered)
    unsubscribe('http.client.request.start', this.onSent)
    unsubscribe('http.server.request.start', this.onReceived)
  }
  clear(): void {
    this.answered = []
    this.sent = []
    this.received = []
  }
}

async function gatedRollout(
  sim: Simulator,
  jobId: string,
  random: () => number,
  marks: HttpMarks,
): Promise<GatedSample> {
  const { id, canaries } = canaryRollout(sim, jobId, GROUPS)
  shuffle(canaries, random)
  const from = sim.requests.length
  const gate = startGate(sim.address, id)
  await holding(sim, id, 1)
  const events = followedBy(sim, from) === 'events'
  let last
  let written = NaN
  for (const [i, alloc] of canaries.entries()) {
    await delay(2 + random() * 8)
    if (i === canaries.length - 1) marks.clear()
    last = reportHealthy(sim, alloc)
    // The broker writes the event line within the change (sim/events.ts publish).
    written = performance.now()
    if (i < canaries.length - 1) await holding(sim, id, last.index)
  }
  const outcome = await gate.outcome
  if (outcome.result !== 'promoted') {
    throw new Error(`gate on ${jobId}: ${outcome.result}: ${outcome.message}`)
  }
  const requests = sim.requests.slice(from)
  const promote = requests.find(isPromote(id))
  if (!promote || !last) throw new Error(`gate on ${jobId}: no promote request logged`)
  const answered = marks.answered.find((m) => m.url.startsWith(`/v1/deployment/allocations/${id}`))
  const sent = marks.sent.find((m) => m.method === 'PUT' && m.path.startsWith(isPromotePath(id)))
  const t1 = events ? written : (answered?.at ?? NaN)
  const t2 = sent?.at ?? NaN
  return {
    latencyMs: promote.at - last.at,
    reads: requests.filter((r) => r.method === 'GET').length,
    parts: [t1 - last.at, t2 - t1, promote.at - t2],
  }
}

const isPromotePath = (id: string) => `/v1/deployment/promote/${id}`

interface ProcessSample {
  latencyMs: number
  /** Change -> the simulator has written the allocations answer -> the promote request arrives. */
  parts: [number, number]
  /** The promote came on a connection that had carried an earlier request. */
  warm: boolean
  /** The process followed the event stream. */
  events: boolean
}

/**
 * The same rollout gated by a process of its own (the action, or the CLI), as
 * a pipeline runs it: one short-lived process per rollout, its code as cold as
 * a user's.
 */
async function processRollout(
  sim: Simulator,
  jobId: string,
  random: () => number,
  marks: HttpMarks,
  start: (deploymentId: string) => Started,
): Promise<ProcessSample> {
  const { id, canaries } = canaryRollout(sim, jobId, GROUPS)
  shuffle(canaries, random)
  const from = sim.requests.length
  const run = start(id)
  const exited = run.done
  exited.catch(() => undefined)
  try {
    await holding(sim, id, 1, 60_000)
    const events = followedBy(sim, from) === 'events'
    let last
    let written = NaN
    for (const [i, alloc] of canaries.entries()) {
      await delay(2 + random() * 8)
      if (i === canaries.length - 1) marks.clear()
      last = reportHealthy(sim, alloc)
      written = performance.now()
      if (i < canaries.length - 1) await holding(sim, id, last.index)
    }
    const { code, stdout, stderr } = await exited
    const promote = sim.requests.find(isPromote(id))
    if (code !== 0 || !promote || !last) {
      throw new Error(`${jobId}: the gate exited ${code}:\n${(stdout + stderr).slice(-2000)}`)
    }
    const answered = marks.answered.find((m) =>
      m.url.startsWith(`/v1/deployment/allocations/${id}`),
    )
    const received = marks.received.find(
      (m) => m.method === 'PUT' && m.url.startsWith(isPromotePath(id)),
    )
    const t1 = events ? written : (answered?.at ?? NaN)
    return {
      latencyMs: promote.at - last.at,
      parts: [t1 - last.at, promote.at - t1],
      warm: received?.reused ?? false,
      events,
    }
  } finally {
    run.child.kill()
  }
}

function summarizeProcess(samples: ProcessSample[], watch: string): ProcessLatency {
  const part = (k: number) => round(median(samples.map((p) => p.parts[k]).filter(Number.isFinite)))
  const events = samples.filter((s) => s.events).length
  return {
    watch,
    followedBy: events === samples.length ? 'events' : events === 0 ? 'blocking' : 'both',
    latency: roundSummary(summarize(samples.map((s) => s.latencyMs))),
    breakdown: { simulatorMs: part(0), gateMs: part(1) },
    warmConnection: round(samples.filter((s) => s.warm).length / samples.length),
  }
}

interface PolledSample {
  latencyMs: number
  reads: number
  rolloutMs: number
}

/**
 * One baseline rollout: every canary but one healthy from the start; the poller
 * starts at a random point of its first interval, the last canary turns healthy
 * at a random point of its second, so the poll phase is uniform against the change.
 */
async function polledRollout(
  sim: Simulator,
  jobId: string,
  intervalMs: number,
  random: () => number,
): Promise<PolledSample> {
  const { id, canaries } = canaryRollout(sim, jobId, GROUPS)
  const lastAlloc = canaries.pop()!
  for (const alloc of canaries) reportHealthy(sim, alloc)
  const startIn = random() * intervalMs
  const changeIn = intervalMs + random() * intervalMs
  let change: { at: number } | undefined
  const timer = setTimeout(() => (change = reportHealthy(sim, lastAlloc)), changeIn)
  await delay(startIn)
  const client = new NomadClient({ address: sim.address, tls: { skipVerify: false } })
  try {
    const maxPolls = Math.ceil((changeIn - startIn) / intervalMs) + 5
    const res = await pollAndPromote(client, id, intervalMs, maxPolls)
    if (res.verdict !== 'promoted' || !change) {
      throw new Error(`poller on ${jobId}: ${res.verdict} after ${res.polls} polls`)
    }
    const promote = sim.requests.find(isPromote(id))
    if (!promote) throw new Error(`poller on ${jobId}: no promote request logged`)
    return {
      latencyMs: promote.at - change.at,
      reads: res.reads,
      rolloutMs: promote.at - res.startedAt,
    }
  } finally {
    clearTimeout(timer)
    client.close()
  }
}

function shuffle<T>(xs: T[], random: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
}

export async function measureLatency(
  sim: Simulator,
  options: LatencyOptions,
  progress: (line: string) => void,
): Promise<LatencyResults> {
  const random = prng(20240611)
  const empty = sim.snapshot()

  // The gate, one rollout at a time; the first `warmup` rollouts warm the JIT.
  const gateLatency: number[] = []
  const gateReads: number[] = []
  const parts: Array<[number, number, number]> = []
  let coldMs = NaN
  const marks = new HttpMarks()
  marks.start()
  try {
    for (let i = 0; i < options.warmup + options.rollouts; i++) {
      sim.restore(empty)
      const s = await gatedRollout(sim, `lat-gate-${i}`, random, marks)
      if (i === 0) coldMs = s.latencyMs
      if (i >= options.warmup) {
        gateLatency.push(s.latencyMs)
        gateReads.push(s.reads)
        parts.push(s.parts)
      }
    }
  } finally {
    marks.stop()
  }
  const gate = summarize(gateLatency)
  const part = (k: number) => round(median(parts.map((p) => p[k]).filter(Number.isFinite)))
  progress(
    `latency: gate p50 ${gate.p50.toFixed(2)} ms, p99 ${gate.p99.toFixed(2)} ms over ${gate.n} rollouts`,
  )

  // The action (default `watch`, then `watch: blocking`) and the CLI, a process per rollout, taking turns.
  const actionSamples: ProcessSample[] = []
  const blockingSamples: ProcessSample[] = []
  const cliSamples: ProcessSample[] = []
  const action =
    (watch?: string) =>
    (id: string): Started =>
      startAction(
        { address: sim.address, 'deployment-id': id, timeout: '1m', ...(watch ? { watch } : {}) },
        { limitMs: 30_000 },
      )
  const cli = (id: string) =>
    startCli(['promote', '--deployment-id', id, '--timeout', '1m'], {
      env: { NOMAD_ADDR: sim.address },
      limitMs: 30_000,
    })
  marks.start()
  try {
    const n = Math.max(options.actionRollouts, options.blockingRollouts, options.cliRollouts)
    for (let i = 0; i < n; i++) {
      if (i < options.actionRollouts) {
        sim.restore(empty)
        actionSamples.push(await processRollout(sim, `lat-action-${i}`, random, marks, action()))
      }
      if (i < options.blockingRollouts) {
        sim.restore(empty)
        blockingSamples.push(
          await processRollout(sim, `lat-blocking-${i}`, random, marks, action('blocking')),
        )
      }
      if (i < options.cliRollouts) {
        sim.restore(empty)
        cliSamples.push(await processRollout(sim, `lat-cli-${i}`, random, marks, cli))
      }
    }
  } finally {
    marks.stop()
  }
  const actionRow = summarizeProcess(actionSamples, 'auto')
  const blockingRow = summarizeProcess(blockingSamples, 'blocking')
  const cliRow = summarizeProcess(cliSamples, 'auto')
  const head = actionRow.latency
  progress(
    `latency: action process (followed by ${actionRow.followedBy}) p50 ${head.p50.toFixed(2)} ms, p99 ${head.p99.toFixed(2)} ms over ${head.n} rollouts; ` +
      `watch: blocking p50 ${blockingRow.latency.p50.toFixed(2)} ms; CLI process p50 ${cliRow.latency.p50.toFixed(2)} ms`,
  )

  // The pollers: every interval's rollouts at once.
  sim.restore(empty)
  const runs = options.intervalsMs.map((intervalMs) =>
    Promise.all(
      Array.from({ length: options.pollerRollouts }, (_, i) =>
        polledRollout(sim, `lat-poll${intervalMs}-${i}`, intervalMs, random),
      ),
    ),
  )
  const polled = await Promise.all(runs)
  const pollers: PollerLatency[] = options.intervalsMs.map((intervalMs, k) => {
    const latency = summarize(polled[k].map((s) => s.latencyMs))
    progress(
      `latency: ${intervalMs} ms poller p50 ${latency.p50.toFixed(0)} ms over ${latency.n} rollouts`,
    )
    return {
      intervalMs,
      latency: roundSummary(latency),
      readsPerRollout: roundSummary(summarize(polled[k].map((s) => s.reads))),
      rolloutMs: roundSummary(summarize(polled[k].map((s) => s.rolloutMs))),
      ratio: {
        p50: round(latency.p50 / head.p50),
        p95: round(latency.p95 / head.p95),
        p99: round(latency.p99 / head.p99),
        max: round(latency.max / head.max),
      },
    }
  })
  return {
    scenario: SCENARIO,
    action: actionRow,
    actionBlocking: blockingRow,
    gate: {
      latency: roundSummary(gate),
      coldMs: round(coldMs),
      warmup: options.warmup,
      readsPerRollout: roundSummary(summarize(gateReads)),
      breakdown: { simulatorMs: part(0), gateMs: part(1), wireMs: part(2) },
    },
    cli: cliRow,
    pollers,
  }
}
