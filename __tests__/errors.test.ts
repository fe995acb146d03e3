// How a failure talking to Nomad is classified: retried or not, possibly
// applied or not (for a write), and worded so the user can act. Pure functions
// of what went wrong (src/nomad/errors.ts, src/network-error.ts); the client
// tests (client.test.ts) meet the same failures over real sockets.

import { describe, expect, it } from 'vitest'
import { ConnectTimeoutError, ProxyError } from '../src/net/http.js'
import type { ProxySetting } from '../src/net/proxy.js'
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
  notReached,
  retryCause,
  timeoutError,
} from '../src/nomad/errors.js'

const ADDR = 'http://127.0.0.1:4646'
const PATH = '/v1/deployment/5e7f2a1c'
/** Nomad over TLS, where its agents' certificates name 127.0.0.1 and server.global.nomad. */
const TLS_ADDR = 'https://10.0.0.9:4646'
/** Nomad beyond a proxy: https:// goes through a CONNECT tunnel, http:// is forwarded. */
const FAR_TLS = 'https://nomad.example:4646'
const FAR = 'http://nomad.example:4646'
const TUNNEL_PROXY: ProxySetting = {
  url: new URL('http://proxy.example:3128'),
  source: 'HTTPS_PROXY',
}
const FORWARD_PROXY: ProxySetting = {
  url: new URL('http://proxy.example:3128'),
  source: 'HTTP_PROXY',
}

/** A socket error as Node's net and tls modules make them. */
function sysError(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code })
}

/** As net/http.ts makes it when the proxy itself cannot be connected to. */
function proxyRefused(): ProxyError {
  const cause = sysError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.3:3128')
  return new ProxyError(
    TUNNEL_PROXY,
    `cannot connect to the proxy: ${cause.message}`,
    'ECONNREFUSED',
    undefined,
    cause,
  )
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
    expect(describeStatus(403, 'Permission denied', 'prod', 'GET', PATH)).toBe(
      'Permission denied: to read, the token needs read-job in namespace "prod" (or it is missing or expired)',
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

  it('a 403 from the ACL endpoints, which want only a valid token: the token is the problem', () => {
    expect(describeStatus(403, 'ACL token not found', undefined, 'GET', '/v1/acl/token/self')).toBe(
      'ACL token not found: the token is missing, expired or unknown to this cluster',
    )
  })

  it('a 407 (a forward proxy on the way to an http:// address): where its credentials go', () => {
    expect(describeStatus(407, 'Proxy Authentication Required', undefined, 'GET', PATH)).toBe(
      'Proxy Authentication Required: a proxy wants credentials: put its user and password in HTTP_PROXY or HTTPS_PROXY (http://user:password@host:port)',
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

  // Go's TLS listener answers a plain-HTTP request so (net/http/server.go conn.serve).
  const PLAIN_TO_TLS = 'Client sent an HTTP request to an HTTPS server.\n'

  it("http:// to Nomad's TLS port: the address to use instead; not retried", () => {
    const e = fromStatus('GET', PATH, 400, PLAIN_TO_TLS, undefined, undefined, ADDR)
    expect(e).toMatchObject({ kind: 'protocol', retryable: false, ambiguous: false })
    expect(e.message).toBe(
      `GET ${PATH} failed: Nomad at ${ADDR} answered that it serves HTTPS: use https://127.0.0.1:4646`,
    )
  })

  it("only that 400 says so: another 400 is Nomad's answer, and a 500 that quotes it an outage", () => {
    const bad = fromStatus('PUT', PATH, 400, 'Request decode failed', undefined, undefined, ADDR)
    expect(bad).toMatchObject({ kind: 'http', retryable: false, ambiguous: false })
    expect(bad.message).toBe(`PUT ${PATH} failed: HTTP 400: Request decode failed`)
    const quoted = fromStatus('GET', PATH, 500, PLAIN_TO_TLS, undefined, undefined, ADDR)
    expect(quoted).toMatchObject({ kind: 'http', retryable: true, ambiguous: false })
    expect(quoted.message).toBe(
      `GET ${PATH} failed: HTTP 500: Client sent an HTTP request to an HTTPS server.`,
    )
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

  it('a name that does not resolve, in the words of its scheme and of the resolver', () => {
    const gone = sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND nomad.invalid')
    expect(fromNetworkError(gone, 'GET', PATH, 'https://nomad.invalid:4646').detail).toBe(
      'cannot resolve nomad.invalid, the host of https://nomad.invalid:4646 (ENOTFOUND): check the address, or set HTTPS_PROXY if only a proxy reaches it',
    )
    const silent = sysError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN nomad.service.consul')
    expect(fromNetworkError(silent, 'GET', PATH, 'http://nomad.service.consul:4646').detail).toBe(
      'cannot resolve nomad.service.consul, the host of http://nomad.service.consul:4646, now (EAI_AGAIN: DNS did not answer)',
    )
  })

  it.each(['EHOSTUNREACH', 'ENETUNREACH'])(
    'no route (%s): nothing was sent, so retried; says where to look',
    (code) => {
      const e = fromNetworkError(sysError(code, `connect ${code} 10.0.0.9:4646`), 'PUT', PATH, ADDR)
      expect(e).toMatchObject({ kind: 'network', retryable: true, ambiguous: false })
      expect(e.detail).toBe(
        `no route to Nomad at ${ADDR} (${code}): check the address, and that the runner's network reaches it (VPN, firewall, proxy variables)`,
      )
    },
  )

  it('no connection within the connect timeout: nothing was sent, so retried; the time in seconds', () => {
    const direct = fromNetworkError(new ConnectTimeoutError(5_000), 'PUT', PATH, ADDR)
    expect(direct).toMatchObject({ kind: 'network', retryable: true, ambiguous: false })
    expect(direct.detail).toBe(
      `no connection to Nomad at ${ADDR} within 5s: check the address and port; a firewall may drop the packets, or only a proxy reaches it (HTTPS_PROXY, HTTP_PROXY)`,
    )
    const tunnel = { proxy: TUNNEL_PROXY, mode: 'tunnel' } as const
    expect(
      fromNetworkError(new ConnectTimeoutError(2_500), 'GET', PATH, FAR_TLS, tunnel).detail,
    ).toBe(
      'no connection to Nomad at https://nomad.example:4646 through the proxy http://proxy.example:3128 (HTTPS_PROXY) within 2.5s: check the proxy, and that it reaches the address and port',
    )
  })

  it.each([
    [
      'refuses the connection',
      proxyRefused(),
      'cannot connect to the proxy: connect ECONNREFUSED 10.0.0.3:3128 (proxy http://proxy.example:3128 (HTTPS_PROXY))',
    ],
    [
      'fails on its side (500)',
      new ProxyError(
        TUNNEL_PROXY,
        'the proxy refused the tunnel to nomad.example:4646: 500 Internal Server Error',
        'ERR_PROXY_TUNNEL',
        500,
      ),
      'the proxy refused the tunnel to nomad.example:4646: 500 Internal Server Error (proxy http://proxy.example:3128 (HTTPS_PROXY))',
    ],
    [
      'cannot reach Nomad (502)',
      new ProxyError(
        TUNNEL_PROXY,
        'the proxy refused the tunnel to nomad.example:4646: 502 Bad Gateway',
        'ERR_PROXY_TUNNEL',
        502,
      ),
      'the proxy refused the tunnel to nomad.example:4646: 502 Bad Gateway (proxy http://proxy.example:3128 (HTTPS_PROXY))',
    ],
    [
      'wants credentials for the tunnel',
      new ProxyError(
        TUNNEL_PROXY,
        "the proxy refused the tunnel to nomad.example:4646: 407 Proxy Authentication Required: put the proxy's user and password in HTTPS_PROXY (http://user:password@host:port)",
        'ERR_PROXY_TUNNEL',
        407,
      ),
      "the proxy refused the tunnel to nomad.example:4646: 407 Proxy Authentication Required: put the proxy's user and password in HTTPS_PROXY (http://user:password@host:port) (proxy http://proxy.example:3128 (HTTPS_PROXY))",
    ],
  ])('a proxy that %s: worded as the proxy, nothing reached Nomad', (_, err, said) => {
    const e = fromNetworkError(err, 'PUT', PATH, FAR_TLS, { proxy: TUNNEL_PROXY, mode: 'tunnel' })
    // Retried only where another try may pass: not a 407, which wants credentials.
    expect(e).toMatchObject({ kind: 'refused', retryable: err.status !== 407, ambiguous: false })
    expect(e.cause).toBe(err)
    expect(e.detail).toBe(
      `${said}, on the way to Nomad at https://nomad.example:4646: check the proxy, or list the host in NO_PROXY to connect directly`,
    )
  })

  // The texts as Node 20 and 24 throw them (a TLS server, or a socket that sends an alert).
  it.each([
    [
      'a plain-HTTP server (Node 20)',
      'EPROTO',
      'write EPROTO 809C6C702D7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
      'Nomad at https://10.0.0.9:4646 answered in plain HTTP, not TLS: use http://10.0.0.9:4646',
    ],
    [
      'a plain-HTTP server (Node 24)',
      'EPROTO',
      'write EPROTO 401D249FC97F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:77:\n',
      'Nomad at https://10.0.0.9:4646 answered in plain HTTP, not TLS: use http://10.0.0.9:4646',
    ],
    [
      'a name that is not in the certificate',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list: 127.0.0.1",
      "TLS with https://10.0.0.9:4646 failed: Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list: 127.0.0.1 (ERR_TLS_CERT_ALTNAME_INVALID); set tls-server-name to a name in Nomad's certificate (Nomad's own are server.<region>.nomad, e.g. server.global.nomad)",
    ],
    [
      'an expired certificate',
      'CERT_HAS_EXPIRED',
      'certificate has expired',
      "TLS with https://10.0.0.9:4646 failed: certificate has expired (CERT_HAS_EXPIRED); Nomad's certificate is outside its validity dates: renew it (or check the runner's clock)",
    ],
    [
      'a certificate not valid yet',
      'CERT_NOT_YET_VALID',
      'certificate is not yet valid',
      "TLS with https://10.0.0.9:4646 failed: certificate is not yet valid (CERT_NOT_YET_VALID); Nomad's certificate is outside its validity dates: renew it (or check the runner's clock)",
    ],
    [
      'no client certificate (TLS 1.3)',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      '809C6C702D7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
      'TLS with https://10.0.0.9:4646 failed: tlsv13 alert certificate required (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED); Nomad requires a client certificate (verify_https_client): set client-cert and client-key',
    ],
    [
      'no client certificate (TLS 1.2, Node 24)',
      'EPROTO',
      'write EPROTO 401D249FC97F0000:error:0A000410:SSL routines:ssl3_read_bytes:ssl/tls alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number 40\n',
      'TLS with https://10.0.0.9:4646 failed: ssl/tls alert handshake failure (EPROTO); Nomad requires a client certificate (verify_https_client): set client-cert and client-key',
    ],
    [
      'a client certificate the server does not trust',
      'EPROTO',
      'write EPROTO 803CCBB88E7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n',
      'TLS with https://10.0.0.9:4646 failed: sslv3 alert bad certificate (EPROTO); Nomad requires a client certificate (verify_https_client): set client-cert and client-key',
    ],
    [
      'a CA the runner does not trust (Node 24)',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
      "TLS with https://10.0.0.9:4646 failed: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); set ca-cert to the CA that signed Nomad's certificate, tls-server-name to the name in it, or client-cert/client-key if Nomad requires mTLS",
    ],
    [
      // Node's form when OpenSSL left no reason (nodejs/node#3692): the code is said once.
      'a protocol error with no reason',
      'EPROTO',
      'write EPROTO',
      "TLS with https://10.0.0.9:4646 failed: write EPROTO; set ca-cert to the CA that signed Nomad's certificate, tls-server-name to the name in it, or client-cert/client-key if Nomad requires mTLS",
    ],
  ])('TLS, %s: final, with what to set', (_, code, message, detail) => {
    const e = fromNetworkError(sysError(code, message), 'GET', PATH, TLS_ADDR)
    expect(e).toMatchObject({ kind: 'tls', retryable: false, ambiguous: false })
    expect(e.detail).toBe(detail)
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

  it('a broken connection: its code once, and the proxy it went through', () => {
    const read = sysError('ECONNRESET', 'read ECONNRESET')
    expect(fromNetworkError(read, 'PUT', PATH, ADDR).detail).toBe(
      `connection to ${ADDR} broke: read ECONNRESET`,
    )
    const forward = { proxy: FORWARD_PROXY, mode: 'forward' } as const
    const hangUp = sysError('ECONNRESET', 'socket hang up')
    expect(fromNetworkError(hangUp, 'PUT', PATH, FAR, forward).detail).toBe(
      'connection to http://nomad.example:4646 through the proxy http://proxy.example:3128 (HTTP_PROXY) broke: socket hang up (ECONNRESET)',
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

  it('no hint when the connection never came up, nor for an address that only says "closed"', () => {
    const noRoute = fromNetworkError(sysError('EHOSTUNREACH'), 'GET', PATH, ADDR)
    expect(neverReached(noRoute, ADDR, 4, 12_340).detail).toBe(
      `${noRoute.detail}; tried 4 times in 12.3s, and Nomad has not answered once`,
    )
    // A reset is told by the words of its reason, not by the address before
    // them: neither a refused connection nor a failed lookup of a host named
    // "closed-…" is a reset.
    const closed = 'http://closed.example:4646'
    const refused = fromNetworkError(sysError('ECONNREFUSED'), 'GET', PATH, closed)
    expect(neverReached(refused, closed, 2, 950).detail).toBe(
      `${refused.detail}; tried 2 times in 1s, and Nomad has not answered once`,
    )
    const hangUp = 'http://hang-up.closed.example:4646'
    const lookup = fromNetworkError(sysError('EAI_AGAIN'), 'GET', PATH, hangUp)
    expect(lookup.kind).toBe('network')
    expect(neverReached(lookup, hangUp, 2, 950).detail).toBe(
      `${lookup.detail}; tried 2 times in 1s, and Nomad has not answered once`,
    )
  })
})

describe('notReached: Nomad was not reached at all', () => {
  it.each([
    ['connection refused', fromNetworkError(sysError('ECONNREFUSED'), 'GET', PATH, ADDR)],
    ['a proxy that does not get there', fromNetworkError(proxyRefused(), 'GET', PATH, FAR_TLS)],
    [
      'TLS',
      fromNetworkError(
        sysError('CERT_HAS_EXPIRED', 'certificate has expired'),
        'GET',
        PATH,
        TLS_ADDR,
      ),
    ],
    [
      'no name',
      fromNetworkError(
        sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND nomad.example'),
        'GET',
        PATH,
        FAR,
      ),
    ],
    ['a reset', fromNetworkError(sysError('ECONNRESET', 'socket hang up'), 'GET', PATH, ADDR)],
  ])('%s: true', (_, err) => {
    expect(notReached(err)).toBe(true)
  })

  it.each([
    ['an HTTP status', fromStatus('GET', PATH, 503, 'No cluster leader', undefined, undefined)],
    ['no answer in time', timeoutError('GET', PATH, ADDR, 1_000, undefined)],
    ['an answer that is not JSON', invalidJsonError('GET', PATH, 'cut short')],
    ['aborted', abortedError('GET', PATH, undefined)],
  ])('%s: false (Nomad answered, or nobody knows)', (_, err) => {
    expect(notReached(err)).toBe(false)
  })
})

describe('retryCause: the same few words for the same cause, in the tally of retries', () => {
  const net = (err: unknown, address = ADDR) => fromNetworkError(err, 'GET', PATH, address)
  const status = (code: number, text: string) =>
    fromStatus('GET', PATH, code, text, undefined, undefined, ADDR)
  it.each([
    ['a status with its standard text', 'HTTP 502', status(502, 'Bad Gateway')],
    ['a status with no text', 'HTTP 500', status(500, '')],
    ["Nomad's own text", 'No cluster leader', status(500, 'rpc error: No cluster leader')],
    [
      "Nomad's own text, cut short",
      'failed to get conn: dial tcp 10.0.0.2:4647: connect…',
      status(500, 'failed to get conn: dial tcp 10.0.0.2:4647: connect: connection refused'),
    ],
    ['connection refused', 'connection refused', net(sysError('ECONNREFUSED'))],
    ['a proxy that does not get there', 'proxy unreachable', net(proxyRefused(), FAR_TLS)],
    ['no answer in time', 'no answer in time', timeoutError('GET', PATH, ADDR, 1_000, undefined)],
    ['an answer that is not JSON', 'not a Nomad answer', invalidJsonError('GET', PATH, 'cut')],
    ['TLS', 'TLS failed', net(sysError('CERT_HAS_EXPIRED', 'certificate has expired'), TLS_ADDR)],
    ['aborted', 'aborted', abortedError('GET', PATH, undefined)],
    ['a reset', 'connection reset', net(sysError('ECONNRESET', 'socket hang up'))],
    [
      'no name',
      'DNS failed',
      net(sysError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN nomad.example'), FAR),
    ],
    ['no route', 'no route', net(sysError('EHOSTUNREACH'))],
    ['no connection in time', 'no connection in time', net(new ConnectTimeoutError(5_000))],
    ['any other break', 'connection broke', net(new Error('other side closed'))],
  ])('%s: %j', (_, words, err) => {
    expect(retryCause(err)).toBe(words)
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
    expect(classifyNetworkError(new ConnectTimeoutError(5_000))).toMatchObject({
      kind: 'connect-timeout',
      code: 'ERR_CONNECT_TIMEOUT',
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
