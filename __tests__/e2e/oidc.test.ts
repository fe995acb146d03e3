// Keyless sign-in, end to end: dist/index.js with `auth-method` gets the job's
// OIDC token from a local stand-in for the runner's ID-token endpoint (as
// @actions/core's getIDToken asks it), logs in to the simulator's JWT auth
// method, and gates with the token Nomad returns, which every later request
// carries and nothing ever shows unmasked. The CLI does the same with the JWT
// of NOMAD_LOGIN_TOKEN or --login-token.

import { afterEach, describe, expect, it } from 'vitest'

import { runScenario } from '../../sim/scenarios.js'
import { githubAuthMethod, OidcIssuer, type IssuerOptions } from '../../sim/oidc.js'
import {
  startSimulator,
  type AclOptions,
  type RequestRecord,
  type SimAclToken,
  type Simulator,
} from '../../sim/simulator.js'
import { runAction, runCli, type Run } from '../helpers/run.js'

const sims: Simulator[] = []
const issuers: OidcIssuer[] = []
afterEach(async () => {
  await Promise.all([...sims.splice(0), ...issuers.splice(0)].map((s) => s.stop()))
})

/** Auth method `github` for GitHub's issuer, audience `nomad`, bound to repository octo-org/web in production. */
function acl(i: OidcIssuer, ttl = '10m', audiences = ['nomad']): AclOptions {
  return {
    policies: { 'deploy-web': 'namespace "default" { capabilities = ["read-job", "submit-job"] }' },
    authMethods: [
      githubAuthMethod(i, {
        MaxTokenTTL: ttl,
        Config: {
          BoundAudiences: audiences,
          SigningAlgs: ['RS256', 'ES256'],
          ClaimMappings: { repository: 'repository', environment: 'environment' },
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

async function setup(
  options: { issuer?: IssuerOptions; ttl?: string; audiences?: string[] } = {},
): Promise<{ s: Simulator; i: OidcIssuer }> {
  const i = await OidcIssuer.start(options.issuer)
  issuers.push(i)
  const s = await startSimulator({ acl: acl(i, options.ttl, options.audiences) })
  sims.push(s)
  runScenario(s, 'healthy')
  return { s, i }
}

const LOGIN = '/v1/acl/login'

/** The token the simulator issued at login (the only one it has). */
function issuedToken(s: Simulator): SimAclToken {
  const tokens = s.acl!.allTokens()
  expect(tokens).toHaveLength(1)
  return tokens[0]
}

/**
 * The secrets appear in no output, summary or log line but their
 * `::add-mask::`; each masked one is masked before any line that is not a
 * mask or a debug line (core.getIDToken's `::debug::ID token url ...`).
 */
function expectMasked(run: Run, secrets: string[]): void {
  const lines = run.stdout.split('\n')
  const firstShown = lines.findIndex(
    (l) => l !== '' && !l.startsWith('::add-mask::') && !l.startsWith('::debug::'),
  )
  for (const secret of secrets) {
    const at = lines.indexOf(`::add-mask::${secret}`)
    expect(at, 'the secret is masked').toBeGreaterThanOrEqual(0)
    expect(at, 'before anything else is printed').toBeLessThan(firstShown)
    const shown = {
      stdout: lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'),
      stderr: run.stderr,
      outputs: JSON.stringify(run.outputs),
      summary: run.summary,
    }
    for (const [where, text] of Object.entries(shown)) {
      expect(text.includes(secret), `the secret appears in ${where}`).toBe(false)
    }
  }
}

/** Every request but the login carries the issued token; the login carries none. */
function expectCarried(s: Simulator, secret: string): RequestRecord[] {
  const [login, ...rest] = s.requests
  expect(login.path).toBe(LOGIN)
  expect(login.method).toBe('POST')
  expect(login.headers['x-nomad-token']).toBeUndefined()
  expect(rest.length).toBeGreaterThan(1)
  for (const r of rest) expect(r.headers['x-nomad-token'], `${r.method} ${r.path}`).toBe(secret)
  return rest
}

describe('the action with auth-method', () => {
  it('logs in with the workflow OIDC token and gates with the issued token, masked first', async () => {
    const { s, i } = await setup()
    const res = await runAction(
      { 'auth-method': 'github', job: 'web', address: s.address },
      i.runnerEnv(),
    )
    expect(res.code, res.stdout).toBe(0)
    expect(res.outputs.result).toBe('promoted')
    // core.getIDToken asked the runner for audience `nomad` (the default), with the runner's token.
    expect(i.requests).toEqual([{ audience: 'nomad', authorized: true, status: 200 }])
    const [jwt] = i.issued
    expect(s.requests[0].body).toEqual({ AuthMethodName: 'github', LoginToken: jwt })
    const token = issuedToken(s)
    expect(token.Policies).toEqual(['deploy-web'])
    const gated = expectCarried(s, token.SecretID)
    expect(gated.some((r) => r.path.startsWith('/v1/deployment/promote/'))).toBe(true)
    expectMasked(res, [jwt, token.SecretID])
    expect(res.stdout).toContain(
      `Logged in to Nomad with auth method "github": token ${token.AccessorID} ("JWT-github"), policies deploy-web, valid for 10m00s`,
    )
  })

  it('requests the audience of auth-audience', async () => {
    const { s, i } = await setup({ audiences: ['nomad.example.internal'] })
    const res = await runAction(
      {
        'auth-method': 'github',
        'auth-audience': 'nomad.example.internal',
        job: 'web',
        address: s.address,
      },
      i.runnerEnv(),
    )
    expect(res.outputs.result).toBe('promoted')
    expect(i.requests.map((r) => r.audience)).toEqual(['nomad.example.internal'])
    expectCarried(s, issuedToken(s).SecretID)
  })

  it('says what to fix when Nomad refuses the login, and sends nothing else', async () => {
    const { s, i } = await setup({ issuer: { claims: { environment: 'staging' } } })
    const res = await runAction(
      { 'auth-method': 'github', job: 'web', address: s.address },
      i.runnerEnv(),
    )
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('error')
    expect(res.outputs.message).toBe(
      'Login with auth method "github" refused: the token\'s claims match no binding rule of auth method "github" that binds an existing policy or role (sub "repo:octo-org/web:environment:production"): add a binding rule whose selector matches them (`nomad acl binding-rule create -auth-method=github -bind-type=policy ...`), or check its ClaimMappings and the policy\'s name (Nomad: HTTP 400: no role or policy bindings matched)',
    )
    expect(s.requests.map((r) => r.path)).toEqual([LOGIN])
    expectMasked(res, [i.issued[0]])
  })

  it('says to set auth-audience when the audience is not bound', async () => {
    const { s, i } = await setup({ audiences: ['nomad.example.internal'] })
    const res = await runAction(
      { 'auth-method': 'github', job: 'web', address: s.address },
      i.runnerEnv(),
    )
    expect(res.outputs.result).toBe('error')
    expect(res.outputs.message).toContain(
      'the token\'s audience (aud "nomad") is not one of the BoundAudiences of auth method "github": set auth-audience to one of them, or add "nomad" to BoundAudiences (Nomad: HTTP 401: unable to validate provided token: unable to verify signature of JWT token: invalid audience (aud) claim',
    )
    expect(s.requests).toHaveLength(1)
  })

  it('asks for id-token: write when the runner offers no OIDC token, before any request', async () => {
    const { s } = await setup()
    const res = await runAction({ 'auth-method': 'github', job: 'web', address: s.address })
    expect(res.code).toBe(1)
    expect(res.outputs.result).toBe('error')
    expect(res.stdout).toContain(
      "::error::auth-method needs the workflow's OIDC token, and the runner offers none: give the job `permissions: id-token: write`",
    )
    expect(s.requests).toHaveLength(0)
  })

  it('refuses auth-method with NOMAD_TOKEN, naming both, before any request', async () => {
    const { s, i } = await setup()
    const token = 'c0ffee00-1234-4321-8888-5ec2e7000001'
    const res = await runAction(
      { 'auth-method': 'github', job: 'web', address: s.address },
      { ...i.runnerEnv(), NOMAD_TOKEN: token },
    )
    expect(res.code).toBe(1)
    expect(res.stdout).toContain(
      "::error::Input 'auth-method' cannot be used with a token (NOMAD_TOKEN is set): auth-method logs in and sends the token Nomad returns. Remove NOMAD_TOKEN to log in with auth-method, or remove auth-method to use the token",
    )
    expect(res.stdout).toContain(`::add-mask::${token}`)
    expect(s.requests).toHaveLength(0)
    expect(i.requests).toHaveLength(0)
  })

  it('warns when the token expires before the step may end', async () => {
    const { s, i } = await setup({ ttl: '1m' })
    const res = await runAction(
      { 'auth-method': 'github', job: 'web', address: s.address },
      i.runnerEnv(),
    )
    expect(res.outputs.result).toBe('promoted')
    expect(res.stdout).toContain(
      '::warning::The token of auth method "github" expires in 1m00s, before the step\'s timeout: requests after that are refused (403). Raise the auth method\'s MaxTokenTTL or lower timeout',
    )
  })
})

describe('the CLI with --auth-method', () => {
  it('logs in with the JWT of NOMAD_LOGIN_TOKEN and never prints it or the issued token', async () => {
    const { s, i } = await setup()
    const jwt = i.idToken('nomad')
    const res = await runCli(['promote', '--job', 'web', '--auth-method', 'github'], {
      NOMAD_ADDR: s.address,
      NOMAD_LOGIN_TOKEN: jwt,
    })
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain('result=promoted')
    expect(s.requests[0].body).toEqual({ AuthMethodName: 'github', LoginToken: jwt })
    const token = issuedToken(s)
    expectCarried(s, token.SecretID)
    for (const secret of [jwt, token.SecretID]) {
      expect(res.stdout + res.stderr).not.toContain(secret)
    }
    expect(res.stderr).toContain(
      `Logged in to Nomad with auth method "github": token ${token.AccessorID}`,
    )
  })

  it('takes --login-token too, an ES256 token as well', async () => {
    const { s, i } = await setup({ issuer: { alg: 'ES256' } })
    const res = await runCli(
      ['wait', '--job', 'web', '--auth-method', 'github', '--login-token', i.idToken('nomad')],
      { NOMAD_ADDR: s.address },
    )
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain('result=promotable')
    expectCarried(s, issuedToken(s).SecretID)
  })

  it('exits 2 without a JWT, and when NOMAD_TOKEN is set too', async () => {
    const { s, i } = await setup()
    const none = await runCli(['promote', '--job', 'web', '--auth-method', 'github'], {
      NOMAD_ADDR: s.address,
    })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain(
      "Option '--auth-method' needs the JWT to log in with: set NOMAD_LOGIN_TOKEN (or --login-token, which shows in ps)",
    )
    const both = await runCli(['promote', '--job', 'web', '--auth-method', 'github'], {
      NOMAD_ADDR: s.address,
      NOMAD_LOGIN_TOKEN: i.idToken('nomad'),
      NOMAD_TOKEN: 'c0ffee00-1234-4321-8888-5ec2e7000002',
    })
    expect(both.code).toBe(2)
    expect(both.stderr).toContain(
      "Option '--auth-method' cannot be used with a token (NOMAD_TOKEN is set)",
    )
    const orphan = await runCli(['promote', '--job', 'web'], {
      NOMAD_ADDR: s.address,
      NOMAD_LOGIN_TOKEN: i.idToken('nomad'),
    })
    expect(orphan.code).toBe(2)
    expect(orphan.stderr).toContain(
      "Option '--login-token' (from NOMAD_LOGIN_TOKEN) needs auth-method",
    )
    expect(s.requests).toHaveLength(0)
  })

  it('exits 1 with what to fix when the JWT is expired', async () => {
    const { s, i } = await setup()
    const now = Math.floor(Date.now() / 1000)
    const jwt = i.idToken('nomad', { iat: now - 900, nbf: now - 900, exp: now - 600 })
    const res = await runCli(['promote', '--job', 'web', '--auth-method', 'github'], {
      NOMAD_ADDR: s.address,
      NOMAD_LOGIN_TOKEN: jwt,
    })
    expect(res.code).toBe(1)
    expect(res.stdout).toContain('result=error')
    expect(res.stderr).toContain(
      `Login with auth method "github" refused: the token had expired (exp ${new Date((now - 600) * 1000).toISOString()}) when Nomad checked it`,
    )
    expect(res.stdout + res.stderr).not.toContain(jwt)
    expect(s.requests).toHaveLength(1)
  })
})
