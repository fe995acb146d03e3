// What the gate knows of its deployment (src/gate/view.ts): the indexes each
// answer moves, when the two sides count as one snapshot, the first promotion
// seen, and the per-group cache of readiness. The cache must never change an
// answer: after any sequence of reads and events, readiness() is what
// evaluate() says of the same state; and a change computes again only the
// groups it touches.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { evaluate, runningCanaries } from '../src/gate/readiness.js'
import { RolloutView } from '../src/gate/view.js'
import type { AllocView, Deployment, DeploymentState } from '../src/nomad/types.js'

function group(placed: string[], o: Partial<DeploymentState> = {}): DeploymentState {
  return {
    AutoRevert: false,
    AutoPromote: false,
    ProgressDeadline: 0,
    RequireProgressBy: '',
    Promoted: false,
    PlacedCanaries: placed.length ? placed : null,
    DesiredCanaries: 2,
    DesiredTotal: 3,
    PlacedAllocs: placed.length,
    HealthyAllocs: 0,
    UnhealthyAllocs: 0,
    ...o,
  }
}

function deployment(
  groups: Record<string, DeploymentState>,
  modifyIndex: number,
  status: Deployment['Status'] = 'running',
): Deployment {
  return {
    ID: '5e7f2a1c-0000-0000-0000-000000000000',
    Namespace: 'default',
    JobID: 'job',
    JobVersion: 1,
    JobModifyIndex: 1,
    JobSpecModifyIndex: 1,
    JobCreateIndex: 1,
    IsMultiregion: false,
    TaskGroups: groups,
    Status: status,
    StatusDescription: '',
    EvalPriority: 50,
    CreateIndex: 1,
    ModifyIndex: modifyIndex,
  }
}

function alloc(
  id: string,
  taskGroup: string,
  healthy: boolean | null,
  o: Partial<AllocView> = {},
): AllocView {
  return {
    ID: id,
    Name: `job.${taskGroup}[0]`,
    TaskGroup: taskGroup,
    DesiredStatus: 'run',
    ClientStatus: 'running',
    DeploymentStatus: { Healthy: healthy, Canary: true, Timestamp: '', ModifyIndex: 1 },
    ModifyIndex: 1,
    ...o,
  }
}

const TWO = () =>
  deployment(
    {
      web: group(['w1', 'w2']),
      api: group(['a1', 'a2']),
      batch: group([], { DesiredCanaries: 0 }),
    },
    10,
  )

describe('indexes', () => {
  it('a new view is as recent as the answer it was built from; the allocations are unread', () => {
    const v = new RolloutView(deployment({}, 4), 9, [])
    expect([v.deploymentIndex, v.lastIndex, v.allocsIndex, v.allocsRead]).toEqual([9, 9, 0, false])
  })

  it("the deployment's index is at least its ModifyIndex (a read by ID answers an older index)", () => {
    const v = new RolloutView(deployment({}, 4), 9, [])
    v.setDeployment(deployment({}, 12), 11)
    expect([v.deploymentIndex, v.lastIndex]).toEqual([12, 12])
    v.setDeployment(deployment({}, 12), 15)
    expect([v.deploymentIndex, v.lastIndex]).toEqual([15, 15])
  })

  it('lastIndex is the highest either side answered, and never goes down', () => {
    const v = new RolloutView(deployment({}, 4), 9, [])
    v.setAllocs([], 20)
    expect([v.allocsIndex, v.lastIndex, v.deploymentIndex]).toEqual([20, 20, 9])
    v.setDeployment(deployment({}, 5), 6)
    expect([v.deploymentIndex, v.lastIndex]).toEqual([6, 20])
    v.setAllocs([], 3)
    expect([v.allocsIndex, v.lastIndex]).toEqual([3, 20])
  })

  it('allocations read at index 0 still count as read', () => {
    const v = new RolloutView(deployment({}, 4), 9, [])
    v.setAllocs([], 0)
    expect([v.allocsIndex, v.allocsRead, v.lastIndex]).toEqual([1, true, 9])
  })

  it('current(): the event stream has delivered up to an index, on both sides, never lowering one', () => {
    const v = new RolloutView(deployment({}, 4), 9, [])
    v.setAllocs([], 14)
    v.current(12)
    expect([v.deploymentIndex, v.allocsIndex, v.lastIndex]).toEqual([12, 14, 14])
    v.current(30)
    expect([v.deploymentIndex, v.allocsIndex, v.lastIndex]).toEqual([30, 30, 30])
  })

  it('every change but an event allocation bumps the version (the follower bumps that one)', () => {
    const v = new RolloutView(TWO(), 10, ['web'])
    const seen = [v.version]
    v.setDeployment(TWO(), 11)
    seen.push(v.version)
    v.setAllocs([], 12)
    seen.push(v.version)
    v.current(13)
    seen.push(v.version)
    v.upsertAlloc(alloc('w1', 'web', true))
    seen.push(v.version)
    expect(seen).toEqual([0, 1, 2, 3, 3])
  })
})

describe('consistent: the two answers as one snapshot', () => {
  it('a view that does not follow the allocations is always consistent', () => {
    const v = new RolloutView(TWO(), 10, ['web'], false)
    expect(v.follows).toBe(false)
    expect(v.consistent).toBe(true)
  })

  // Generated counterexample (seed 689426): in mode fail the stream follows the
  // deployment alone; its events made the view say the allocations were read,
  // and the outputs gave every canary as not healthy.
  it('current() on a view that does not follow the allocations leaves them unread', () => {
    const v = new RolloutView(TWO(), 10, ['web'], false)
    v.current(14)
    expect(v.deploymentIndex).toBe(14)
    expect(v.allocsRead).toBe(false)
    expect(v.consistent).toBe(true)
  })

  it('both sides at the same index are consistent; apart, only once confirmed at this version', () => {
    const v = new RolloutView(TWO(), 10, ['web'])
    expect(v.consistent, 'deployment @10, allocations unread').toBe(false)
    v.setAllocs([], 11)
    expect(v.consistent, 'allocations @11, never confirmed').toBe(false)
    v.setAllocs([], 10)
    expect(v.consistent, 'both @10').toBe(true)
    v.setAllocs([], 12)
    expect(v.consistent, 'allocations @12').toBe(false)
    v.confirmed = v.version
    expect(v.consistent, 'confirmed').toBe(true)
    v.setDeployment(TWO(), 10)
    expect(v.consistent, 'a change since the confirmation').toBe(false)
  })
})

describe('promotedAt: the first answer showing every selected group with canaries promoted', () => {
  const promoted = (web: boolean, api: boolean, at: number) =>
    deployment(
      {
        web: group(['w1', 'w2'], { Promoted: web }),
        api: group(['a1', 'a2'], { Promoted: api }),
        batch: group([], { DesiredCanaries: 0 }),
      },
      at,
    )

  it('is set at that answer, and kept through later ones', () => {
    const v = new RolloutView(promoted(false, false, 10), 10, ['web', 'api', 'batch'])
    expect(v.promotedAt).toBeUndefined()
    v.setDeployment(promoted(true, false, 12), 12)
    expect(v.promotedAt, 'api not yet').toBeUndefined()
    v.setDeployment(promoted(true, true, 15), 15)
    expect(v.promotedAt).toBe(15)
    v.setDeployment(promoted(true, true, 19), 19)
    expect(v.promotedAt).toBe(15)
  })

  it('reads only the selected groups, and is set by the first answer too', () => {
    const v = new RolloutView(promoted(true, false, 8), 9, ['web'])
    expect(v.promotedAt).toBe(8)
  })

  it('never, when no selected group has canaries (or the group is not there)', () => {
    expect(new RolloutView(promoted(true, true, 8), 8, ['batch']).promotedAt).toBeUndefined()
    expect(new RolloutView(promoted(true, true, 8), 8, ['nope']).promotedAt).toBeUndefined()
    expect(new RolloutView(promoted(true, true, 8), 8, ['nope', 'web']).promotedAt).toBe(8)
  })
})

describe('readiness through the cache', () => {
  it('runningCanaries(): of the selected groups only', () => {
    const v = new RolloutView(TWO(), 10, ['web'])
    v.setAllocs([alloc('w1', 'web', null), alloc('w2', 'web', null), alloc('a1', 'api', null)], 11)
    expect(v.runningCanaries()?.map((a) => a.ID)).toEqual(['w1', 'w2'])
    expect(v.runningCanaries()).toEqual(runningCanaries(v.deployment, v.allocs, ['web']))
  })

  it('a change reads again the canaries of the groups it touches, and only those', () => {
    const v = new RolloutView(TWO(), 10, ['web', 'api'])
    v.setAllocs(
      ['w1', 'w2', 'a1', 'a2'].map((id) => alloc(id, id[0] === 'w' ? 'web' : 'api', null)),
      11,
    )
    const reads: string[] = []
    const get = v.allocs.get.bind(v.allocs)
    v.allocs.get = (id: string) => {
      reads.push(id)
      return get(id)
    }
    const readsOf = (change: () => void) => {
      change()
      reads.length = 0
      v.readiness()
      return [...reads].sort()
    }
    expect(
      readsOf(() => undefined),
      'first look: every selected group',
    ).toEqual(['a1', 'a2', 'w1', 'w2'])
    expect(
      readsOf(() => undefined),
      'nothing changed',
    ).toEqual([])
    expect(
      readsOf(() => v.upsertAlloc(alloc('w1', 'web', true))),
      'a web canary',
    ).toEqual(['w1', 'w2'])
    expect(
      readsOf(() => v.setDeployment(TWO(), 12)),
      'the same groups again',
    ).toEqual([])
    const d = TWO()
    d.TaskGroups.api = group(['a1', 'a2'], { Promoted: true })
    expect(
      readsOf(() => v.setDeployment(d, 13)),
      'api promoted',
    ).toEqual(['a1', 'a2'])
    const e = structuredClone(d)
    e.TaskGroups.web = group(['w1', 'w2', 'w3'])
    expect(
      readsOf(() => v.setDeployment(e, 14)),
      'a web canary placed',
    ).toEqual(['w1', 'w2', 'w3'])
    const f = structuredClone(e)
    f.TaskGroups.web!.DesiredCanaries = 3
    expect(
      readsOf(() => v.setDeployment(f, 15)),
      'web wants 3',
    ).toEqual(['w1', 'w2', 'w3'])
    expect(
      readsOf(() => v.current(16)),
      'no new state',
    ).toEqual([])
    expect(
      readsOf(() => v.setAllocs([...v.allocs.values()], 17)),
      'a full list',
    ).toEqual(['a1', 'a2', 'w1', 'w2', 'w3'])
  })

  // Any sequence of answers and events: the cached readiness is evaluate()'s.
  const ids = ['w1', 'w2', 'w3', 'a1', 'a2']
  const arbAlloc = fc.record({
    id: fc.constantFrom(...ids),
    healthy: fc.constantFrom<boolean | null>(true, false, null),
    client: fc.constantFrom<AllocView['ClientStatus']>('pending', 'running', 'failed', 'lost'),
    canary: fc.boolean(),
  })
  const toAlloc = (a: ArbAlloc): AllocView =>
    alloc(a.id, a.id[0] === 'w' ? 'web' : 'api', a.healthy, {
      ClientStatus: a.client,
      DeploymentStatus: { Healthy: a.healthy, Canary: a.canary, Timestamp: '', ModifyIndex: 1 },
    })
  const arbGroup = (names: string[]) =>
    fc.record({
      placed: fc.subarray(names),
      desired: fc.integer({ min: 0, max: 3 }),
      promoted: fc.boolean(),
      autoPromote: fc.boolean(),
    })
  const arbDeployment = fc.record({
    web: arbGroup(['w1', 'w2', 'w3']),
    // Absent at times: a group that is not (or no longer) in the deployment.
    api: fc.option(arbGroup(['a1', 'a2']), { nil: undefined }),
    status: fc.constantFrom<Deployment['Status']>('running', 'paused', 'successful'),
  })
  const toDeployment = (d: ArbDeployment, at: number) =>
    deployment(
      Object.fromEntries(
        (['web', 'api'] as const).flatMap((name) => {
          const g = d[name]
          if (!g) return []
          const state = group(g.placed, {
            DesiredCanaries: g.desired,
            Promoted: g.promoted,
            AutoPromote: g.autoPromote,
          })
          return [[name, state]]
        }),
      ),
      at,
      d.status,
    )
  type ArbAlloc = typeof arbAlloc extends fc.Arbitrary<infer T> ? T : never
  type ArbDeployment = typeof arbDeployment extends fc.Arbitrary<infer T> ? T : never
  const arbChange = fc.oneof(
    fc.record({ deployment: arbDeployment }),
    fc.record({ list: fc.array(arbAlloc, { maxLength: 6 }) }),
    fc.record({ event: arbAlloc }),
  )

  it('after any sequence of answers and events, readiness() is what evaluate() says of the same state', () => {
    fc.assert(
      fc.property(
        arbDeployment,
        fc.subarray(['web', 'api'], { minLength: 1 }),
        fc.array(arbChange, { maxLength: 12 }),
        (first, selected, changes) => {
          const v = new RolloutView(toDeployment(first, 1), 1, selected)
          let at = 1
          for (const c of changes) {
            at++
            if ('deployment' in c) v.setDeployment(toDeployment(c.deployment, at), at)
            else if ('list' in c) v.setAllocs(c.list.map(toAlloc), at)
            else v.upsertAlloc(toAlloc(c.event))
            expect(v.readiness()).toEqual(evaluate(v.deployment, [...v.allocs.values()], selected))
          }
        },
      ),
      // Fixed: the same cases on every run, so a mutation score does not move by chance.
      { seed: 17, numRuns: 400 },
    )
  })
})
