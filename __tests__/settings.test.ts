import { execFileSync, spawnSync } from 'node:child_process'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { InputName } from '../src/config/inputs.js'
import { InputError, debugFromEnv, parseSettings } from '../src/config/parse.js'
import {
  MODES,
  ON_FAILURE,
  ON_UNHEALTHY_CANARY,
  WATCH_METHODS,
  type Settings,
} from '../src/config/settings.js'

type Inputs = Partial<Record<InputName, string>>
type Env = Record<string, string | undefined>

function parse(inputs: Inputs, env: Env = {}): Settings {
  const raw = inputs as Record<string, string | undefined>
  return parseSettings((name) => raw[name] ?? '', env)
}

/** The InputError parse throws; also checks the message starts with what failed. */
function parseError(inputs: Inputs, env: Env = {}): InputError {
  try {
    parse(inputs, env)
  } catch (e) {
    if (!(e instanceof InputError)) throw e
    const start = e.input === 'NOMAD_HTTP_AUTH' ? 'Environment variable' : `Input '${e.input}'`
    expect(e.message.startsWith(start), e.message).toBe(true)
    return e
  }
  throw new Error(`expected an InputError for ${JSON.stringify(inputs)}`)
}

const JOB = { job: 'web' }
const UUID = '5e7f2a1c-9b3d-4e6f-8a0b-1c2d3e4f5a6b'

describe('defaults', () => {
  it('fills every default from the interface', () => {
    expect(parse(JOB)).toEqual({
      nomad: { address: 'http://127.0.0.1:4646', tls: { skipVerify: false } },
      target: { job: 'web' },
      mode: 'promote',
      groups: [],
      timeoutMs: 600_000,
      onFailure: 'none',
      onUnhealthyCanary: 'fail-fast',
      watch: 'auto',
      waitForCompletion: false,
      soakMs: 0,
      checks: { urls: [], intervalMs: 10_000, timeoutMs: 5_000, failureLimit: 0 },
      dryRun: false,
      secrets: [],
    })
  })

  it('trims values', () => {
    const s = parse({ job: '  web \n', mode: ' wait ', timeout: ' 90s ' })
    expect([s.target, s.mode, s.timeoutMs]).toEqual([{ job: 'web' }, 'wait', 90_000])
  })

  const env: Env = {
    NOMAD_ADDR: 'https://nomad.env:4646',
    NOMAD_TOKEN: 'env-token',
    NOMAD_NAMESPACE: 'env-ns',
    NOMAD_REGION: 'env-region',
    NOMAD_TLS_SERVER_NAME: 'server.env.nomad',
    NOMAD_SKIP_VERIFY: 'true',
  }

  it('takes NOMAD_* from the environment when inputs are empty', () => {
    const s = parse(JOB, env)
    expect(s.nomad).toEqual({
      address: 'https://nomad.env:4646',
      token: 'env-token',
      namespace: 'env-ns',
      region: 'env-region',
      tls: { serverName: 'server.env.nomad', skipVerify: true },
    })
    expect(s.secrets).toEqual(['env-token'])
  })

  it('lets inputs override the environment', () => {
    const s = parse(
      {
        ...JOB,
        address: 'http://nomad.input:4646',
        token: 'input-token',
        namespace: 'input-ns',
        region: 'input-region',
        'tls-server-name': 'server.input.nomad',
        'tls-skip-verify': 'false',
      },
      env,
    )
    expect(s.nomad).toEqual({
      address: 'http://nomad.input:4646',
      token: 'input-token',
      namespace: 'input-ns',
      region: 'input-region',
      tls: { serverName: 'server.input.nomad', skipVerify: false },
    })
    expect(s.secrets).toEqual(['input-token'])
  })

  it('treats blank env vars as unset', () => {
    expect(parse(JOB, { NOMAD_ADDR: '  ', NOMAD_TOKEN: '' }).nomad.address).toBe(
      'http://127.0.0.1:4646',
    )
  })

  it('names the env var when its value is bad', () => {
    expect(parseError(JOB, { NOMAD_ADDR: 'nomad:4646' }).message).toMatch(
      /^Input 'address' \(from NOMAD_ADDR\) must be an http:\/\/ or https:\/\/ URL/,
    )
  })
})

describe('address', () => {
  it.each([
    ['http://127.0.0.1:4646', 'http://127.0.0.1:4646'],
    ['https://nomad.example.com:4646/', 'https://nomad.example.com:4646'],
    ['HTTPS://Nomad.Example.COM', 'https://nomad.example.com'],
    ['http://[::1]:4646', 'http://[::1]:4646'],
    ['http://nomad:80', 'http://nomad'],
  ])('%s -> %s', (address, expected) => {
    const s = parse({ ...JOB, address })
    expect(s.nomad.address).toBe(expected)
    expect(s.nomad.httpAuth).toBeUndefined()
  })

  // The reason exactly, as the message's own wording around it: "query or
  // fragment" alone would also match the rule the message starts with.
  it.each([
    ['127.0.0.1:4646', 'it has no scheme'],
    ['localhost:4646', 'it has no scheme'],
    ['nomad.example.com', 'it has no scheme'],
    ['-http://nomad', 'it has no scheme'],
    ['1http://nomad:4646', 'it has no scheme'],
    ['ftp://nomad:4646', 'the scheme is ftp'],
    ['unix:///var/run/nomad.sock', 'the scheme is unix'],
    ['xhttp://nomad', 'the scheme is xhttp'],
    ['httpx://nomad', 'the scheme is httpx'],
    ['http:nomad', 'it has no scheme'],
    ['http://nomad:4646/v1', 'it has a path'],
    ['http://nomad:4646/ui/', 'it has a path'],
    ['http://nomad?region=eu', 'it has a query or fragment'],
    ['http://nomad?', 'it has a query or fragment'],
    ['http://nomad#x', 'it has a query or fragment'],
    ['http://nomad#', 'it has a query or fragment'],
    // Everything before the last @ is shown masked: it could be a password.
    ['http://nomad:4646?x=a@b', 'it has a query or fragment', 'http://***@b'],
    ['http://', 'it is not a valid URL'],
    ['http://:4646', 'it is not a valid URL'],
    ['http://nomad:99999', 'it is not a valid URL'],
    ['http://no mad', 'it contains whitespace'],
    ['http://@nomad', 'its user:password@ part has no user name', 'http://***@nomad'],
  ])('rejects %s', (address, reason, shown = address) => {
    const e = parseError({ ...JOB, address })
    expect(e.input).toBe('address')
    expect(e.message).toContain(`; ${reason} (got ${JSON.stringify(shown)})`)
  })

  it('names the missing user name without echoing the password', () => {
    const e = parseError({ ...JOB, address: 'http://:pw-7@nomad' })
    expect(e.message).toContain(
      '; its user:password@ part has no user name (got "http://***@nomad")',
    )
  })

  it('takes user:password@ as basic auth and keeps it out of the address', () => {
    const s = parse({ ...JOB, address: 'https://alice:s3cr3t@nomad:4646/' })
    expect(s.nomad.address).toBe('https://nomad:4646')
    expect(s.nomad.httpAuth).toEqual({ username: 'alice', password: 's3cr3t' })
    expect(s.secrets).toEqual(['s3cr3t'])
  })

  it('decodes a percent-encoded password and masks both forms', () => {
    const s = parse({ ...JOB, address: 'https://alice:p%40ss@nomad' })
    expect(s.nomad.httpAuth).toEqual({ username: 'alice', password: 'p@ss' })
    expect(s.secrets).toEqual(['p@ss', 'p%40ss'])
  })

  it('accepts a user without a password', () => {
    expect(parse({ ...JOB, address: 'https://alice@nomad' }).nomad.httpAuth).toEqual({
      username: 'alice',
      password: '',
    })
  })

  it('prefers userinfo in the address over NOMAD_HTTP_AUTH', () => {
    const s = parse({ ...JOB, address: 'https://alice:a@nomad' }, { NOMAD_HTTP_AUTH: 'bob:b' })
    expect(s.nomad.httpAuth).toEqual({ username: 'alice', password: 'a' })
    expect(s.secrets).toEqual(['a'])
  })

  it.each([
    'https://u:hunter2xyz@nomad/path',
    'ftp://u:hunter2xyz@nomad',
    'https://u:hunter2xyz@nomad?q=1',
    'https://u:hunter2/xyz@nomad',
    'https://u:hunter2xyz@nomad:99999',
    'https://:hunter2xyz@nomad',
    'https://u:hunter2 xyz@nomad',
    'u:hunter2xyz@nomad',
  ])('never echoes the password in %s', (address) => {
    for (const [inputs, env] of [
      [{ ...JOB, address }, {}],
      [JOB, { NOMAD_ADDR: address }],
    ] as const) {
      const e = parseError(inputs, env)
      expect(e.input).toBe('address')
      expect(e.message).not.toContain('hunter2')
      expect(e.message).toContain('***@')
    }
  })
})

describe('NOMAD_HTTP_AUTH', () => {
  it.each([
    ['bob:pw1', 'bob', 'pw1', ['pw1']],
    ['bob:pa:ss', 'bob', 'pa:ss', ['pa:ss']],
    ['bob', 'bob', '', []],
  ])('%s -> user %s, password %j', (value, username, password, secrets) => {
    const s = parse(JOB, { NOMAD_HTTP_AUTH: value })
    expect(s.nomad.httpAuth).toEqual({ username, password })
    expect(s.secrets).toEqual(secrets)
  })

  it('rejects an empty user without echoing the password', () => {
    const e = parseError(JOB, { NOMAD_HTTP_AUTH: ':zzsecretzz' })
    expect(e.input).toBe('NOMAD_HTTP_AUTH')
    expect(e.message).not.toContain('zzsecretzz')
  })
})

describe('proxy variables and the JWT login', () => {
  it('a proxy applies to the requests to Nomad and to the soak checks alike', () => {
    const s = parse(JOB, { HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: 'localhost' })
    expect(s.nomad.proxy?.https?.url.href).toBe('http://proxy.example:3128/')
    expect(s.nomad.proxy?.noProxy).toBe('localhost')
    expect(s.checks.proxy).toBe(s.nomad.proxy)
  })

  it('auth-method logs in, by default for the audience nomad; login-token brings the JWT', () => {
    expect(parse({ ...JOB, 'auth-method': 'github' }).login).toEqual({
      authMethod: 'github',
      audience: 'nomad',
    })
    const jwt = 'eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl'
    const s = parse(
      { ...JOB, 'auth-method': 'ci', 'auth-audience': 'nomad.example' },
      { NOMAD_LOGIN_TOKEN: jwt },
    )
    expect(s.login).toEqual({ authMethod: 'ci', audience: 'nomad.example', token: jwt })
    expect(s.secrets).toEqual([jwt])
  })
})

describe('token', () => {
  it.each(['0b9e1d0c-3d1e-4a5f-9b6c-7d8e9f0a1b2c', 'eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl'])(
    'accepts %s and marks it secret',
    (token) => {
      const s = parse({ ...JOB, token })
      expect(s.nomad.token).toBe(token)
      expect(s.secrets).toEqual([token])
    },
  )

  it.each(['abc secretvalue', 'abc\tsecretvalue', 'tökensecretvalue', 'abc\u0000secretvalue'])(
    'rejects %j without echoing it',
    (token) => {
      for (const [inputs, env] of [
        [{ ...JOB, token }, {}],
        [JOB, { NOMAD_TOKEN: token }],
      ] as const) {
        const e = parseError(inputs, env)
        expect(e.input).toBe('token')
        expect(e.message).toMatch(/no whitespace/)
        expect(e.message).toContain('value not shown')
        expect(e.message).not.toContain('secretvalue')
      }
    },
  )

  it('says where a bad token came from', () => {
    expect(parseError(JOB, { NOMAD_TOKEN: 'a b' }).message).toMatch(
      /^Input 'token' \(from NOMAD_TOKEN\)/,
    )
  })
})

describe('namespace and region', () => {
  it('accepts names', () => {
    const s = parse({ ...JOB, namespace: 'team-a', region: 'eu-west' })
    expect([s.nomad.namespace, s.nomad.region]).toEqual(['team-a', 'eu-west'])
  })

  it.each([
    ['namespace', '*', /not a wildcard/],
    ['namespace', 'prod*', /not a wildcard/],
    [
      'namespace',
      'my ns',
      /^Input 'namespace' must be a namespace name without whitespace \(got "my ns"\)$/,
    ],
    [
      'region',
      'eu west',
      /^Input 'region' must be a region name without whitespace \(got "eu west"\)$/,
    ],
    [
      'tls-server-name',
      'server .nomad',
      /^Input 'tls-server-name' must be a host name without whitespace/,
    ],
  ] as const)('rejects %s=%j', (name, value, reason) => {
    const e = parseError({ ...JOB, [name]: value })
    expect(e.input).toBe(name)
    expect(e.message).toMatch(reason)
  })

  it('rejects NOMAD_NAMESPACE=*', () => {
    expect(parseError(JOB, { NOMAD_NAMESPACE: '*' }).input).toBe('namespace')
  })
})

describe('booleans', () => {
  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
  ])('%s -> %s', (value, expected) => {
    const s = parse({ ...JOB, 'tls-skip-verify': value, 'wait-for-completion': value })
    expect([s.nomad.tls.skipVerify, s.waitForCompletion]).toEqual([expected, expected])
  })

  it.each([
    ['tls-skip-verify', 'maybe'],
    ['tls-skip-verify', 'yes'],
    ['tls-skip-verify', '1'],
    ['wait-for-completion', 'maybe'],
    ['wait-for-completion', 'on'],
  ] as const)('rejects %s=%s', (name, value) => {
    const e = parseError({ ...JOB, [name]: value })
    expect(e.input).toBe(name)
    expect(e.message).toBe(`Input '${name}' must be true or false (got "${value}")`)
  })

  it.each([
    ['1', true],
    ['t', true],
    ['T', true],
    ['true', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
  ])('NOMAD_SKIP_VERIFY=%s -> %s (Go ParseBool)', (value, expected) => {
    expect(parse(JOB, { NOMAD_SKIP_VERIFY: value }).nomad.tls.skipVerify).toBe(expected)
  })

  it('rejects NOMAD_SKIP_VERIFY=maybe', () => {
    expect(parseError(JOB, { NOMAD_SKIP_VERIFY: 'maybe' }).message).toMatch(
      /^Input 'tls-skip-verify' \(from NOMAD_SKIP_VERIFY\) must be true or false/,
    )
  })

  it('allows wait-for-completion only with promote', () => {
    expect(parse({ ...JOB, 'wait-for-completion': 'true' }).waitForCompletion).toBe(true)
    expect(parse({ ...JOB, mode: 'wait', 'wait-for-completion': 'false' }).waitForCompletion).toBe(
      false,
    )
    const e = parseError({ ...JOB, mode: 'wait', 'wait-for-completion': 'true' })
    expect(e.input).toBe('wait-for-completion')
    expect(e.message).toMatch(/only applies to mode 'promote'/)
  })
})

describe('target', () => {
  it.each([
    [UUID, UUID],
    [UUID.toUpperCase(), UUID],
    ['5e7f', '5e7f'],
    ['5', '5'],
    ['5e7f2a1c-', '5e7f2a1c-'],
    ['5E7F2A1C-9B', '5e7f2a1c-9b'],
  ])('deployment-id %s -> %s', (id, expected) => {
    expect(parse({ 'deployment-id': id }).target).toEqual({ deploymentId: expected })
  })

  it.each(['xyz', '12345678-zz', `${UUID}0`, '5e7f2a1c1', '5e7f-2a1c', 'g', '{5e7f}'])(
    'rejects deployment-id %s',
    (id) => {
      const e = parseError({ 'deployment-id': id })
      expect(e.input).toBe('deployment-id')
      expect(e.message).toBe(
        `Input 'deployment-id' must be a deployment UUID or a prefix of one, such as 5e7f2a1c (hex digits, hyphens where a UUID has them, at most 36 characters) (got ${JSON.stringify(id)})`,
      )
    },
  )

  it.each([
    [{}, /is required/],
    [{ job: 'web', 'deployment-id': UUID }, /both set/],
  ])('needs exactly one of deployment-id and job: %j', (inputs, reason) => {
    const e = parseError(inputs)
    expect(e.message).toMatch(reason)
    expect(e.message).toContain("'deployment-id'")
    expect(e.message).toContain("'job'")
  })

  it.each([
    ['web', undefined, { job: 'web' }],
    ['batch/periodic-1', undefined, { job: 'batch/periodic-1' }],
    ['web', '0', { job: 'web', jobVersion: 0 }],
    ['web', '12', { job: 'web', jobVersion: 12 }],
    ['web', '007', { job: 'web', jobVersion: 7 }],
  ])('job %s version %s', (job, version, expected) => {
    expect(parse({ job, 'job-version': version }).target).toEqual(expected)
  })

  it('rejects a job with whitespace', () => {
    const e = parseError({ job: 'my job' })
    expect(e.input).toBe('job')
    expect(e.message).toBe(`Input 'job' must be a job ID without whitespace (got "my job")`)
  })

  it.each(['-1', '1.5', 'v3', '1e3', '99999999999999999999'])('rejects job-version %s', (v) => {
    const e = parseError({ job: 'web', 'job-version': v })
    expect(e.input).toBe('job-version')
    expect(e.message).toMatch(/whole number, 0 or more/)
  })

  it('rejects job-version with deployment-id', () => {
    const e = parseError({ 'deployment-id': UUID, 'job-version': '3' })
    expect(e.input).toBe('job-version')
    expect(e.message).toBe(
      "Input 'job-version' can only be used with 'job', not with 'deployment-id'",
    )
  })
})

describe('mode, on-failure, on-unhealthy-canary, watch', () => {
  it.each(MODES.filter((m) => m !== 'health'))('mode %s', (mode) => {
    expect(parse({ ...JOB, mode }).mode).toBe(mode)
  })

  it.each(ON_FAILURE)('on-failure %s', (onFailure) => {
    expect(parse({ ...JOB, 'on-failure': onFailure }).onFailure).toBe(onFailure)
  })

  it.each(ON_UNHEALTHY_CANARY)('on-unhealthy-canary %s', (value) => {
    expect(parse({ ...JOB, 'on-unhealthy-canary': value }).onUnhealthyCanary).toBe(value)
  })

  it.each(WATCH_METHODS)('watch %s', (value) => {
    expect(parse({ ...JOB, watch: value }).watch).toBe(value)
  })

  it('takes on-unhealthy-canary and watch in every mode', () => {
    for (const mode of ['wait', 'fail', 'pause', 'resume'] as const) {
      const s = parse({ ...JOB, mode, 'on-unhealthy-canary': 'wait-for-replacement' })
      expect([s.onUnhealthyCanary, s.watch]).toEqual(['wait-for-replacement', 'auto'])
    }
  })

  it.each([
    ['mode', 'Promote', `must be one of ${MODES.join(', ')}`],
    ['mode', 'deploy', `must be one of ${MODES.join(', ')}`],
    ['on-failure', 'FAIL', 'must be one of none, fail, pause'],
    ['on-failure', 'revert', 'must be one of none, fail, pause'],
    ['on-unhealthy-canary', 'wait', 'must be one of fail-fast, wait-for-replacement'],
    ['on-unhealthy-canary', 'Fail-Fast', 'must be one of fail-fast, wait-for-replacement'],
    [
      'on-unhealthy-canary',
      'fail-fast,wait-for-replacement',
      'must be one of fail-fast, wait-for-replacement',
    ],
    ['watch', 'stream', 'must be one of auto, events, blocking'],
    ['watch', 'AUTO', 'must be one of auto, events, blocking'],
    ['watch', 'poll', 'must be one of auto, events, blocking'],
  ] as const)('rejects %s=%s', (name, value, must) => {
    const e = parseError({ ...JOB, [name]: value })
    expect(e.input).toBe(name)
    expect(e.message).toBe(`Input '${name}' ${must} (got "${value}")`)
  })
})

describe('groups', () => {
  it.each([
    ['web', ['web']],
    ['web,api', ['web', 'api']],
    ['web api', ['web', 'api']],
    ['web, api', ['web', 'api']],
    ['web\napi\n', ['web', 'api']],
    ['web,\napi,', ['web', 'api']],
    ['web\n\napi', ['web', 'api']],
    ['web,api,web', ['web', 'api']],
  ])('%j -> %j', (groups, expected) => {
    expect(parse({ ...JOB, groups }).groups).toEqual(expected)
  })

  it.each(['web,,api', ',web', 'web,,', 'web, ,api'])('rejects %j', (groups) => {
    const e = parseError({ ...JOB, groups })
    expect(e.input).toBe('groups')
    expect(e.message).toMatch(
      /must be task group names separated by commas, spaces or newlines, with no empty entry/,
    )
  })
})

describe('NOMAD_CANARY_GATE_REQUEST_TIMEOUT: the limit of a request that is not a blocking query', () => {
  it('a duration sets it; unset or empty leaves the client its default', () => {
    expect(parse(JOB, { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: '2s' }).requestTimeoutMs).toBe(2_000)
    expect(parse(JOB, { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: '750ms' }).requestTimeoutMs).toBe(750)
    expect(parse(JOB).requestTimeoutMs).toBeUndefined()
    expect(parse(JOB, { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: '' }).requestTimeoutMs).toBeUndefined()
  })

  it('zero, or what is no duration, fails naming the variable and the value', () => {
    expect(() => parse(JOB, { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: '0s' })).toThrow(
      new Error('NOMAD_CANARY_GATE_REQUEST_TIMEOUT must be a positive duration (got "0s")'),
    )
    expect(() => parse(JOB, { NOMAD_CANARY_GATE_REQUEST_TIMEOUT: 'soon' })).toThrow(
      /expected a number in duration "soon"/,
    )
  })
})

describe("NOMAD_CANARY_GATE_DEBUG: the CLI's --debug as a variable", () => {
  it.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    [' yes\n', true],
    [undefined, false],
    ['', false],
    ['0', false],
    ['false', false],
    ['no', false],
    ['11', false],
    ['yes please', false],
    ['ayes', false],
  ])('%j -> %s', (value, debug) => {
    expect(debugFromEnv({ NOMAD_CANARY_GATE_DEBUG: value })).toBe(debug)
  })
})

describe('timeout', () => {
  it.each([
    ['90s', 90_000],
    ['600', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['24h', 86_400_000],
  ])('%s -> %s ms', (timeout, ms) => {
    expect(parse({ ...JOB, timeout }).timeoutMs).toBe(ms)
  })

  it.each(['-5s', '0', '0s', 'soon', '10M', '1h30'])('rejects %s', (timeout) => {
    const e = parseError({ ...JOB, timeout })
    expect(e.message).toBe(
      `Input 'timeout' must be a positive duration such as 90s, 10m or 1h30m (got "${timeout}")`,
    )
  })

  it.each(['25h', '24h0m0.001s'])('rejects %s as over 24h', (timeout) => {
    expect(parseError({ ...JOB, timeout }).message).toMatch(/at most 24h/)
  })
})

describe('healthy-allocs / unhealthy-allocs', () => {
  const HEALTH = { ...JOB, mode: 'health' }

  it.each([
    [{ 'healthy-allocs': 'canaries' }, { canaries: true }, undefined],
    [{ 'unhealthy-allocs': 'canaries' }, undefined, { canaries: true }],
    [{ 'healthy-allocs': 'ABCD1234, ef56\nabcd1234' }, { ids: ['abcd1234', 'ef56'] }, undefined],
    [
      { 'healthy-allocs': `${UUID}`, 'unhealthy-allocs': '0123' },
      { ids: [UUID] },
      { ids: ['0123'] },
    ],
  ])('%j', (inputs, healthy, unhealthy) => {
    const s = parse({ ...HEALTH, ...inputs })
    expect(s.healthyAllocs).toEqual(healthy)
    expect(s.unhealthyAllocs).toEqual(unhealthy)
  })

  it.each([
    [{}, 'healthy-allocs', /'unhealthy-allocs' is required with mode 'health'/],
    [{ 'healthy-allocs': 'xyz' }, 'healthy-allocs', /"xyz" is neither/],
    [{ 'healthy-allocs': 'canaries,abcd' }, 'healthy-allocs', /"canaries" is neither/],
    [{ 'unhealthy-allocs': 'abcd,,ef' }, 'unhealthy-allocs', /no empty entry/],
    [{ 'unhealthy-allocs': 'Canaries' }, 'unhealthy-allocs', /or the word 'canaries'/],
    [
      { 'healthy-allocs': 'canaries', 'unhealthy-allocs': 'canaries' },
      'unhealthy-allocs',
      /the other list is 'canaries'/,
    ],
    [
      { 'healthy-allocs': 'canaries', 'unhealthy-allocs': 'abcd' },
      'unhealthy-allocs',
      /the other list is 'canaries'/,
    ],
    [
      { 'healthy-allocs': 'abcd,ef01', 'unhealthy-allocs': '1234 EF01' },
      'unhealthy-allocs',
      /"ef01" and "ef01" overlap/,
    ],
    [
      { 'healthy-allocs': 'abcd', 'unhealthy-allocs': 'abcd12' },
      'unhealthy-allocs',
      /"abcd12" and "abcd" overlap/,
    ],
    [
      { 'healthy-allocs': 'abcd12', 'unhealthy-allocs': 'abcd' },
      'unhealthy-allocs',
      /"abcd" and "abcd12" overlap/,
    ],
    [
      { 'healthy-allocs': 'abcd', 'unhealthy-allocs': 'canaries' },
      'unhealthy-allocs',
      /the other list is 'canaries'/,
    ],
  ])('in health mode rejects %j', (inputs, input, reason) => {
    const e = parseError({ ...HEALTH, ...inputs })
    expect(e.input).toBe(input)
    expect(e.message).toMatch(reason)
  })

  it.each([
    ['promote', 'healthy-allocs'],
    ['wait', 'unhealthy-allocs'],
    ['fail', 'healthy-allocs'],
  ] as const)('rejects them in mode %s', (mode, name) => {
    const e = parseError({ ...JOB, mode, [name]: 'canaries' })
    expect(e.input).toBe(name)
    expect(e.message).toBe(`Input '${name}' is only used with mode 'health' (mode is '${mode}')`)
  })
})

// --- TLS: throwaway certificates made at test time --------------------------

const hasOpenssl = spawnSync('openssl', ['version']).status === 0
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ncg-settings-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

function selfSigned(name: string): {
  certFile: string
  keyFile: string
  cert: string
  key: string
} {
  const certFile = path.join(tmp, `${name}.crt`)
  const keyFile = path.join(tmp, `${name}.key`)
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`],
    ],
    { stdio: 'ignore' },
  )
  return {
    certFile,
    keyFile,
    cert: fs.readFileSync(certFile, 'utf8'),
    key: fs.readFileSync(keyFile, 'utf8'),
  }
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return file
}

describe.skipIf(!hasOpenssl)('TLS files and PEM text', () => {
  const ca = hasOpenssl ? selfSigned('ca') : undefined!
  const ca2 = hasOpenssl ? selfSigned('ca2') : undefined!
  const client = hasOpenssl ? selfSigned('client') : undefined!
  const otherKey = crypto
    .generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString()
  const encryptedKey = crypto.generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' },
  }).privateKey
  const keyBody = client.key.split('\n')[1]!
  const garbageCert = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'
  const bundle = write('bundle.pem', `# comment\n${ca.cert}\n${ca2.cert}`)

  it.each([
    ['a path', () => ca.certFile, () => ca.cert],
    ['PEM text', () => ca.cert, () => ca.cert],
    ['PEM text with literal \\n', () => ca.cert.trim().replace(/\n/g, '\\n'), () => ca.cert],
    ['a bundle file', () => bundle, () => `${ca.cert.trim()}\n${ca2.cert}`],
  ])('ca-cert as %s', (_, value, expected) => {
    expect(parse({ ...JOB, 'ca-cert': value() }).nomad.tls.caCert).toBe(expected())
  })

  it('ca-cert from NOMAD_CACERT', () => {
    expect(parse(JOB, { NOMAD_CACERT: ca.certFile }).nomad.tls.caCert).toBe(ca.cert)
  })

  it('reads a NOMAD_CAPATH directory, skipping non-certificates and subdirectories', () => {
    const dir = path.join(tmp, 'capath')
    write('capath/a.pem', ca.cert)
    write('capath/b.pem', ca2.cert)
    write('capath/README', 'not a certificate')
    write('capath/sub/c.pem', client.cert)
    fs.symlinkSync(path.join(dir, 'a.pem'), path.join(dir, '0a1b2c3d.0'))
    const caCert = parse(JOB, { NOMAD_CAPATH: dir }).nomad.tls.caCert
    expect(caCert).toBe(`${ca.cert.trim()}\n${ca2.cert}`)
  })

  it('reads a NOMAD_CAPATH file', () => {
    expect(parse(JOB, { NOMAD_CAPATH: ca.certFile }).nomad.tls.caCert).toBe(ca.cert)
  })

  it('prefers ca-cert and NOMAD_CACERT over NOMAD_CAPATH', () => {
    const env = { NOMAD_CAPATH: '/nonexistent', NOMAD_CACERT: ca2.certFile }
    expect(parse(JOB, env).nomad.tls.caCert).toBe(ca2.cert)
    expect(parse({ ...JOB, 'ca-cert': ca.certFile }, env).nomad.tls.caCert).toBe(ca.cert)
  })

  it.each([
    [
      'a missing file',
      () => ({ 'ca-cert': '/nonexistent/ca.pem' }),
      /no such file: "\/nonexistent\/ca.pem"/,
    ],
    [
      'a garbage certificate',
      () => ({ 'ca-cert': garbageCert }),
      /does not parse \(#1 in the PEM text\)/,
    ],
    ['a key file', () => ({ 'ca-cert': client.keyFile }), /none found in file ".*client.key"/],
    [
      'an empty directory',
      () => ({ 'ca-cert': fs.mkdtempSync(path.join(tmp, 'empty-')) }),
      /none found in/,
    ],
  ])('rejects ca-cert as %s', (_, inputs, reason) => {
    const e = parseError({ ...JOB, ...inputs() })
    expect(e.input).toBe('ca-cert')
    expect(e.message).toMatch(reason)
  })

  it('names NOMAD_CAPATH when it is bad', () => {
    expect(parseError(JOB, { NOMAD_CAPATH: '/nonexistent' }).message).toMatch(
      /^Input 'ca-cert' \(from NOMAD_CAPATH\) .*no such file: "\/nonexistent"/,
    )
  })

  it.each([
    ['paths', () => ({ 'client-cert': client.certFile, 'client-key': client.keyFile }), {}],
    ['PEM text', () => ({ 'client-cert': client.cert, 'client-key': client.key }), {}],
    [
      'NOMAD_CLIENT_* env',
      () => ({}),
      () => ({ NOMAD_CLIENT_CERT: client.certFile, NOMAD_CLIENT_KEY: client.keyFile }),
    ],
  ])('client cert and key as %s', (_, inputs, env) => {
    const s = parse({ ...JOB, ...inputs() }, typeof env === 'function' ? env() : env)
    expect(s.nomad.tls.clientCert).toBe(client.cert)
    expect(s.nomad.tls.clientKey).toBe(client.key)
    expect(s.secrets).toEqual([client.key.trim()])
  })

  it('keeps only the certificates of a combined cert+key file as client-cert', () => {
    const combined = write('combined.pem', `${client.key}${client.cert}`)
    const s = parse({ ...JOB, 'client-cert': combined, 'client-key': combined })
    expect(s.nomad.tls.clientCert).toBe(client.cert)
    expect(s.nomad.tls.clientCert).not.toContain('PRIVATE KEY')
    expect(s.secrets).toEqual([`${client.key}${client.cert}`.trim()])
  })

  it.each([
    [
      'client-cert without client-key',
      () => ({ 'client-cert': client.certFile }),
      'client-key',
      /required when input 'client-cert' is set/,
    ],
    [
      'client-key without client-cert',
      () => ({ 'client-key': client.keyFile }),
      'client-cert',
      /required when input 'client-key' is set/,
    ],
    [
      'a key that does not match',
      () => ({ 'client-cert': client.cert, 'client-key': otherKey }),
      'client-key',
      /does not match/,
    ],
    [
      'an encrypted key',
      () => ({ 'client-cert': client.cert, 'client-key': encryptedKey }),
      'client-key',
      /encrypted/,
    ],
    [
      'garbage key PEM',
      () => ({
        'client-cert': client.cert,
        'client-key': `-----BEGIN PRIVATE KEY-----\n${keyBody}\n-----END PRIVATE KEY-----`,
      }),
      'client-key',
      /does not parse as one/,
    ],
    [
      'a public key',
      () => ({
        'client-cert': client.cert,
        'client-key': crypto
          .createPublicKey(client.key)
          .export({ type: 'spki', format: 'pem' })
          .toString(),
      }),
      'client-key',
      /does not parse/,
    ],
    [
      'a missing key file',
      () => ({ 'client-cert': client.cert, 'client-key': '/nonexistent/client.key' }),
      'client-key',
      /no such file: "\/nonexistent\/client.key"/,
    ],
    [
      'a key blob that is not a path',
      () => ({ 'client-cert': client.cert, 'client-key': keyBody.repeat(30) }),
      'client-key',
      /readable file; .*: \(value not shown\)$/,
    ],
    [
      'a directory as client-cert',
      () => ({ 'client-cert': tmp, 'client-key': client.key }),
      'client-cert',
      /it is a directory/,
    ],
    [
      'a key as client-cert',
      () => ({ 'client-cert': client.key, 'client-key': client.key }),
      'client-cert',
      /none found in the PEM text/,
    ],
  ])('rejects %s', (_, inputs, input, reason) => {
    const e = parseError({ ...JOB, ...inputs() })
    expect(e.input).toBe(input)
    expect(e.message).toMatch(reason)
    expect(e.message).not.toContain(keyBody)
    expect(e.message).not.toContain(otherKey.split('\n')[1])
  })

  it.skipIf(process.getuid?.() === 0)('rejects an unreadable file, naming it', () => {
    const file = write('unreadable.pem', ca.cert)
    fs.chmodSync(file, 0o000)
    expect(parseError({ ...JOB, 'ca-cert': file }).message).toMatch(
      /cannot read .*unreadable\.pem.*EACCES/,
    )
  })

  // What Node's X509Certificate says of a block that does not parse.
  function parserSays(block: string): string {
    try {
      new crypto.X509Certificate(block)
    } catch (e) {
      return (e as Error).message
    }
    throw new Error('expected a certificate that does not parse')
  }

  it('says which certificate does not parse, where, and what the parser says', () => {
    const why = parserSays(garbageCert.trim())
    expect(parseError({ ...JOB, 'ca-cert': garbageCert }).message).toBe(
      `Input 'ca-cert' has a certificate that does not parse (#1 in the PEM text): ${why}`,
    )
    const dir = path.join(tmp, 'capath-garbage')
    write('capath-garbage/a.pem', ca.cert)
    const bad = write('capath-garbage/b.pem', `${ca2.cert}${garbageCert}`)
    expect(parseError(JOB, { NOMAD_CAPATH: dir }).message).toBe(
      `Input 'ca-cert' (from NOMAD_CAPATH) has a certificate that does not parse (#2 in file ${JSON.stringify(bad)}): ${why}`,
    )
  })

  it('takes PEM text on several lines as written, a literal \\n in it included', () => {
    // As `openssl pkcs12 -nodes` writes a key, here for a Windows account.
    const key = `Bag Attributes\n    friendlyName: CORP\\nomad-ci\n${client.key}`
    const s = parse({ ...JOB, 'client-cert': client.cert, 'client-key': key })
    expect(s.nomad.tls.clientKey).toBe(key)
    expect(s.secrets).toEqual([key.trim()])
  })

  it('says a directory holds no certificate, naming it', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'no-certs-'))
    write(`${path.basename(dir)}/README`, 'not a certificate')
    expect(parseError(JOB, { NOMAD_CAPATH: dir }).message).toBe(
      `Input 'ca-cert' (from NOMAD_CAPATH) must name a directory holding PEM CA certificates; none found in ${JSON.stringify(dir)}`,
    )
  })

  it('refuses a CA directory with a dangling link, as Go does (rootcerts.LoadCAPath)', () => {
    const dir = path.join(tmp, 'capath-dangling')
    write('capath-dangling/a.pem', ca.cert)
    const link = path.join(dir, 'b.pem')
    fs.symlinkSync(path.join(dir, 'gone.pem'), link)
    expect(parseError(JOB, { NOMAD_CAPATH: dir }).message).toBe(
      `Input 'ca-cert' (from NOMAD_CAPATH) must be a directory of readable CA PEM files; cannot read ${JSON.stringify(link)}: ENOENT: no such file or directory, stat '${link}'`,
    )
  })

  it('says why a path cannot be read when it is not missing', () => {
    const through = path.join(ca.certFile, 'ca.pem')
    expect(parseError({ ...JOB, 'ca-cert': through }).message).toBe(
      `Input 'ca-cert' must be PEM text (-----BEGIN ...) or the path of a readable file; cannot read it (ENOTDIR): ${JSON.stringify(through)}`,
    )
  })

  // Opening a Unix socket fails (ENXIO on Linux), though stat finds it: a file
  // that cannot be read, whoever runs the tests (root reads a chmod 000 file).
  it.runIf(process.platform === 'linux')('names a file that cannot be read', async () => {
    const socket = path.join(tmp, 'ca.sock')
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      expect(parseError({ ...JOB, 'ca-cert': socket }).message).toBe(
        `Input 'ca-cert' must be a readable file; cannot read ${JSON.stringify(socket)}: ENXIO`,
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it.skipIf(process.getuid?.() === 0)('names a CA directory it cannot list', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'unlisted-'))
    fs.chmodSync(dir, 0o000)
    try {
      expect(parseError(JOB, { NOMAD_CAPATH: dir }).message).toBe(
        `Input 'ca-cert' (from NOMAD_CAPATH) must be a readable directory of CA PEM files; cannot list ${JSON.stringify(dir)}: EACCES: permission denied, scandir '${dir}'`,
      )
    } finally {
      fs.chmodSync(dir, 0o700)
    }
  })

  // A path is shown in the message, cut to 120 characters. A key's value only
  // while it can be a path (at most 1024 characters, one line): past that it
  // may be the key itself.
  const missing = (length: number) => '/nonexistent/'.padEnd(length, 'k/')
  it.each([
    ['ca-cert', 1100, true],
    ['client-key', 1024, true],
    ['client-key', 1025, false],
  ] as const)('%s: a missing path of %i characters, shown: %s', (name, length, shown) => {
    const value = missing(length)
    const e = parseError({
      ...JOB,
      'client-cert': client.cert,
      'client-key': client.key,
      [name]: value,
    })
    const named = shown ? `"${value.slice(0, 117)}..."` : '(value not shown)'
    expect(e.message).toBe(
      `Input '${name}' must be PEM text (-----BEGIN ...) or the path of a readable file; no such file: ${named}`,
    )
  })
})

describe('soak, checks, GitHub, dry run', () => {
  it('parses a soak with URL and Prometheus checks', () => {
    const s = parse({
      ...JOB,
      soak: '5m',
      'check-url': 'https://a.example/health, http://b.example:8080/ready',
      'check-interval': '30s',
      'check-timeout': '2s',
      'prometheus-url': 'http://prom:9090/',
      'prometheus-query': 'sum(rate(errors[1m]))',
      'prometheus-threshold': '0.05',
      'failure-limit': '2',
    })
    expect(s.soakMs).toBe(300_000)
    expect(s.checks).toEqual({
      urls: ['https://a.example/health', 'http://b.example:8080/ready'],
      intervalMs: 30_000,
      timeoutMs: 2_000,
      failureLimit: 2,
      prometheus: { url: 'http://prom:9090', query: 'sum(rate(errors[1m]))', threshold: 0.05 },
    })
  })

  it('parses GitHub settings and keeps the token secret', () => {
    const s = parse({ ...JOB, 'github-token': 'ghs_abc', environment: 'production' })
    const noRunner = { repository: '', apiUrl: 'https://api.github.com' }
    expect(s.github).toEqual({ token: 'ghs_abc', environment: 'production', ...noRunner })
    expect(s.secrets).toContain('ghs_abc')
    expect(
      parse({ ...JOB, 'github-token': 'ghs_abc', 'github-deployment-id': '42' }).github,
    ).toEqual({
      token: 'ghs_abc',
      deploymentId: 42,
      ...noRunner,
    })
  })

  it('takes the run from the GITHUB_* variables the runner sets', () => {
    const env = {
      GITHUB_SERVER_URL: 'https://github.example.com/',
      GITHUB_REPOSITORY: 'octo/app',
      GITHUB_RUN_ID: '4242',
      GITHUB_SHA: 'a1b2c3d4',
      GITHUB_API_URL: 'https://api.github.example.com',
    }
    expect(parse({ ...JOB, 'github-token': 'ghs_abc', environment: 'prod' }, env).github).toEqual({
      token: 'ghs_abc',
      environment: 'prod',
      repository: 'octo/app',
      ref: 'a1b2c3d4',
      logUrl: 'https://github.example.com/octo/app/actions/runs/4242',
      apiUrl: 'https://api.github.example.com',
    })
  })

  it('parses dry-run', () => {
    expect(parse({ ...JOB, 'dry-run': 'true' }).dryRun).toBe(true)
  })

  // A check's interval or timeout of 0 is told the bound as one over 24h is; a
  // soak of 0 is no soak, and a negative value does not parse.
  it.each([
    ['soak', '-1m', 'must be a non-negative duration such as 30s, 5m or 1h30m'],
    ['soak', '25h', 'must be a non-negative duration such as 30s, 5m or 1h30m, at most 24h'],
    ['check-interval', '0s', 'must be a positive duration such as 30s, 5m or 1h30m, at most 24h'],
    ['check-interval', '25h', 'must be a positive duration such as 30s, 5m or 1h30m, at most 24h'],
    ['check-timeout', 'fast', 'must be a positive duration such as 30s, 5m or 1h30m'],
    ['check-timeout', '-2s', 'must be a positive duration such as 30s, 5m or 1h30m'],
    ['check-timeout', '0', 'must be a positive duration such as 30s, 5m or 1h30m, at most 24h'],
  ] as const)('rejects %s=%s with the whole reason', (name, value, must) => {
    const e = parseError({ ...JOB, soak: '1m', [name]: value })
    expect(e.message).toBe(`Input '${name}' ${must} (got "${value}")`)
  })

  it.each<[string, Inputs, string, RegExp]>([
    ['a negative soak', { soak: '-1m' }, 'soak', /non-negative duration/],
    ['a soak as long as the timeout', { soak: '10m' }, 'soak', /shorter than timeout/],
    ['a soak in fail mode', { soak: '1m', mode: 'fail' }, 'soak', /only applies to modes/],
    ['checks without a soak', { 'check-url': 'https://a.example' }, 'check-url', /set soak/],
    [
      'a check URL without scheme',
      { soak: '1m', 'check-url': 'a.example/health' },
      'check-url',
      /http:\/\/ or https:\/\//,
    ],
    [
      'a zero check interval',
      { soak: '1m', 'check-interval': '0s' },
      'check-interval',
      /positive duration/,
    ],
    [
      'garbage check timeout',
      { soak: '1m', 'check-timeout': 'fast' },
      'check-timeout',
      /positive duration/,
    ],
    [
      'a Prometheus URL alone',
      { soak: '1m', 'prometheus-url': 'http://p:9090' },
      'prometheus-url',
      /all three/,
    ],
    [
      'a non-numeric threshold',
      {
        soak: '1m',
        'prometheus-url': 'http://p:9090',
        'prometheus-query': 'up',
        'prometheus-threshold': 'low',
      },
      'prometheus-threshold',
      /must be a number/,
    ],
    [
      'a negative failure limit',
      { soak: '1m', 'failure-limit': '-1' },
      'failure-limit',
      /whole number/,
    ],
    [
      'an environment without a token',
      { environment: 'production' },
      'environment',
      /needs github-token/,
    ],
    [
      'a token without a deployment or environment',
      { 'github-token': 'ghs_x' },
      'github-token',
      /environment/,
    ],
    [
      'a bad GitHub deployment ID',
      { 'github-token': 'ghs_x', 'github-deployment-id': 'abc' },
      'github-deployment-id',
      /positive number/,
    ],
    ['dry-run: maybe', { 'dry-run': 'maybe' }, 'dry-run', /true or false|boolean/],
  ])('rejects %s', (_, inputs, input, reason) => {
    const e = parseError({ ...JOB, ...inputs })
    expect(e.input).toBe(input)
    expect(e.message).toMatch(reason)
    expect(e.message).not.toContain('ghs_x')
  })
})

// Cases that survivors of `npm run mutate` showed untested: each row is a bug
// a parser could have that no other test here would notice.
describe('edges of the parsers', () => {
  it('a soak applies to modes promote and wait; 0s is no soak', () => {
    expect(parse({ ...JOB, soak: '30s' }).soakMs).toBe(30_000)
    expect(parse({ ...JOB, soak: '30s', mode: 'wait' }).soakMs).toBe(30_000)
    expect(parse({ ...JOB, soak: '0s', mode: 'pause' }).soakMs).toBe(0)
    expect(parseError({ ...JOB, soak: '30s', mode: 'pause' }).message).toMatch(
      /only applies to modes 'promote' and 'wait' \(mode is 'pause'\)/,
    )
  })

  it.each([
    [{ 'prometheus-url': 'http://prom:9090', 'prometheus-query': 'up' }, 'prometheus-url'],
    [{ 'prometheus-url': 'http://prom:9090', 'prometheus-threshold': '1' }, 'prometheus-url'],
    [{ 'prometheus-query': 'up', 'prometheus-threshold': '1' }, 'prometheus-query'],
    [{ 'prometheus-threshold': '1' }, 'prometheus-threshold'],
  ])('Prometheus needs all three inputs: %j', (inputs, input) => {
    const e = parseError({ ...JOB, soak: '1m', ...inputs })
    expect(e.input).toBe(input)
    expect(e.message).toMatch(
      /needs all three of prometheus-url, prometheus-query and prometheus-threshold/,
    )
  })

  it('a Prometheus URL loses every trailing slash', () => {
    const s = parse({
      ...JOB,
      soak: '1m',
      'prometheus-url': 'http://prom:9090//',
      'prometheus-query': 'up',
      'prometheus-threshold': '1',
    })
    expect(s.checks.prometheus?.url).toBe('http://prom:9090')
  })

  it.each([
    [
      'http:a.example/health',
      /must be http:\/\/ or https:\/\/ URLs \(got "http:a.example\/health"\)/,
    ],
    ['ftp://a.example/x', /must be http:\/\/ or https:\/\/ URLs/],
    ['https://a.example/x,,https://b.example/y', /must be URLs separated by commas/],
  ])('check-url %s is refused', (url, reason) => {
    const e = parseError({ ...JOB, soak: '1m', 'check-url': url })
    expect(e.input).toBe('check-url')
    expect(e.message).toMatch(reason)
  })

  // Both rules: the URL parses, and its text starts with http:// or https://.
  it.each([
    ['http://[::1', 'it does not parse'],
    ['http:/a.example/health?next=http://b.example', 'one slash, an http:// later'],
    ['\u0001http://a.example/health', 'a control character first, which URL would drop'],
  ])('check-url %j is refused (%s)', (url) => {
    expect(parseError({ ...JOB, soak: '1m', 'check-url': url }).message).toBe(
      `Input 'check-url' must be http:// or https:// URLs (got ${JSON.stringify(url)})`,
    )
  })

  it('a GitHub token that cannot go in a header is refused without being shown', () => {
    const e = parseError({ ...JOB, 'github-token': 'ghs_ab\u00e9cd', environment: 'prod' })
    expect(e.input).toBe('github-token')
    expect(e.message).toMatch(/must be a GitHub token/)
    expect(e.message).not.toContain('ghs_ab')
  })

  it('github-deployment-id is a positive whole number', () => {
    const id = (v: string) => ({ ...JOB, 'github-token': 'ghs_x', 'github-deployment-id': v })
    expect(parse(id('123')).github?.deploymentId).toBe(123)
    for (const bad of ['0', '012', '12a', 'a12', '-1', '1.5']) {
      expect(parseError(id(bad)).message, bad).toMatch(/a positive number/)
    }
  })

  it("the run's page needs the server, the repository and the run; the server's slashes go", () => {
    const env = { GITHUB_SERVER_URL: 'https://github.example.com//', GITHUB_REPOSITORY: 'o/a' }
    const gh = (e: Record<string, string>) =>
      parse({ ...JOB, 'github-token': 'ghs_x', environment: 'prod' }, e).github
    expect(gh(env)?.logUrl).toBeUndefined()
    expect(
      gh({ GITHUB_SERVER_URL: 'https://github.example.com', GITHUB_RUN_ID: '7' })?.logUrl,
    ).toBeUndefined()
    expect(gh({ ...env, GITHUB_RUN_ID: '7' })?.logUrl).toBe(
      'https://github.example.com/o/a/actions/runs/7',
    )
  })
})
