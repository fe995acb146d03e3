// The step's sign-in with a Nomad JWT auth method: the CI's JWT (the
// workflow's OIDC token, or login-token) exchanged for a Nomad token
// (POST /v1/acl/login) that every later request carries. The token's secret
// goes to the front (which masks it) before anything else is logged; a
// refusal says what to fix, from Nomad's own text.

import type { LoginSettings, Settings } from './config/settings.js'
import { formatDuration } from './duration.js'
import type { Log, Outcome } from './gate/outcome.js'
import {
  loginRefusal,
  NomadClient,
  type ACLToken,
  type ClientOptions,
  type Config,
  type LoginRefusal,
} from './nomad/client.js'
import { NomadError } from './nomad/errors.js'

/** A login that Nomad refused, or that could not reach it: the step ends with `error`. */
export class LoginError extends Error {
  override name = 'LoginError'
}

/** What the front gives the step for a login. */
export interface StepLogin {
  /** With auth-method: the JWT to log in with when the settings hold none (the action's OIDC token). */
  loginToken?: string
  /** Told each secret the step learns (the token a login returns) before anything else is logged. */
  onSecret?: (secret: string) => void
}

/**
 * The client config of the step: the settings' own, or with auth-method the
 * one that carries the token the login returned; the step's outcome instead
 * when the login failed or was cancelled. The deadline is the step's.
 */
export async function loginForStep(
  settings: Settings,
  deps: StepLogin & { log: Log; clientOptions: ClientOptions; signal: AbortSignal },
): Promise<{ config: Config } | { outcome: Outcome }> {
  const login = settings.login
  if (!login) return { config: settings.nomad }
  const started = performance.now()
  // The login's own client, without a token; the gate's carries the one it returns.
  const client = new NomadClient(settings.nomad, deps.clientOptions)
  try {
    const config = await signIn(login, settings.nomad, {
      jwt: login.token ?? deps.loginToken ?? '',
      fromRunner: login.token === undefined,
      client,
      log: deps.log,
      deadline: started + settings.timeoutMs,
      signal: deps.signal,
      onSecret: deps.onSecret,
      stepLeftMs: settings.timeoutMs,
    })
    return { config }
  } catch (err) {
    if (deps.signal.aborted) {
      return { outcome: ended('cancelled', 'Cancelled by a signal; nothing was sent', started) }
    }
    if (err instanceof LoginError) return { outcome: ended('error', err.message, started) }
    throw err
  } finally {
    client.close()
  }
}

/** The outcome of a step that ended at its login. */
function ended(result: 'error' | 'cancelled', message: string, started: number): Outcome {
  return {
    ok: false,
    result,
    message,
    groups: [],
    index: 0,
    elapsedMs: Math.round(performance.now() - started),
    timeline: [],
    checks: [],
  }
}

export interface SignIn {
  /** The JWT to send. */
  jwt: string
  /** Whether the front asked the CI for it with `auth-audience` (the action), or was given it. */
  fromRunner: boolean
  client: NomadClient
  log: Log
  deadline: number
  signal: AbortSignal
  /** Told the new token's SecretID before anything else is logged. */
  onSecret?: (secret: string) => void
  /** How long the step may still run: a token that expires sooner is warned about. */
  stepLeftMs: number
}

/** Logs in and returns the client config that carries the new token. */
export async function signIn(login: LoginSettings, config: Config, s: SignIn): Promise<Config> {
  if (s.jwt === '') {
    throw new LoginError(
      `auth-method "${login.authMethod}" needs a JWT to log in with: set login-token (NOMAD_LOGIN_TOKEN)`,
    )
  }
  let token: ACLToken
  try {
    token = (
      await s.client.login(login.authMethod, s.jwt, { deadline: s.deadline, signal: s.signal })
    ).body
  } catch (err) {
    if (!(err instanceof NomadError) || err.kind === 'aborted') throw err
    throw new LoginError(refusalMessage(login, err, s.jwt, s.fromRunner))
  }
  if (!token || typeof token.SecretID !== 'string' || token.SecretID === '') {
    throw new LoginError(
      `Login with auth method "${login.authMethod}": Nomad answered without a token (POST /v1/acl/login)`,
    )
  }
  s.onSecret?.(token.SecretID)
  const policies = [...(token.Policies ?? []), ...(token.Roles ?? []).map((r) => `role ${r.Name}`)]
  const ttlMs = tokenTtlMs(token)
  s.log.info(
    `Logged in to Nomad with auth method "${login.authMethod}": token ${token.AccessorID} ("${token.Name}"), ${
      token.Type === 'management' ? 'management' : `policies ${policies.join(', ') || '(none)'}`
    }${ttlMs ? `, valid for ${formatDuration(ttlMs)}` : ''}`,
  )
  if (ttlMs && ttlMs < s.stepLeftMs) {
    s.log.warning(
      `The token of auth method "${login.authMethod}" expires in ${formatDuration(ttlMs)}, before the step's timeout: requests after that are refused (403). Raise the auth method's MaxTokenTTL or lower timeout`,
    )
  }
  return { ...config, token: token.SecretID }
}

/** The token's lifetime from its own TTL (not the clocks): 0 when it does not expire. */
function tokenTtlMs(t: ACLToken): number {
  const ns = Number(t.ExpirationTTL ?? 0)
  if (Number.isFinite(ns) && ns > 0) return Math.round(ns / 1e6)
  if (!t.ExpirationTime) return 0
  const ms = Date.parse(t.ExpirationTime) - Date.parse(t.CreateTime)
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}

/** The JWT's claims, read without checking anything, to quote them (they are not secret; the JWT is). */
function claimsOf(jwt: string): Record<string, unknown> {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'))
    return payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

const q = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null)

/** What to fix, for each refusal Nomad can give (nomad/acl_endpoint.go Login and lib/auth/jwt). */
function refusalMessage(
  login: LoginSettings,
  err: NomadError,
  jwt: string,
  fromRunner: boolean,
): string {
  const method = `auth method "${login.authMethod}"`
  const c = claimsOf(jwt)
  const exp = typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : undefined
  const advice: Record<LoginRefusal, string> = {
    'acl-disabled': 'Nomad has ACLs disabled, so there is nothing to log in to: remove auth-method',
    'unknown-method': `Nomad has no ${method}: check auth-method against \`nomad acl auth-method list\``,
    'not-jwt': `${method} is not of type JWT: auth-method needs one created with \`nomad acl auth-method create -type=JWT\``,
    audience: `the token's audience (aud ${q(c.aud)}) is not one of the BoundAudiences of ${method}: ${
      fromRunner
        ? `set auth-audience to one of them, or add ${q(login.audience)} to BoundAudiences`
        : 'mint the token for one of them, or add its audience to BoundAudiences'
    }`,
    issuer: `the token's issuer (iss ${q(c.iss)}) is not in the BoundIssuer of ${method}: add it there (GitHub Actions: "https://token.actions.githubusercontent.com")`,
    expired: `the token had expired (exp ${exp ?? 'unknown'}) when Nomad checked it: use a fresh one, or check the clocks of Nomad's servers (ExpirationLeeway, ClockSkewLeeway)`,
    'not-yet-valid':
      "the token is not valid yet by Nomad's clock (nbf/iat in the future): check the clocks of Nomad's servers, or raise NotBeforeLeeway/ClockSkewLeeway",
    'no-times': 'the token has none of iat, nbf and exp, which Nomad requires',
    signature: `no key of ${method} verifies the token's signature: the token comes from another issuer than its JWKSURL or JWTValidationPubKeys (GitHub Actions: JWKSURL "https://token.actions.githubusercontent.com/.well-known/jwks")`,
    algorithm: `the token is signed with alg ${q(algOf(jwt))}, which the SigningAlgs of ${method} do not list (RS256 when empty): add it there`,
    keys: `Nomad could not get the keys of ${method}: check its JWKSURL (Nomad's servers must reach it) or JWTValidationPubKeys`,
    malformed: 'the login token is not a JWT',
    'no-binding': `the token's claims match no binding rule of ${method} that binds an existing policy or role (sub ${q(c.sub)}): add a binding rule whose selector matches them (\`nomad acl binding-rule create -auth-method=${login.authMethod} -bind-type=policy ...\`), or check its ClaimMappings and the policy's name`,
    version: 'every Nomad server must run 1.5.4 or later for JWT auth methods: upgrade them',
    other: '',
  }
  const kind = loginRefusal(err)
  const what = advice[kind]
  const nomadSays = err.status ? `HTTP ${err.status}: ${err.detail}` : err.detail
  return what
    ? `Login with ${method} refused: ${what} (Nomad: ${nomadSays})`
    : `Login with ${method} failed: ${err.message}`
}

function algOf(jwt: string): unknown {
  try {
    return (
      JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8')) as { alg?: unknown }
    ).alg
  } catch {
    return undefined
  }
}
