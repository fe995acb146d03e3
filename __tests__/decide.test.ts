// The per-mode decisions as a table: what the gate does next for each
// readiness, phase and policy. Each row is one situation a rollout can be in.

import { describe, expect, it } from 'vitest'
import {
  decide,
  timeoutVerdict,
  type Phase,
  type Policy,
  type Situation,
  type Step,
} from '../src/gate/decide.js'
import type { GroupReadiness, Readiness } from '../src/gate/readiness.js'
import type { Deployment } from '../src/nomad/types.js'

function group(
  name: string,
  healthy: number,
  desired: number,
  extra: Partial<GroupReadiness> = {},
): GroupReadiness {
  return {
    name,
    desiredCanaries: desired,
    placedCanaries: desired,
    healthyCanaries: healthy,
    unhealthyCanaries: 0,
    promoted: false,
    pending: 0,
    awaitingHealth: desired - healthy,
    stopped: 0,
    ...extra,
  }
}

const WAITING: Readiness = {
  groups: [group('web', 1, 2)],
  terminal: false,
  promotable: false,
  promoted: false,
  unhealthyAllocs: [],
  autoPromotes: false,
  behind: false,
}
const READY: Readiness = { ...WAITING, groups: [group('web', 2, 2)], promotable: true }
const UNHEALTHY: Readiness = {
  ...WAITING,
  groups: [group('web', 1, 2, { unhealthyCanaries: 1, awaitingHealth: 0 })],
  unhealthyAllocs: ['3c99d4c7-aaaa-bbbb-cccc-dddddddddddd'],
}
const PROMOTED: Readiness = {
  ...READY,
  groups: [group('web', 2, 2, { promoted: true })],
  promoted: true,
}

const RUNNING: Situation['deployment'] = {
  ID: '5e7f2a1c-0000-4000-8000-000000000000',
  Status: 'running',
  StatusDescription: 'Deployment is running but requires manual promotion',
}

function at(
  readiness: Readiness,
  extra: Partial<Situation> & { status?: Deployment['Status']; description?: string } = {},
): Situation {
  const { status, description, ...rest } = extra
  return {
    readiness:
      status && status !== 'running' && status !== 'paused'
        ? { ...readiness, terminal: ['failed', 'successful', 'cancelled'].includes(status) }
        : readiness,
    deployment: {
      ...RUNNING,
      Status: status ?? 'running',
      StatusDescription: description ?? RUNNING.StatusDescription,
    },
    phase: 'gating',
    ...rest,
  }
}

const PROMOTE: Policy = {
  mode: 'promote',
  onFailure: 'none',
  onUnhealthyCanary: 'fail-fast',
  soak: false,
}

/** A step in one short line, so the table reads like the behaviour it pins. */
function show(step: Step): string {
  switch (step.kind) {
    case 'wait':
      return `wait${step.phase ? ` -> ${step.phase}` : ''}`
    case 'end':
      return `${step.verdict.result}${step.verdict.ok ? '' : ' (fails)'}${step.verdict.write ? ` + ${step.verdict.write}` : ''}`
    default:
      return step.kind
  }
}

describe('decide', () => {
  const rows: Array<[string, Situation, Partial<Policy>, string]> = [
    ['waiting for canaries', at(WAITING), {}, 'wait'],
    ['promotable: promote', at(READY), {}, 'promoted + promote'],
    ['promotable in wait mode: pass without a write', at(READY), { mode: 'wait' }, 'promotable'],
    ['promoted already: pass, no second promote', at(PROMOTED), {}, 'already-promoted'],
    ['promoted already in wait mode', at(PROMOTED), { mode: 'wait' }, 'already-promoted'],
    ['unhealthy, fail-fast: fail', at(UNHEALTHY), {}, 'unhealthy (fails)'],
    [
      'unhealthy, fail-fast, on-failure fail',
      at(UNHEALTHY),
      { onFailure: 'fail' },
      'unhealthy (fails) + fail',
    ],
    [
      'unhealthy, fail-fast, on-failure pause',
      at(UNHEALTHY),
      { onFailure: 'pause' },
      'unhealthy (fails) + pause',
    ],
    [
      'unhealthy, wait-for-replacement: keep waiting',
      at(UNHEALTHY),
      { onUnhealthyCanary: 'wait-for-replacement', onFailure: 'fail' },
      'wait',
    ],
    [
      'unhealthy but enough healthy (replaced): the server would promote',
      at({ ...READY, unhealthyAllocs: ['x'] }),
      {},
      'promoted + promote',
    ],
    [
      'successful deployment: already promoted',
      at(PROMOTED, { status: 'successful' }),
      {},
      'already-promoted',
    ],
    [
      'failed deployment: fails, no on-failure write',
      at(READY, { status: 'failed' }),
      { onFailure: 'fail' },
      'deployment-failed (fails)',
    ],
    [
      'cancelled deployment',
      at(WAITING, { status: 'cancelled', description: 'Cancelled due to newer version of job' }),
      {},
      'deployment-failed (fails)',
    ],
    [
      'deployment read before its promotion: wait for the fresh one',
      at({ ...READY, behind: true }),
      {},
      'wait',
    ],
    ['auto_promote will promote: wait for Nomad', at({ ...READY, autoPromotes: true }), {}, 'wait'],
    [
      'auto_promote in wait mode: promotable now',
      at({ ...READY, autoPromotes: true }),
      { mode: 'wait' },
      'promotable',
    ],
    [
      'promote refused and nothing changed since: hold',
      at(READY, { promoteHeld: true }),
      {},
      'wait',
    ],
    ['soak: promotable starts the soak', at(READY), { soak: true }, 'soak'],
    ['soaking and still passing: wait', at(READY, { phase: 'soaking' }), { soak: true }, 'wait'],
    ['soaked: promote', at(READY, { phase: 'soaked' }), { soak: true }, 'promoted + promote'],
    [
      'soaked in wait mode: promotable',
      at(READY, { phase: 'soaked' }),
      { soak: true, mode: 'wait' },
      'promotable',
    ],
    [
      'soaking, a canary fails, fail-fast',
      at(UNHEALTHY, { phase: 'soaking' }),
      { soak: true, onFailure: 'pause' },
      'unhealthy (fails) + pause',
    ],
    [
      'soaking, a canary is lost (not unhealthy), fail-fast',
      at(WAITING, { phase: 'soaking' }),
      { soak: true },
      'unhealthy (fails)',
    ],
    [
      'soaking, a canary fails, wait-for-replacement: back to gating',
      at(UNHEALTHY, { phase: 'soaking' }),
      { soak: true, onUnhealthyCanary: 'wait-for-replacement' },
      'wait -> gating',
    ],
    [
      'soaking, promoted by someone else',
      at(PROMOTED, { phase: 'soaking' }),
      { soak: true },
      'already-promoted',
    ],
    ['health: canaries not running yet', at(WAITING), { mode: 'health' }, 'wait'],
    [
      'health: canaries running',
      at(WAITING, { canariesRunning: true }),
      { mode: 'health' },
      'set-health',
    ],
    [
      'health: deployment failed',
      at(WAITING, { status: 'failed', canariesRunning: true }),
      { mode: 'health' },
      'deployment-failed (fails)',
    ],
    [
      'completing: still running',
      at(PROMOTED, { phase: 'completing' }),
      { mode: 'promote' },
      'wait',
    ],
    [
      'completing: successful',
      at(PROMOTED, { phase: 'completing', status: 'successful' }),
      {},
      'promoted',
    ],
    [
      'completing: failed',
      at(PROMOTED, { phase: 'completing', status: 'failed' }),
      {},
      'deployment-failed (fails)',
    ],
  ]
  for (const [name, situation, policy, expected] of rows) {
    it(name, () => {
      expect(show(decide(situation, { ...PROMOTE, ...policy }))).toBe(expected)
    })
  }

  it('names the unhealthy canary and the counts', () => {
    const step = decide(at(UNHEALTHY), PROMOTE)
    expect(step.kind === 'end' && step.verdict.message).toBe(
      'Canary 3c99d4c7 reported unhealthy: web 1/2 healthy (1 unhealthy)',
    )
  })

  it('says why it waits, in plain words', () => {
    const step = decide(at(WAITING), PROMOTE)
    expect(step.kind === 'wait' && step.why).toBe('web: 1/2 healthy, 1 running with no health yet')
    const replacing = decide(at(UNHEALTHY), {
      ...PROMOTE,
      onUnhealthyCanary: 'wait-for-replacement',
    })
    expect(replacing.kind === 'wait' && replacing.why).toMatch(
      /^Canary 3c99d4c7 reported unhealthy; waiting for Nomad to replace it/,
    )
  })

  it('keeps how the step passed while it waits for completion', () => {
    const promotedAs = {
      result: 'already-promoted' as const,
      ok: true,
      message: 'Already promoted: web 2/2 healthy',
    }
    const step = decide(
      at(PROMOTED, { phase: 'completing', status: 'successful', promotedAs }),
      PROMOTE,
    )
    expect(step.kind === 'end' && step.verdict).toEqual({
      result: 'already-promoted',
      ok: true,
      message: 'Already promoted: web 2/2 healthy; deployment successful',
    })
  })
})

describe('timeoutVerdict', () => {
  const phases: Array<[Phase, Partial<Policy>, string | undefined]> = [
    ['gating', {}, undefined],
    ['gating', { onFailure: 'fail' }, 'fail'],
    ['soaking', { onFailure: 'pause' }, 'pause'],
    ['completing', { onFailure: 'fail' }, undefined],
  ]
  for (const [phase, policy, write] of phases) {
    it(`${phase}, on-failure ${policy.onFailure ?? 'none'}: ${write ?? 'no write'}`, () => {
      const promotedAs = { result: 'promoted' as const, ok: true, message: 'Promoted' }
      const v = timeoutVerdict(at(WAITING, { phase, promotedAs }), { ...PROMOTE, ...policy }, '10m')
      expect(v.result).toBe('timed-out')
      expect(v.ok).toBe(false)
      expect(v.write).toBe(write)
    })
  }

  it('says what the canaries were at the deadline', () => {
    expect(timeoutVerdict(at(WAITING), PROMOTE, '10m').message).toBe(
      'Timed out after 10m: web 1/2 healthy',
    )
  })
})

describe('what each step says: the outcome message and the waiting line', () => {
  const UNHEALTHY2: Readiness = {
    ...UNHEALTHY,
    groups: [group('web', 0, 2, { unhealthyCanaries: 2, awaitingHealth: 0 })],
    unhealthyAllocs: ['3c99d4c7-aaaa', '77aa01bc-bbbb'],
  }
  const said = (step: Step) =>
    step.kind === 'end' ? step.verdict.message : step.kind === 'wait' ? step.why : step.kind
  const rows: Array<[string, Situation, Partial<Policy>, string]> = [
    ['behind', at({ ...READY, behind: true }), {}, 'the deployment was promoted after it was read'],
    ['already promoted', at(PROMOTED), {}, 'Already promoted: web 2/2 healthy (promoted)'],
    [
      'promoted by someone else during the soak',
      at(PROMOTED, { phase: 'soaking' }),
      { soak: true },
      'Already promoted (by someone else during the soak): web 2/2 healthy (promoted)',
    ],
    [
      'two unhealthy canaries',
      at(UNHEALTHY2),
      {},
      'Canary 3c99d4c7, 77aa01bc reported unhealthy: web 0/2 healthy (2 unhealthy)',
    ],
    [
      'a canary fails during the soak',
      at(UNHEALTHY, { phase: 'soaking' }),
      { soak: true },
      'Canaries stopped passing during the soak (3c99d4c7 unhealthy): web 1/2 healthy (1 unhealthy)',
    ],
    [
      'a canary is lost during the soak',
      at(WAITING, { phase: 'soaking' }),
      { soak: true },
      'Canaries stopped passing during the soak: web 1/2 healthy',
    ],
    [
      'the soak is interrupted, waiting for a replacement',
      at(UNHEALTHY, { phase: 'soaking' }),
      { soak: true, onUnhealthyCanary: 'wait-for-replacement' },
      'Soak interrupted (3c99d4c7 unhealthy): web: 1/2 healthy, 1 unhealthy, 1 to be placed',
    ],
    [
      'the soak is interrupted by a lost canary',
      at(WAITING, { phase: 'soaking' }),
      { soak: true, onUnhealthyCanary: 'wait-for-replacement' },
      'Soak interrupted: web: 1/2 healthy, 1 running with no health yet',
    ],
    ['soaking', at(READY, { phase: 'soaking' }), { soak: true }, 'soaking'],
    ['promotable (wait)', at(READY), { mode: 'wait' }, 'Promotable: web 2/2 healthy'],
    [
      'auto_promote',
      at({ ...READY, autoPromotes: true }),
      {},
      'Canaries pass; Nomad promotes this deployment itself (auto_promote): web 2/2 healthy',
    ],
    [
      'promote held',
      at(READY, { promoteHeld: true }),
      {},
      'Nomad refused the promote; waiting for the canaries to change',
    ],
    ['promoted', at(READY), {}, 'Promoted: web 2/2 healthy'],
    [
      'completing, still running',
      at(PROMOTED, { phase: 'completing' }),
      {},
      'Waiting for the deployment to complete (running)',
    ],
    [
      'completing, successful, how the step passed unknown',
      at(PROMOTED, { phase: 'completing', status: 'successful' }),
      {},
      'Promoted; deployment successful',
    ],
    [
      'successful already',
      at(PROMOTED, { status: 'successful', description: 'Deployment completed successfully' }),
      {},
      'Deployment already successful: web 2/2 healthy (promoted)',
    ],
    [
      'failed',
      at(READY, { status: 'failed', description: 'Failed due to unhealthy allocations' }),
      {},
      'Deployment 5e7f2a1c is failed: "Failed due to unhealthy allocations"; web 2/2 healthy',
    ],
    [
      'superseded',
      at(WAITING, { status: 'cancelled', description: 'Cancelled due to newer version of job' }),
      {},
      'Deployment 5e7f2a1c is cancelled (superseded by a newer deployment of the job): "Cancelled due to newer version of job"; web 1/2 healthy',
    ],
  ]
  for (const [name, situation, policy, message] of rows) {
    it(name, () => {
      expect(said(decide(situation, { ...PROMOTE, ...policy }))).toBe(message)
    })
  }

  it('a promote completed after an unknown start passes as promoted', () => {
    const step = decide(at(PROMOTED, { phase: 'completing', status: 'successful' }), PROMOTE)
    expect(step.kind === 'end' && step.verdict).toEqual({
      result: 'promoted',
      ok: true,
      message: 'Promoted; deployment successful',
    })
  })

  it('a timeout while waiting for completion says how the step had passed', () => {
    const promotedAs = { result: 'promoted' as const, ok: true, message: 'Promoted' }
    const v = timeoutVerdict(at(PROMOTED, { phase: 'completing', promotedAs }), PROMOTE, '5m')
    expect(v.message).toBe(
      'promoted, but the deployment did not complete in time: Timed out after 5m: web 2/2 healthy (promoted)',
    )
  })
})
