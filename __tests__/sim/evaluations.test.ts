// `nomad job run` through evaluations: the job version and its evaluation
// first, the scheduler's plan (the deployment, the canaries) only after the
// evaluation's lag, on the simulator's clock; and the evaluation endpoints.

import { describe, expect, it } from 'vitest'

import type { Deployment } from '../../src/nomad/types.js'
import type { GroupSpec, SimEvaluation } from '../../sim/simulator.js'
import { get, runJob, startManual } from './helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const web = (over: Partial<GroupSpec> = {}): GroupSpec[] => [
  { name: 'web', count: 3, canaries: 2, update: { minHealthyTimeMs: 1_000 }, ...over },
]

describe('job registration (nomad/job_endpoint.go Register, nomad/fsm.go applyUpsertJob)', () => {
  it('writes the version and a pending job-register evaluation in one index; JobModifyIndex is that index', async () => {
    const { sim } = await startManual({ timings: { evalLagMs: 500 } })
    const res = sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    expect(res).toEqual({
      evalId: expect.stringMatching(UUID),
      version: 0,
      index: 1,
      jobModifyIndex: 1,
      changed: true,
    })
    expect(sim.changes.map((c) => [c.index, c.kind, c.tables])).toEqual([
      [1, 'job-register', ['jobs', 'evals']],
    ])
    expect(sim.evaluation(res.evalId)).toMatchObject({
      ID: res.evalId,
      Namespace: 'default',
      Priority: 50,
      Type: 'service',
      TriggeredBy: 'job-register',
      JobID: 'web',
      JobModifyIndex: 1,
      DeploymentID: '',
      Status: 'pending',
      CreateIndex: 1,
      ModifyIndex: 1,
    })
    expect(sim.job('web')).toMatchObject({ Version: 0, JobModifyIndex: 1, Status: 'pending' })
    expect(sim.jobDeployments('web')).toEqual([])
  })

  it('lets the scheduler take the evaluation only after its lag: the plan, then the evaluation complete', async () => {
    const { sim, clock } = await startManual({ timings: { evalLagMs: 500 } })
    const { evalId } = sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    clock.advance(499)
    expect(sim.index()).toBe(1)
    clock.advance(1)
    expect(sim.changes.slice(1).map((c) => [c.index, c.kind])).toEqual([
      [2, 'plan-result'],
      [3, 'eval-update'],
    ])
    const [d] = sim.jobDeployments('web')
    expect(d).toMatchObject({ JobVersion: 0, Status: 'running', CreateIndex: 2 })
    // The first version's deployment: all 3 placed as new allocs, no canaries.
    expect(d.TaskGroups.web).toMatchObject({ DesiredTotal: 3, DesiredCanaries: 0, PlacedAllocs: 3 })
    expect(sim.evaluation(evalId)).toMatchObject({
      Status: 'complete',
      DeploymentID: d.ID,
      SnapshotIndex: 1,
      QueuedAllocations: { web: 0 },
      ModifyIndex: 3,
    })
  })

  it("serves the previous version's deployment as the job's latest until the evaluation is processed", async () => {
    const { sim, clock } = await startManual({ timings: { evalLagMs: 2_000 } })
    const v0 = runJob(sim, clock, { id: 'web', groups: web(), spec: 'v0' })
    expect(v0.Status).toBe('successful')
    sim.submitJob({ id: 'web', groups: web(), spec: 'v1' })
    const before = (await get(sim, '/v1/job/web/deployment')).json<Deployment>()
    expect([before.ID, before.JobVersion]).toEqual([v0.ID, 0])
    clock.advance(2_000)
    const after = (await get(sim, '/v1/job/web/deployment')).json<Deployment>()
    expect(after.JobVersion).toBe(1)
    expect(after.StatusDescription).toBe('Deployment is running but requires manual promotion')
  })

  it('re-registering an unchanged spec makes no version, still an evaluation (written alone: JobModifyIndex 0)', async () => {
    const { sim, clock } = await startManual()
    runJob(sim, clock, { id: 'web', groups: web(), spec: 'v0' })
    const job = sim.job('web')
    const index = sim.index()
    const res = sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    expect(res).toMatchObject({ version: 0, changed: false, index: index + 1 })
    expect(sim.changes.at(-1)).toMatchObject({ kind: 'eval-update', tables: ['evals'] })
    expect(sim.job('web')?.JobModifyIndex).toBe(job?.JobModifyIndex)
    expect(sim.evaluation(res.evalId)).toMatchObject({
      TriggeredBy: 'job-register',
      JobModifyIndex: 0,
      Status: 'pending',
    })
    // The scheduler finds nothing to do: no plan, no deployment.
    clock.advance(1_000)
    expect(sim.changes.at(-1)).toMatchObject({ kind: 'eval-update' })
    expect(sim.evaluation(res.evalId)?.Status).toBe('complete')
    expect(sim.jobDeployments('web')).toHaveLength(1)
  })

  it('gives a group with an empty update strategy evaluations and allocs, never a deployment', async () => {
    // reconcile_cluster.go createDeployment: no deployment when strategy.IsEmpty()
    // (MaxParallel 0). A service job submitted through Nomad's API without an
    // update block gets api/jobs.go's default strategy (max_parallel 1), so it
    // does get deployments; `update: null` is the empty strategy.
    const { sim, clock } = await startManual()
    sim.submitJob({ id: 'web', groups: web({ canaries: 0, update: null }), spec: 'v0' })
    clock.runAll()
    sim.submitJob({ id: 'web', groups: web({ canaries: 0, update: null }), spec: 'v1' })
    clock.runAll()
    expect(sim.jobDeployments('web')).toEqual([])
    expect(sim.evaluations('web').map((e) => [e.TriggeredBy, e.Status])).toEqual([
      ['job-register', 'complete'],
      ['job-register', 'complete'],
    ])
    const running = sim.jobAllocations('web').filter((a) => a.DesiredStatus === 'run')
    expect(running.map((a) => [a.JobVersion, a.ClientStatus, a.DeploymentStatus])).toEqual([
      [1, 'running', null],
      [1, 'running', null],
      [1, 'running', null],
    ])
  })
})

describe('GET /v1/job/:job_id/evaluations (Job.Evaluations)', () => {
  it("lists the job's evaluations in the store's job index order (status, then ID) with the evals table index", async () => {
    const { sim, clock } = await startManual()
    runJob(sim, clock, { id: 'web', groups: web(), spec: 'v0' })
    sim.submitJob({ id: 'web', groups: web(), spec: 'v1' })
    const res = await get(sim, '/v1/job/web/evaluations')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('evals')))
    const evals = res.json<SimEvaluation[]>()
    const key = (e: SimEvaluation): string => `${e.Status} ${e.ID}`
    expect(evals.map(key)).toEqual(evals.map(key).sort())
    expect(evals.at(-1)).toMatchObject({ Status: 'pending', TriggeredBy: 'job-register' })
    expect(evals.map((e) => e.ID).sort()).toEqual(
      sim
        .evaluations('web')
        .map((e) => e.ID)
        .sort(),
    )
    expect((await get(sim, '/v1/job/nope/evaluations')).text).toBe('[]')
  })

  it('blocks on the evals table: a held query answers when one of the job’s evaluations changes', async () => {
    const { sim, clock } = await startManual({ timings: { evalLagMs: 100 } })
    sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    const index = sim.tableIndex('evals')
    const held = get(sim, `/v1/job/web/evaluations?index=${index}&wait=5m`)
    await sim.waitForRequest((r) => r.path === '/v1/job/web/evaluations')
    await sim.settled()
    clock.advance(100)
    const res = await held
    expect(Number(res.headers.get('x-nomad-index'))).toBeGreaterThan(index)
    expect(res.json<SimEvaluation[]>().map((e) => e.Status)).toEqual(['complete'])
  })
})

describe('GET /v1/evaluation/:id (Eval.GetEval)', () => {
  it("serves structs.Evaluation's fields, with the evaluation's ModifyIndex", async () => {
    const { sim } = await startManual()
    const { evalId } = sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    const res = await get(sim, `/v1/evaluation/${evalId}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-nomad-index')).toBe('1')
    const e = res.json<Record<string, unknown>>()
    expect(Object.keys(e)).toEqual(
      expect.arrayContaining([
        'ID',
        'Namespace',
        'Priority',
        'Type',
        'TriggeredBy',
        'JobID',
        'JobModifyIndex',
        'DeploymentID',
        'Status',
        'StatusDescription',
        'WaitUntil',
        'NextEval',
        'PreviousEval',
        'SnapshotIndex',
        'CreateIndex',
        'ModifyIndex',
        'CreateTime',
        'ModifyTime',
      ]),
    )
    expect(e).toMatchObject({ WaitUntil: '0001-01-01T00:00:00Z', Wait: 0, NextEval: '' })
    expect(e.CreateTime).toBe(Date.UTC(2026, 0, 1) * 1e6)
  })

  it('answers 404 `eval not found` for an unknown ID and 500 for a short one', async () => {
    const { sim } = await startManual()
    sim.submitJob({ id: 'web', groups: web(), spec: 'v0' })
    const unknown = await get(sim, '/v1/evaluation/00000000-0000-4000-8000-000000000000')
    expect([unknown.status, unknown.text]).toEqual([404, 'eval not found'])
    expect(unknown.headers.get('x-nomad-index')).toBe(String(sim.tableIndex('evals')))
    const short = await get(sim, '/v1/evaluation/abcd')
    expect([short.status, short.text]).toEqual([
      500,
      'failed to lookup eval: eval lookup failed: UUID must be 36 characters',
    ])
  })
})

describe('GET /v1/job/:job_id', () => {
  it('exposes Version, JobModifyIndex, CreateIndex, Stop, Type, and the groups’ update and reschedule blocks', async () => {
    const { sim, clock } = await startManual()
    runJob(sim, clock, { id: 'web', groups: web(), spec: 'v0' })
    const { index } = sim.submitJob({ id: 'web', groups: web(), spec: 'v1' })
    const job = (await get(sim, '/v1/job/web')).json<Record<string, unknown>>()
    expect(job).toMatchObject({
      ID: 'web',
      Type: 'service',
      Stop: false,
      Version: 1,
      JobModifyIndex: index,
      CreateIndex: 1,
      TaskGroups: [
        {
          Name: 'web',
          Count: 3,
          Update: {
            MaxParallel: 1,
            HealthCheck: 'checks',
            MinHealthyTime: 1e9,
            HealthyDeadline: 300e9,
            ProgressDeadline: 600e9,
            AutoRevert: false,
            AutoPromote: false,
            Canary: 2,
          },
          // structs.DefaultServiceJobReschedulePolicy
          ReschedulePolicy: {
            Attempts: 0,
            Interval: 0,
            Delay: 30e9,
            DelayFunction: 'exponential',
            MaxDelay: 3600e9,
            Unlimited: true,
          },
        },
      ],
    })
  })
})
