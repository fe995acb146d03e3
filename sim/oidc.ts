// A stand-in for GitHub's OIDC side, on a loopback socket, for tests and
// demos of the JWT login: an issuer whose signing key is generated when it
// starts (node:crypto, RS256 or ES256), its JWKS, JWTs minted on demand, and
// the runner's ID-token endpoint as @actions/core's OidcClient calls it
// (lib/oidc-utils.js: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with
// `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer
// `{"value": "<jwt>"}`).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { AuthMethodSpec } from './acl.js'
import {
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'

/** GitHub Actions' issuer (`iss` of every workflow ID token). */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

export type SigningAlg = 'RS256' | 'ES256'

export interface IssuerOptions {
  /** Default RS256, as GitHub signs. */
  alg?: SigningAlg
  /** `iss` of the tokens; default GitHub's. */
  issuer?: string
  /** Epoch ms for `iat`, `nbf` and `exp`; Date.now by default (a simulator's clock.now to match it). */
  now?: () => number
  /** Claims of the ID tokens the endpoint mints, over GitHub's for a job of `octo-org/web` in environment `production`. */
  claims?: Record<string, unknown>
  /** Lifetime of minted tokens, seconds; default 300. */
  ttlSeconds?: number
}

export interface MintOptions {
  alg?: SigningAlg
  /** Sign with another key (a forged token). */
  key?: KeyObject
  kid?: string
  /** Header fields over the defaults. */
  header?: Record<string, unknown>
}

/** One request the ID-token endpoint answered. */
export interface IdTokenRequest {
  /** `audience` of the query, when sent. */
  audience?: string
  /** Whether it carried the request token. */
  authorized: boolean
  status: number
}

/** The claims GitHub puts in a workflow job's ID token (the job runs in environment `production`). */
export function githubClaims(): Record<string, unknown> {
  return {
    sub: 'repo:octo-org/web:environment:production',
    repository: 'octo-org/web',
    repository_owner: 'octo-org',
    repository_id: '700001',
    repository_owner_id: '900001',
    repository_visibility: 'private',
    environment: 'production',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: '5f2c1a7e0c4b9d3e8a6f1b2c3d4e5f60718293a4',
    workflow: 'Deploy',
    workflow_ref: 'octo-org/web/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'octo-org/web/.github/workflows/deploy.yml@refs/heads/main',
    event_name: 'push',
    actor: 'octocat',
    actor_id: '583231',
    run_id: '4242424242',
    run_number: '17',
    run_attempt: '1',
    runner_environment: 'github-hosted',
  }
}

const ID_TOKEN_PATH = '/_apis/distributedtask/hubs/Actions/idtoken'

/**
 * Auth method `github` as the README sets it up: a JWT method for GitHub's
 * issuer, checked against the keys `issuer` serves, audience `nomad`; a test
 * changes what it is about (`MaxTokenTTL`, `Config` fields).
 */
export function githubAuthMethod(
  issuer: OidcIssuer,
  o: { MaxTokenTTL?: string; Config?: Partial<AuthMethodSpec['Config']> } = {},
): AuthMethodSpec {
  return {
    Name: 'github',
    Type: 'JWT',
    TokenLocality: 'local',
    MaxTokenTTL: o.MaxTokenTTL ?? '10m',
    Config: {
      JWKSURL: issuer.jwksUrl,
      BoundIssuer: [GITHUB_ISSUER],
      BoundAudiences: ['nomad'],
      ...o.Config,
    },
  }
}

export class OidcIssuer {
  readonly alg: SigningAlg
  readonly issuer: string
  readonly kid = randomUUID()
  /** The runner's secret for the ID-token endpoint (ACTIONS_ID_TOKEN_REQUEST_TOKEN). */
  readonly requestToken = randomBytes(24).toString('hex')
  readonly requests: IdTokenRequest[] = []
  /** Every ID token the endpoint handed out. */
  readonly issued: string[] = []
  address = ''
  private readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly now: () => number
  private readonly ttlSeconds: number
  private readonly claims: Record<string, unknown>
  private failures: Array<{ status: number; body: string }> = []

  static async start(options: IssuerOptions = {}): Promise<OidcIssuer> {
    const issuer = new OidcIssuer(options)
    await new Promise<void>((resolve, reject) => {
      issuer.server.once('error', reject)
      issuer.server.listen(0, '127.0.0.1', () => resolve())
    })
    issuer.address = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`
    return issuer
  }

  private constructor(options: IssuerOptions) {
    this.alg = options.alg ?? 'RS256'
    this.issuer = options.issuer ?? GITHUB_ISSUER
    this.now = options.now ?? Date.now
    this.ttlSeconds = options.ttlSeconds ?? 300
    this.claims = { ...githubClaims(), ...options.claims }
    ;({ privateKey: this.privateKey, publicKey: this.publicKey } = newKeyPair(this.alg))
    this.server = createServer((req, res) => this.handle(req, res))
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
    })
  }

  /** The JWKS, as GitHub serves it at /.well-known/jwks. */
  get jwksUrl(): string {
    return `${this.address}/.well-known/jwks`
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }

  /** ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, as the runner sets them for `permissions: id-token: write`. */
  runnerEnv(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${this.address}${ID_TOKEN_PATH}?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken,
    }
  }

  /** The next ID-token requests answer this status and body instead (one each). */
  failNext(status: number, body = '', times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ status, body })
  }

  /** A signed JWT with exactly these claims. */
  mint(claims: Record<string, unknown>, options: MintOptions = {}): string {
    const alg = options.alg ?? this.alg
    const header = { alg, typ: 'JWT', kid: options.kid ?? this.kid, ...options.header }
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const signed = `${part(header)}.${part(claims)}`
    const key = options.key ?? this.privateKey
    const signature =
      alg === 'ES256'
        ? sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', Buffer.from(signed), key)
    return `${signed}.${signature.toString('base64url')}`
  }

  /**
   * A workflow job's ID token as GitHub issues it: the job's claims, `aud`
   * (GitHub's default without one: the owner's URL), `iss`, and `iat`/`nbf`/`exp`.
   */
  idToken(audience?: string, claims: Record<string, unknown> = {}): string {
    const now = Math.floor(this.now() / 1000)
    return this.mint({
      jti: randomUUID(),
      ...this.claims,
      aud: audience ?? `https://github.com/${String(this.claims.repository_owner)}`,
      iss: this.issuer,
      nbf: now - 5,
      iat: now - 5,
      exp: now + this.ttlSeconds,
      ...claims,
    })
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const s of this.sockets) s.destroy()
    })
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.address)
    const send = (status: number, body: unknown): void => {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(text)
    }
    if (url.pathname === '/.well-known/jwks') {
      const jwk: JsonWebKey = this.publicKey.export({ format: 'jwk' })
      return send(200, { keys: [{ ...jwk, kid: this.kid, alg: this.alg, use: 'sig' }] })
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      return send(200, { issuer: this.issuer, jwks_uri: this.jwksUrl })
    }
    if (url.pathname !== ID_TOKEN_PATH) return send(404, { message: 'not found' })
    const authorized = req.headers.authorization === `Bearer ${this.requestToken}`
    const audience = url.searchParams.get('audience') ?? undefined
    const failure = this.failures.shift()
    const status = failure?.status ?? (authorized ? 200 : 401)
    this.requests.push({ audience, authorized, status })
    if (failure) return send(failure.status, failure.body)
    if (!authorized) return send(401, { message: 'Bad credentials' })
    const token = this.idToken(audience)
    this.issued.push(token)
    send(200, { count: 1, value: token })
  }
}

/** A signing key pair, generated now. */
export function newKeyPair(alg: SigningAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  return alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 })
}
