// How a failure talking to Nomad is classified: retried or not, possibly
// applied or not (for a write), and worded so the user can act. Pure functions
// of what went wrong (src/nomad/errors.ts, src/network-error.ts); the client
// tests (client.test.ts) meet the same failures over real sockets.

import { describe, expect, it } from 'vitest'
import { classifyNetworkError } from '../src/network-error.js'
import {
  NomadError,
  abortedError,
  cleanNomadText,
  describeStatus,
  fromNetworkError,
  fromStatus,
  invalidJsonError,
  isTransientStatus,
  neverReached,
  timeoutError,
} from '../src/nomad/errors.js'

const ADDR = 'http://127.0.0.1:4646'
const PATH = '/v1/deployment/5e7f2a1c'

/** A socket error as Node's net and tls modules make them. */
function sysError(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code })
}

describe('isTransientStatus: retry what an outage answers, not what the request earned', () => {
  it.each([429, 502, 503, 504])('%i is transient whatever the text', (status) => {
    expect(isTransientStatus(status, 'permission denied')).toBe(true)
  })

  it.each([400, 403, 404, 409, 499])('%i (the request as sent) is final', (status) => {
    expect(isTransientStatus(status, 'No cluster leader')).toBe(false)
  })

  it('501 Not Implemented is final, even with a transient text', () => {
    expect(isTransientStatus(501, 'rpc error: EOF')).toBe(false)
  })

  it.each([
    'No cluster leader',
    'rpc error: EOF',
    'Not ready to serve consistent reads',
    'failed to get conn: dial tcp 10.0.0.2:4647: connect: connection refused',
    'Internal Server Error',
    '',
  ])('500 %j is an outage to wait out', (text) => {
    expect(isTransientStatus(500, text)).toBe(true)
  })

  it.each([
    'deployment not found',
    'Permission denied',
    'can not promote terminal deployment',
    'no path to region',
    'unknown alloc id',
  ])('500 %j answers the request: final', (text) => {
    expect(isTransientStatus(500, text)).toBe(false)
  })

  it('a transient text wins over a final one (a leader election reported with "not found")', () => {
    expect(isTransientStatus(500, 'rpc error: No cluster leader: deployment not found')).toBe(true)
  })
})

describe("cleanNomadText: Nomad's message without the RPC noise", () => {
  it('drops every "rpc error:" of a forwarded error, and the surrounding blanks', () => {
    expect(cleanNomadText('  rpc error: rpc error:   No cluster leader \n')).toBe(
      'No cluster leader',
    )
  })

  it('keeps "rpc error:" that is not a prefix', () => {
    expect(cleanNomadText('forwarding failed: rpc error: EOF')).toBe(
      'forwarding failed: rpc error: EOF',
    )
  })

  it('turns a multierror into one line, each error once', () => {
    const multi =
      '2 errors occurred:\n\t* group "web" has 1/2 healthy allocations\n\t* deadline\n\n'
    expect(cleanNomadText(multi)).toBe('group "web" has 1/2 healthy allocations; deadline')
    expect(cleanNomadText('1 error occurred:\n\t* Permission denied\n\n')).toBe('Permission denied')
    expect(cleanNomadText('12 errors occurred:\n\t* a\n\t* b')).toBe('a; b')
  })

  it('"rpc error:" with no blank after it, and a multierror that only looks like one', () => {
    expect(cleanNomadText('rpc error:EOF')).toBe('EOF')
    // Not a multierror (text before the count): kept, on one line.
    expect(cleanNomadText('forwarded: 1 error occurred:\n\t* a')).toBe(
      'forwarded: 1 error occurred: * a',
    )
  })

  it('a multierror with blank lines, lines without a bullet or its blank, and trailing blanks', () => {
    expect(cleanNomadText('3 errors occurred:\n\t* a  \n\n\tb * c\n\t*d\n')).toBe('a; b * c; d')
  })

  it('keeps a "* " that does not start a line of a multierror', () => {
    expect(cleanNomadText('1 error occurred:\n\t* a * b')).toBe('a * b')
  })

  it('cuts a long text to 500 characters, marked', () => {
    expect(cleanNomadText('x'.repeat(500))).toBe('x'.repeat(500))
    expect(cleanNomadText('x'.repeat(501))).toBe(`${'x'.repeat(499)}…`)
  })
})

describe('describeStatus', () => {
  it('says "(empty body)" rather than nothing', () => {
    expect(describeStatus(500, '  \n', undefined, 'GET', PATH)).toBe('(empty body)')
  })

  it('explains a 403: the namespace (default when none), and the permissions needed', () => {
    const none = describeStatus(403, 'Permission denied', undefined, 'GET', PATH)
    expect(none).toBe(
      'Permission denied: to read, the token needs read-job in namespace "default" (or it is missing or expired)',
    )
    expect(describeStatus(403, 'Permission denied', 'prod', 'GET', PATH)).toContain(
      'namespace "prod"',
    )
    // A write follows reads the same token passed: it is neither missing nor expired.
    expect(
      describeStatus(403, 'Permission denied', 'prod', 'PUT', '/v1/deployment/promote/5e7f2a1c'),
    ).toBe(
      'Permission denied: to promote, the token needs submit-job or promote-deployment in namespace "prod"',
    )
    expect(describeStatus(404, 'deployment not found', 'prod', 'GET', PATH)).toBe(
      'deployment not found',
    )
  })
})

describe('fromStatus', () => {
  it('names the request, the status and the text; a gateway error may hide an applied write', () => {
    for (const status of [502, 503, 504]) {
      const e = fromStatus('PUT', PATH, status, 'Bad Gateway', undefined, undefined)
      expect(e).toBeInstanceOf(NomadError)
      expect(e).toMatchObject({ kind: 'http', status, retryable: true, ambiguous: true })
      expect(e.name).toBe('NomadError')
      expect(e.message).toBe(`PUT ${PATH} failed: HTTP ${status}: Bad Gateway`)
    }
    for (const status of [500, 501, 505, 403]) {
      const e = fromStatus('PUT', PATH, status, 'Permission denied', undefined, 'prod')
      expect(e.ambiguous, String(status)).toBe(false)
      expect(e.retryable, String(status)).toBe(false)
    }
    expect(fromStatus('GET', PATH, 500, 'No cluster leader', undefined, undefined)).toMatchObject({
      retryable: true,
      detail: 'No cluster leader',
    })
  })

  it('never follows a redirect (3xx): says where it pointed without its credentials or query', () => {
    for (const status of [300, 301, 307, 308, 399]) {
      const e = fromStatus(
        'GET',
        PATH,
        status,
        '',
        'https://u:secret@other:4646/v1?token=t',
        undefined,
      )
      expect(e).toMatchObject({ kind: 'protocol', status, retryable: false, ambiguous: false })
      expect(e.detail).toContain('a redirect to https://other:4646/v1, which is not followed')
      expect(e.detail).not.toContain('secret')
    }
    expect(fromStatus('GET', PATH, 302, '', undefined, undefined).detail).toContain(
      'redirect to (no Location header)',
    )
    expect(fromStatus('GET', PATH, 302, '', 'http://[::1', undefined).detail).toContain(
      'redirect to (an invalid Location header)',
    )
    expect(fromStatus('GET', PATH, 400, 'bad', 'http://x', undefined).kind).toBe('http')
    expect(fromStatus('GET', PATH, 299 + 1, '', undefined, undefined).kind).toBe('protocol')
  })
})

describe('fromNetworkError', () => {
  it('connection refused: nothing was sent, so safe to send again', () => {
    const cause = sysError('ECONNREFUSED')
    const e = fromNetworkError(cause, 'PUT', PATH, ADDR)
    expect(e).toMatchObject({ kind: 'refused', retryable: true, ambiguous: false, method: 'PUT' })
    expect(e.path).toBe(PATH)
    expect(e.cause).toBe(cause)
    expect(e.detail).toBe(
      `cannot connect to Nomad at ${ADDR} (connection refused): check the address and that the agent is running`,
    )
  })

  it('a name that does not resolve: final, unless the resolver says try again (EAI_AGAIN)', () => {
    const gone = fromNetworkError(sysError('ENOTFOUND'), 'GET', PATH, 'http://nomad.invalid:4646')
    expect(gone).toMatchObject({ kind: 'network', retryable: false, ambiguous: false })
    expect(gone.detail).toBe(
      'cannot resolve nomad.invalid, the host of http://nomad.invalid:4646 (ENOTFOUND): check the address, or set HTTP_PROXY if only a proxy reaches it',
    )
    expect(fromNetworkError(sysError('EAI_AGAIN'), 'GET', PATH, ADDR)).toMatchObject({
      kind: 'network',
      retryable: true,
      ambiguous: false,
    })
  })

  it('TLS: final, with what to set', () => {
    const e = fromNetworkError(
      sysError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      'GET',
      PATH,
      'https://127.0.0.1:4646',
    )
    expect(e).toMatchObject({ kind: 'tls', retryable: false, ambiguous: false })
    expect(e.detail).toMatch(
      /^TLS with https:\/\/127\.0\.0\.1:4646 failed: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); set ca-cert/,
    )
    expect(e.detail).toContain('tls-server-name')
    expect(e.detail).toContain('client-cert/client-key')
  })

  it("TLS: without Node 24's advice on its own trust store (ca-cert is the gate's way)", () => {
    const e = fromNetworkError(
      sysError(
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'self-signed certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
      ),
      'GET',
      PATH,
      'https://127.0.0.1:4646',
    )
    expect(e.detail).toMatch(
      /^TLS with https:\/\/127\.0\.0\.1:4646 failed: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); set ca-cert/,
    )
  })

  it('a broken connection: retried, and a write may have been applied', () => {
    const e = fromNetworkError(sysError('ECONNRESET', 'socket hang up'), 'PUT', PATH, ADDR)
    expect(e).toMatchObject({ kind: 'network', retryable: true, ambiguous: true })
    expect(e.detail).toBe(`connection to ${ADDR} broke: socket hang up (ECONNRESET)`)
    const plain = fromNetworkError(new Error('other side closed'), 'PUT', PATH, ADDR)
    expect(plain.detail).toBe(`connection to ${ADDR} broke: other side closed`)
    expect(fromNetworkError('weird', 'PUT', PATH, ADDR).detail).toBe(
      `connection to ${ADDR} broke: weird`,
    )
    expect(fromNetworkError(undefined, 'PUT', PATH, ADDR).detail).toBe(
      `connection to ${ADDR} broke: undefined`,
    )
  })
})

describe('neverReached: the last word when Nomad never answered', () => {
  it('says how often and how long it tried, in words that agree with the count', () => {
    const refused = fromNetworkError(sysError('ECONNREFUSED'), 'GET', PATH, ADDR)
    const once = neverReached(refused, ADDR, 1, 5_049)
    expect(once).toMatchObject({ kind: 'refused', retryable: false, method: 'GET', path: PATH })
    expect(once.cause).toBe(refused)
    expect(once.detail).toBe(
      `${refused.detail}; tried 1 time in 5s, and Nomad has not answered once`,
    )
    expect(neverReached(refused, ADDR, 7, 7_640).detail).toMatch(/; tried 7 times in 7\.6s, and/)
  })

  it('a reset on http:// suggests https://, which a TLS server resets', () => {
    const reset = fromNetworkError(sysError('ECONNRESET', 'read ECONNRESET'), 'GET', PATH, ADDR)
    expect(neverReached(reset, ADDR, 3, 2_000).detail).toContain(
      '; if Nomad serves TLS, use https://127.0.0.1:4646; tried 3 times',
    )
    const tls = 'https://127.0.0.1:4646'
    const overTls = fromNetworkError(sysError('ECONNRESET', 'read ECONNRESET'), 'GET', PATH, tls)
    expect(neverReached(overTls, tls, 3, 2_000).detail).not.toContain('if Nomad serves TLS')
  })
})

describe('the other failures', () => {
  it('no answer in time: retried, and a write may have been applied', () => {
    const cause = new Error('timeout')
    const e = timeoutError('PUT', PATH, ADDR, 30_000, cause)
    expect(e).toMatchObject({ kind: 'timeout', retryable: true, ambiguous: true, method: 'PUT' })
    expect(e.detail).toBe(`no answer from ${ADDR} within 30000 ms`)
    expect(e.message).toBe(`PUT ${PATH} failed: no answer from ${ADDR} within 30000 ms`)
    expect(e.cause).toBe(cause)
  })

  it('aborted: never retried; ambiguous only when the caller says so', () => {
    const cause = new Error('why')
    const e = abortedError('GET', PATH, cause)
    expect(e).toMatchObject({
      kind: 'aborted',
      retryable: false,
      ambiguous: false,
      detail: 'aborted',
    })
    expect(e.cause).toBe(cause)
    expect(abortedError('PUT', PATH, cause, true).ambiguous).toBe(true)
  })

  it('an answer that is not JSON: retried, and a write may have been applied', () => {
    const e = invalidJsonError('PUT', PATH, 'cut short')
    expect(e).toMatchObject({ kind: 'protocol', retryable: true, ambiguous: true })
    expect(e.message).toBe(`PUT ${PATH} failed: the answer is not valid JSON (cut short)`)
  })
})

describe('classifyNetworkError', () => {
  it('reads the code of the error, of its cause (fetch), or of the first of several tries', () => {
    expect(classifyNetworkError(sysError('ECONNREFUSED'))).toMatchObject({
      kind: 'refused',
      code: 'ECONNREFUSED',
    })
    const fetchError = new TypeError('fetch failed', { cause: sysError('ECONNRESET') })
    expect(classifyNetworkError(fetchError)).toMatchObject({ kind: 'reset', code: 'ECONNRESET' })
    const aggregate = new AggregateError([new Error('no code'), sysError('ECONNREFUSED')], 'x')
    expect(classifyNetworkError(aggregate)).toMatchObject({
      kind: 'refused',
      code: 'ECONNREFUSED',
    })
    expect(classifyNetworkError(new Error('plain'))).toMatchObject({ kind: 'other', code: '' })
    expect(classifyNetworkError(undefined)).toMatchObject({ kind: 'other', code: '' })
  })

  it('TLS by its code prefix, at the start only', () => {
    for (const code of ['ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'EPROTO']) {
      expect(classifyNetworkError(sysError(code)).kind, code).toBe('tls')
    }
    expect(classifyNetworkError(sysError('E_NOT_CERT_HAS_EXPIRED')).kind).toBe('other')
  })
})
