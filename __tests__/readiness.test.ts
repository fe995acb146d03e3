import { describe, expect, it } from 'vitest'
import {
  describeGroups,
  evaluate,
  readinessKey,
  selectGroups,
  unknownGroups,
} from '../src/gate/readiness.js'
import type { AllocListStub, Deployment, DeploymentState } from '../src/nomad/types.js'

type Health = boolean | null
interface CanarySpec {
  health: Health
  client?: AllocListStub['ClientStatus']
  desired?: AllocListStub['DesiredStatus']
  /** Listed in PlacedCanaries but absent from the allocation list. */
  missing?: boolean
}
interface GroupSpec {
  desired: number
  promoted?: boolean
  canaries?: CanarySpec[]
  /** Stale counter: must never decide anything. */
  healthyAllocs?: number
}

function build(
  groups: Record<string, GroupSpec>,
  status: Deployment['Status'] = 'running',
): { d: Deployment; allocs: AllocListStub[] } {
  const allocs: AllocListStub[] = []
  const TaskGroups: Record<string, DeploymentState> = {}
  for (const [name, g] of Object.entries(groups)) {
    const ids: string[] = []
    ;(g.canaries ?? []).forEach((c, i) => {
      const id = `${name}-${i}`
      ids.push(id)
      if (c.missing) return
      allocs.push({
        ID: id,
        EvalID: '',
        Name: `job.${name}[${i}]`,
        Namespace: 'default',
        NodeID: 'n',
        JobID: 'job',
        JobVersion: 1,
        TaskGroup: name,
        DesiredStatus: c.desired ?? 'run',
        DesiredDescription: '',
        ClientStatus: c.client ?? 'running',
        ClientDescription: '',
        TaskStates: null,
        DeploymentStatus:
          c.health === null && i % 2 === 0
            ? null
            : { Healthy: c.health, Canary: true, Timestamp: '', ModifyIndex: 1 },
        CreateIndex: 1,
        ModifyIndex: 1,
        CreateTime: 0,
        ModifyTime: 0,
      })
    })
    TaskGroups[name] = {
      AutoRevert: false,
      AutoPromote: false,
      ProgressDeadline: 0,
      RequireProgressBy: '',
      Promoted: g.promoted ?? false,
      PlacedCanaries: ids.length ? ids : null,
      DesiredCanaries: g.desired,
      DesiredTotal: 3,
      PlacedAllocs: ids.length,
      HealthyAllocs: g.healthyAllocs ?? 0,
      UnhealthyAllocs: 0,
    }
  }
  const d: Deployment = {
    ID: 'd',
    Namespace: 'default',
    JobID: 'job',
    JobVersion: 1,
    JobModifyIndex: 1,
    JobSpecModifyIndex: 1,
    JobCreateIndex: 1,
    IsMultiregion: false,
    TaskGroups,
    Status: status,
    StatusDescription: 'Deployment is running but requires manual promotion',
    EvalPriority: 50,
    CreateIndex: 1,
    ModifyIndex: 1,
  }
  return { d, allocs }
}

const H = { health: true } as const
const N = { health: null } as const
const U = { health: false } as const

describe('evaluate: the server promotion rule', () => {
  const cases: Array<{
    name: string
    groups: Record<string, GroupSpec>
    status?: Deployment['Status']
    select?: string[]
    verdict: string
    counts?: string
  }> = [
    {
      name: 'no canaries placed yet',
      groups: { web: { desired: 2 } },
      verdict: 'waiting',
      counts: 'web 0/2 healthy',
    },
    {
      name: 'placed, health not reported',
      groups: { web: { desired: 2, canaries: [N, N] } },
      verdict: 'waiting',
    },
    {
      name: 'one of two healthy',
      groups: { web: { desired: 2, canaries: [H, N] } },
      verdict: 'waiting',
      counts: 'web 1/2 healthy',
    },
    {
      name: 'all healthy',
      groups: { web: { desired: 2, canaries: [H, H] } },
      verdict: 'ready',
      counts: 'web 2/2 healthy',
    },
    {
      name: 'more healthy than desired (a replacement)',
      groups: { web: { desired: 1, canaries: [H, H] } },
      verdict: 'ready',
    },
    {
      name: 'healthy canary later failed (terminal) does not count',
      groups: { web: { desired: 2, canaries: [H, { health: true, client: 'failed' }] } },
      verdict: 'waiting',
      counts: 'web 1/2 healthy',
    },
    {
      name: 'healthy canary being stopped does not count',
      groups: { web: { desired: 1, canaries: [{ health: true, desired: 'stop' }] } },
      verdict: 'waiting',
    },
    {
      name: 'lost and complete allocs do not count',
      groups: {
        web: {
          desired: 2,
          canaries: [
            { health: true, client: 'lost' },
            { health: true, client: 'complete' },
          ],
        },
      },
      verdict: 'waiting',
    },
    {
      name: 'HealthyAllocs counter is ignored',
      groups: {
        web: { desired: 2, canaries: [H, { health: true, client: 'failed' }], healthyAllocs: 2 },
      },
      verdict: 'waiting',
    },
    {
      name: 'canary listed but not in alloc list',
      groups: { web: { desired: 1, canaries: [{ health: true, missing: true }] } },
      verdict: 'waiting',
    },
    {
      name: 'unhealthy canary',
      groups: { web: { desired: 2, canaries: [H, U] } },
      verdict: 'unhealthy',
      counts: 'web 1/2 healthy (1 unhealthy)',
    },
    {
      name: 'unhealthy even when enough others are healthy',
      groups: { web: { desired: 1, canaries: [H, U] } },
      verdict: 'unhealthy',
    },
    {
      name: 'two groups, one waiting',
      groups: { web: { desired: 2, canaries: [H, H] }, api: { desired: 1, canaries: [N] } },
      verdict: 'waiting',
      counts: 'api 0/1 healthy, web 2/2 healthy',
    },
    {
      name: 'two groups, only the ready one selected',
      groups: { web: { desired: 2, canaries: [H, H] }, api: { desired: 1, canaries: [N] } },
      select: ['web'],
      verdict: 'ready',
    },
    {
      name: 'unhealthy canary in an unselected group is ignored',
      groups: { web: { desired: 1, canaries: [H] }, api: { desired: 1, canaries: [U] } },
      select: ['web'],
      verdict: 'ready',
    },
    {
      name: 'groups without canaries are not selected by default',
      groups: { web: { desired: 1, canaries: [H] }, batch: { desired: 0 } },
      verdict: 'ready',
      counts: 'web 1/1 healthy',
    },
    {
      name: 'already promoted',
      groups: { web: { desired: 2, promoted: true, canaries: [H, H] } },
      verdict: 'promoted',
    },
    {
      name: 'one of two groups promoted, other ready',
      groups: {
        web: { desired: 1, promoted: true, canaries: [H] },
        api: { desired: 1, canaries: [H] },
      },
      verdict: 'ready',
    },
    {
      name: 'failed deployment',
      groups: { web: { desired: 1, canaries: [H] } },
      status: 'failed',
      verdict: 'terminal',
    },
    {
      name: 'cancelled deployment',
      groups: { web: { desired: 1, canaries: [N] } },
      status: 'cancelled',
      verdict: 'terminal',
    },
    {
      name: 'successful deployment',
      groups: { web: { desired: 1, promoted: true, canaries: [H] } },
      status: 'successful',
      verdict: 'terminal',
    },
    {
      name: 'paused deployment with healthy canaries is promotable',
      groups: { web: { desired: 1, canaries: [H] } },
      status: 'paused',
      verdict: 'ready',
    },
    {
      name: 'no group has canaries',
      groups: { web: { desired: 0 } },
      verdict: 'ready',
      counts: 'no groups with canaries',
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const { d, allocs } = build(c.groups, c.status)
      const r = evaluate(d, allocs, selectGroups(d, c.select ?? []))
      expect(r.verdict).toBe(c.verdict)
      if (c.counts) expect(describeGroups(r.groups)).toBe(c.counts)
    })
  }

  it('reports per-group counts and the unhealthy alloc IDs', () => {
    const { d, allocs } = build({ web: { desired: 3, canaries: [H, U, N] } })
    const r = evaluate(d, allocs, ['web'])
    expect(r.groups).toEqual([
      {
        name: 'web',
        desiredCanaries: 3,
        placedCanaries: 3,
        healthyCanaries: 1,
        unhealthyCanaries: 1,
        promoted: false,
      },
    ])
    expect(r.unhealthyAllocs).toEqual(['web-1'])
  })

  it('finds given groups the deployment does not have', () => {
    const { d } = build({ web: { desired: 1 } })
    expect(unknownGroups(d, ['web', 'nope'])).toEqual(['nope'])
    expect(selectGroups(d, ['web'])).toEqual(['web'])
  })
})

describe('readinessKey', () => {
  it('ignores the counters Nomad bumps on every health change, not what the verdict reads', () => {
    const { d } = build({ web: { desired: 2, canaries: [H, N] } })
    const key = readinessKey(d)
    expect(
      readinessKey({
        ...d,
        ModifyIndex: 9,
        TaskGroups: { web: { ...d.TaskGroups.web, HealthyAllocs: 2 } },
      }),
    ).toBe(key)
    expect(readinessKey({ ...d, Status: 'failed' })).not.toBe(key)
    expect(
      readinessKey({ ...d, TaskGroups: { web: { ...d.TaskGroups.web, Promoted: true } } }),
    ).not.toBe(key)
    expect(
      readinessKey({
        ...d,
        TaskGroups: { web: { ...d.TaskGroups.web, PlacedCanaries: ['web-0', 'web-1', 'web-2'] } },
      }),
    ).not.toBe(key)
  })
})
