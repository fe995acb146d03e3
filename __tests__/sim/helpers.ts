// Shared by the simulator tests: start simulators that are stopped after each
// test, talk to them over real HTTP, and set up a canary rollout.

import { afterEach } from 'vitest'

import { runScenario } from '../../sim/scenarios.js'
import {
  ManualClock,
  startSimulator,
  type JobSpec,
  type SimDeployment,
  type Simulator,
  type SimulatorOptions,
} from '../../sim/simulator.js'

const running: Simulator[] = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()))
})

export async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options)
  running.push(sim)
  return sim
}

export interface Answer {
  status: number
  headers: Headers
  text: string
  json<T = unknown>(): T
}

/** One request; a string body is sent as is, anything else as JSON. */
export async function call(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  init: RequestInit = {},
): Promise<Answer> {
  const res = await fetch(sim.address + path, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }
}

export const get = (sim: Simulator, path: string, init?: RequestInit): Promise<Answer> =>
  call(sim, 'GET', path, undefined, init)

export const put = (
  sim: Simulator,
  path: string,
  body?: unknown,
  init?: RequestInit,
): Promise<Answer> => call(sim, 'PUT', path, body, init)

/**
 * The `manual` scenario: job `web`, version 0 stable, version 1 deploying with
 * groups `web` (2 canaries of 3) and `api` (1 canary of 2), canaries placed.
 */
export function rollout(sim: Simulator): {
  id: string
  web: string[]
  api: string[]
} {
  const run = runScenario(sim, 'manual')
  return { id: run.deploymentId, web: run.canaries.web, api: run.canaries.api }
}

/** Resolves to 'pending' if `p` has not settled within `ms` (for proving that something does NOT happen). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))])
}

/** A simulator on a ManualClock: its cluster moves only when the test advances the clock. */
export async function startManual(
  options: SimulatorOptions = {},
): Promise<{ sim: Simulator; clock: ManualClock }> {
  const clock = new ManualClock()
  const sim = await start({ clock, ...options })
  return { sim, clock }
}

/**
 * `nomad job run` of `spec`, then the clock runs until nothing is left to do
 * within `limitMs` (evaluations, placements, health, the deployment's end).
 * Returns the job's latest deployment.
 */
export function runJob(
  sim: Simulator,
  clock: ManualClock,
  spec: JobSpec,
  limitMs = 30 * 60_000,
): SimDeployment {
  sim.submitJob(spec)
  clock.runAll(limitMs)
  const d = sim.jobDeployments(spec.id, spec.namespace)[0]
  if (!d) throw new Error(`job ${spec.id} has no deployment after ${limitMs} ms`)
  return d
}
