// The small parsers parseSettings is composed of (src/config/), one table each.
// settings.test.ts covers the whole through parseSettings; these pin each piece.

import { describe, expect, it } from 'vitest'
import { parseAddress, parseHttpAuth } from '../src/config/address.js'
import { runnerContext } from '../src/config/github.js'
import { parseSettings } from '../src/config/parse.js'
import {
  InputError,
  SecretList,
  isHeaderSafe,
  isUuidPrefix,
  noWhitespace,
  oneOf,
  parseBoolean,
  parseCount,
  parseDurationValue,
  readInputs,
  splitList,
  type InputValue,
} from '../src/config/values.js'

const input = (value: string, env?: string): InputValue => ({ input: 'x', value, env })

/** The message of the InputError `f` throws. */
function message(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    return (e as InputError).message
  }
  throw new Error('expected an InputError')
}

describe('parseBoolean', () => {
  it.each([
    ['true', undefined, true],
    ['True', undefined, true],
    ['FALSE', undefined, false],
    ['1', 'NOMAD_SKIP_VERIFY', true],
    ['t', 'NOMAD_SKIP_VERIFY', true],
    ['0', 'NOMAD_SKIP_VERIFY', false],
    ['F', 'NOMAD_SKIP_VERIFY', false],
  ])('%s (from %s) -> %s', (value, env, expected) => {
    expect(parseBoolean(input(value, env))).toBe(expected)
  })

  it('is false when unset', () => {
    expect(parseBoolean(undefined)).toBe(false)
  })

  it.each([
    ['1', undefined, 'Input \'x\' must be true or false (got "1")'],
    ['yes', undefined, 'Input \'x\' must be true or false (got "yes")'],
    [
      'yes',
      'NOMAD_SKIP_VERIFY',
      'Input \'x\' (from NOMAD_SKIP_VERIFY) must be true or false (or 1, 0) (got "yes")',
    ],
  ])('rejects %s (from %s)', (value, env, expected) => {
    expect(message(() => parseBoolean(input(value, env)))).toBe(expected)
  })
})

describe('oneOf', () => {
  const COLORS = ['red', 'green'] as const
  it('returns an allowed value', () => {
    expect(oneOf(input('green'), COLORS)).toBe('green')
  })
  it.each(['Red', 'blue', 'red,green'])('rejects %s, naming what is allowed', (value) => {
    expect(message(() => oneOf(input(value), COLORS))).toBe(
      `Input 'x' must be one of red, green (got ${JSON.stringify(value)})`,
    )
  })

  // A message quotes at most 120 characters of the value: 117 and '...' past that.
  const ten = 'abcdefghij'
  it.each([
    [ten.repeat(12), ten.repeat(12)],
    [`${ten.repeat(12)}k`, `${ten.repeat(11)}abcdefg...`],
  ])('quotes a value of %#: 120 characters whole, a longer one cut', (value, quoted) => {
    expect(message(() => oneOf(input(value), COLORS))).toBe(
      `Input 'x' must be one of red, green (got "${quoted}")`,
    )
  })
})

describe('InputError', () => {
  it('is named so in a stack trace and keeps the input it is about', () => {
    const e = new InputError('groups', "Input 'groups' must be task group names")
    expect(String(e)).toBe("InputError: Input 'groups' must be task group names")
    expect(e.input).toBe('groups')
  })
})

describe('splitList', () => {
  it.each([
    ['web', ['web']],
    ['web,api', ['web', 'api']],
    ['web, api', ['web', 'api']],
    ['web api\ncache', ['web', 'api', 'cache']],
    ['web,\napi,', ['web', 'api']],
    ['web,web,api', ['web', 'api']],
  ])('%j -> %j', (value, expected) => {
    expect(splitList(input(value), 'names')).toEqual(expected)
  })

  it.each(['web,,api', ',web', 'web,,', 'web, ,api'])('rejects %j', (value) => {
    expect(message(() => splitList(input(value), 'names'))).toContain(
      'must be names separated by commas, spaces or newlines, with no empty entry',
    )
  })

  // readInputs trims each value and takes a blank one as unset; splitList itself
  // takes the value as given.
  it('allows blanks after the one trailing comma', () => {
    expect(splitList(input('web, \n'), 'names')).toEqual(['web'])
  })

  it.each(['', ' ', '\n'])('rejects %j, which has no entry at all', (value) => {
    expect(message(() => splitList(input(value), 'names'))).toBe(
      `Input 'x' must be names separated by commas, spaces or newlines, with no empty entry (got ${JSON.stringify(value)})`,
    )
  })
})

describe('isUuidPrefix', () => {
  it.each([
    ['5', true],
    ['5e7f2a1c', true],
    ['5e7f2a1c-', true],
    ['5e7f2a1c-9b3d-4e6f-8a0b-1c2d3e4f5a6b', true],
    ['', false],
    ['5E7F', false],
    ['5e7f2a1c9', false],
    ['5e7f-2a1c', false],
    ['5e7f2a1c-9b3d-4e6f-8a0b-1c2d3e4f5a6b0', false],
    ['xyz', false],
  ])('%j -> %s', (value, expected) => {
    expect(isUuidPrefix(value)).toBe(expected)
  })
})

describe('noWhitespace and isHeaderSafe', () => {
  it.each(['prod', 'a-b_c.d'])('%j passes', (value) => {
    expect(noWhitespace(input(value), 'a name')).toBe(value)
    expect(isHeaderSafe(value)).toBe(true)
  })
  it.each(['a b', 'a\tb', 'a\u0000b'])('%j fails', (value) => {
    expect(message(() => noWhitespace(input(value), 'a name'))).toContain(
      'must be a name without whitespace',
    )
    expect(isHeaderSafe(value)).toBe(false)
  })
  it('a header takes visible ASCII only', () => {
    expect(isHeaderSafe('tökensecret')).toBe(false)
    expect(isHeaderSafe('')).toBe(false)
  })
})

describe('parseCount', () => {
  it.each([
    ['0', 0],
    ['7', 7],
    ['007', 7],
  ])('%s -> %d', (value, expected) => {
    expect(parseCount(input(value), 'must be a count')).toBe(expected)
  })
  it.each(['-1', '1.5', 'v3', '1e3', ' ', '99999999999999999999'])('rejects %j', (value) => {
    expect(message(() => parseCount(input(value), 'must be a count'))).toBe(
      `Input 'x' must be a count (got ${JSON.stringify(value)})`,
    )
  })
})

describe('parseDurationValue', () => {
  const must = 'must be a positive duration'
  it.each([
    ['90s', {}, 90_000],
    ['1h30m', {}, 5_400_000],
    ['600', {}, 600_000],
    ['24h', {}, 86_400_000],
    ['0', { allowZero: true }, 0],
  ])('%s %j -> %d ms', (value, options, expected) => {
    expect(parseDurationValue(input(value), must, options)).toBe(expected)
  })

  it.each([
    ['soon', {}, must],
    ['0', {}, must],
    ['25h', {}, `${must}, at most 24h`],
    ['0', { boundAlways: true }, `${must}, at most 24h`],
    ['25h', { allowZero: true, boundAlways: true }, `${must}, at most 24h`],
  ])('rejects %s %j: %s', (value, options, expected) => {
    expect(message(() => parseDurationValue(input(value), must, options))).toBe(
      `Input 'x' ${expected} (got ${JSON.stringify(value)})`,
    )
  })
})

describe('readInputs', () => {
  const env = { NOMAD_CACERT: '', NOMAD_CAPATH: ' /etc/ssl/certs ', NOMAD_ADDR: 'http://env:4646' }
  it.each<[string, Record<string, string>, InputValue | undefined]>([
    ['address', { address: ' http://in:4646 ' }, { input: 'address', value: 'http://in:4646' }],
    ['address', {}, { input: 'address', value: 'http://env:4646', env: 'NOMAD_ADDR' }],
    ['ca-cert', {}, { input: 'ca-cert', value: '/etc/ssl/certs', env: 'NOMAD_CAPATH' }],
    ['timeout', {}, { input: 'timeout', value: '10m' }],
    ['groups', {}, undefined],
  ])('%s with %j', (name, inputs, expected) => {
    const read = readInputs((n) => inputs[n] ?? '', env)
    expect(read.get(name as 'address')).toEqual(expected)
  })

  it.each([
    ['address', ['NOMAD_ADDR']],
    ['ca-cert', ['NOMAD_CACERT', 'NOMAD_CAPATH']],
    ['timeout', []],
    ['auth-method', []],
  ] as const)('%s reads the variables %j and no other', (name, variables) => {
    const read: string[] = []
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_, variable) => {
        read.push(String(variable))
        return undefined
      },
    })
    readInputs(() => '', env).get(name)
    expect(read).toEqual(variables)
  })

  it('an input without a default has no withDefault: a mistake in the code, said so', () => {
    expect(() => readInputs(() => '', {}).withDefault('groups')).toThrow(
      new Error('input groups has no default in src/config/inputs.ts'),
    )
  })

  it('falls back to the default after the variables', () => {
    const read = readInputs(() => '', {})
    expect(read.withDefault('address')).toEqual({
      input: 'address',
      value: 'http://127.0.0.1:4646',
    })
    expect(read.get('tls-skip-verify')).toEqual({ input: 'tls-skip-verify', value: 'false' })
  })
})

describe('parseAddress and parseHttpAuth', () => {
  it.each([
    ['http://nomad:4646', 'http://nomad:4646', undefined, []],
    [
      'https://ci:s3cr3t@nomad',
      'https://nomad',
      { username: 'ci', password: 's3cr3t' },
      ['s3cr3t'],
    ],
    [
      'https://c%40i:p%40ss@nomad',
      'https://nomad',
      { username: 'c@i', password: 'p@ss' },
      ['p@ss', 'p%40ss'],
    ],
    ['https://ci@nomad', 'https://nomad', { username: 'ci', password: '' }, []],
    // Not valid percent-encoding: kept as written.
    ['https://ci:p%zz@nomad', 'https://nomad', { username: 'ci', password: 'p%zz' }, ['p%zz']],
  ])('%s', (value, address, httpAuth, secrets) => {
    const found = new SecretList()
    expect(parseAddress({ input: 'address', value }, found)).toEqual({ address, httpAuth })
    expect(found.values).toEqual(secrets)
  })

  it('adds the password to the secrets before it fails', () => {
    const found = new SecretList()
    expect(() =>
      parseAddress({ input: 'address', value: 'https://:pw-123@nomad/v1' }, found),
    ).toThrow(InputError)
    expect(found.values).toEqual(['pw-123'])
    expect(() => parseHttpAuth(':pw-456', found)).toThrow(/NOMAD_HTTP_AUTH/)
    expect(found.values).toEqual(['pw-123', 'pw-456'])
  })
})

describe('secrets', () => {
  it('are told to onSecret once each, as found, before a later input fails', () => {
    const told: string[] = []
    expect(() =>
      parseSettings(
        (name) =>
          ({ token: 'tok-1', address: 'https://u:pw-2@nomad', 'github-token': 'ghs_3', mode: 'x' })[
            name
          ] ?? '',
        { NOMAD_TOKEN: 'tok-1' },
        { onSecret: (s) => told.push(s) },
      ),
    ).toThrow(/Input 'deployment-id' or input 'job' is required/)
    expect(told).toEqual(['tok-1', 'pw-2'])
  })

  it('keep their order and drop repeats and empties', () => {
    const told: string[] = []
    const list = new SecretList((s) => told.push(s))
    for (const s of ['a', '', 'b', 'a', undefined, 'c']) list.add(s)
    expect(list.values).toEqual(['a', 'b', 'c'])
    expect(told).toEqual(['a', 'b', 'c'])
  })
})

describe('runnerContext', () => {
  it('reads the run from the GITHUB_* variables', () => {
    expect(
      runnerContext({
        GITHUB_SERVER_URL: 'https://github.com/',
        GITHUB_REPOSITORY: 'octo/app',
        GITHUB_RUN_ID: '7',
        GITHUB_SHA: 'abc',
      }),
    ).toEqual({
      repository: 'octo/app',
      ref: 'abc',
      logUrl: 'https://github.com/octo/app/actions/runs/7',
      apiUrl: 'https://api.github.com',
    })
  })

  it('has no log URL without a run ID, and blanks are unset', () => {
    expect(runnerContext({ GITHUB_REPOSITORY: ' ', GITHUB_API_URL: '' })).toEqual({
      repository: '',
      ref: undefined,
      logUrl: undefined,
      apiUrl: 'https://api.github.com',
    })
  })
})
