// What a failed connection was, read off the error that Node's http module,
// net/http.ts or fetch (undici) throws: one classification for the Nomad client and the soak
// checks, each of which words it for its own reader.

export type NetworkErrorKind =
  /** Nothing listens there (ECONNREFUSED): nothing was sent. */
  | 'refused'
  /** The host name does not resolve (ENOTFOUND), or not now (EAI_AGAIN). */
  | 'dns'
  /** The TLS handshake or the certificate check failed. */
  | 'tls'
  /** The connection broke after it was made. */
  | 'reset'
  | 'unreachable'
  /** No connection (TCP, proxy tunnel, TLS handshake) within the connect timeout (net/http.ts). */
  | 'connect-timeout'
  /** undici's own header or body timeout. */
  | 'timeout'
  | 'other'

export interface NetworkError {
  kind: NetworkErrorKind
  /** The system or library code (ECONNREFUSED, CERT_HAS_EXPIRED, UND_ERR_SOCKET); '' when none. */
  code: string
  /** The error that carries the code: fetch throws `TypeError: fetch failed` with it as `cause`. */
  source: unknown
}

const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|EPROTO|ERR_OSSL)/

interface ErrorLike {
  code?: unknown
  cause?: unknown
  errors?: Array<{ code?: unknown }>
}

export function classifyNetworkError(err: unknown): NetworkError {
  const top = err as ErrorLike | undefined
  const source = (typeof top?.code === 'string' ? top : (top?.cause ?? top)) as
    ErrorLike | undefined
  // A connection tried on several addresses fails with an AggregateError of them.
  const found = source?.code ?? source?.errors?.find((e) => typeof e.code === 'string')?.code
  const code = typeof found === 'string' ? found : ''
  return { kind: kindOf(code), code, source: source ?? err }
}

function kindOf(code: string): NetworkErrorKind {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns'
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'reset'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable'
    case 'ERR_CONNECT_TIMEOUT':
      return 'connect-timeout'
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout'
  }
  return TLS_CODES.test(code) ? 'tls' : 'other'
}
