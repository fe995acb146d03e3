// The workflow files are code too: they must parse, use only what action.yml
// declares, and the e2e workflow must pass when run as the runner would run it
// (scripts/e2e-workflow.ts), so that none of them rots unseen. lib/ (the compiled
// simulator and script) comes from the global setup's ensure-built.

import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { loadAction } from '../scripts/run-dist.js'
import {
  condition,
  expectations,
  expressionsIn,
  interpolate,
  loadYaml,
  simCommand,
  stepLabel,
  stepRefsIn,
  type Context,
  type Job,
  type Step,
  type Workflow,
} from '../scripts/workflow-syntax.js'

const WORKFLOWS = '.github/workflows'
const files = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
const action = loadAction()
const e2ePath = join(WORKFLOWS, 'e2e.yml')

/** Every string in a value, with the key it sits under. */
function strings(value: unknown, key = ''): { key: string; text: string }[] {
  if (typeof value === 'string') return [{ key, text: value }]
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, key))
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => strings(v, k))
  }
  return []
}

/** The expressions of a step: `${{ }}` parts, and a bare `if:` condition. */
function stepExpressions(step: Step): string[] {
  return strings(step).flatMap(({ key, text }) =>
    key === 'if' && !text.includes('${{') ? [text] : expressionsIn(text),
  )
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function runScript(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['lib/scripts/e2e-workflow.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    child.on('close', (code) => resolve({ code, out }))
  })
}

it('finds the workflows', () => {
  expect(files).toEqual(expect.arrayContaining(['check-dist.yml', 'ci.yml', 'e2e.yml']))
})

describe.each(files)('%s', (file) => {
  const path = join(WORKFLOWS, file)
  const workflow = loadYaml<Workflow>(path)
  const jobs = Object.entries(workflow.jobs ?? {})

  it('parses, with on, jobs, runs-on and steps', () => {
    const doc = parseDocument(readFileSync(path, 'utf8'))
    expect(doc.errors).toEqual([])
    expect(doc.warnings).toEqual([])
    expect(workflow.name).toEqual(expect.any(String))
    expect(workflow.on).toBeTruthy()
    expect(jobs.length).toBeGreaterThan(0)
    for (const [name, job] of jobs) {
      expect(job['runs-on'], `${name}: runs-on`).toEqual(expect.any(String))
      expect(job.steps, `${name}: steps`).toEqual(expect.any(Array))
      expect(job.steps!.length, `${name}: steps`).toBeGreaterThan(0)
      for (const [i, step] of job.steps!.entries()) {
        const label = `${name}: ${stepLabel(step, i)}`
        expect(step.name, `${label}: a name`).toEqual(expect.any(String))
        expect(
          [step.uses, step.run].filter((x) => x !== undefined),
          `${label}: uses or run`,
        ).toHaveLength(1)
      }
      const ids = job.steps!.flatMap((s) => (s.id ? [s.id] : []))
      expect(new Set(ids).size, `${name}: step ids are unique`).toBe(ids.length)
    }
  })

  it('grants the token read access to the contents only', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' })
  })

  it('pins every other action by its major tag', () => {
    for (const [, job] of jobs) {
      for (const step of job.steps ?? []) {
        if (step.uses === undefined || step.uses === './') continue
        expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@v\d+$/)
      }
    }
  })
})

// Parametrized over the workflows that have what each test reads, and each
// asserts that it found some: a loop over nothing must not pass.
const parsed = files.map((file) => ({
  file,
  jobs: Object.entries(loadYaml<Workflow>(join(WORKFLOWS, file)).jobs ?? {}),
}))

/** The steps that run this action, with the job they are in. */
function gateSteps(jobs: [string, Job][]) {
  return jobs.flatMap(([name, job]) =>
    (job.steps ?? []).flatMap((step, i) => (isThisAction(step) ? [{ name, step, i }] : [])),
  )
}

const isThisAction = (step: Step) => step.uses === './'
const hasStepRef = (e: string) => stepRefsIn(e).length > 0

const withGateSteps = parsed.filter((w) => gateSteps(w.jobs).length > 0)
const withStepRefs = parsed.filter((w) =>
  w.jobs.some(([, job]) => (job.steps ?? []).some((s) => stepExpressions(s).some(hasStepRef))),
)

it('some workflows run this action, and some read step results', () => {
  expect(withGateSteps.map((w) => w.file)).toContain('e2e.yml')
  expect(withStepRefs.map((w) => w.file)).toContain('e2e.yml')
})

describe.each(withGateSteps)('$file', ({ jobs }) => {
  it('passes the steps that run this action only inputs that action.yml declares', () => {
    const steps = gateSteps(jobs)
    expect(steps.length).toBeGreaterThan(0)
    for (const { name, step, i } of steps) {
      const given = Object.keys(step.with ?? {})
      expect(given.length, `${name}: ${stepLabel(step, i)}: with:`).toBeGreaterThan(0)
      for (const input of given) {
        expect(Object.keys(action.inputs), `${stepLabel(step, i)}: with.${input}`).toContain(input)
      }
    }
  })
})

describe.each(withStepRefs)('$file', ({ jobs }) => {
  it('reads only earlier steps, and only outputs that action.yml declares', () => {
    let refs = 0
    for (const [name, job] of jobs) {
      const steps = job.steps ?? []
      const index = new Map(steps.flatMap((s, i) => (s.id ? [[s.id, i] as const] : [])))
      for (const [i, step] of steps.entries()) {
        for (const ref of stepExpressions(step).flatMap(stepRefsIn)) {
          refs++
          const where = `${name}: ${stepLabel(step, i)}: steps.${ref.id}`
          const at = index.get(ref.id)
          expect(at, `${where} is a step of this job`).toBeDefined()
          expect(at!, `${where} runs before`).toBeLessThan(i)
          if (ref.property !== 'outputs') continue
          expect(ref.name, `${where}.outputs names an output`).toBeDefined()
          if (isThisAction(steps[at!])) {
            expect(Object.keys(action.outputs), `${where}.outputs.${ref.name}`).toContain(ref.name)
          }
        }
      }
    }
    expect(refs).toBeGreaterThan(0)
  })
})

describe('ci.yml', () => {
  const ci = loadYaml<Workflow>(join(WORKFLOWS, 'ci.yml'))
  const job = Object.values(ci.jobs ?? {})[0]
  const runs = (job.steps ?? []).map((s) => s.run)

  it('runs on push and pull requests, on .node-version, Node 20 and Node 24', () => {
    expect(ci.on).toHaveProperty('push')
    expect(ci.on).toHaveProperty('pull_request')
    const include = (job.strategy as { matrix: { include: Record<string, string>[] } }).matrix
      .include
    expect(include.map((m) => m['node-version-file'] ?? m['node-version'])).toEqual([
      '.node-version',
      '20',
      '24',
    ])
  })

  it('installs from the lockfile, lints, typechecks and tests', () => {
    expect(runs).toEqual(
      expect.arrayContaining(['npm ci', 'npm run lint', 'npm run typecheck', 'npm test']),
    )
    expect(runs.indexOf('npm ci')).toBeLessThan(runs.indexOf('npm run lint'))
  })
})

describe('check-dist.yml', () => {
  const wf = loadYaml<Workflow>(join(WORKFLOWS, 'check-dist.yml'))
  const steps = Object.values(wf.jobs ?? {})[0].steps ?? []

  it('rebuilds dist/, fails on a difference and uploads the fresh dist/', () => {
    const runs = steps.map((s) => s.run ?? '')
    expect(runs).toContain('npm ci')
    expect(runs).toContain('npm run build')
    const diff = steps.find((s) => s.run?.includes('git diff --ignore-space-at-eol --text dist/'))
    expect(diff?.id).toBe('diff')
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload?.if).toContain('failure()')
    expect(upload?.with).toMatchObject({ path: 'dist/' })
  })
})

describe('dependabot.yml', () => {
  it('updates npm and the actions weekly, minor and patch releases grouped', () => {
    const config = loadYaml<{ version: number; updates: Record<string, unknown>[] }>(
      '.github/dependabot.yml',
    )
    expect(config.version).toBe(2)
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual([
      'github-actions',
      'npm',
    ])
    for (const u of config.updates) {
      expect(u.schedule).toEqual({ interval: 'weekly' })
      const groups = Object.values(u.groups as Record<string, { 'update-types': string[] }>)
      expect(groups.map((g) => g['update-types'])).toContainEqual(['minor', 'patch'])
    }
  })
})

describe('the expression subset of scripts/e2e-workflow.ts', () => {
  const ctx: Context = {
    steps: {
      wait: { outcome: 'success', conclusion: 'success', outputs: { result: 'promotable' } },
      bad: { outcome: 'failure', conclusion: 'success', outputs: { result: 'error' } },
    },
    env: { NOMAD_ADDR: 'http://127.0.0.1:4646' },
    failed: false,
  }

  it('interpolates step outputs, outcomes and env as the runner does', () => {
    expect(interpolate('${{ steps.wait.outputs.result }}', ctx)).toBe('promotable')
    expect(interpolate('id=${{ steps.wait.outputs.deployment-id }}.', ctx)).toBe('id=.')
    expect(interpolate('${{ steps.bad.outcome }}/${{ steps.bad.conclusion }}', ctx)).toBe(
      'failure/success',
    )
    expect(interpolate('${{ env.NOMAD_ADDR }}', ctx)).toBe('http://127.0.0.1:4646')
    expect(() => interpolate('${{ github.sha }}', ctx)).toThrow(/Unsupported context/)
    expect(() => interpolate('${{ contains(x, y) }}', ctx)).toThrow(/Unsupported/)
  })

  it('evaluates if: conditions with success() implied', () => {
    expect(condition(undefined, ctx)).toBe(true)
    expect(condition("steps.bad.outcome == 'FAILURE'", ctx)).toBe(true)
    expect(condition("${{ steps.bad.outputs.result != 'error' }}", ctx)).toBe(false)
    expect(
      condition("steps.wait.outcome == 'success' && !(steps.bad.outcome == 'success')", ctx),
    ).toBe(true)
    const failed = { ...ctx, failed: true }
    expect(condition(undefined, failed)).toBe(false)
    expect(condition("steps.bad.outcome == 'failure'", failed)).toBe(false)
    expect(condition('${{ always() }}', failed)).toBe(true)
    expect(condition("failure() && steps.bad.outcome == 'failure'", failed)).toBe(true)
  })
})

describe('e2e.yml', () => {
  const wf = loadYaml<Workflow>(e2ePath)
  const steps = Object.values(wf.jobs ?? {})[0].steps ?? []

  it('gates with wait, promotes two groups, and checks a step that must fail', () => {
    const gate = steps.filter((s) => s.uses === './')
    expect(gate.map((s) => s.with?.mode)).toEqual(['wait', 'promote', 'promote'])
    expect(gate[0].with).toMatchObject({ job: 'web', timeout: '2m' })
    expect(gate[1].with).toMatchObject({ groups: 'web,api' })
    expect(gate[2]['continue-on-error']).toBe(true)
    const checks = steps.flatMap((s) => expectations(s) ?? [])
    expect(checks).toContainEqual({
      label: `steps.${gate[2].id}.outcome`,
      variable: expect.any(String),
      expected: 'failure',
    })
    expect(checks.map((c) => c.label)).toContain(`steps.${gate[2].id}.outputs.result`)
    // Each expectation reads the variable its label names.
    const check = steps.find((s) => expectations(s))!
    for (const c of checks) expect(check.env?.[c.variable]).toBe(`\${{ ${c.label} }}`)
  })

  it("starts the simulator with a command that the simulator's CLI accepts", async () => {
    const step = steps.find((s) => simCommand(s))!
    const sc = simCommand(step)!
    expect(sc.readyUrl).toBe(`http://127.0.0.1:${sc.port}/v1/job/web/deployment`)
    const port = await freePort()
    const args = sc.args.map((a) => (a === String(sc.port) ? String(port) : a))
    const child = spawn(process.execPath, ['lib/sim/cli.js', ...args], { stdio: 'ignore' })
    try {
      const url = sc.readyUrl!.replace(`:${sc.port}/`, `:${port}/`)
      let status = 0
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await fetch(url).then(
          (r) => r.status,
          () => 0,
        )
        if (status !== 200) await new Promise((r) => setTimeout(r, 100))
      }
      expect(status).toBe(200)
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('passes when run as the runner would run it', { timeout: 60_000 }, async () => {
    const { code, out } = await runScript([])
    expect(out).toMatch(/^✓ Start the Nomad simulator: in-process, scenario demo/m)
    expect(out).toMatch(/^✓ Wait until the canaries are promotable: result=promotable exit 0/m)
    expect(out).toMatch(/^✓ Promote exactly the deployment that was gated: result=promoted exit 0/m)
    expect(out).toMatch(
      /^✗ \(continue-on-error\) Gate a deployment that does not exist: result=error exit 1/m,
    )
    expect(out).toMatch(/^✓ Check the outcomes: 6 expectations hold/m)
    expect(out).toMatch(/^E2E workflow passed$/m)
    expect(code, out).toBe(0)
  })

  it('fails when an expectation does not hold', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'workflows-test-'))
    try {
      const text = readFileSync(e2ePath, 'utf8')
      const wrong = text.replace(/("\$MISSING_RESULT") error/, '$1 timed-out')
      expect(wrong).not.toBe(text)
      writeFileSync(join(dir, 'e2e.yml'), wrong)
      const { code, out } = await runScript([join(dir, 'e2e.yml')])
      expect(out).toMatch(
        /^✗ Check the outcomes: steps\.missing\.outputs\.result is 'error', expected 'timed-out'$/m,
      )
      expect(out).toMatch(/^E2E workflow FAILED$/m)
      expect(code).toBe(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
