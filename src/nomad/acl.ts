// The ACL endpoints (api/acl.go): the login of a JWT auth method, the
// request's own token and a policy by name; and what a refused login means,
// read off the texts of nomad/acl_endpoint.go Login, lib/auth/jwt and
// hashicorp/cap's jwt validator.

import type { NomadError } from './errors.js'
import type { ReadRequest } from './query.js'

/** api.ACLTokenRoleLink. */
export interface ACLTokenRoleLink {
  ID: string
  Name: string
}

/** api.ACLToken. SecretID is the secret: never log it. */
export interface ACLToken {
  AccessorID: string
  SecretID: string
  Name: string
  /** `client` or `management`. */
  Type: string
  Policies: string[] | null
  Roles: ACLTokenRoleLink[] | null
  Global: boolean
  CreateTime: string
  /** RFC 3339; null when the token does not expire. */
  ExpirationTime?: string | null
  /** Nanoseconds; 0 when the token does not expire. */
  ExpirationTTL?: number | string
  CreateIndex: number
  ModifyIndex: number
}

/** One namespace block of a parsed policy (acl.NamespacePolicy), with its capabilities expanded. */
export interface ACLNamespaceRules {
  Name: string
  Policy: string
  Capabilities: string[] | null
}

/** api.ACLPolicy, with the server's parse of its rules. */
export interface ACLPolicy {
  Name: string
  Description: string
  Rules: string
  RulesJSON?: { Namespaces?: ACLNamespaceRules[] | null } | null
  CreateIndex: number
  ModifyIndex: number
}

/** api.ACLLoginRequest. */
export interface ACLLoginRequest {
  AuthMethodName: string
  LoginToken: string
}

/** POST /v1/acl/login (the Go client PUTs; Nomad takes both): a JWT for a token of the auth method. */
export function loginRequest(
  authMethod: string,
  loginToken: string,
): { path: string; body: ACLLoginRequest } {
  return { path: '/v1/acl/login', body: { AuthMethodName: authMethod, LoginToken: loginToken } }
}

/** GET /v1/acl/token/self: the token the request carries. */
export function tokenSelfRequest(): ReadRequest<ACLToken> {
  return { path: '/v1/acl/token/self' }
}

/** GET /v1/acl/policy/:name: for a management token, or one that holds the policy. */
export function policyRequest(name: string): ReadRequest<ACLPolicy> {
  return { path: `/v1/acl/policy/${encodeURIComponent(name)}` }
}

/** Why Nomad refused a login, by its text. */
export type LoginRefusal =
  /** `ACL support disabled`. */
  | 'acl-disabled'
  /** `auth-method "x" not found`. */
  | 'unknown-method'
  /** `unsupported auth-method type: OIDC`: the login endpoint takes JWT methods only. */
  | 'not-jwt'
  /** `aud` is not one of BoundAudiences. */
  | 'audience'
  /** `iss` is not one of BoundIssuer, or missing. */
  | 'issuer'
  /** `exp` has passed (beyond the leeway). */
  | 'expired'
  /** `nbf` or `iat` is in the future: the clocks disagree. */
  | 'not-yet-valid'
  /** No `iat`, `nbf` or `exp` at all. */
  | 'no-times'
  /** No key of the method verifies the signature. */
  | 'signature'
  /** `alg` is not in SigningAlgs (RS256 when empty). */
  | 'algorithm'
  /** The method's keys cannot be fetched or parsed (JWKSURL, JWTValidationPubKeys). */
  | 'keys'
  /** The login token is not a JWT. */
  | 'malformed'
  /** The claims match no binding rule that binds an existing policy or role. */
  | 'no-binding'
  /** A server is older than JWT auth methods (Nomad 1.5.4). */
  | 'version'
  | 'other'

const REFUSALS: Array<[RegExp, LoginRefusal]> = [
  [/ACL support disabled/, 'acl-disabled'],
  [/auth-method ".*" not found/, 'unknown-method'],
  [/unsupported auth-method type/, 'not-jwt'],
  [/invalid audience \(aud\) claim/, 'audience'],
  [/invalid JWT issuer|does not contain issuer information|unable to read iss property/, 'issuer'],
  [/token is expired/, 'expired'],
  [/token not yet valid|token issued in the future/, 'not-yet-valid'],
  [/no issued at \(iat\), not before \(nbf\), or expiration time \(exp\)/, 'no-times'],
  [/malformed jwt|compact JWS format|illegal base64|invalid protected header/, 'malformed'],
  [/fetching keys|validation keys from|unable to parse public key|failed to decode keys/, 'keys'],
  [/failed to verify (id token )?signature|no known key successfully validated/, 'signature'],
  [/token signed with unexpected algorithm|unsupported signing algorithm/, 'algorithm'],
  [/no role or policy bindings matched/, 'no-binding'],
  [/to use JWT ACL auth methods/, 'version'],
]

/** What a failed POST /v1/acl/login says is wrong; `other` for anything else (a network failure...). */
export function loginRefusal(err: NomadError): LoginRefusal {
  if (err.kind !== 'http') return 'other'
  return REFUSALS.find(([re]) => re.test(err.detail))?.[1] ?? 'other'
}

/**
 * Whether a failed login is worth sending again: nothing reached Nomad, no
 * answer came, or Nomad had no leader. Anything Nomad said about the JWT or
 * the method (400, 401, and the 500s of the binder) stays so.
 */
export function isRetryableLogin(err: NomadError): boolean {
  if (err.kind !== 'http') return err.retryable
  const status = err.status ?? 0
  if (status === 429 || (status >= 502 && status <= 504)) return true
  return (
    status >= 500 &&
    /no cluster leader|leadership lost|not ready to serve consistent/i.test(err.detail)
  )
}
