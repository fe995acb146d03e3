// The login's parts in process: the inputs' rules (auth-method, auth-audience,
// login-token), the client's POST /v1/acl/login with its retry rule, what each
// refusal of the simulator's JWT auth method is read as, and the message the
// step gives for it.

import { afterEach, describe, expect, it } from 'vitest'

import { InputError, parseSettings } from '../src/config/parse.js'
import { signIn, LoginError } from '../src/login.js'
import { NomadClient, loginRefusal, type LoginRefusal } from '../src/nomad/client.js'
import { NomadError } from '../src/nomad/errors.js'
import { githubAuthMethod, newKeyPair, OidcIssuer } from '../sim/oidc.js'
import {
  startSimulator,
  type AclOptions,
  type AuthMethodSpec,
  type Simulator,
} from '../sim/simulator.js'

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJub21hZCJ9.c2lnbmF0dXJl'

function parse(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const secrets: string[] = []
  const run = () => parseSettings((n) => inputs[n] ?? '', env, { onSecret: (s) => secrets.push(s) })
  return { run, secrets }
}

function refusedWith(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const { run, secrets } = parse({ job: 'web', ...inputs }, env)
  let error: unknown
  try {
    run()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(InputError)
  return { message: (error as Error).message, secrets }
}

describe('the login inputs', () => {
  it('give the settings a login, and the client no token', () => {
    const s = parseSettings((n) => ({ job: 'web', 'auth-method': 'github' })[n] ?? '', {})
    expect(s.login).toEqual({ authMethod: 'github', audience: 'nomad' })
    expect(s.nomad.token).toBeUndefined()
    const cli = parseSettings(
      (n) =>
        ({ job: 'web', 'auth-method': 'github', 'auth-audience': 'https://nomad.example' })[n] ??
        '',
      { NOMAD_LOGIN_TOKEN: JWT },
    )
    expect(cli.login).toEqual({
      authMethod: 'github',
      audience: 'https://nomad.example',
      token: JWT,
    })
    expect(cli.secrets).toContain(JWT)
  })

  it('refuse auth-method with a token, naming both and what to do; the token is masked first', () => {
    const token = 'c0ffee00-1234-4321-8888-5ec2e7000003'
    const input = refusedWith({ 'auth-method': 'github', token })
    expect(input.message).toBe(
      "Input 'auth-method' cannot be used with a token (token is set): auth-method logs in and sends the token Nomad returns. Remove token to log in with auth-method, or remove auth-method to use the token",
    )
    expect(input.secrets).toContain(token)
    const env = refusedWith({ 'auth-method': 'github' }, { NOMAD_TOKEN: token })
    expect(env.message).toContain('(NOMAD_TOKEN is set)')
    expect(env.secrets).toContain(token)
  })

  it('refuse a login token without auth-method, masking it all the same', () => {
    const r = refusedWith({}, { NOMAD_LOGIN_TOKEN: JWT })
    expect(r.message).toBe(
      "Input 'login-token' (from NOMAD_LOGIN_TOKEN) needs auth-method: the name of the Nomad JWT auth method to log in with",
    )
    expect(r.secrets).toEqual([JWT])
  })

  it('refuse a bad auth method name, and a login token that is not a JWT without showing it', () => {
    expect(refusedWith({ 'auth-method': 'git hub' }).message).toBe(
      'Input \'auth-method\' must be the name of a Nomad auth method: letters, digits and hyphens (got "git hub")',
    )
    const r = refusedWith({ 'auth-method': 'github', 'login-token': 'not a jwt' })
    expect(r.message).toBe(
      "Input 'login-token' must be a JWT: three base64url parts separated by dots (value not shown)",
    )
    expect(r.secrets).toEqual(['not a jwt'])
  })
})

// ---- against the simulator ----------------------------------------------------------

const running: Array<{ stop(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

async function cluster(
  config: Partial<AuthMethodSpec['Config']> = {},
  acl: Partial<AclOptions> = {},
) {
  const i = await OidcIssuer.start()
  running.push(i)
  const s = await startSimulator({
    acl: {
      policies: { deploy: 'namespace "default" { policy = "write" }' },
      authMethods: [
        githubAuthMethod(i, {
          MaxTokenTTL: '5m',
          Config: { ClaimMappings: { environment: 'environment' }, ...config },
        }),
      ],
      bindingRules: [
        {
          AuthMethod: 'github',
          BindType: 'policy',
          BindName: 'deploy',
          Selector: 'value.environment == "production"',
        },
      ],
      ...acl,
    },
  })
  running.push(s)
  return { i, s }
}

function client(s: Simulator): NomadClient {
  const c = new NomadClient(
    { address: s.address, tls: { skipVerify: false } },
    {
      retry: { baseMs: 1, maxMs: 5 },
    },
  )
  running.push({ stop: async () => c.close() })
  return c
}

async function refusal(s: Simulator, jwt: string, method = 'github'): Promise<NomadError> {
  try {
    await client(s).login(method, jwt, { deadline: performance.now() + 2_000 })
  } catch (e) {
    if (e instanceof NomadError) return e
    throw e
  }
  throw new Error('the login passed')
}

describe('POST /v1/acl/login by the client', () => {
  it('answers the token; a later client with it reads as the token may', async () => {
    const { i, s } = await cluster()
    const res = await client(s).login('github', i.idToken('nomad'))
    expect(res.body.Policies).toEqual(['deploy'])
    expect(res.meta.lastIndex).toBe(res.body.CreateIndex)
    const c = new NomadClient({
      address: s.address,
      tls: { skipVerify: false },
      token: res.body.SecretID,
    })
    running.push({ stop: async () => c.close() })
    expect((await c.tokenSelf()).body.AccessorID).toBe(res.body.AccessorID)
    const policy = (await c.policy('deploy')).body
    expect(policy.RulesJSON?.Namespaces?.[0].Capabilities).toContain('submit-job')
  })

  it('is sent again after `No cluster leader`, never after a refusal', async () => {
    const { i, s } = await cluster()
    s.injectFault({ path: '/v1/acl/login', kind: 'status', status: 500, body: 'No cluster leader' })
    await client(s).login('github', i.idToken('nomad'), { deadline: performance.now() + 2_000 })
    expect(s.requests.map((r) => r.status)).toEqual([500, 200])
    s.clearRequests()
    const err = await refusal(s, i.idToken('sts.amazonaws.com'))
    expect(err.status).toBe(401)
    expect(s.requests).toHaveLength(1)
    // A 500 from the binder is an answer too.
    s.clearRequests()
    s.injectFault({
      path: '/v1/acl/login',
      kind: 'status',
      status: 500,
      body: 'all servers should be running version 1.5.4 or later to use JWT ACL auth methods',
    })
    expect(loginRefusal(await refusal(s, i.idToken('nomad')))).toBe('version')
    expect(s.requests).toHaveLength(1)
  })

  it.each<[LoginRefusal, (i: OidcIssuer) => string, Partial<AuthMethodSpec['Config']>?]>([
    ['audience', (i) => i.idToken('other')],
    ['issuer', (i) => i.idToken('nomad', { iss: 'https://gitlab.example.com' })],
    ['expired', (i) => i.idToken('nomad', { iat: 1, nbf: 1, exp: 2 })],
    ['not-yet-valid', (i) => i.idToken('nomad', { iat: 4e9, nbf: 4e9, exp: 4e9 + 60 })],
    ['no-times', (i) => i.idToken('nomad', { iat: undefined, nbf: undefined, exp: undefined })],
    ['signature', (i) => i.mint({ aud: 'nomad' }, { key: newKeyPair('RS256').privateKey })],
    ['algorithm', (i) => i.idToken('nomad'), { SigningAlgs: ['ES256'] }],
    ['malformed', () => 'a.b'],
    ['no-binding', (i) => i.idToken('nomad', { environment: 'staging' })],
    ['keys', (i) => i.idToken('nomad'), { JWKSURL: 'http://127.0.0.1:1/jwks' }],
  ])('reads a refusal as %s', async (kind, jwt, config) => {
    const { i, s } = await cluster(config)
    expect(loginRefusal(await refusal(s, jwt(i)))).toBe(kind)
  })

  it('reads an unknown method and disabled ACLs', async () => {
    const { i, s } = await cluster()
    expect(loginRefusal(await refusal(s, i.idToken('nomad'), 'gitlab'))).toBe('unknown-method')
    const off = await startSimulator()
    running.push(off)
    expect(loginRefusal(await refusal(off, i.idToken('nomad')))).toBe('acl-disabled')
  })
})

describe('signIn', () => {
  const log = () => {
    const lines: string[] = []
    return {
      lines,
      info: (l: string) => lines.push(l),
      warning: (l: string) => lines.push(`warning: ${l}`),
    }
  }

  it('tells the secret first, then logs the accessor, and returns the config with the token', async () => {
    const { i, s } = await cluster()
    const l = log()
    const order: string[] = []
    const config = { address: s.address, tls: { skipVerify: false } }
    const out = await signIn({ authMethod: 'github', audience: 'nomad' }, config, {
      jwt: i.idToken('nomad'),
      fromRunner: true,
      client: client(s),
      log: { info: (line) => (order.push('info'), l.info(line)), warning: l.warning },
      deadline: performance.now() + 2_000,
      signal: new AbortController().signal,
      onSecret: () => order.push('secret'),
      stepLeftMs: 60_000,
    })
    const token = s.acl!.allTokens()[0]
    expect(out).toEqual({ ...config, token: token.SecretID })
    expect(order).toEqual(['secret', 'info'])
    expect(l.lines).toEqual([
      `Logged in to Nomad with auth method "github": token ${token.AccessorID} ("JWT-github"), policies deploy, valid for 5m00s`,
    ])
  })

  it('ends with a LoginError that says what to fix', async () => {
    const { i, s } = await cluster()
    const attempt = (jwt: string, fromRunner: boolean) =>
      signIn(
        { authMethod: 'github', audience: 'nomad' },
        { address: s.address, tls: { skipVerify: false } },
        {
          jwt,
          fromRunner,
          client: client(s),
          log: log(),
          deadline: performance.now() + 2_000,
          signal: new AbortController().signal,
          stepLeftMs: 60_000,
        },
      )
    await expect(attempt(i.idToken('https://github.com/octo-org'), true)).rejects.toThrow(
      new LoginError(
        'Login with auth method "github" refused: the token\'s audience (aud "https://github.com/octo-org") is not one of the BoundAudiences of auth method "github": set auth-audience to one of them, or add "nomad" to BoundAudiences (Nomad: HTTP 401: unable to validate provided token: unable to verify signature of JWT token: invalid audience (aud) claim: audience claim does not match any expected audience)',
      ),
    )
    await expect(attempt(i.idToken('other'), false)).rejects.toThrow(
      /mint the token for one of them, or add its audience to BoundAudiences/,
    )
    await expect(
      attempt(i.idToken('nomad', { iss: 'https://gitlab.example.com' }), false),
    ).rejects.toThrow(
      'the token\'s issuer (iss "https://gitlab.example.com") is not in the BoundIssuer of auth method "github": add it there',
    )
    await expect(
      attempt(i.mint({ aud: 'nomad', exp: 4e9 }, { key: newKeyPair('RS256').privateKey }), false),
    ).rejects.toThrow(/no key of auth method "github" verifies the token's signature/)
  })
})
