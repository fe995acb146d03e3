// The one way a URL that may hold credentials is shown (src/redact.ts), and the
// one classification of a failed connection (src/network-error.ts).

import { describe, expect, it } from 'vitest'
import { classifyNetworkError } from '../src/network-error.js'
import { redactUrl, redactUserinfo, userinfoPasswords } from '../src/redact.js'

describe('redactUrl', () => {
  it.each([
    ['https://example.com/health', 'https://example.com/health'],
    ['https://u:p@example.com/h', 'https://***@example.com/h'],
    ['https://u@example.com/h', 'https://***@example.com/h'],
    ['https://e.com/h?token=t&x=1&Signature=s#f', 'https://e.com/h?token=***&x=1&Signature=***#f'],
    ['https://e.com/h?q=a%20b&password=p', 'https://e.com/h?q=a%20b&password=***'],
    ['not a url', 'not a url'],
    ['no url://u:hunter2@x', 'no url://***@x'],
  ])('%s -> %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown)
  })

  it.each([
    ['https://u:p@other.example:8443/v1/x?token=zz#f', 'https://other.example:8443/v1/x#f'],
    ['http://127.0.0.1:4646/v1/deployment/x', 'http://127.0.0.1:4646/v1/deployment/x'],
    ['http://nomad', 'http://nomad/'],
  ])('strip: %s -> %s', (url, shown) => {
    expect(redactUrl(url, 'strip')).toBe(shown)
  })
})

describe('redactUserinfo', () => {
  it.each([
    ['https://u:hunter2@nomad/path', 'https://***@nomad/path'],
    ['https://u:hunter2/xyz@nomad', 'https://***@nomad'],
    ['u:hunter2@nomad', '***@nomad'],
    ['https://:hunter2@nomad', 'https://***@nomad'],
    ['https://nomad:4646', 'https://nomad:4646'],
  ])('%s -> %s', (text, shown) => {
    expect(redactUserinfo(text)).toBe(shown)
  })
})

describe('userinfoPasswords', () => {
  it.each([
    ['https://alice:s3cr3t@nomad:4646', ['s3cr3t']],
    ['https://alice:p%40ss@nomad', ['p@ss', 'p%40ss']],
    ['https://alice:bad%zz@nomad', ['bad%zz']],
    ['https://:pw@nomad/v1', ['pw']],
    ['https://alice@nomad', []],
    ['https://alice:@nomad', []],
    ['https://nomad:4646', []],
  ])('%s -> %j', (text, passwords) => {
    expect(userinfoPasswords(text)).toEqual(passwords)
  })
})

describe('classifyNetworkError', () => {
  const coded = (code: string) => Object.assign(new Error(`boom ${code}`), { code })
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['EHOSTUNREACH', 'unreachable'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['EPIPE', 'other'],
  ])('%s is %s, from the error itself or from fetch as its cause', (code, kind) => {
    expect(classifyNetworkError(coded(code))).toMatchObject({ kind, code })
    const fetchFailed = new TypeError('fetch failed', { cause: coded(code) })
    expect(classifyNetworkError(fetchFailed)).toMatchObject({ kind, code })
    expect((classifyNetworkError(fetchFailed).source as Error).message).toBe(`boom ${code}`)
  })

  it('finds the code in an AggregateError of several addresses', () => {
    const err = new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'both failed')
    expect(classifyNetworkError(err)).toMatchObject({ kind: 'refused', code: 'ECONNREFUSED' })
  })

  it('is other, with no code, for an error without one', () => {
    expect(classifyNetworkError(new Error('odd'))).toMatchObject({ kind: 'other', code: '' })
    expect(classifyNetworkError('text')).toMatchObject({ kind: 'other', code: '' })
  })
})

// Cases that survivors of `npm run mutate` showed untested.
describe('redaction edges', () => {
  it('hides the whole value of a secret query parameter, not its first character', () => {
    expect(redactUrl('https://a.example/health?token=abcdef&page=2')).toBe(
      'https://a.example/health?token=***&page=2',
    )
  })

  it("a '+' in a password is a '+', not a space: the password as the server gets it", () => {
    expect(userinfoPasswords('http://u:a+b@nomad:4646')).toEqual(['a+b'])
  })

  it("hides what precedes an '@' at the very start, and keeps a '://' that comes after the '@'", () => {
    expect(redactUserinfo('@nomad:4646')).toBe('***@nomad:4646')
    expect(redactUserinfo('://u:p@nomad')).toBe('://***@nomad')
    expect(redactUserinfo('u:p@nomad://x')).toBe('***@nomad://x')
  })
})

describe('classifyNetworkError: an AggregateError none of whose errors has a code', () => {
  it('is an unknown failure with no code, not a TypeError', () => {
    const err = new AggregateError([new Error('a'), new Error('b')], 'all failed')
    expect(classifyNetworkError(err)).toMatchObject({ code: '', source: err })
  })
})

describe('redactUrl: a parameter name is read as a form does', () => {
  it("'+' in a name is a space: to+ken is not token", () => {
    expect(redactUrl('https://a.example/?to+ken=x')).toBe('https://a.example/?to+ken=x')
    expect(redactUrl('https://a.example/?api+key=x')).toBe('https://a.example/?api+key=***')
  })
})
