// Beyond promote, through dist/index.js: the soak with checks, dry run, and
// GitHub deployment statuses (against a local fake of the GitHub REST API).

import { afterEach, describe, expect, it } from 'vitest'
import { startCheckTarget, startPrometheus } from '../../sim/checks.js'
import { startGithubFake } from '../../sim/github.js'
import { runScenario } from '../../sim/scenarios.js'
import { startSimulator, type Simulator } from '../../sim/simulator.js'
import { runAction, startAction } from '../helpers/run.js'
import { caughtUp, until } from '../helpers/wait.js'

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()))
})

async function sim(): Promise<Simulator> {
  const s = await startSimulator()
  stops.push(() => s.stop())
  return s
}

const reads = (s: Simulator) => s.requests.filter((r) => r.method === 'GET').length

describe('soak', () => {
  it('promotes after the canaries stayed healthy for the whole soak, with no extra reads', async () => {
    const s = await sim()
    runScenario(s, 'healthy', { autoRevert: true })
    const res = await runAction({ address: s.address, job: 'web', soak: '600ms' })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('promoted')
    expect(res.ms).toBeGreaterThan(600)
    expect(res.stdout).toContain('soaking for 600ms')
    expect(res.stdout).toContain('Soak of 600ms passed')
    expect(s.writes()).toHaveLength(1)
    // resolve, allocations at once, one blocking query on each held through the
    // soak, and the re-read after the write: nothing polls while nothing changes.
    expect(reads(s)).toBe(5)
    expect(res.summary).toMatch(/Soak of 600ms passed/)
  })

  it('a canary turning unhealthy during the soak fails at once and applies on-failure', async () => {
    const s = await sim()
    const run = runScenario(s, 'healthy', { autoRevert: true })
    const started = startAction({
      address: s.address,
      job: 'web',
      soak: '1m',
      'on-failure': 'fail',
    })
    await caughtUp(s, run.deploymentId)
    s.setAllocHealth(run.canaries.api[0], false)
    const res = await started.done
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('unhealthy')
    expect(res.outputs.message).toContain('during the soak')
    expect(res.ms).toBeLessThan(10_000)
    expect(s.writes().map((w) => w.path.split('/')[3])).toEqual(['fail'])
    expect(res.outputs['reverted-job-version']).toBe('0')
  })

  it('runs the URL checks every interval and reports them', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const target = await startCheckTarget()
    stops.push(() => target.stop())
    const res = await runAction({
      address: s.address,
      job: 'web',
      soak: '500ms',
      'check-url': target.url,
      'check-interval': '200ms',
    })
    expect(res.outputs.result).toBe('promoted')
    const runs = JSON.parse(res.outputs.checks) as Array<{ ok: boolean; results: unknown[] }>
    expect(runs.length).toBeGreaterThanOrEqual(3) // at 0, 200, 400 ms and at the end
    expect(runs.every((r) => r.ok && r.results.length === 1)).toBe(true)
    expect(target.hits).toBe(runs.length)
    expect(res.summary).toContain('| Check run | At | Result | Details |')
  })

  it('a failing check fails the gate (check-failed) and applies on-failure', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const target = await startCheckTarget()
    stops.push(() => target.stop())
    target.setStatus(503)
    const res = await runAction({
      address: s.address,
      job: 'web',
      soak: '1m',
      'check-url': target.url,
      'on-failure': 'pause',
    })
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('check-failed')
    expect(res.outputs.message).toContain('503')
    expect(s.writes().map((w) => w.path.split('/')[3])).toEqual(['pause'])
  })

  it('failure-limit tolerates that many failed runs', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const prom = await startPrometheus()
    stops.push(() => prom.stop())
    const query = 'error_ratio{job="web"}'
    prom.set(query, [{ metric: { job: 'web' }, value: 0.2 }])
    const started = startAction({
      address: s.address,
      job: 'web',
      soak: '800ms',
      'check-interval': '200ms',
      'prometheus-url': prom.url,
      'prometheus-query': query,
      'prometheus-threshold': '0.05',
      'failure-limit': '1',
    })
    // The first run fails (tolerated); then the error ratio drops.
    await until(() => prom.queries.length >= 1, 'the first Prometheus query')
    prom.set(query, [{ metric: { job: 'web' }, value: 0.01 }])
    const res = await started.done
    expect(res.outputs.result).toBe('promoted')
    const runs = JSON.parse(res.outputs.checks) as Array<{ ok: boolean }>
    expect(runs[0].ok).toBe(false)
    expect(runs.slice(1).every((r) => r.ok)).toBe(true)
  })

  it('a Prometheus sample above the threshold fails the gate', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const prom = await startPrometheus()
    stops.push(() => prom.stop())
    prom.set('up', [{ metric: { instance: 'a' }, value: 3 }])
    const res = await runAction({
      address: s.address,
      job: 'web',
      soak: '1m',
      'prometheus-url': prom.url,
      'prometheus-query': 'up',
      'prometheus-threshold': '1',
    })
    expect(res.outputs.result).toBe('check-failed')
    expect(s.writes()).toHaveLength(0)
  })
})

describe('dry-run', () => {
  it('logs the exact promote request and sends nothing', async () => {
    const s = await sim()
    const run = runScenario(s, 'healthy')
    const res = await runAction({
      address: s.address,
      job: 'web',
      'dry-run': 'true',
      groups: 'web',
    })
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('would-promote')
    expect(res.stdout).toContain(
      `would send PUT ${s.address}/v1/deployment/promote/${run.deploymentId} {"DeploymentID":"${run.deploymentId}","All":false,"Groups":["web"]}`,
    )
    expect(s.writes()).toHaveLength(0)
  })

  it.each([
    ['fail', 'would-fail'],
    ['pause', 'would-pause'],
  ])('%s mode becomes %s', async (mode, result) => {
    const s = await sim()
    runScenario(s, 'manual')
    const res = await runAction({ address: s.address, job: 'web', mode, 'dry-run': 'true' })
    expect(res.outputs.result).toBe(result)
    expect(s.writes()).toHaveLength(0)
  })

  it('health mode becomes would-set-health', async () => {
    const s = await sim()
    runScenario(s, 'manual')
    const res = await runAction({
      address: s.address,
      job: 'web',
      mode: 'health',
      'healthy-allocs': 'canaries',
      'dry-run': 'true',
    })
    expect(res.outputs.result).toBe('would-set-health')
    expect(res.stdout).toContain('/v1/deployment/allocation-health/')
    expect(s.writes()).toHaveLength(0)
  })
})

describe('GitHub deployment statuses', () => {
  const github = (url: string) => ({
    GITHUB_API_URL: url,
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_SHA: 'abc123',
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_RUN_ID: '42',
  })

  it('creates a deployment for the environment: in_progress, then success with the run URL', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const gh = await startGithubFake({ token: 'ghs_test' })
    stops.push(() => gh.stop())
    const res = await runAction(
      { address: s.address, job: 'web', 'github-token': 'ghs_test', environment: 'production' },
      github(gh.url),
    )
    expect(res.outputs.result).toBe('promoted')
    expect(gh.deployments).toHaveLength(1)
    const d = gh.deployments[0]
    expect(d).toMatchObject({ repository: 'acme/web', ref: 'abc123', environment: 'production' })
    expect(d.statuses.map((x) => x.state)).toEqual(['in_progress', 'success'])
    expect(d.statuses[1].log_url).toBe('https://github.example/acme/web/actions/runs/42')
    expect(res.outputs['github-deployment-id']).toBe(String(d.id))
    const logged = res.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'))
    expect(logged.join('\n')).not.toContain('ghs_test')
    expect(res.stdout.indexOf('::add-mask::ghs_test')).toBeLessThan(
      res.stdout.indexOf('Deployment'),
    )
  })

  it('posts failure to a given deployment when the gate fails', async () => {
    const s = await sim()
    runScenario(s, 'manual')
    const gh = await startGithubFake()
    stops.push(() => gh.stop())
    const id = gh.addDeployment({ repository: 'acme/web', ref: 'abc123', environment: 'staging' })
    const res = await runAction(
      {
        address: s.address,
        job: 'web',
        timeout: '300ms',
        'github-token': 'ghs_x',
        'github-deployment-id': String(id),
      },
      github(gh.url),
      { limitMs: 5_000 }, // a deadline the gate ignores fails here, not at vitest's timeout
    )
    expect(res.outputs.result).toBe('timed-out')
    expect(res.ms).toBeLessThan(3_300)
    expect(gh.deployments[0].statuses.map((x) => x.state)).toEqual(['in_progress', 'failure'])
    expect(gh.deployments[0].statuses[1].description).toContain('Timed out')
  })

  it('a GitHub outage does not fail the gate', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const gh = await startGithubFake()
    stops.push(() => gh.stop())
    gh.failNext(502, 'Server Error')
    const res = await runAction(
      { address: s.address, job: 'web', 'github-token': 'ghs_x', environment: 'production' },
      github(gh.url),
    )
    expect(res.code).toBe(0)
    expect(res.outputs.result).toBe('promoted')
    expect(res.stdout).toMatch(/::warning::.*GitHub/)
  })
})
