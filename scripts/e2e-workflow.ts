// Run .github/workflows/e2e.yml without a runner, as the runner would: start the
// simulator its setup step asks for (in-process), then run each `uses: ./` step
// with `node dist/index.js`, INPUT_* variables from its `with:` block (action.yml's
// defaults filled in, `${{ }}` expressions resolved from earlier steps),
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, honouring `if:` and
// `continue-on-error`; and evaluate the checking step's `expect` lines in
// TypeScript. Exit 0 only when the workflow would pass.
//
//   npm run e2e:workflow [-- path/to/workflow.yml [job]]

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parse } from 'yaml'
import { runScenario, SCENARIOS, type ScenarioName } from '../sim/scenarios.js'
import { startSimulator } from '../sim/simulator.js'

/** The repository: the nearest folder above this file (scripts/ or lib/scripts/) with action.yml. */
const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'action.yml')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()

// ---------------------------------------------------------------------------
// The workflow file

export interface Step {
  id?: string
  name?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  env?: Record<string, unknown>
  if?: unknown
  'continue-on-error'?: unknown
}

export interface Job {
  'runs-on'?: unknown
  env?: Record<string, unknown>
  steps?: Step[]
  [key: string]: unknown
}

export interface Workflow {
  name?: string
  on?: unknown
  env?: Record<string, unknown>
  permissions?: unknown
  jobs?: Record<string, Job>
}

export function loadYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8'), { prettyErrors: true }) as T
}

export interface ActionMetadata {
  inputs: Record<string, { default?: unknown; required?: unknown }>
  outputs: Record<string, unknown>
}

export function loadAction(root = ROOT): ActionMetadata {
  const meta = loadYaml<Partial<ActionMetadata>>(join(root, 'action.yml'))
  return { inputs: meta.inputs ?? {}, outputs: meta.outputs ?? {} }
}

export function stepLabel(step: Step, index: number): string {
  return step.name ?? step.id ?? step.uses ?? `step ${index + 1}`
}

// ---------------------------------------------------------------------------
// Expressions: the part of GitHub's syntax that workflows here use. Anything else
// throws, so a workflow that outgrows it is noticed instead of misread.

/** The `${{ ... }}` expressions in a string, without the braces. */
export function expressionsIn(text: string): string[] {
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1].trim())
}

/** Every `steps.<id>.<property>[.<name>]` reference in an expression. */
export function stepRefsIn(expression: string): { id: string; property: string; name?: string }[] {
  return [
    ...expression.matchAll(
      /\bsteps\.([A-Za-z_][\w-]*)\.(outputs|outcome|conclusion)(?:\.([A-Za-z_][\w-]*))?/g,
    ),
  ].map((m) => ({ id: m[1], property: m[2], name: m[3] }))
}

export interface StepState {
  outcome: 'success' | 'failure' | 'skipped'
  conclusion: 'success' | 'failure' | 'skipped'
  outputs: Record<string, string>
}

export interface Context {
  steps: Record<string, StepState>
  env: Record<string, string>
  /** Whether an earlier step failed (after continue-on-error). */
  failed: boolean
}

type Value = string | number | boolean | null

/** Evaluate one expression (the inside of `${{ }}`, or an `if:` condition). */
export function evaluate(expression: string, ctx: Context): Value {
  const tokens = [
    ...expression.matchAll(
      /\s*('(?:[^']|'')*'|&&|\|\||==|!=|!|\(|\)|[A-Za-z_][\w.-]*(?:\(\))?|\d+)/gy,
    ),
  ]
  const consumed = tokens.reduce((n, t) => n + t[0].length, 0)
  if (expression.slice(consumed).trim() !== '') {
    throw new Error(`Unsupported expression: ${expression}`)
  }
  const list = tokens.map((t) => t[1])
  let i = 0
  const peek = () => list[i]
  const next = () => list[i++]

  const or = (): Value => {
    let left = and()
    while (peek() === '||') {
      next()
      const right = and()
      left = truthy(left) ? left : right
    }
    return left
  }
  const and = (): Value => {
    let left = equality()
    while (peek() === '&&') {
      next()
      const right = equality()
      left = truthy(left) ? right : left
    }
    return left
  }
  const equality = (): Value => {
    let left = unary()
    while (peek() === '==' || peek() === '!=') {
      const op = next()
      const right = unary()
      left = equals(left, right) === (op === '==')
    }
    return left
  }
  const unary = (): Value => {
    if (peek() === '!') {
      next()
      return !truthy(unary())
    }
    return primary()
  }
  const primary = (): Value => {
    const t = next()
    if (t === undefined) throw new Error(`Unexpected end of expression: ${expression}`)
    if (t === '(') {
      const v = or()
      if (next() !== ')') throw new Error(`Missing ")" in: ${expression}`)
      return v
    }
    if (t.startsWith("'")) return t.slice(1, -1).replaceAll("''", "'")
    if (/^\d+$/.test(t)) return Number(t)
    if (t === 'true' || t === 'false') return t === 'true'
    if (t === 'null') return null
    switch (t) {
      case 'success()':
        return !ctx.failed
      case 'failure()':
        return ctx.failed
      case 'always()':
        return true
      case 'cancelled()':
        return false
    }
    return lookup(t, ctx, expression)
  }

  const value = or()
  if (i !== list.length) throw new Error(`Unsupported expression: ${expression}`)
  return value
}

function lookup(path: string, ctx: Context, expression: string): Value {
  const [head, ...rest] = path.split('.')
  if (head === 'env' && rest.length === 1) return ctx.env[rest[0]] ?? ''
  if (head === 'steps') {
    const [id, property, name] = rest
    const step = ctx.steps[id]
    if (property === 'outputs' && name !== undefined && rest.length === 3) {
      return step?.outputs[name] ?? ''
    }
    if ((property === 'outcome' || property === 'conclusion') && rest.length === 2) {
      return step?.[property] ?? ''
    }
  }
  throw new Error(`Unsupported context "${path}" in: ${expression}`)
}

function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== 0 && v !== ''
}

/** GitHub compares strings case-insensitively, and null like an empty string. */
function equals(a: Value, b: Value): boolean {
  const norm = (v: Value) => (v === null ? '' : typeof v === 'string' ? v.toLowerCase() : v)
  return norm(a) === norm(b)
}

/** A string with its `${{ }}` parts replaced by their values, as the runner does for `with:` and `env:`. */
export function interpolate(value: unknown, ctx: Context): string {
  const text = value === null || value === undefined ? '' : String(value)
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => {
    const v = evaluate(expr.trim(), ctx)
    return v === null ? '' : String(v)
  })
}

/** An `if:` condition: bare or wrapped in `${{ }}`; without one, `success()`. */
export function condition(value: unknown, ctx: Context): boolean {
  if (value === undefined || value === null || value === '') return !ctx.failed
  const text = String(value).trim()
  const m = /^\$\{\{([\s\S]*)\}\}$/.exec(text)
  const expr = m ? m[1].trim() : text
  const v = evaluate(expr, ctx)
  // A condition without a status function is ANDed with success(), as on a runner.
  const hasStatus = /\b(success|failure|always|cancelled)\(\)/.test(expr)
  return truthy(v) && (hasStatus || !ctx.failed)
}

// ---------------------------------------------------------------------------
// The simulator step: `npm run sim -- --port N --scenario S [--step-ms N] &`

export interface SimCommand {
  /** The arguments after `--`, as written. */
  args: string[]
  port: number
  scenario: string
  stepMs?: number
  /** The URL the step polls until the simulator answers. */
  readyUrl?: string
}

export function simCommand(step: Step): SimCommand | undefined {
  if (typeof step.run !== 'string') return undefined
  const m = /npm run sim -- ([^\n&>|;]*)/.exec(step.run)
  if (!m) return undefined
  const args = m[1].trim().split(/\s+/)
  const option = (name: string) => {
    const at = args.indexOf(name)
    return at >= 0 ? args[at + 1] : undefined
  }
  const stepMs = option('--step-ms')
  return {
    args,
    port: Number(option('--port') ?? 4646),
    scenario: option('--scenario') ?? 'demo',
    stepMs: stepMs === undefined ? undefined : Number(stepMs),
    readyUrl: /curl[^\n]*?(https?:\/\/\S+)/.exec(step.run)?.[1],
  }
}

// ---------------------------------------------------------------------------
// The checking step: `expect '<label>' "$VAR" <expected>` lines over `env:`
// variables bound to step expressions.

export interface Expectation {
  label: string
  variable: string
  expected: string
}

export function expectations(step: Step): Expectation[] | undefined {
  if (typeof step.run !== 'string' || !/^\s*expect\(\)/m.test(step.run)) return undefined
  const calls = step.run.split('\n').filter((line) => /^\s*expect\s/.test(line))
  return calls.map((line) => {
    const m = /^\s*expect\s+'([^']*)'\s+"\$(\w+)"\s+(?:'([^']*)'|([^\s'"]+))\s*$/.exec(line)
    if (!m) throw new Error(`Cannot read this expect line: ${line.trim()}`)
    return { label: m[1], variable: m[2], expected: m[3] ?? m[4] }
  })
}

// ---------------------------------------------------------------------------
// Running the job

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
        for (const [name, spec] of Object.entries(action.inputs)) {
          if (spec?.default !== undefined) inputs[name] = String(spec.default)
        }
        for (const [name, v] of Object.entries(step.with ?? {})) {
          if (!(name in action.inputs))
            throw new Error(`${label}: action.yml has no input "${name}"`)
          inputs[name] = localize(interpolate(v, ctx))
        }
        const run = await runAction(inputs, env)
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

export interface ActionRun {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

/**
 * `node dist/index.js` as the runner starts a node action: INPUT_<NAME> for every
 * input (upper-cased, spaces to underscores, hyphens kept), the file commands'
 * files in a fresh temporary directory, and the step's environment on top of
 * this process's, less its own NOMAD_, INPUT_, GITHUB_ and RUNNER_ variables.
 */
export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string>,
  root = ROOT,
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-workflow-'))
  const files: Record<string, string> = {}
  for (const name of [
    'GITHUB_OUTPUT',
    'GITHUB_STEP_SUMMARY',
    'GITHUB_ENV',
    'GITHUB_PATH',
    'GITHUB_STATE',
  ]) {
    files[name] = join(dir, name.toLowerCase())
    writeFileSync(files[name], '')
  }
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(NOMAD_|INPUT_|GITHUB_|RUNNER_)/.test(k)) base[k] = v
  }
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries(inputs))
    vars[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
  const child = spawn(process.execPath, [join(root, 'dist/index.js')], {
    cwd: root,
    env: { ...base, GITHUB_ACTIONS: 'true', RUNNER_TEMP: dir, ...env, ...vars, ...files },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)))
  try {
    return {
      code,
      stdout,
      stderr,
      outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** GITHUB_OUTPUT: `name<<DELIMITER` blocks (what @actions/core writes) or `name=value` lines. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const block = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (block) {
      const [, name, delimiter] = block
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i])
      out[name] = value.join('\n')
      continue
    }
    const line = /^([^=]+)=(.*)$/.exec(lines[i])
    if (line) out[line[1]] = line[2]
  }
  return out
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
