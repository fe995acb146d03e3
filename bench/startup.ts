// Start-up: wall time of the built fronts as their users run them, from spawn to
// the first request the simulator logs (same clock: the simulator runs in this
// process) and to exit, on a deployment whose canaries are already healthy (the
// gate promotes at once). The yardstick is `bare-request.ts`: a Node script that
// sends one plain node:http request and nothing else, spawned the same way as
// the action (same spawner, Node, environment); each run of a bundle is
// divided by the bare run of the same round (they take turns), and the goal is
// on the median of these ratios. `node -e 0` is the floor: Node's own start and exit.
//
// The children get this process's environment without NOMAD_*, INPUT_*, GITHUB_*
// and RUNNER_* (as the tests do) and without the variables that change how Node
// itself starts (NODE_OPTIONS, NODE_EXTRA_CA_CERTS: a hosted runner sets neither;
// the extra CA file alone is read and parsed at every start, some 40 ms here).
// When this machine sets them, the action and `node -e 0` are also run with them,
// as extra rows.

import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { Simulator } from '../sim/simulator.js'
import {
  ACTION,
  CLI,
  NODE_STARTUP_VARS,
  ROOT,
  startAction,
  startCli,
  startNode,
  type Started,
} from '../scripts/run-dist.js'
import { GROUPS, canaryRollout, reportHealthy } from './gated.js'
import type { StartupResults, StartupRow } from './results.js'

const BARE = join(ROOT, 'lib/bench/bare-request.js')
import { median, round } from './stats.js'

export interface StartupOptions {
  runs: number
}

interface Timed {
  firstRequestMs?: number
  exitMs: number
}

/** Times a run started by the spawner (scripts/run-dist.ts): to the first request logged, and to exit. */
async function timed(start: () => Started, sim?: Simulator): Promise<Timed> {
  const from = sim?.requests.length ?? 0
  const started = start()
  let exitAt = 0
  started.child.on('exit', () => (exitAt = performance.now()))
  // A run that promotes at once takes well under a second; the spawner's limit kills a hung one.
  const run = await started.done
  if (run.code !== 0) {
    throw new Error(`exited ${run.code}:\n${(run.stdout + run.stderr).slice(-2000)}`)
  }
  const first = sim?.requests[from]
  return {
    firstRequestMs: first && first.at - started.startedAt,
    exitMs: exitAt - started.startedAt,
  }
}

const LIMIT = { limitMs: 30_000 }

/** A job whose deployment has every canary healthy: the gate promotes on its first look. */
function healthyRollout(sim: Simulator, jobId: string): void {
  const { canaries } = canaryRollout(sim, jobId, GROUPS)
  for (const alloc of canaries) reportHealthy(sim, alloc)
}

function runAction(
  sim: Simulator,
  jobId: string,
  keepNodeVars = false,
  script?: string,
): Promise<Timed> {
  return timed(
    () => startAction({ address: sim.address, job: jobId }, { ...LIMIT, keepNodeVars, script }),
    sim,
  )
}

function runCli(sim: Simulator, jobId: string): Promise<Timed> {
  return timed(
    () =>
      startCli(['promote', '--job', jobId, '--timeout', '10m'], {
        ...LIMIT,
        env: { NOMAD_ADDR: sim.address },
      }),
    sim,
  )
}

function runNode(keepNodeVars = false): Promise<Timed> {
  return timed(() => startNode(['-e', '0'], { ...LIMIT, keepNodeVars }))
}

export async function measureStartup(
  sim: Simulator,
  options: StartupOptions,
  progress: (line: string) => void,
): Promise<StartupResults> {
  const inherited = NODE_STARTUP_VARS.filter((k) => process.env[k])
  const kinds: Array<{ name: string; command: string; run: (i: number) => Promise<Timed> }> = [
    {
      name: 'action',
      command: 'node dist/index.js',
      run: (i) => runAction(sim, `start-action-${i}`),
    },
    {
      name: 'cli',
      command: 'node dist/cli/index.js promote --job ...',
      run: (i) => runCli(sim, `start-cli-${i}`),
    },
    {
      name: 'bare',
      command: 'node lib/bench/bare-request.js (one node:http request)',
      run: (i) => runAction(sim, `start-bare-${i}`, false, BARE),
    },
    { name: 'node', command: 'node -e 0', run: () => runNode() },
  ]
  if (inherited.length > 0) {
    const withVars = `with this machine's ${inherited.join(', ')}`
    kinds.push(
      {
        name: 'action-inherited',
        command: `node dist/index.js, ${withVars}`,
        run: (i) => runAction(sim, `start-action-inherited-${i}`, true),
      },
      {
        name: 'node-inherited',
        command: `node -e 0, ${withVars}`,
        run: () => runNode(true),
      },
    )
  }
  const built = [ACTION, CLI].map((f) => statSync(f).mtimeMs)
  for (let i = -1; i < options.runs; i++) {
    healthyRollout(sim, `start-action-${i}`)
    healthyRollout(sim, `start-cli-${i}`)
    healthyRollout(sim, `start-bare-${i}`)
    if (inherited.length > 0) healthyRollout(sim, `start-action-inherited-${i}`)
  }
  // Round -1 is not counted: it warms the OS file cache. Then the kinds take turns.
  const samples = kinds.map(() => [] as Timed[])
  for (let i = -1; i < options.runs; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const j = (k + i + kinds.length) % kinds.length
      const timed = await kinds[j].run(i)
      if (i >= 0) samples[j].push(timed)
    }
  }
  const rows: StartupRow[] = kinds.map((kind, k) => {
    const exit = samples[k].map((s) => s.exitMs)
    const first = samples[k].flatMap((s) =>
      s.firstRequestMs === undefined ? [] : [s.firstRequestMs],
    )
    const row: StartupRow = {
      name: kind.name,
      command: kind.command,
      runs: samples[k].length,
      exit: { min: round(Math.min(...exit)), median: round(median(exit)) },
    }
    if (first.length)
      row.firstRequest = { min: round(Math.min(...first)), median: round(median(first)) }
    const bundle = kind.name === 'action' ? ACTION : kind.name === 'cli' ? CLI : undefined
    if (bundle) row.bundleBytes = statSync(bundle).size
    progress(
      `startup: ${kind.command}: ${row.firstRequest ? `first request median ${row.firstRequest.median.toFixed(0)} ms, ` : ''}exit median ${row.exit.median.toFixed(0)} ms`,
    )
    return row
  })
  // Each bundle's run over the bare request's of the same round.
  const bare = kinds.findIndex((k) => k.name === 'bare')
  const ratios = ['action', 'cli'].map((name) => {
    const k = kinds.findIndex((kind) => kind.name === name)
    const pairs = samples[k].flatMap((s, i) => {
      const b = samples[bare][i]?.firstRequestMs
      return s.firstRequestMs !== undefined && b ? [s.firstRequestMs / b] : []
    })
    const ofMedians =
      median(
        samples[k].flatMap((s) => (s.firstRequestMs === undefined ? [] : [s.firstRequestMs])),
      ) /
      median(
        samples[bare].flatMap((s) => (s.firstRequestMs === undefined ? [] : [s.firstRequestMs])),
      )
    return { name, pairedMedian: round(median(pairs)), ofMedians: round(ofMedians) }
  })
  progress(
    `startup: first request / bare request: ${ratios.map((r) => `${r.name} ${r.pairedMedian.toFixed(2)}x`).join(', ')}`,
  )
  // The spawner refuses a dist/ built from other sources (scripts/dist-sources.ts).
  const stale = false
  const rebuilt = [ACTION, CLI].some((f, i) => statSync(f).mtimeMs !== built[i])
  if (rebuilt) progress('startup: warning: dist/ was rebuilt while it was being measured')
  return {
    rows,
    ratios,
    strippedVars: inherited,
    bundlesOlderThanSources: stale,
    bundlesRebuiltDuringRun: rebuilt,
  }
}
