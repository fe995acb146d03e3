// The shape of bench/results.json: written by bench.ts, read by render.ts.
// Times are milliseconds unless a name says otherwise.

import type { Summary } from './stats.js'

export interface Results {
  schema: 2
  /** `--quick`: fewer samples; figures for a look, not for the README. */
  quick: boolean
  generatedAt: string
  /** Wall time of the whole run, seconds. */
  runSeconds: number
  env: {
    node: string
    platform: string
    cpu: string
    cpus: number
    /** 1-minute load average when the run started and when it ended: other work on the machine skews timings. */
    loadAverage: [number, number]
    /** The Node that ran dist/ (start-up, the CLI rows): Node 24 from .cache/node24, as on the runner, where installed. */
    distNode?: string
    commit?: string
    /** The work tree had uncommitted changes (`npm run bench -- --allow-dirty`). */
    dirty?: boolean
  }
  latency: LatencyResults
  economy: EconomyResults
  soak: SoakResults
  startup: StartupResults
  scale: ScaleResults
  cost: CostResults
  fleet: FleetResults
  /** The verdicts when measured; render.ts recomputes them from the figures (goals.ts). */
  goals: Goal[]
}

export interface LatencyResults {
  /** What one rollout is. */
  scenario: string
  /** The headline: `node dist/index.js` with INPUT_*, a fresh process per rollout, as the runner runs it. */
  action: ProcessLatency
  /** The same with `watch: blocking`. */
  actionBlocking: ProcessLatency
  /** The same in-process, warm (after `warmup` rollouts). */
  gate: {
    latency: Summary
    /** The first rollout of the process (cold code paths), not in `latency`. */
    coldMs: number
    warmup: number
    readsPerRollout: Summary
    /**
     * Medians of where the time goes: the simulator (change applied -> it has
     * written the allocations answer), the gate (-> it starts the promote
     * request), the wire (-> the request arrives). Medians of parts do not add
     * up to the median of the whole.
     */
    breakdown: { simulatorMs: number; gateMs: number; wireMs: number }
  }
  /** The same rollouts gated by `node dist/cli/index.js`, one process per rollout. */
  cli: ProcessLatency
  /** Ratios to the action's figures (the headline). */
  pollers: PollerLatency[]
}

/** Reaction latency of a fresh process per rollout. */
export interface ProcessLatency {
  /** The `watch` input (`auto`: the default). */
  watch: string
  /** What the processes followed: the event stream, blocking queries, or some of each. */
  followedBy: 'events' | 'blocking' | 'both'
  latency: Summary
  /**
   * Medians: the simulator (change applied -> it has written the event line,
   * or the allocations answer), then the gate's process (-> its promote request has arrived:
   * reading, deciding, sending, the wire).
   */
  breakdown: { simulatorMs: number; gateMs: number }
  /** Share of the promote requests that came on a connection that had carried an earlier request (a warm keep-alive socket). */
  warmConnection: number
}

export interface PollerLatency {
  intervalMs: number
  latency: Summary
  readsPerRollout: Summary
  /** Poller start to promote request. */
  rolloutMs: Summary
  /** p50, p95, p99 and max of the poller divided by the action's (a fresh process per rollout). */
  ratio: { p50: number; p95: number; p99: number; max: number }
}

export interface SoakResults {
  soakMs: number
  /** check-interval of the soaked runs. */
  intervalMs: number
  /** Nomad reads before the promote in the same rollout without a soak. */
  baselineReads: number
  rows: SoakRow[]
}

export interface SoakRow {
  /** Changes during the soak that keep the canaries passing. */
  changes: number
  /** Nomad reads before the promote, beyond the rollout without a soak. */
  addedReads: number
  /** The two queries held through the soak + 2 per change (each wakes both queries). */
  goalReads: number
  checkRuns: number
  /** Requests the check target received: one per check run. */
  checkRequests: number
}

export interface EconomyResults {
  /** Seconds between health changes in the modelled rollout the pollers are costed on. */
  modelSpacingS: number
  rows: EconomyRow[]
}

export interface EconomyRow {
  /** Canaries, each turning healthy on its own (one health change each). */
  changes: number
  /** Reads before the promote request (median over the repetitions; max: the largest). */
  waiting: number
  waitingMax: number
  /** Their kinds: resolving the target, the first (index 0) reads, blocking queries. */
  kinds: { resolve: number; initial: number; blocking: number }
  /** Reads after the promote request (the deployment read back for the outputs). */
  afterPromote: number
  writes: number
  /** The goal for `waiting`: 2 reads per health change + 3. */
  goal: number
  /** Modelled rollout: `changes` health changes `modelSpacingS` apart. */
  modelSeconds: number
  /** A poller's reads over the modelled rollout. */
  pollers: Array<{ intervalMs: number; reads: number }>
}

export interface StartupRow {
  name: string
  command: string
  runs: number
  /** Spawn to the first request logged by the simulator. */
  firstRequest?: { min: number; median: number }
  /** Spawn to exit. */
  exit: { min: number; median: number }
  bundleBytes?: number
}

export interface StartupResults {
  rows: StartupRow[]
  /**
   * Spawn to first request of each bundle over that of `node bare-request.mjs`
   * (one plain node:http request, spawned the same way): the median of the
   * ratios of runs taken in turn, and the ratio of the medians.
   */
  ratios: Array<{ name: string; pairedMedian: number; ofMedians: number }>
  /** Node start-up variables set on this machine, left out of the main rows (see startup.ts). */
  strippedVars: string[]
  /** dist/ was older than src/: the start-up rows are of an earlier build than the rest. */
  bundlesOlderThanSources: boolean
  /** dist/ changed while the start-up rows were measured: they mix two builds. */
  bundlesRebuiltDuringRun: boolean
}

export interface ScaleRow {
  groups: number
  allocs: number
  allocBodyBytes: number
  deploymentBodyBytes: number
  /** UTF-8 decoding of the allocations body from 64 KiB chunks, median. */
  decodeMs: number
  /** JSON.parse of the allocations body, median. */
  parseAllocsMs: number
  /** JSON.parse of the deployment body, median. */
  parseDeploymentMs: number
  /** One evaluate() on a fresh parse (the gate's case), median. */
  evaluateMs: number
  /** evaluate() again on the same objects, median. */
  evaluateAgainMs: number
  /** One health change, end to end through NomadClient and runGate (see README). */
  update: Summary
  /** update p50 per allocation, microseconds. */
  updateUsPerAlloc: number
}

export interface ScaleResults {
  rows: ScaleRow[]
}

export interface Goal {
  name: string
  goal: string
  measured: string
  met: boolean
}

export interface CostRow {
  /** The `watch` input given. */
  watch: 'blocking' | 'events'
  /** How the build followed the deployment: `events` when it opened the event stream. */
  followedBy: 'blocking' | 'events'
  groups: number
  allocs: number
  /** Measured changes (one canary turning healthy each). */
  changes: number
  /** The gate process's CPU time per change, all threads. */
  cpuMs: Summary
  /** Bytes the simulator sent the gate per change (median): answers, or event lines. */
  bytesPerChange: number
  /** Requests the gate sent per change (median). */
  requestsPerChange: number
  /** Until the gate first waited: its CPU (process start included) and the bytes it was sent. */
  startup: { cpuMs: number; bytes: number }
  /** VmHWM of the gate process at the end. */
  peakRssBytes: number
}

export interface CostResults {
  perGroup: number
  rows: CostRow[]
}

export interface FleetRow {
  kind: 'gate' | 'poller'
  /** The gates' `watch` input. */
  watch?: string
  /** What the server saw: the event stream, blocking queries, or polls. */
  followedBy: 'events' | 'blocking' | 'polling'
  gates: number
  /** Worker processes the gates shared. */
  processes: number
  /** From starting the workers to every gate waiting. */
  readySeconds: number
  /** Requests (blocking queries, streams) the server held once every gate waited. */
  held: number
  /** While nothing changes, over `seconds`; bytes sent and received by the server. */
  quiet: {
    seconds: number
    requestsPerSecond: number
    bytesSentPerSecond: number
    bytesReceivedPerSecond: number
    /** CPU of the process running the simulator, percent of one core. */
    serverCpuPercent: number
    connections: number
  }
  /** Per health change (gates only), until every gate waits again. */
  perChange?: {
    changes: number
    requests: number
    /** Answers the server finished (blocking queries answered, writes). */
    answers: number
    bytesSent: number
    bytesReceived: number
    serverCpuMs: number
  }
  memory: {
    /** RSS of a worker with the same modules and nothing waiting. */
    baselineRssBytes: number
    /** (RSS of the workers - baseline) / gates, once every gate waits. */
    rssPerGateBytes: number
    /** The same with the peak (VmHWM). */
    peakPerGateBytes: number
  }
}

export interface FleetResults {
  quietMs: number
  rows: FleetRow[]
}
