// Generated rollouts: what one case is (a job's canary groups, the gate's
// inputs, and a history of what happens while the gate waits) and the
// fast-check arbitraries that generate them. The history is what real
// rollouts go through: the scheduler and the clients on the clock, health
// reports, crashes and their replacements, other actors (an operator's
// promote, pause, fail; a newer job version), and faults on reads and writes,
// some of them landing between the gate's read and its write.

import fc from 'fast-check'

export interface GroupCase {
  name: string
  canaries: number
  /** Non-canary allocations beyond the canaries. */
  extra: number
  autoPromote: boolean
  autoRevert: boolean
  /** 0: the deployment fails on the first unhealthy alloc (watcher shouldFailEarly). */
  progressDeadlineMs: number
  /** manual: only the history reports health; task_states: the client reports it after min_healthy_time. */
  healthCheck: 'manual' | 'task_states'
  /** How a failed canary is replaced: not at all, or once after a short delay. */
  reschedule: 'none' | 'once'
  /** What the simulated client does with the group's allocs when it reports health itself. */
  outcome: 'healthy' | 'crash' | 'stuck' | 'silent'
}

export type Mode = 'promote' | 'wait' | 'health' | 'fail' | 'pause' | 'resume'

export interface GateCase {
  mode: Mode
  /** id: deployment-id; job: the job's current version; version: job-version 1. */
  target: 'id' | 'job' | 'version'
  /** With a job target: the gate starts before the scheduler has made the deployment. */
  early: boolean
  /** Indexes of the groups to name in `groups`; empty: every group with canaries. */
  groups: number[]
  onFailure: 'none' | 'fail' | 'pause'
  onUnhealthyCanary: 'fail-fast' | 'wait-for-replacement'
  waitForCompletion: boolean
  soak: boolean
  dryRun: boolean
  /** health mode: which list gets `canaries`. */
  healthAs: 'healthy' | 'unhealthy'
  timeoutMs: number
}

export type Fault = '503' | 'no-leader' | 'reset' | 'drop-response' | 'slow' | 'index-backwards'

export type Step =
  /** Time passes: the scheduler, the clients and the deployment watcher act. */
  | { kind: 'advance'; ms: number }
  /** The client reports the health of one canary (`group`, `canary` index into PlacedCanaries). */
  | { kind: 'health'; group: number; canary: number; healthy: boolean }
  /** Several canaries' reports in one raft index. */
  | { kind: 'batch'; group: number; healthy: boolean }
  /** Every live canary of every group reports healthy, in one raft index. */
  | { kind: 'all-healthy' }
  /** A canary's task fails, or its node is lost. */
  | { kind: 'crash'; group: number; canary: number; status: 'failed' | 'lost' }
  /** Someone else acts on the deployment through the API. */
  | { kind: 'operator'; action: 'promote' | 'promote-first' | 'pause' | 'resume' | 'fail' }
  /** `nomad job run` of a newer version. */
  | { kind: 'newer' }
  /** The next matching requests fail. */
  | { kind: 'fault'; on: 'read' | 'write'; fault: Fault; count: number }
  /** Runs `step` when the gate's next write arrives, before Nomad handles it. */
  | { kind: 'at-write'; step: Exclude<Step, { kind: 'at-write' } | { kind: 'fault' }> }
  /** Blocking queries wake on unrelated changes from now on. */
  | { kind: 'spurious' }

export interface RolloutCase {
  seed: number
  groups: GroupCase[]
  gate: GateCase
  steps: Step[]
}

const NAMES = ['web', 'api', 'worker']

const group = (i: number): fc.Arbitrary<GroupCase> =>
  fc.record({
    name: fc.constant(NAMES[i]),
    canaries: fc.integer({ min: 1, max: 3 }),
    extra: fc.integer({ min: 0, max: 2 }),
    autoPromote: fc.boolean(),
    autoRevert: fc.boolean(),
    progressDeadlineMs: fc.constantFrom(0, 60_000, 60_000, 60_000),
    healthCheck: fc.constantFrom('manual', 'task_states'),
    reschedule: fc.constantFrom('none', 'once'),
    outcome: fc.constantFrom<GroupCase['outcome']>(
      ...([
        'healthy',
        'healthy',
        'healthy',
        'healthy',
        'healthy',
        'healthy',
        'crash',
        'stuck',
        'silent',
        'silent',
      ] as const),
    ),
  })

const groupsArb: fc.Arbitrary<GroupCase[]> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => group(i))))
  .chain((groups) =>
    // auto_promote only acts when every canary group has it: mostly all or none.
    fc
      .constantFrom('each', 'all', 'none')
      .map((how) =>
        how === 'each' ? groups : groups.map((g) => ({ ...g, autoPromote: how === 'all' })),
      ),
  )

const gateArb = (groups: number): fc.Arbitrary<GateCase> =>
  fc.record({
    mode: fc.constantFrom<Mode>(
      ...([
        'promote',
        'promote',
        'promote',
        'promote',
        'promote',
        'wait',
        'health',
        'fail',
        'pause',
        'resume',
      ] as const),
    ),
    target: fc.constantFrom('id', 'id', 'job', 'version'),
    early: fc.boolean(),
    groups: fc.oneof(
      { weight: 3, arbitrary: fc.constant<number[]>([]) },
      {
        weight: 1,
        arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: groups - 1 }), { minLength: 1 }),
      },
    ),
    onFailure: fc.constantFrom('none', 'fail', 'pause'),
    onUnhealthyCanary: fc.constantFrom('fail-fast', 'wait-for-replacement'),
    waitForCompletion: fc.boolean(),
    soak: fc.boolean(),
    dryRun: fc.constantFrom(false, false, false, false, true),
    healthAs: fc.constantFrom('healthy', 'healthy', 'unhealthy'),
    timeoutMs: fc.integer({ min: 150, max: 400 }),
  })

const index = fc.integer({ min: 0, max: 3 })

const plainStep = (
  groups: number,
): fc.Arbitrary<Exclude<Step, { kind: 'at-write' } | { kind: 'fault' }>> => {
  const g = fc.integer({ min: 0, max: groups - 1 })
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('advance'),
        ms: fc.constantFrom(200, 200, 200, 200, 500, 500, 500, 1_500, 1_500, 61_000),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('health'),
        group: g,
        canary: index,
        healthy: fc.constantFrom(true, true, true, false),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('batch'),
        group: g,
        healthy: fc.constantFrom(true, true, true, true, false),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('crash'),
        group: g,
        canary: index,
        status: fc.constantFrom('failed', 'lost'),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('operator'),
        action: fc.constantFrom('promote', 'promote-first', 'pause', 'resume', 'fail'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('all-healthy') }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('newer') }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('spurious') }) },
  ) as fc.Arbitrary<Exclude<Step, { kind: 'at-write' } | { kind: 'fault' }>>
}

const stepArb = (groups: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 10, arbitrary: plainStep(groups) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('fault'),
        on: fc.constantFrom('read', 'write'),
        fault: fc.constantFrom<Fault>(
          '503',
          'no-leader',
          'reset',
          'drop-response',
          'slow',
          'index-backwards',
        ),
        count: fc.integer({ min: 1, max: 2 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('at-write'), step: plainStep(groups) }) },
  ) as fc.Arbitrary<Step>

export const rolloutCase: fc.Arbitrary<RolloutCase> = groupsArb.chain((groups) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    groups: fc.constant(groups),
    gate: gateArb(groups.length),
    // Half the histories end with every canary healthy: the paths to a promotion.
    steps: fc
      .tuple(fc.array(stepArb(groups.length), { maxLength: 12 }), fc.boolean())
      .map(([steps, end]) => (end ? [...steps, { kind: 'all-healthy' } as const] : steps)),
  }),
)

/** The gate's inputs for a case, by their action.yml names. */
export function gateInputs(
  c: RolloutCase,
  address: string,
  deploymentId?: string,
): Record<string, string> {
  const g = c.gate
  const inputs: Record<string, string> = {
    address,
    mode: g.mode,
    timeout: `${g.timeoutMs}ms`,
    'on-failure': g.onFailure,
    'on-unhealthy-canary': g.onUnhealthyCanary,
  }
  if (g.target === 'id' && deploymentId) inputs['deployment-id'] = deploymentId
  else inputs.job = 'web'
  if (g.target === 'version') inputs['job-version'] = '1'
  const named = g.groups.map((i) => c.groups[i]?.name).filter((n): n is string => !!n)
  if (named.length && (g.mode === 'promote' || g.mode === 'wait' || g.mode === 'health'))
    inputs.groups = named.join(',')
  if (g.mode === 'promote' && g.waitForCompletion) inputs['wait-for-completion'] = 'true'
  if ((g.mode === 'promote' || g.mode === 'wait') && g.soak) inputs.soak = '30ms'
  if (g.dryRun) inputs['dry-run'] = 'true'
  if (g.mode === 'health')
    inputs[g.healthAs === 'healthy' ? 'healthy-allocs' : 'unhealthy-allocs'] = 'canaries'
  return inputs
}
