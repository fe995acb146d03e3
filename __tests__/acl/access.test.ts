// Permissions: a 403 names the capability the call needs (read-job; for a
// deployment write submit-job or Nomad 2.0's own one), and before the wait the
// gate warns once when the token's policies evidently cannot send the step's
// write. A guess never fails the step, and anything unknown is left unsaid.

import { afterEach, describe, expect, it } from 'vitest'

import { grantedIn, needFor } from '../../src/nomad/capabilities.js'
import { runScenario } from '../../sim/scenarios.js'
import { startSimulator, type AclOptions, type Simulator } from '../../sim/simulator.js'
import { startGate } from '../reliability/inprocess.js'

const POLICIES: AclOptions['policies'] = {
  reader: 'namespace "default" { policy = "read" }',
  promoter: 'namespace "default" { capabilities = ["read-job", "promote-deployment"] }',
  deployer: 'namespace "default" { capabilities = ["read-job", "submit-job"] }',
  healer: 'namespace "default" { capabilities = ["read-job", "set-alloc-health-deployment"] }',
  'other-ns': 'namespace "other" { policy = "write" }',
}

const TOKENS: AclOptions['tokens'] = {
  'reader-secret': { Policies: ['reader'], Name: 'ci reader' },
  'promoter-secret': { Policies: ['promoter'], Name: 'ci promoter' },
  'deployer-secret': { Policies: ['deployer'] },
  'healer-secret': { Policies: ['healer'] },
  'role-secret': { Policies: ['reader'], Roles: ['release'] },
  'admin-secret': { Type: 'management' },
  'elsewhere-secret': { Policies: ['other-ns'] },
}

const ACL: AclOptions = { policies: POLICIES, tokens: TOKENS, roles: { release: ['deployer'] } }

const sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()))
})

async function sim(acl: AclOptions | 'off' = ACL): Promise<Simulator> {
  const s = await startSimulator(acl === 'off' ? {} : { acl })
  sims.push(s)
  return s
}

const warnings = (lines: string[]) =>
  lines.filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length))

describe('a 403 names the capability', () => {
  it('a read: read-job in the namespace', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const { outcome } = await startGate({
      address: s.address,
      job: 'web',
      token: 'elsewhere-secret',
    }).done
    expect(outcome.result).toBe('error')
    expect(outcome.message).toMatch(
      /HTTP 403: Permission denied: to read, the token needs read-job in namespace "default" \(or it is missing or expired\)$/,
    )
  })

  it('a promote: submit-job or promote-deployment, after a warning at the start', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const { outcome, lines } = await startGate({
      address: s.address,
      job: 'web',
      token: 'reader-secret',
    }).done
    expect(outcome.result).toBe('error')
    expect(outcome.message).toContain(
      'Permission denied: to promote, the token needs submit-job or promote-deployment in namespace "default"',
    )
    expect(warnings(lines)).toEqual([
      'The token "ci reader" evidently cannot promote (needs submit-job or promote-deployment) in namespace "default": its policies (reader) grant none of these there, so Nomad will refuse the write with 403; waiting anyway',
    ])
    // The check has ended (and warned) before the write is tried, not after it.
    const paths = s.requests.map((r) => `${r.method} ${r.path}`)
    const lastAcl = paths.findLastIndex((p) => p.startsWith('GET /v1/acl/'))
    const put = paths.findIndex((p) => p.startsWith('PUT '))
    expect(lastAcl).toBeGreaterThanOrEqual(0)
    expect(put).toBeGreaterThan(lastAcl)
  })

  it("health mode: set-alloc-health-deployment, and on-failure's fail too", async () => {
    const s = await sim()
    runScenario(s, 'manual')
    const { outcome, lines } = await startGate({
      address: s.address,
      job: 'web',
      token: 'promoter-secret',
      mode: 'health',
      'healthy-allocs': 'canaries',
      'on-failure': 'fail',
    }).done
    expect(warnings(lines)).toEqual([
      'The token "ci promoter" evidently cannot set allocation health (needs submit-job or set-alloc-health-deployment), nor fail (needs submit-job or fail-deployment) in namespace "default": its policies (promoter) grant none of these there, so Nomad will refuse the write with 403; waiting anyway',
    ])
    expect(outcome.result).toBe('error')
    expect(outcome.message).toContain(
      'to set allocation health, the token needs submit-job or set-alloc-health-deployment in namespace "default"',
    )
  })
})

describe('no warning when the token can write, or when it cannot be known', () => {
  const cases: Array<[string, string | undefined, AclOptions | 'off', string]> = [
    ['promote-deployment alone (Nomad 2.0)', 'promoter-secret', ACL, 'promoted'],
    ['submit-job', 'deployer-secret', ACL, 'promoted'],
    ['a management token', 'admin-secret', ACL, 'promoted'],
    ['ACLs disabled', 'any-secret', 'off', 'promoted'],
    // Anonymous: the first read tells, and nothing is asked of the ACL endpoints.
    [
      'no token',
      undefined,
      { ...ACL, policies: { ...POLICIES, anonymous: POLICIES.reader } },
      'error',
    ],
    // Its role may grant what its policy does not: not a guess to make.
    ['a token with roles', 'role-secret', ACL, 'promoted'],
  ]
  for (const [name, token, acl, result] of cases) {
    it(name, async () => {
      const s = await sim(acl)
      runScenario(s, 'healthy')
      const { outcome, lines } = await startGate({
        address: s.address,
        job: 'web',
        ...(token ? { token } : {}),
      }).done
      expect(outcome.result).toBe(result)
      expect(warnings(lines)).toEqual([])
    })
  }

  it('wait mode sends no write: no check at all', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const { outcome, lines } = await startGate({
      address: s.address,
      job: 'web',
      token: 'reader-secret',
      mode: 'wait',
    }).done
    expect(outcome.result).toBe('promotable')
    expect(warnings(lines)).toEqual([])
    expect(s.requests.some((r) => r.path.startsWith('/v1/acl/'))).toBe(false)
  })

  it('a dry run sends no write: no check at all', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const { outcome, lines } = await startGate({
      address: s.address,
      job: 'web',
      token: 'reader-secret',
      'dry-run': 'true',
    }).done
    expect(outcome.result).toBe('would-promote')
    expect(warnings(lines)).toEqual([])
  })
})

describe('what a call needs, and what policies grant (acl/acl.go)', () => {
  it.each([
    ['GET', '/v1/deployment/abc', 'read-job'],
    ['GET', '/v1/event/stream', 'read-job'],
    ['PUT', '/v1/deployment/promote/abc', 'submit-job promote-deployment'],
    ['PUT', '/v1/deployment/pause/abc', 'submit-job pause-deployment'],
    ['PUT', '/v1/deployment/fail/abc', 'submit-job fail-deployment'],
    ['PUT', '/v1/deployment/allocation-health/abc', 'submit-job set-alloc-health-deployment'],
  ])('%s %s: %s', (method, path, caps) => {
    expect(needFor(method, path)?.anyOf.join(' ')).toBe(caps)
  })

  it('the ACL endpoints need no capability', () => {
    expect(needFor('GET', '/v1/acl/token/self')).toBeUndefined()
  })

  const rules = (Name: string, ...Capabilities: string[]) => ({ Name, Policy: '', Capabilities })

  it('the exact name first, else the closest glob; deny wins', () => {
    const r = [
      rules('prod-*', 'read-job', 'submit-job'),
      rules('prod-eu-*', 'read-job'),
      rules('*', 'list-jobs'),
      rules('dev', 'submit-job'),
      rules('dev', 'deny'),
      rules('dev', 'read-job'),
    ]
    expect([...grantedIn('prod-eu-1', r)]).toEqual(['read-job'])
    expect([...grantedIn('prod-us', r)]).toEqual(['read-job', 'submit-job'])
    expect([...grantedIn('staging', r)]).toEqual(['list-jobs'])
    expect([...grantedIn('dev', r)]).toEqual(['deny'])
    expect([...grantedIn('dev', r.slice(0, 3))]).toEqual(['list-jobs'])
  })
})
