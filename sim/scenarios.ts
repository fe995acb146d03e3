// Canned canary rollouts for the CLI, demos, e2e tests and the benchmark: job
// `web` with groups `web` (count 3, 2 canaries) and `api` (count 2, 1 canary),
// version 0 stable, version 1 deploying with its canaries placed.

import type { RescheduleSpec, UpdateSpec } from './jobspec.js'
import type { NomadState } from './state.js'

/** What a scenario drives: a Simulator or a NomadState. */
export type ScenarioTarget = Pick<
  NomadState,
  'registerJob' | 'rollout' | 'placeCanaries' | 'setAllocHealth'
>

export const SCENARIOS = ['demo', 'healthy', 'unhealthy', 'manual'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export interface ScenarioOptions {
  /** Time between the scenario's health changes; default 1000 ms. */
  stepMs?: number
  jobId?: string
  namespace?: string
  /** Set update.auto_revert on both groups, so failing the deployment reverts to version 0. */
  autoRevert?: boolean
  /** The jobspec's update block for both groups (over the canary counts above and `autoRevert`). */
  update?: UpdateSpec
  /** The jobspec's reschedule block for both groups (default: the service job default). */
  reschedule?: boolean | RescheduleSpec
}

export interface ScenarioRun {
  jobId: string
  deploymentId: string
  /** The placed canaries' alloc IDs per group. */
  canaries: Record<string, string[]>
  /** Resolves after the scenario's last change, or when cancelled; never rejects. */
  done: Promise<void>
  /** Set when a step threw (the deployment was gone, say); the run stops there. */
  error?: unknown
  /** Stops the remaining steps. */
  cancel(): void
}

/**
 * Sets the scenario up at once, then reports canary health one step at a time:
 * - `demo`: the canaries turn healthy one by one;
 * - `healthy`: they are all healthy from the start;
 * - `unhealthy`: like demo, but the second `web` canary turns unhealthy;
 * - `manual`: canaries placed and running, health left to the caller.
 */
export function runScenario(
  sim: ScenarioTarget,
  name: ScenarioName,
  options: ScenarioOptions = {},
): ScenarioRun {
  const jobId = options.jobId ?? 'web'
  const namespace = options.namespace ?? 'default'
  const stepMs = options.stepMs ?? 1000
  sim.registerJob({
    id: jobId,
    namespace,
    spec: 'v0',
    stable: true,
    groups: [
      { name: 'web', count: 3, canaries: 2 },
      { name: 'api', count: 2, canaries: 1 },
    ].map((g) => ({
      ...g,
      autoRevert: options.autoRevert,
      update: options.update,
      reschedule: options.reschedule,
    })),
  })
  const { deploymentId } = sim.rollout(jobId, { namespace, spec: 'v1' })
  const canaries = {
    web: sim.placeCanaries(deploymentId, 'web'),
    api: sim.placeCanaries(deploymentId, 'api'),
  }
  const [web0, web1] = canaries.web
  const [api0] = canaries.api

  const healthSteps: Record<ScenarioName, Array<[string, boolean]>> = {
    demo: [
      [web0, true],
      [api0, true],
      [web1, true],
    ],
    healthy: [],
    unhealthy: [
      [web0, true],
      [api0, true],
      [web1, false],
    ],
    manual: [],
  }
  if (name === 'healthy') for (const id of [web0, web1, api0]) sim.setAllocHealth(id, true)

  let timer: NodeJS.Timeout | undefined
  let finish = (): void => {}
  const run: ScenarioRun = {
    jobId,
    deploymentId,
    canaries,
    done: new Promise<void>((resolve) => (finish = resolve)),
    cancel: () => {
      clearTimeout(timer)
      finish()
    },
  }
  const steps = healthSteps[name]
  const next = (i: number): void => {
    if (i >= steps.length) return finish()
    timer = setTimeout(() => {
      try {
        sim.setAllocHealth(...steps[i])
        next(i + 1)
      } catch (e) {
        run.error = e
        finish()
      }
    }, stepMs)
    timer.unref()
  }
  next(0)
  return run
}
