// The simulator's JWT auth method over HTTP (POST /v1/acl/login, as
// nomad/acl_endpoint.go Login with lib/auth/jwt and hashicorp/cap's
// validator): real tokens signed with keys generated here (node:crypto, RS256
// and ES256), keys from a JWKS served on loopback or from a PEM; each wrong
// claim refused with Nomad's text; the token that comes back is bound to the
// policies its claims select, works, and expires after the method's TTL.

import { afterEach, describe, expect, it } from 'vitest'

import { githubAuthMethod, newKeyPair, OidcIssuer, type IssuerOptions } from '../../sim/oidc.js'
import type {
  AclOptions,
  AuthMethodSpec,
  SimAclToken,
  Simulator,
  SimulatorOptions,
} from '../../sim/simulator.js'
import { ManualClock } from '../../sim/simulator.js'
import { call, get, put, rollout, start } from './helpers.js'

const issuers: OidcIssuer[] = []
afterEach(async () => {
  await Promise.all(issuers.splice(0).map((i) => i.stop()))
})

async function issuer(options: IssuerOptions = {}): Promise<OidcIssuer> {
  const i = await OidcIssuer.start(options)
  issuers.push(i)
  return i
}

/** GitHub's issuer with a `repository`/`environment` binding to policy `deploy-web`. */
function githubAcl(i: OidcIssuer, config: Partial<AuthMethodSpec['Config']> = {}): AclOptions {
  return {
    policies: {
      'deploy-web': 'namespace "default" { capabilities = ["read-job", "submit-job"] }',
      'read-web': 'namespace "default" { policy = "read" }',
    },
    authMethods: [
      githubAuthMethod(i, {
        Config: {
          ClaimMappings: { repository: 'repository', environment: 'environment', ref: 'ref' },
          ...config,
        },
      }),
    ],
    bindingRules: [
      {
        AuthMethod: 'github',
        BindType: 'policy',
        BindName: 'deploy-web',
        Selector: 'value.repository == "octo-org/web" and value.environment == "production"',
      },
    ],
  }
}

const login = (sim: Simulator, body: unknown, init?: RequestInit) =>
  call(sim, 'POST', '/v1/acl/login', body, init)

const loginAs = (sim: Simulator, jwt: string, method = 'github') =>
  login(sim, { AuthMethodName: method, LoginToken: jwt })

async function simWith(i: OidcIssuer, options: SimulatorOptions = {}): Promise<Simulator> {
  return start({ acl: githubAcl(i), ...options })
}

/** The text a refused login answers, with its status. */
async function refusal(sim: Simulator, jwt: string): Promise<[number, string]> {
  const res = await loginAs(sim, jwt)
  return [res.status, res.text]
}

const invalid = (why: string) => `unable to validate provided token: ${why}`
const unverified = (why: string) => invalid(`unable to verify signature of JWT token: ${why}`)

describe('POST /v1/acl/login', () => {
  it('exchanges a GitHub-like ID token for a token bound to the policy its claims select', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    const before = sim.index()
    const res = await loginAs(sim, i.idToken('nomad'))
    expect(res.status).toBe(200)
    const t = res.json<SimAclToken>()
    expect(t).toMatchObject({
      Name: 'JWT-github',
      Type: 'client',
      Policies: ['deploy-web'],
      Roles: null,
      Global: false,
      ExpirationTTL: 600e9,
    })
    expect(t.SecretID).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(t.ExpirationTime!) - Date.parse(t.CreateTime)).toBe(600_000)
    // A raft write: the answer's index is the token's.
    expect(t.CreateIndex).toBe(before + 1)
    expect(res.headers.get('x-nomad-index')).toBe(String(t.CreateIndex))
    // The new token reads and writes what its policy allows.
    const self = await get(sim, '/v1/acl/token/self', { headers: { 'X-Nomad-Token': t.SecretID } })
    expect(self.json<SimAclToken>().AccessorID).toBe(t.AccessorID)
    const { id, web, api } = rollout(sim)
    for (const a of [...web, ...api]) sim.setAllocHealth(a, true)
    const promoted = await put(
      sim,
      `/v1/deployment/promote/${id}`,
      { DeploymentID: id, All: true },
      { headers: { 'X-Nomad-Token': t.SecretID } },
    )
    expect(promoted.status).toBe(200)
  })

  it('takes PUT as the Go client sends it, and refuses GET with 405', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    const body = { AuthMethodName: 'github', LoginToken: i.idToken('nomad') }
    expect((await call(sim, 'PUT', '/v1/acl/login', body)).status).toBe(200)
    const res = await get(sim, '/v1/acl/login')
    expect([res.status, res.text]).toEqual([405, 'Invalid method'])
  })

  it('verifies ES256 against a PEM public key when SigningAlgs allows it, and only then', async () => {
    const i = await issuer({ alg: 'ES256' })
    const keyed = { JWKSURL: undefined, JWTValidationPubKeys: [i.publicKeyPem] }
    const sim = await start({ acl: githubAcl(i, { ...keyed, SigningAlgs: ['ES256'] }) })
    expect((await loginAs(sim, i.idToken('nomad'))).status).toBe(200)
    // cap's default is RS256 only.
    const strict = await start({ acl: githubAcl(i, keyed) })
    expect(await refusal(strict, i.idToken('nomad'))).toEqual([
      401,
      unverified(
        'invalid algorithm (alg) header parameter: token signed with unexpected algorithm',
      ),
    ])
  })

  it('expires the token after MaxTokenTTL: refused from then on', async () => {
    const clock = new ManualClock()
    const i = await issuer({ now: () => clock.now() })
    const sim = await start({ clock, acl: githubAcl(i) })
    const t = (await loginAs(sim, i.idToken('nomad'))).json<SimAclToken>()
    const as = { headers: { 'X-Nomad-Token': t.SecretID } }
    expect((await get(sim, '/v1/job/web/deployment', as)).status).toBe(200)
    clock.advance(9 * 60_000)
    expect((await get(sim, '/v1/job/web/deployment', as)).status).toBe(200)
    clock.advance(2 * 60_000)
    const refused = await get(sim, '/v1/job/web/deployment', as)
    expect([refused.status, refused.text]).toEqual([403, 'Permission denied'])
    expect((await get(sim, '/v1/acl/token/self', as)).text).toBe('ACL token expired')
  })
})

describe('a login refused', () => {
  it('for an audience not in BoundAudiences', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    expect(await refusal(sim, i.idToken('sts.amazonaws.com'))).toEqual([
      401,
      unverified(
        'invalid audience (aud) claim: audience claim does not match any expected audience',
      ),
    ])
    // GitHub's default audience (the owner's URL) is not `nomad` either.
    expect((await refusal(sim, i.idToken()))[0]).toBe(401)
  })

  it('for an issuer not in BoundIssuer, and for a token without one', async () => {
    const i = await issuer({ issuer: 'https://gitlab.example.com' })
    const sim = await simWith(i)
    expect(await refusal(sim, i.idToken('nomad'))).toEqual([
      401,
      invalid('invalid JWT issuer: https://gitlab.example.com'),
    ])
    expect(await refusal(sim, i.idToken('nomad', { iss: undefined }))).toEqual([
      401,
      invalid(
        'auth method specifies BoundIssuers but the provided token does not contain issuer information',
      ),
    ])
  })

  it('for an expired token, past the 60 s of clock skew leeway; not within it', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    const now = Math.floor(Date.now() / 1000)
    const expired = i.idToken('nomad', { iat: now - 600, nbf: now - 600, exp: now - 90 })
    expect(await refusal(sim, expired)).toEqual([
      401,
      unverified('invalid expiration time (exp) claim: token is expired'),
    ])
    const justExpired = i.idToken('nomad', { iat: now - 600, nbf: now - 600, exp: now - 20 })
    expect((await loginAs(sim, justExpired)).status).toBe(200)
  })

  it('for a token not valid yet, or with no time claim at all', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    const now = Math.floor(Date.now() / 1000)
    const early = i.idToken('nomad', { nbf: now + 600, iat: now + 600, exp: now + 900 })
    expect(await refusal(sim, early)).toEqual([
      401,
      unverified('invalid not before (nbf) claim: token not yet valid'),
    ])
    const timeless = i.idToken('nomad', { nbf: undefined, iat: undefined, exp: undefined })
    expect(await refusal(sim, timeless)).toEqual([
      401,
      unverified('no issued at (iat), not before (nbf), or expiration time (exp) claims in token'),
    ])
  })

  it('for a signature by another key, with a JWKS and with a PEM key', async () => {
    const i = await issuer()
    const { privateKey } = newKeyPair('RS256')
    const forged = i.mint(
      JSON.parse(Buffer.from(i.idToken('nomad').split('.')[1], 'base64url').toString()),
      {
        key: privateKey,
      },
    )
    const sim = await simWith(i)
    expect(await refusal(sim, forged)).toEqual([
      401,
      unverified('error verifying token signature: failed to verify id token signature'),
    ])
    const pem = await start({
      acl: githubAcl(i, { JWKSURL: undefined, JWTValidationPubKeys: [i.publicKeyPem] }),
    })
    expect(await refusal(pem, forged)).toEqual([
      401,
      unverified(
        'error verifying token signature: no known key successfully validated the token signature',
      ),
    ])
    // A claim changed after signing breaks the signature too.
    const [h, , sig] = i.idToken('nomad').split('.')
    const claims = Buffer.from(
      JSON.stringify({ aud: 'nomad', repository: 'octo-org/web' }),
    ).toString('base64url')
    expect((await refusal(sim, `${h}.${claims}.${sig}`))[1]).toMatch(
      /failed to verify id token signature/,
    )
    expect(await refusal(sim, 'not-a-jwt')).toEqual([
      401,
      unverified(
        'error verifying token signature: oidc: malformed jwt: go-jose/go-jose: compact JWS format must have three parts',
      ),
    ])
  })

  it('for claims that no binding rule selects: another repository, or another environment', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    for (const claims of [
      { repository: 'octo-org/api' },
      { environment: 'staging' },
      { environment: undefined },
    ]) {
      expect(await refusal(sim, i.idToken('nomad', claims))).toEqual([
        400,
        'no role or policy bindings matched',
      ])
    }
  })

  it('for a binding rule whose policy does not exist', async () => {
    const i = await issuer()
    const acl = githubAcl(i)
    acl.bindingRules = [{ AuthMethod: 'github', BindType: 'policy', BindName: 'missing' }]
    const sim = await start({ acl })
    expect(await refusal(sim, i.idToken('nomad'))).toEqual([
      400,
      'no role or policy bindings matched',
    ])
  })

  it('for an unknown auth method, a missing field, no ACLs, another region', async () => {
    const i = await issuer()
    const sim = await simWith(i)
    const unknown = await loginAs(sim, i.idToken('nomad'), 'gitlab')
    expect([unknown.status, unknown.text]).toEqual([400, 'auth-method "gitlab" not found'])
    const empty = await login(sim, {})
    expect([empty.status, empty.text]).toEqual([
      400,
      'invalid login request: 2 errors occurred:\n\t* missing auth method name\n\t* missing login token\n\n',
    ])
    const noBody = await call(sim, 'POST', '/v1/acl/login')
    expect([noBody.status, noBody.text]).toEqual([400, 'Request body is empty'])
    const region = await call(sim, 'POST', '/v1/acl/login?region=eu', {
      AuthMethodName: 'github',
      LoginToken: i.idToken('nomad'),
    })
    expect([region.status, region.text]).toEqual([500, 'No path to region'])
    const off = await start()
    const res = await loginAs(off, i.idToken('nomad'))
    expect([res.status, res.text]).toEqual([400, 'ACL support disabled'])
  })

  it('for a JWKS that cannot be fetched', async () => {
    const i = await issuer()
    const sim = await start({ acl: githubAcl(i, { JWKSURL: `${i.address}/nothing-here` }) })
    const [status, text] = await refusal(sim, i.idToken('nomad'))
    expect(status).toBe(401)
    expect(text).toMatch(
      /^unable to validate provided token: unable to verify signature of JWT token: error verifying token signature: fetching keys oidc: get keys failed: 404/,
    )
  })
})

describe('binding rules', () => {
  it('bind a role, interpolate the bind name from a mapped claim, or bind management', async () => {
    const i = await issuer()
    const acl = githubAcl(i)
    acl.roles = { release: ['read-web'] }
    acl.policies!['env-production'] = 'namespace "default" { policy = "read" }'
    acl.bindingRules = [
      { AuthMethod: 'github', BindType: 'role', BindName: 'release' },
      { AuthMethod: 'github', BindType: 'policy', BindName: 'env-${value.environment}' },
    ]
    const sim = await start({ acl })
    const t = (await loginAs(sim, i.idToken('nomad'))).json<SimAclToken>()
    expect(t.Policies).toEqual(['env-production'])
    expect(t.Roles).toEqual([{ ID: expect.stringMatching(/^[0-9a-f-]{36}$/), Name: 'release' }])

    acl.bindingRules = [{ AuthMethod: 'github', BindType: 'management' }]
    const admin = await start({ acl })
    expect((await loginAs(admin, i.idToken('nomad'))).json<SimAclToken>()).toMatchObject({
      Type: 'management',
      Policies: null,
    })
  })

  it('name the token by TokenNameFormat', async () => {
    const i = await issuer()
    const acl = githubAcl(i)
    acl.authMethods![0].TokenNameFormat = '${auth_method_name}-${value.repository}'
    const sim = await start({ acl })
    expect((await loginAs(sim, i.idToken('nomad'))).json<SimAclToken>().Name).toBe(
      'github-octo-org/web',
    )
  })
})
