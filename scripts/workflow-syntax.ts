// The part of GitHub Actions' workflow syntax that this repository's workflows
// use, read as the runner reads it: the YAML, `${{ }}` expressions and `if:`
// conditions over step results, the simulator step and the `expect` lines of the
// checking step. A module of its own because two readers share it: the e2e
// workflow runner (scripts/e2e-workflow.ts) and the workflow tests
// (__tests__/workflows.test.ts). It throws on anything outside that subset, so a
// workflow that outgrows it is noticed instead of misread.
//
// Why a runner of our own and not @github/local-action (tried, 7.0.1, on Node 20
// and 24: it runs there): it runs one action, from a dotenv file of inputs,
// and evaluates no workflow (no steps, no `${{ steps.* }}`, no `if:` or
// `continue-on-error`), which is what the e2e workflow is about: several steps
// of the action wired by their outputs. It also runs the TypeScript entry
// (src/main.ts, through tsx) rather than the committed dist/index.js that
// `uses: ./` runs; it wants that entry to export run() (ours runs on import:
// the run completed, then local-action failed with "does not export a run()
// function"); and it replaces @actions/core 2.x, while the action uses 3.x, so
// our outputs went to stdout as `::set-output` instead of to its capture.

import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

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
  'timeout-minutes'?: unknown
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
