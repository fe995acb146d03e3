// The JWT auth method's check of a login token, as Nomad's lib/auth/jwt
// Validate does it with hashicorp/cap's jwt.Validator (jwt/jwt.go, keyset.go):
// the signature against the method's public keys or its JWKS, the `alg`
// against SigningAlgs (RS256 when empty), `aud` against BoundAudiences, the
// times with their leeways, then `iss` against BoundIssuer. Each refusal has
// the text Nomad answers with after `unable to validate provided token: `.

import { createPublicKey, verify, constants, type KeyObject } from 'node:crypto'

import { parseGoDuration } from './go.js'

/** The key and claim settings of api.ACLAuthMethodConfig that a JWT login uses. */
export interface JwtValidationConfig {
  /** PEM public keys (PKIX or a certificate), checked locally. */
  JWTValidationPubKeys?: string[]
  /** A JSON Web Key Set, fetched at every login (go-oidc's RemoteKeySet). */
  JWKSURL?: string
  BoundAudiences?: string[]
  /** `iss` must be one of these (Nomad's own check, after cap's). */
  BoundIssuer?: string[]
  /** The accepted `alg` header values; empty: RS256 only. */
  SigningAlgs?: string[]
  /** Go durations; 0 or unset: cap's defaults (150s when `exp`/`nbf` is missing, 60s of clock skew); negative: none. */
  ExpirationLeeway?: string
  NotBeforeLeeway?: string
  ClockSkewLeeway?: string
}

/** hashicorp/cap jwt/algs.go: the signing algorithms it supports. */
export const SIGNING_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
] as const

/** cap's DefaultLeewaySeconds, and go-jose's jwt.DefaultLeeway for clock skew. */
const DEFAULT_LEEWAY_S = 150
const DEFAULT_CLOCK_SKEW_S = 60

/**
 * lib/auth/jwt Validate: the token's claims, or an Error whose message is
 * Nomad's (the login RPC prefixes it with `unable to validate provided token: `).
 */
export async function validateJwt(
  token: string,
  config: JwtValidationConfig,
  nowMs: number,
): Promise<Record<string, unknown>> {
  const keys = config.JWTValidationPubKeys?.length
    ? staticKeys(config.JWTValidationPubKeys)
    : undefined
  if (!keys && !config.JWKSURL) {
    throw new Error('must provide at least one key set') // jwt.NewValidator with no key set
  }
  let claims: Record<string, unknown>
  try {
    claims = await validateWithCap(token, config, keys, nowMs)
  } catch (e) {
    throw new Error(`unable to verify signature of JWT token: ${(e as Error).message}`)
  }
  if (config.BoundIssuer?.length) {
    if (!('iss' in claims)) {
      throw new Error(
        'auth method specifies BoundIssuers but the provided token does not contain issuer information',
      )
    }
    if (typeof claims.iss !== 'string')
      throw new Error('unable to read iss property of provided token')
    if (!config.BoundIssuer.includes(claims.iss)) {
      throw new Error(`invalid JWT issuer: ${claims.iss}`)
    }
  }
  return claims
}

/** usingStaticKeys: every PEM must hold an RSA or ECDSA public key (or a certificate of one). */
function staticKeys(pems: string[]): KeyObject[] {
  return pems.map((pem) => {
    try {
      const key = createPublicKey(pem)
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw new Error()
      return key
    } catch {
      throw new Error(
        'unable to parse public key for JWT auth: data does not contain any valid RSA or ECDSA public keys',
      )
    }
  })
}

interface Jws {
  header: Record<string, unknown>
  signed: Buffer
  signature: Buffer
  payload: Buffer
}

/** go-jose's compact serialization parse. */
function parseJws(token: string): Jws {
  const parts = token.split('.')
  if (parts.length !== 3) {
    throw new Error('go-jose/go-jose: compact JWS format must have three parts')
  }
  const decode = (s: string): Buffer => {
    if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('illegal base64 data at input byte 0')
    return Buffer.from(s, 'base64url')
  }
  let header: Record<string, unknown>
  try {
    header = JSON.parse(decode(parts[0]).toString('utf8')) as Record<string, unknown>
  } catch {
    throw new Error('go-jose/go-jose: invalid protected header')
  }
  return {
    header,
    signed: Buffer.from(`${parts[0]}.${parts[1]}`),
    payload: decode(parts[1]),
    signature: decode(parts[2]),
  }
}

/** jws.Verify(key): whether `alg` with this key produced the signature. */
function verifies(jws: Jws, key: KeyObject): boolean {
  const alg = String(jws.header.alg ?? '')
  const hash = `sha${alg.slice(2)}`
  try {
    if (alg.startsWith('RS') && key.asymmetricKeyType === 'rsa') {
      return verify(hash, jws.signed, key, jws.signature)
    }
    if (alg.startsWith('PS') && key.asymmetricKeyType === 'rsa') {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: -2 }
      return verify(hash, jws.signed, options, jws.signature)
    }
    if (alg.startsWith('ES') && key.asymmetricKeyType === 'ec') {
      const curve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[alg]
      if (key.asymmetricKeyDetails?.namedCurve !== curve) return false
      return verify(hash, jws.signed, { key, dsaEncoding: 'ieee-p1363' }, jws.signature)
    }
    if (alg === 'EdDSA' && key.asymmetricKeyType === 'ed25519') {
      return verify(null, jws.signed, key, jws.signature)
    }
  } catch {
    return false
  }
  return false
}

/** The key set's VerifySignature: static keys (cap) or a JWKS (go-oidc's RemoteKeySet). */
async function verifySignature(
  token: string,
  config: JwtValidationConfig,
  keys: KeyObject[] | undefined,
): Promise<Record<string, unknown>> {
  let jws: Jws
  if (keys) {
    jws = parseJws(token)
    if (!keys.some((k) => verifies(jws, k))) {
      throw new Error('no known key successfully validated the token signature')
    }
  } else {
    try {
      jws = parseJws(token)
    } catch (e) {
      throw new Error(`oidc: malformed jwt: ${(e as Error).message}`)
    }
    const kid = typeof jws.header.kid === 'string' ? jws.header.kid : ''
    const remote = await fetchJwks(config.JWKSURL!)
    const candidates = remote.filter((k) => kid === '' || k.kid === kid)
    if (!candidates.some((k) => verifies(jws, k.key))) {
      throw new Error('failed to verify id token signature')
    }
  }
  try {
    const claims: unknown = JSON.parse(jws.payload.toString('utf8'))
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new Error()
    return claims as Record<string, unknown>
  } catch {
    throw new Error('go-jose/go-jose/jwt: error in cryptographic primitive')
  }
}

/** go-oidc updateKeys: GET the JWKS; keys it cannot read are skipped. */
async function fetchJwks(url: string): Promise<Array<{ kid: string; key: KeyObject }>> {
  let body: string
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    body = await res.text()
    if (res.status !== 200) {
      throw new Error(`oidc: get keys failed: ${res.status} ${res.statusText} ${body}`)
    }
  } catch (e) {
    const message = (e as Error).message
    throw new Error(
      `fetching keys ${message.startsWith('oidc:') ? message : `oidc: get keys failed ${message}`}`,
    )
  }
  let keys: unknown
  try {
    keys = (JSON.parse(body) as { keys?: unknown }).keys
  } catch (e) {
    throw new Error(`fetching keys oidc: failed to decode keys: ${(e as Error).message}`)
  }
  const out: Array<{ kid: string; key: KeyObject }> = []
  for (const jwk of Array.isArray(keys) ? keys : []) {
    try {
      const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
      out.push({ kid: String((jwk as { kid?: unknown }).kid ?? ''), key })
    } catch {
      // A key that does not parse cannot verify anything.
    }
  }
  return out
}

/** cap jwt.Validator.Validate with Nomad's Expected (audiences, algorithms, leeways). */
async function validateWithCap(
  token: string,
  config: JwtValidationConfig,
  keys: KeyObject[] | undefined,
  nowMs: number,
): Promise<Record<string, unknown>> {
  let claims: Record<string, unknown>
  try {
    claims = await verifySignature(token, config, keys)
  } catch (e) {
    throw new Error(`error verifying token signature: ${(e as Error).message}`)
  }

  const expected = config.SigningAlgs?.length ? config.SigningAlgs : ['RS256']
  for (const a of config.SigningAlgs ?? []) {
    if (!(SIGNING_ALGS as readonly string[]).includes(a)) {
      throw new Error(
        `invalid algorithm (alg) header parameter: unsupported signing algorithm "${a}"`,
      )
    }
  }
  const alg = String(parseJws(token).header.alg ?? '')
  if (!expected.includes(alg)) {
    throw new Error(
      'invalid algorithm (alg) header parameter: token signed with unexpected algorithm',
    )
  }

  const bound = config.BoundAudiences ?? []
  if (bound.length > 0) {
    const aud = claims.aud
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!bound.some((b) => audiences.includes(b))) {
      throw new Error(
        'invalid audience (aud) claim: audience claim does not match any expected audience',
      )
    }
  }

  const seconds = (v: unknown): number => (typeof v === 'number' ? Math.trunc(v) : 0)
  const iat = seconds(claims.iat)
  let exp = seconds(claims.exp)
  let nbf = seconds(claims.nbf)
  if (iat === 0 && exp === 0 && nbf === 0) {
    throw new Error(
      'no issued at (iat), not before (nbf), or expiration time (exp) claims in token',
    )
  }
  if (exp === 0) exp = Math.max(iat, nbf) + leewaySeconds(config.ExpirationLeeway, DEFAULT_LEEWAY_S)
  if (nbf === 0) {
    nbf = iat !== 0 ? iat : exp - leewaySeconds(config.NotBeforeLeeway, DEFAULT_LEEWAY_S)
  }
  const skewMs = leewaySeconds(config.ClockSkewLeeway, DEFAULT_CLOCK_SKEW_S) * 1000
  if (nowMs + skewMs < nbf * 1000) {
    throw new Error('invalid not before (nbf) claim: token not yet valid')
  }
  if (nowMs - skewMs > exp * 1000) {
    throw new Error('invalid expiration time (exp) claim: token is expired')
  }
  if (iat !== 0 && nowMs + skewMs < iat * 1000) {
    throw new Error('invalid issued at (iat) claim: token issued in the future')
  }
  return claims
}

/** A leeway setting in whole seconds: 0 or unset is the default, negative is none. */
function leewaySeconds(value: string | undefined, fallback: number): number {
  const ms = value ? parseGoDuration(value) : 0
  if (ms === null) throw new Error(`invalid leeway ${JSON.stringify(value)}`)
  if (ms < 0) return 0
  return ms === 0 ? fallback : Math.trunc(ms / 1000)
}
