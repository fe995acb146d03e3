// The simulator's ACL model over HTTP: policies with namespace rules and
// capabilities (Nomad 2.0's fine-grained deployment ones too), tokens with
// policies, roles and an expiry, GET /v1/acl/token/self and
// GET /v1/acl/policy/:name, as nomad/acl_endpoint.go and acl/ answer them.

import { describe, expect, it } from 'vitest'

import { parsePolicy } from '../../sim/aclpolicy.js'
import { selectorMatches } from '../../sim/bexpr.js'
import type { AclOptions, SimAclPolicy, SimAclToken, Simulator } from '../../sim/simulator.js'
import { get, put, rollout, start, startManual } from './helpers.js'

const as = (token: string): RequestInit => ({ headers: { 'X-Nomad-Token': token } })

const POLICIES: AclOptions['policies'] = {
  reader: 'namespace "default" {\n  policy = "read"\n}\n',
  promoter: `# Nomad 2.0: promote without submit-job
namespace "default" {
  capabilities = ["read-job", "promote-deployment"]
}`,
  deployer: 'namespace "default" { capabilities = ["read-job", "submit-job"] }',
  'prod-glob': 'namespace "prod-*" { policy = "write" }',
  denied: 'namespace "default" { policy = "deny" }',
  anonymous: 'namespace "public" { policy = "read" }',
}

const TOKENS: AclOptions['tokens'] = {
  'reader-secret': { Policies: ['reader'], Name: 'ci reader' },
  'promoter-secret': { Policies: ['promoter'] },
  'deployer-secret': { Policies: ['deployer'] },
  'mixed-secret': { Policies: ['deployer', 'denied'] },
  'glob-secret': { Policies: ['prod-glob'] },
  'role-secret': { Roles: ['release'] },
  'admin-secret': { Type: 'management' },
  'simple-secret': { namespaces: ['default'], write: false },
}

const acl: AclOptions = { policies: POLICIES, tokens: TOKENS, roles: { release: ['deployer'] } }

const promote = (sim: Simulator, id: string, token: string) =>
  put(sim, `/v1/deployment/promote/${id}`, { DeploymentID: id, All: true }, as(token))
const fail = (sim: Simulator, id: string, token: string) =>
  put(sim, `/v1/deployment/fail/${id}`, undefined, as(token))

/** Every canary of the manual rollout healthy, so a promote passes. */
function ready(sim: Simulator): string {
  const { id, web, api } = rollout(sim)
  for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
  return id
}

describe('ACL policies', () => {
  it('grant reads with read-job and deployment writes with submit-job', async () => {
    const sim = await start({ acl })
    const id = ready(sim)
    expect((await get(sim, `/v1/deployment/${id}`, as('reader-secret'))).status).toBe(200)
    const refused = await promote(sim, id, 'reader-secret')
    expect([refused.status, refused.text]).toEqual([403, 'Permission denied'])
    expect((await promote(sim, id, 'deployer-secret')).status).toBe(200)
  })

  it("take Nomad 2.0's fine-grained capability for exactly its own write", async () => {
    const sim = await start({ acl })
    const id = ready(sim)
    // promote-deployment is not fail-deployment (nomad/deployment_endpoint.go Fail).
    expect((await fail(sim, id, 'promoter-secret')).status).toBe(403)
    const pause = await put(
      sim,
      `/v1/deployment/pause/${id}`,
      { DeploymentID: id, Pause: true },
      as('promoter-secret'),
    )
    expect(pause.status).toBe(403)
    expect((await promote(sim, id, 'promoter-secret')).status).toBe(200)
    expect(sim.deployment(id)!.TaskGroups.web.Promoted).toBe(true)
  })

  it('let deny win over any grant of another policy for the same namespace', async () => {
    const sim = await start({ acl })
    const id = ready(sim)
    expect((await get(sim, `/v1/deployment/${id}`, as('mixed-secret'))).status).toBe(403)
  })

  it('match a namespace by the closest glob, and only then', async () => {
    const sim = await start({ acl, namespaces: ['default', 'prod-eu'] })
    sim.registerJob({
      id: 'web',
      namespace: 'prod-eu',
      groups: [{ name: 'web', count: 1, canaries: 1 }],
    })
    expect((await get(sim, '/v1/job/web?namespace=prod-eu', as('glob-secret'))).status).toBe(200)
    expect((await get(sim, '/v1/job/web?namespace=default', as('glob-secret'))).status).toBe(403)
  })

  it('give a token the policies of its roles', async () => {
    const sim = await start({ acl })
    const id = ready(sim)
    expect((await promote(sim, id, 'role-secret')).status).toBe(200)
  })

  it('apply the anonymous policy to a request without a token', async () => {
    const sim = await start({ acl, namespaces: ['default', 'public'] })
    sim.registerJob({
      id: 'docs',
      namespace: 'public',
      groups: [{ name: 'web', count: 1, canaries: 0 }],
    })
    expect((await get(sim, '/v1/job/docs?namespace=public')).status).toBe(200)
    expect((await get(sim, '/v1/job/docs')).status).toBe(403)
  })

  it('keep the simple tokens working: read-only stays read-only', async () => {
    const sim = await start({ acl })
    const id = ready(sim)
    expect((await get(sim, `/v1/deployment/${id}`, as('simple-secret'))).status).toBe(200)
    expect((await promote(sim, id, 'simple-secret')).status).toBe(403)
  })

  it("parse rules as acl/policy.go does: shorthand expanded, bad values refused with Nomad's text", () => {
    const p = parsePolicy('namespace "default" { policy = "read" capabilities = ["submit-job"] }')
    expect(p.Namespaces[0].Capabilities).toEqual(
      expect.arrayContaining(['submit-job', 'read-job', 'list-jobs']),
    )
    expect(() => parsePolicy('namespace "default" { capabilities = ["promote"] }')).toThrow(
      /^Invalid namespace capability 'promote'/,
    )
    expect(() => parsePolicy('namespace "default" { policy = "admin" }')).toThrow(
      /^Invalid namespace policy/,
    )
    expect(() => parsePolicy('namespace "default" { policy = "read" ')).toThrow(
      /^Failed to parse ACL Policy/,
    )
  })
})

describe('GET /v1/acl/token/self', () => {
  it("answer the request's token, without its secret shown anywhere else", async () => {
    const sim = await start({ acl })
    const res = await get(sim, '/v1/acl/token/self', as('reader-secret'))
    expect(res.status).toBe(200)
    const t = res.json<SimAclToken>()
    expect(t).toMatchObject({
      SecretID: 'reader-secret',
      Name: 'ci reader',
      Type: 'client',
      Policies: ['reader'],
      ExpirationTime: null,
    })
    expect(t.AccessorID).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-nomad-index')).toBe(String(t.ModifyIndex))
  })

  it('answer the anonymous token without a secret; 403 for an unknown one', async () => {
    const sim = await start({ acl })
    expect((await get(sim, '/v1/acl/token/self')).json<SimAclToken>()).toMatchObject({
      AccessorID: 'anonymous',
      Policies: ['anonymous'],
    })
    const res = await get(sim, '/v1/acl/token/self', as('nope'))
    expect([res.status, res.text]).toEqual([403, 'Permission denied'])
  })

  it('refuse a token past its ExpirationTime: `ACL token expired` here, 403 everywhere else', async () => {
    const { sim, clock } = await startManual({
      acl: {
        ...acl,
        tokens: { short: { Policies: ['reader'], ExpirationTime: Date.UTC(2026, 0, 1, 0, 10) } },
      },
    })
    const id = ready(sim)
    expect((await get(sim, `/v1/deployment/${id}`, as('short'))).status).toBe(200)
    clock.advance(11 * 60_000)
    const self = await get(sim, '/v1/acl/token/self', as('short'))
    expect([self.status, self.text]).toEqual([500, 'ACL token expired'])
    const read = await get(sim, `/v1/deployment/${id}`, as('short'))
    expect([read.status, read.text]).toEqual([403, 'Permission denied'])
  })
})

describe('GET /v1/acl/policy/:name', () => {
  it('answer a policy to a token that holds it, with its rules and what they expand to', async () => {
    const sim = await start({ acl })
    const res = await get(sim, '/v1/acl/policy/promoter', as('promoter-secret'))
    expect(res.status).toBe(200)
    const p = res.json<SimAclPolicy>()
    expect(p.Name).toBe('promoter')
    expect(p.Rules).toBe(POLICIES.promoter)
    expect(p.RulesJSON.Namespaces).toEqual([
      {
        Name: 'default',
        Policy: '',
        Capabilities: ['read-job', 'promote-deployment'],
        Variables: null,
      },
    ])
    // Through a role too.
    expect((await get(sim, '/v1/acl/policy/deployer', as('role-secret'))).status).toBe(200)
  })

  it('refuse a policy the token does not hold (403); management reads any; 404 for none', async () => {
    const sim = await start({ acl })
    const res = await get(sim, '/v1/acl/policy/deployer', as('reader-secret'))
    expect([res.status, res.text]).toEqual([403, 'Permission denied'])
    expect((await get(sim, '/v1/acl/policy/deployer', as('admin-secret'))).status).toBe(200)
    const none = await get(sim, '/v1/acl/policy/nope', as('admin-secret'))
    expect([none.status, none.text]).toEqual([404, 'ACL policy not found'])
    expect((await get(sim, '/v1/acl/policy/anonymous')).status).toBe(200)
  })

  it('answer 400 `ACL support disabled` without ACLs', async () => {
    const sim = await start()
    const res = await get(sim, '/v1/acl/policy/reader')
    expect([res.status, res.text]).toEqual([400, 'ACL support disabled'])
  })
})

describe('binding rule selectors (go-bexpr)', () => {
  const data = {
    value: { repository: 'octo-org/web', environment: 'production' },
    list: { groups: ['deploy', 'ops'] },
  }

  it.each([
    ['value.repository == "octo-org/web"', true],
    ['value.repository == "octo-org/api"', false],
    ['value.repository == "octo-org/web" and value.environment == "production"', true],
    ['value.repository == "octo-org/web" and value.environment == "staging"', false],
    ['value.environment == "staging" or value.environment == "production"', true],
    ['not (value.environment == "staging")', true],
    ['value.environment != "production"', false],
    ['"ops" in list.groups', true],
    ['"admin" not in list.groups', true],
    ['list.groups contains "deploy"', true],
    ['value.repository matches "^octo-org/"', true],
    ['value.ref == "refs/heads/main"', false],
    ['value.ref != "refs/heads/main"', true],
    ['value.repository ==', false],
    ['', true],
  ])('%s: %s', (selector, expected) => {
    expect(selectorMatches(selector, data)).toBe(expected)
  })
})
