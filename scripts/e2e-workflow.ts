// Run .github/workflows/e2e.yml without a runner, as the runner would: start the
// simulator its setup step asks for (in-process), then run each `uses: ./` step
// with `node dist/index.js`, INPUT_* variables from its `with:` block (action.yml's
// defaults filled in, `${{ }}` expressions resolved from earlier steps),
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, honouring `if:` and
// `continue-on-error`; and evaluate the checking step's `expect` lines in
// TypeScript. Exit 0 only when the workflow would pass.
//
//   npm run e2e:workflow [-- path/to/workflow.yml [job]]

import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runScenario, SCENARIOS, type ScenarioName } from '../sim/scenarios.js'
import { startSimulator } from '../sim/simulator.js'
import { ROOT, loadAction, runAction } from './run-dist.js'
import {
  condition,
  expectations,
  interpolate,
  loadYaml,
  simCommand,
  stepLabel,
  type Context,
  type SimCommand,
  type Step,
  type Workflow,
} from './workflow-syntax.js'

interface Simulator {
  url: string
  close(): Promise<void>
}

export interface RunOptions {
  workflowPath?: string
  jobName?: string
}

export async function runWorkflow(options: RunOptions = {}): Promise<boolean> {
  const print = (line: string) => process.stdout.write(`${line}\n`)
  const workflowPath = options.workflowPath ?? join(ROOT, '.github/workflows/e2e.yml')
  const workflow = loadYaml<Workflow>(workflowPath)
  const jobs = Object.entries(workflow.jobs ?? {})
  const entry = options.jobName ? jobs.find(([name]) => name === options.jobName) : jobs[0]
  if (!entry) throw new Error(`No job ${options.jobName ?? ''} in ${workflowPath}`)
  const [jobName, job] = entry
  const action = loadAction()
  const ctx: Context = { steps: {}, env: {}, failed: false }
  let sim: Simulator | undefined
  let simAddress: string | undefined
  // The workflow's simulator address, mapped to the in-process one (on a free port).
  const localize = (text: string) =>
    sim && simAddress ? text.split(simAddress).join(sim.url) : text

  print(`Workflow ${workflow.name ?? workflowPath}, job ${jobName}`)
  try {
    const steps = job.steps ?? []
    for (const [index, step] of steps.entries()) {
      const label = stepLabel(step, index)
      const t0 = performance.now()
      const env: Record<string, string> = {}
      for (const scope of [workflow.env, job.env, step.env]) {
        for (const [k, v] of Object.entries(scope ?? {}))
          env[k] = localize(interpolate(v, { ...ctx, env }))
      }
      ctx.env = env
      if (!condition(step.if, ctx)) {
        if (step.id) ctx.steps[step.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} }
        print(`- ${label}: skipped (if: ${String(step.if ?? 'success()')})`)
        continue
      }

      const sc = simCommand(step)
      const checks = expectations(step)
      if (step.uses === './') {
        const inputs: Record<string, string> = {}
        for (const [name, v] of Object.entries(step.with ?? {})) {
          if (!(name in action.inputs))
            throw new Error(`${label}: action.yml has no input "${name}"`)
          inputs[name] = localize(interpolate(v, ctx))
        }
        // The step's own time limit, as the runner applies timeout-minutes.
        const minutes = Number(step['timeout-minutes'] ?? job['timeout-minutes'] ?? 10)
        const run = await runAction(inputs, { env, limitMs: minutes * 60_000, metadata: action })
        const ok = run.code === 0
        const conclusion = record(step, ok, run.outputs)
        const result = run.outputs.result === undefined ? '' : ` result=${run.outputs.result}`
        const mark = ok ? '✓' : conclusion === 'success' ? '✗ (continue-on-error)' : '✗'
        const message = run.outputs.message ? `: ${run.outputs.message}` : ''
        print(`${mark} ${label}:${result} exit ${run.code}${timing(t0)}${message}`)
        if (conclusion === 'failure') printLog(print, run.stdout, run.stderr)
      } else if (sc) {
        sim = await startSim(sc)
        simAddress = `http://127.0.0.1:${sc.port}`
        if (sc.readyUrl) {
          const url = localize(sc.readyUrl)
          const res = await fetch(url)
          if (!res.ok) throw new Error(`${label}: ${url} answered ${res.status}`)
        }
        record(step, true, {})
        print(`✓ ${label}: in-process, scenario ${sc.scenario} on ${sim.url}${timing(t0)}`)
      } else if (checks) {
        const failures: string[] = []
        for (const c of checks) {
          const bound = step.env?.[c.variable]
          if (bound === undefined) throw new Error(`${label}: $${c.variable} is not in env:`)
          const actual = env[c.variable]
          if (actual !== c.expected)
            failures.push(`${c.label} is '${actual}', expected '${c.expected}'`)
        }
        const ok = failures.length === 0
        record(step, ok, {})
        print(
          ok
            ? `✓ ${label}: ${checks.length} expectations hold`
            : `✗ ${label}: ${failures.join('; ')}`,
        )
      } else if (typeof step.run === 'string' && /steps\./.test(JSON.stringify(step))) {
        throw new Error(
          `${label}: a run step that reads step results must check them with expect lines`,
        )
      } else {
        record(step, true, {})
        print(`- ${label}: not needed here (runner setup)`)
      }
    }
  } finally {
    await sim?.close()
  }
  print(ctx.failed ? `E2E workflow FAILED` : `E2E workflow passed`)
  return !ctx.failed

  /** A step's outcome, and its conclusion after continue-on-error, as later steps see them. */
  function record(step: Step, ok: boolean, outputs: Record<string, string>): string {
    const outcome = ok ? 'success' : 'failure'
    const conclusion = ok || truthyInput(step['continue-on-error'], ctx) ? 'success' : 'failure'
    if (step.id) ctx.steps[step.id] = { outcome, conclusion, outputs }
    if (conclusion === 'failure') ctx.failed = true
    return conclusion
  }
}

function truthyInput(value: unknown, ctx: Context): boolean {
  if (value === undefined || value === null) return false
  if (typeof value === 'boolean') return value
  return interpolate(value, ctx).trim() === 'true'
}

function timing(t0: number): string {
  return ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`
}

function printLog(print: (line: string) => void, stdout: string, stderr: string): void {
  const lines = `${stdout}${stderr}`.trimEnd().split('\n').slice(-20)
  for (const line of lines) print(`    | ${line}`)
}

/** The simulator as `npm run sim` starts it, in this process and on a free port. */
async function startSim(sc: SimCommand): Promise<Simulator> {
  if (!(SCENARIOS as readonly string[]).includes(sc.scenario)) {
    throw new Error(`Unknown scenario "${sc.scenario}": one of ${SCENARIOS.join(', ')}`)
  }
  const sim = await startSimulator({ port: 0 })
  const run = runScenario(sim, sc.scenario as ScenarioName, { stepMs: sc.stepMs })
  return {
    url: sim.address,
    close: async () => {
      run.cancel()
      await sim.stop()
    },
  }
}

// ---------------------------------------------------------------------------

const invoked = process.argv[1] && existsSync(process.argv[1])
if (invoked && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [workflowPath, jobName] = process.argv.slice(2)
  void runWorkflow({ workflowPath: workflowPath && resolve(workflowPath), jobName }).then(
    (ok) => {
      process.exitCode = ok ? 0 : 1
    },
    (err: unknown) => {
      process.stderr.write(`e2e-workflow: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exitCode = 2
    },
  )
}
