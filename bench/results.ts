// The shape of bench/results.json: written by bench.ts, read by render.ts.
// Times are milliseconds unless a name says otherwise.

import type { Summary } from './stats.js'

export interface Results {
  schema: 1
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
  /** The verdicts when measured; render.ts recomputes them from the figures (goals.ts). */
  goals: Goal[]
}

export interface LatencyResults {
  /** What one rollout is. */
  scenario: string
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
  cli: Summary
  pollers: PollerLatency[]
}

export interface PollerLatency {
  intervalMs: number
  latency: Summary
  readsPerRollout: Summary
  /** Poller start to promote request. */
  rolloutMs: Summary
  /** p50, p95, p99 and max of the poller divided by the gate's. */
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
