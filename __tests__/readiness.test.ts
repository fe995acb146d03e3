// The server's promotion rule and the rest of what readiness reads, as table
// tests: each row is a deployment and its canaries, and what Nomad would say.

import { describe, expect, it } from 'vitest'
import {
  autoPromotes,
  describeGroups,
  describeProgress,
  evaluate,
  runningCanaries,
  selectGroups,
  unknownGroups,
  type Readiness,
} from '../src/gate/readiness.js'
import type { AllocListStub, Deployment, DeploymentState } from '../src/nomad/types.js'

type Health = boolean | null
interface CanarySpec {
  health: Health
  client?: AllocListStub['ClientStatus']
  desired?: AllocListStub['DesiredStatus']
  /** Listed in PlacedCanaries but absent from the allocation list. */
  missing?: boolean
  /** DeploymentStatus.Canary; Nomad clears it when it promotes the canary. */
  canary?: boolean
}
interface GroupSpec {
  desired: number
  promoted?: boolean
  autoPromote?: boolean
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
          c.health === null && i % 2 === 0 && c.canary === undefined
            ? null
            : { Healthy: c.health, Canary: c.canary ?? true, Timestamp: '', ModifyIndex: 1 },
        CreateIndex: 1,
        ModifyIndex: 1,
        CreateTime: 0,
        ModifyTime: 0,
      })
    })
    TaskGroups[name] = {
      AutoRevert: false,
      AutoPromote: g.autoPromote ?? false,
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

/** The row's expectation in one word, most decisive first. */
function state(r: Readiness): string {
  if (r.terminal) return 'terminal'
  if (r.promoted) return 'promoted'
  if (r.promotable) return 'promotable'
  return r.unhealthyAllocs.length > 0 ? 'unhealthy' : 'waiting'
}

describe('evaluate: the server promotion rule (state_store.go UpdateDeploymentPromotion)', () => {
  const cases: Array<{
    name: string
    groups: Record<string, GroupSpec>
    status?: Deployment['Status']
    select?: string[]
    state: string
    /** Whether a promote of the selected groups would be applied now. */
    promotable?: boolean
    counts?: string
  }> = [
    {
      name: 'no canaries placed yet',
      groups: { web: { desired: 2 } },
      state: 'waiting',
      counts: 'web 0/2 healthy',
    },
    {
      name: 'placed, health not reported',
      groups: { web: { desired: 2, canaries: [N, N] } },
      state: 'waiting',
    },
    {
      name: 'one of two healthy',
      groups: { web: { desired: 2, canaries: [H, N] } },
      state: 'waiting',
      counts: 'web 1/2 healthy',
    },
    {
      name: 'all healthy',
      groups: { web: { desired: 2, canaries: [H, H] } },
      state: 'promotable',
      counts: 'web 2/2 healthy',
    },
    {
      name: 'more healthy than desired (a replacement)',
      groups: { web: { desired: 1, canaries: [H, H] } },
      state: 'promotable',
    },
    {
      name: 'healthy canary later failed (terminal) does not count',
      groups: { web: { desired: 2, canaries: [H, { health: true, client: 'failed' }] } },
      state: 'waiting',
      counts: 'web 1/2 healthy (1 stopped)',
    },
    {
      name: 'healthy canary being stopped does not count',
      groups: { web: { desired: 1, canaries: [{ health: true, desired: 'stop' }] } },
      state: 'waiting',
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
      state: 'waiting',
    },
    {
      name: 'HealthyAllocs counter is ignored',
      groups: {
        web: { desired: 2, canaries: [H, { health: true, client: 'failed' }], healthyAllocs: 2 },
      },
      state: 'waiting',
    },
    {
      name: 'canary listed but not in alloc list',
      groups: { web: { desired: 1, canaries: [{ health: true, missing: true }] } },
      state: 'waiting',
    },
    {
      name: 'unhealthy canary',
      groups: { web: { desired: 2, canaries: [H, U] } },
      state: 'unhealthy',
      counts: 'web 1/2 healthy (1 unhealthy)',
    },
    {
      // The server ignores unhealthy canaries when enough others are healthy.
      name: 'an unhealthy canary and enough healthy ones (its replacement) are promotable',
      groups: { web: { desired: 1, canaries: [U, H] } },
      state: 'promotable',
      counts: 'web 1/1 healthy (1 unhealthy)',
    },
    {
      name: 'two groups, one waiting',
      groups: { web: { desired: 2, canaries: [H, H] }, api: { desired: 1, canaries: [N] } },
      state: 'waiting',
      counts: 'api 0/1 healthy, web 2/2 healthy',
    },
    {
      name: 'two groups, only the ready one selected',
      groups: { web: { desired: 2, canaries: [H, H] }, api: { desired: 1, canaries: [N] } },
      select: ['web'],
      state: 'promotable',
    },
    {
      name: 'unhealthy canary in an unselected group is ignored',
      groups: { web: { desired: 1, canaries: [H] }, api: { desired: 1, canaries: [U] } },
      select: ['web'],
      state: 'promotable',
    },
    {
      name: 'groups without canaries are not selected by default',
      groups: { web: { desired: 1, canaries: [H] }, batch: { desired: 0 } },
      state: 'promotable',
      counts: 'web 1/1 healthy',
    },
    {
      name: 'already promoted',
      groups: { web: { desired: 2, promoted: true, canaries: [H, H] } },
      state: 'promoted',
      promotable: true,
    },
    {
      name: 'one of two groups promoted, other ready',
      groups: {
        web: { desired: 1, promoted: true, canaries: [H] },
        api: { desired: 1, canaries: [H] },
      },
      state: 'promotable',
    },
    {
      // The server re-checks promoted groups: All:true would be refused.
      name: 'a promoted group that lost its healthy canary fails the rule for the others too',
      groups: {
        web: { desired: 1, promoted: true, canaries: [{ health: true, client: 'failed' }] },
        api: { desired: 1, canaries: [H] },
      },
      state: 'waiting',
      promotable: false,
    },
    {
      name: 'Canary cleared by the promotion does not change the counts',
      groups: {
        web: {
          desired: 2,
          promoted: true,
          canaries: [
            { health: true, canary: false },
            { health: true, canary: false },
          ],
        },
      },
      state: 'promoted',
      counts: 'web 2/2 healthy (promoted)',
    },
    {
      name: 'failed deployment',
      groups: { web: { desired: 1, canaries: [H] } },
      status: 'failed',
      state: 'terminal',
    },
    {
      name: 'cancelled deployment',
      groups: { web: { desired: 1, canaries: [N] } },
      status: 'cancelled',
      state: 'terminal',
    },
    {
      name: 'successful deployment',
      groups: { web: { desired: 1, promoted: true, canaries: [H] } },
      status: 'successful',
      state: 'terminal',
    },
    {
      name: 'paused deployment with healthy canaries is promotable',
      groups: { web: { desired: 1, canaries: [H] } },
      status: 'paused',
      state: 'promotable',
    },
    {
      name: 'no group has canaries',
      groups: { web: { desired: 0 } },
      state: 'promotable',
      counts: 'no groups with canaries',
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const { d, allocs } = build(c.groups, c.status)
      const r = evaluate(d, allocs, selectGroups(d, c.select ?? []))
      expect(state(r)).toBe(c.state)
      if (c.promotable !== undefined) expect(r.promotable).toBe(c.promotable)
      if (c.counts) expect(describeGroups(r.groups)).toBe(c.counts)
    })
  }

  it('reports per-group counts and the unhealthy alloc IDs', () => {
    const { d, allocs } = build({
      web: {
        desired: 4,
        canaries: [H, U, N, { health: null, client: 'pending' }, { health: true, client: 'lost' }],
      },
    })
    const r = evaluate(d, allocs, ['web'])
    expect(r.groups).toEqual([
      {
        name: 'web',
        desiredCanaries: 4,
        placedCanaries: 5,
        healthyCanaries: 1,
        unhealthyCanaries: 1,
        promoted: false,
        pending: 1,
        awaitingHealth: 1,
        stopped: 1,
      },
    ])
    expect(r.unhealthyAllocs).toEqual(['web-1'])
    expect(describeProgress(r.groups)).toBe(
      'web: 1/4 healthy, 1 unhealthy, 1 running with no health yet, 1 placed, not started yet, 1 stopped, 1 to be placed',
    )
  })

  it('says which groups wait for placement', () => {
    const { d, allocs } = build({ web: { desired: 2, canaries: [H, N] }, api: { desired: 1 } })
    expect(describeProgress(evaluate(d, allocs, ['api', 'web']).groups)).toBe(
      'api: waiting for placement; web: 1/2 healthy, 1 running with no health yet',
    )
  })

  it('finds given groups the deployment does not have', () => {
    const { d } = build({ web: { desired: 1 } })
    expect(unknownGroups(d, ['web', 'nope'])).toEqual(['nope'])
    expect(selectGroups(d, ['web'])).toEqual(['web'])
  })

  it('sees a deployment read before its promotion (allocations newer than it)', () => {
    const { d, allocs } = build({
      web: { desired: 1, canaries: [{ health: true, canary: false }] },
    })
    expect(evaluate(d, allocs, ['web']).behind).toBe(true)
    const fresh = build({
      web: { desired: 1, promoted: true, canaries: [{ health: true, canary: false }] },
    })
    expect(evaluate(fresh.d, fresh.allocs, ['web']).behind).toBe(false)
  })
})

describe('autoPromotes: deploymentwatcher autoPromoteDeployment', () => {
  const cases: Array<{
    name: string
    groups: Record<string, GroupSpec>
    status?: Deployment['Status']
    will: boolean
  }> = [
    {
      name: 'every canary group auto_promote, exactly desired healthy',
      groups: { web: { desired: 2, autoPromote: true, canaries: [H, H] } },
      will: true,
    },
    {
      name: 'not yet healthy',
      groups: { web: { desired: 2, autoPromote: true, canaries: [H, N] } },
      will: false,
    },
    {
      name: 'one canary group without auto_promote holds the whole deployment',
      groups: {
        web: { desired: 1, autoPromote: true, canaries: [H] },
        api: { desired: 1, canaries: [H] },
      },
      will: false,
    },
    {
      name: 'groups without canaries do not need auto_promote',
      groups: { web: { desired: 1, autoPromote: true, canaries: [H] }, batch: { desired: 0 } },
      will: true,
    },
    {
      name: 'more healthy than desired: the watcher wants exactly DesiredCanaries',
      groups: { web: { desired: 1, autoPromote: true, canaries: [H, H] } },
      will: false,
    },
    {
      name: 'a terminal healthy canary still counts for the watcher',
      groups: {
        web: { desired: 1, autoPromote: true, canaries: [{ health: true, client: 'failed' }] },
      },
      will: true,
    },
    {
      name: 'paused: no auto promotion',
      groups: { web: { desired: 1, autoPromote: true, canaries: [H] } },
      status: 'paused',
      will: false,
    },
    {
      name: 'already promoted',
      groups: { web: { desired: 1, autoPromote: true, promoted: true, canaries: [H] } },
      will: false,
    },
    { name: 'no canaries placed', groups: { web: { desired: 1, autoPromote: true } }, will: false },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const { d, allocs } = build(c.groups, c.status)
      expect(autoPromotes(d, allocs)).toBe(c.will)
    })
  }
})

describe('evaluate: what else it reads', () => {
  it('a selected group the deployment does not have: no canaries, not promoted', () => {
    const { d, allocs } = build({ web: { desired: 1, canaries: [H] } })
    const r = evaluate(d, allocs, ['nope'])
    expect(r.groups).toEqual([
      {
        name: 'nope',
        desiredCanaries: 0,
        placedCanaries: 0,
        healthyCanaries: 0,
        unhealthyCanaries: 0,
        promoted: false,
        pending: 0,
        awaitingHealth: 0,
        stopped: 0,
      },
    ])
    expect(r.promoted).toBe(false)
  })

  it('promoted: every selected group that has canaries, whatever the groups without', () => {
    const { d, allocs } = build({
      web: { desired: 1, promoted: true, canaries: [{ health: true, canary: false }] },
      batch: { desired: 0 },
    })
    expect(evaluate(d, allocs, ['batch', 'web']).promoted).toBe(true)
  })

  it('a canary not yet promoted is not a sign of a stale deployment', () => {
    const { d, allocs } = build({
      web: { desired: 2, canaries: [H, { health: true, canary: true }] },
    })
    expect(evaluate(d, allocs, ['web']).behind).toBe(false)
  })

  it('reads the allocations as a Map as well as a list', () => {
    const { d, allocs } = build({ web: { desired: 2, canaries: [H, U] } })
    const byId = new Map(allocs.map((a) => [a.ID, a]))
    expect(evaluate(d, byId, ['web'])).toEqual(evaluate(d, allocs, ['web']))
    expect(evaluate(d, byId, ['web']).groups[0]!.healthyCanaries).toBe(1)
  })
})

describe('describeProgress: each state in plain words', () => {
  it('a group without canaries, a passing group, a promoted one', () => {
    const { d, allocs } = build({
      batch: { desired: 0 },
      web: { desired: 2, canaries: [H, H] },
      api: { desired: 1, promoted: true, canaries: [{ health: true, canary: false }] },
    })
    expect(describeProgress(evaluate(d, allocs, ['batch', 'web', 'api']).groups)).toBe(
      'batch: no canaries; web: 2/2 healthy; api: 1/1 healthy, promoted',
    )
  })
})

describe('autoPromotes: the rest of the watcher rule', () => {
  it('nothing left to promote: the canary groups are promoted, a group without canaries is not', () => {
    const { d, allocs } = build({
      web: { desired: 1, autoPromote: true, promoted: true, canaries: [H] },
      batch: { desired: 0 },
    })
    expect(autoPromotes(d, allocs)).toBe(false)
  })

  it('a placed canary missing from the list, or without health yet, is not healthy', () => {
    const missing = build({
      web: { desired: 2, autoPromote: true, canaries: [H, { health: true, missing: true }] },
    })
    expect(autoPromotes(missing.d, missing.allocs)).toBe(false)
    // build() gives the first canary without health no DeploymentStatus at all.
    const fresh = build({ web: { desired: 2, autoPromote: true, canaries: [N, H] } })
    expect(fresh.allocs[0]!.DeploymentStatus).toBeNull()
    expect(autoPromotes(fresh.d, fresh.allocs)).toBe(false)
  })
})

describe('runningCanaries: health mode marks canaries once they all run', () => {
  it('the live canaries of every selected group, once each group has its DesiredCanaries running', () => {
    const { d, allocs } = build({
      web: { desired: 2, canaries: [N, N, { health: null, client: 'failed' }] },
      api: { desired: 1, canaries: [N] },
      batch: { desired: 0 },
    })
    const running = runningCanaries(d, allocs, ['web', 'api', 'batch'])
    expect(running?.map((a) => a.ID)).toEqual(['web-0', 'web-1', 'api-0'])
    expect(
      runningCanaries(d, new Map(allocs.map((a) => [a.ID, a])), ['api'])?.map((a) => a.ID),
    ).toEqual(['api-0'])
  })

  it('none until every selected group has enough canaries placed, alive and running', () => {
    const pending = build({
      web: { desired: 2, canaries: [N, { health: null, client: 'pending' }] },
    })
    expect(runningCanaries(pending.d, pending.allocs, ['web'])).toBeUndefined()
    const dead = build({ web: { desired: 2, canaries: [N, { health: null, client: 'lost' }] } })
    expect(runningCanaries(dead.d, dead.allocs, ['web'])).toBeUndefined()
    const stopping = build({
      web: { desired: 1, canaries: [{ health: null, desired: 'stop', client: 'complete' }] },
    })
    expect(runningCanaries(stopping.d, stopping.allocs, ['web'])).toBeUndefined()
    const missing = build({ web: { desired: 2, canaries: [N, { health: null, missing: true }] } })
    expect(runningCanaries(missing.d, missing.allocs, ['web'])).toBeUndefined()
    const unplaced = build({ web: { desired: 1, canaries: [N] }, api: { desired: 1 } })
    expect(runningCanaries(unplaced.d, unplaced.allocs, ['web', 'api'])).toBeUndefined()
    expect(runningCanaries(unplaced.d, unplaced.allocs, ['web'])?.map((a) => a.ID)).toEqual([
      'web-0',
    ])
  })

  it('a selected group the deployment does not have adds nothing', () => {
    const { d, allocs } = build({ web: { desired: 1, canaries: [N] } })
    expect(runningCanaries(d, allocs, ['web', 'nope'])?.map((a) => a.ID)).toEqual(['web-0'])
    expect(runningCanaries(d, allocs, [])).toEqual([])
  })
})

describe('describeProgress: many groups, so that a line stays a line', () => {
  /** `n` groups named g0, g1, ...: the first `waiting` with 0/1 healthy, the rest passing. */
  function groups(n: number, waiting: number) {
    const spec: Record<string, GroupSpec> = {}
    for (let i = 0; i < n; i++) spec[`g${i}`] = { desired: 1, canaries: [i < waiting ? N : H] }
    const { d, allocs } = build(spec)
    return evaluate(d, allocs, Object.keys(spec)).groups
  }

  it('five groups are each named', () => {
    expect(describeProgress(groups(5, 5))).toBe(
      'g0: 0/1 healthy, 1 running with no health yet; g1: 0/1 healthy, 1 running with no health yet; ' +
        'g2: 0/1 healthy, 1 running with no health yet; g3: 0/1 healthy, 1 running with no health yet; ' +
        'g4: 0/1 healthy, 1 running with no health yet',
    )
  })

  it('past five: how many pass, the first four waiting by name, and a count of the others', () => {
    expect(describeProgress(groups(8, 6))).toBe(
      '2/8 groups pass; g0: 0/1 healthy, 1 running with no health yet; g1: 0/1 healthy, 1 running with no health yet; ' +
        'g2: 0/1 healthy, 1 running with no health yet; g3: 0/1 healthy, 1 running with no health yet; ' +
        'and 2 more group(s) waiting',
    )
  })

  it('four waiting or fewer: all named, no count; none waiting: only how many pass', () => {
    expect(describeProgress(groups(6, 4))).toBe(
      '2/6 groups pass; g0: 0/1 healthy, 1 running with no health yet; g1: 0/1 healthy, 1 running with no health yet; ' +
        'g2: 0/1 healthy, 1 running with no health yet; g3: 0/1 healthy, 1 running with no health yet',
    )
    expect(describeProgress(groups(6, 1))).toBe(
      '5/6 groups pass; g0: 0/1 healthy, 1 running with no health yet',
    )
    expect(describeProgress(groups(6, 0))).toBe('6/6 groups pass')
  })

  it('a group without canaries counts as passing', () => {
    const { d, allocs } = build({
      a: { desired: 0 },
      b: { desired: 0 },
      c: { desired: 0 },
      d: { desired: 0 },
      e: { desired: 0 },
      f: { desired: 1, canaries: [N] },
    })
    expect(describeProgress(evaluate(d, allocs, ['a', 'b', 'c', 'd', 'e', 'f']).groups)).toBe(
      '5/6 groups pass; f: 0/1 healthy, 1 running with no health yet',
    )
  })
})

describe('describeProgress: what is still to be placed', () => {
  it('none when the group already has its healthy canaries, though some were lost', () => {
    const { d, allocs } = build({
      web: { desired: 2, canaries: [H, H, { health: null, client: 'lost' }] },
    })
    expect(describeProgress(evaluate(d, allocs, ['web']).groups)).toBe(
      'web: 2/2 healthy, 1 stopped',
    )
  })
})

describe('evaluate: behind, from any one group', () => {
  it('a promoted canary in one group of two makes the deployment as read behind', () => {
    const { d, allocs } = build({
      web: { desired: 1, canaries: [{ health: true, canary: false }] },
      api: { desired: 1, canaries: [H] },
    })
    expect(evaluate(d, allocs, ['web', 'api']).behind).toBe(true)
  })
})

describe('autoPromotes: placement', () => {
  it('not before a canary is placed, even when no group wants any', () => {
    const none = build({ web: { desired: 0, autoPromote: true } })
    expect(autoPromotes(none.d, none.allocs)).toBe(false)
  })

  it('not while a group has fewer canaries placed than it wants, healthy as they are', () => {
    const { d, allocs } = build({
      web: { desired: 2, autoPromote: true, canaries: [H] },
    })
    // The watcher counts placed healthy canaries; one of two wanted is not enough.
    expect(autoPromotes(d, allocs)).toBe(false)
    const placedLater = build({ web: { desired: 2, autoPromote: true, canaries: [H, H] } })
    expect(autoPromotes(placedLater.d, placedLater.allocs)).toBe(true)
  })

  it('every group with canaries must have auto_promote: healthy canaries alone are not enough', () => {
    const off = build({ web: { desired: 1, canaries: [H] } })
    expect(autoPromotes(off.d, off.allocs)).toBe(false)
    const mixed = build({
      web: { desired: 1, autoPromote: true, canaries: [H] },
      api: { desired: 1, canaries: [H] },
    })
    expect(autoPromotes(mixed.d, mixed.allocs)).toBe(false)
  })

  it('a group without canaries placed does not block it', () => {
    const { d, allocs } = build({
      web: { desired: 1, autoPromote: true, canaries: [H] },
      batch: { desired: 0 },
    })
    expect(d.TaskGroups.batch!.PlacedCanaries).toBeNull()
    expect(autoPromotes(d, allocs)).toBe(true)
  })
})

describe('runningCanaries: a group with nothing placed', () => {
  it('wants its DesiredCanaries all the same', () => {
    const { d, allocs } = build({ web: { desired: 1 } })
    expect(d.TaskGroups.web!.PlacedCanaries).toBeNull()
    expect(runningCanaries(d, allocs, ['web'])).toBeUndefined()
  })
})
