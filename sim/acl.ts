// The ACL state of a Nomad server: policies, roles, tokens with their expiry,
// JWT auth methods and binding rules; what a request's secret resolves to
// (nomad/auth/auth.go ResolveToken: unknown and expired tokens are refused),
// and the login that turns a JWT into a token (nomad/acl_endpoint.go Login,
// lib/auth/binder.go Bind, lib/auth/claims.go).
//
// ACL objects live beside the store's tables, not in them: a login takes a
// raft index (`acl-token-upsert`) but snapshot/restore leaves ACLs alone, and
// reads of them answer at once (no blocking query).

import { createHash } from 'node:crypto'

import { NamespaceAcl, expandNamespacePolicy, parsePolicy, type ParsedPolicy } from './aclpolicy.js'
import { selectorMatches, type SelectorData } from './bexpr.js'
import { goTime, multierrorText, parseGoDuration } from './go.js'
import { validateJwt, type JwtValidationConfig } from './jwt.js'
import { NomadError } from './model.js'
import type { Store } from './store.js'

/**
 * The simple token of the simulator's first ACL model, kept as it was: read
 * (read-job) in `namespaces` (`*` for all), write (a `write` policy: submit-job)
 * with `write`, everything with `management`.
 */
export interface AclToken {
  namespaces: string[]
  write: boolean
  management?: boolean
}

/** A token as Nomad holds one (structs.ACLToken): its policies and roles by name. */
export interface AclTokenSpec {
  Type?: 'client' | 'management'
  Policies?: string[]
  /** Role names. */
  Roles?: string[]
  Name?: string
  /** Epoch ms (cluster clock) after which the token is refused. */
  ExpirationTime?: number
}

/** api.ACLAuthMethod, as `nomad acl auth-method create -type=JWT` sends it (durations as Go strings). */
export interface AuthMethodSpec {
  Name: string
  Type: 'JWT' | 'OIDC'
  TokenLocality: 'local' | 'global'
  /** The TTL of every token it creates, e.g. `30m`. */
  MaxTokenTTL: string
  /** HIL over auth_method_type, auth_method_name and value.<mapped claim>. */
  TokenNameFormat?: string
  Default?: boolean
  Config: JwtValidationConfig & {
    /** Claim (a name or a JSON pointer) -> `value.<target>` for binding rules. */
    ClaimMappings?: Record<string, string>
    ListClaimMappings?: Record<string, string>
  }
}

/** api.ACLBindingRule. */
export interface BindingRuleSpec {
  AuthMethod: string
  /** go-bexpr over value.<mapped claim> and list.<mapped list claim>; empty: every login. */
  Selector?: string
  BindType: 'policy' | 'role' | 'management'
  /** The policy or role name; may interpolate `${value.<mapped claim>}` (lower-cased). */
  BindName?: string
  Description?: string
}

export interface AclOptions {
  /** Tokens by SecretID: the simple model or Nomad's (policies, roles, expiry). */
  tokens?: Record<string, AclToken | AclTokenSpec>
  /** Policies by name: their rules (HCL), or rules with a description. `anonymous` applies to requests without a token. */
  policies?: Record<string, string | { Rules: string; Description?: string }>
  /** Roles by name: the policies each links. */
  roles?: Record<string, string[]>
  authMethods?: AuthMethodSpec[]
  bindingRules?: BindingRuleSpec[]
}

/** structs.ACLToken as the HTTP API answers it. */
export interface SimAclToken {
  AccessorID: string
  SecretID: string
  Name: string
  Type: 'client' | 'management'
  Policies: string[] | null
  Roles: Array<{ ID: string; Name: string }> | null
  Global: boolean
  Hash: string
  CreateTime: string
  ExpirationTime: string | null
  /** Nanoseconds (time.Duration), 0 when the token does not expire. */
  ExpirationTTL: number
  CreateIndex: number
  ModifyIndex: number
}

/** structs.ACLPolicy as GET /v1/acl/policy/:name answers it. */
export interface SimAclPolicy {
  Name: string
  Description: string
  Rules: string
  RulesJSON: ParsedPolicy
  JobACL: null
  Hash: string
  CreateIndex: number
  ModifyIndex: number
}

interface TokenRecord {
  token: SimAclToken
  /** Epoch ms, when it expires. */
  expiresAt?: number
  /** The simple model's token: its rules, not policies. */
  simple?: AclToken
}

/** What a secret resolves to: the token (absent for anonymous) and what it may do. */
export interface Resolved {
  token?: SimAclToken
  acl: NamespaceAcl
}

/** Configured objects were written at the cluster's start. */
const BOOTSTRAP_INDEX = 1

export class AclState {
  private readonly policies = new Map<string, SimAclPolicy>()
  private readonly roles = new Map<string, { ID: string; Name: string; Policies: string[] }>()
  private readonly tokens = new Map<string, TokenRecord>()
  private readonly methods = new Map<string, AuthMethodSpec>()
  private readonly rules: BindingRuleSpec[] = []

  constructor(
    private readonly store: Store,
    options: AclOptions,
  ) {
    for (const [name, p] of Object.entries(options.policies ?? {})) {
      const { Rules, Description = '' } = typeof p === 'string' ? { Rules: p } : p
      this.upsertPolicy(name, Rules, Description, BOOTSTRAP_INDEX)
    }
    for (const [name, policies] of Object.entries(options.roles ?? {})) {
      this.roles.set(name, { ID: stableId(`role\0${name}`), Name: name, Policies: policies })
    }
    for (const [secret, spec] of Object.entries(options.tokens ?? {})) {
      this.tokens.set(secret, this.configuredToken(secret, spec))
    }
    for (const m of options.authMethods ?? []) this.upsertAuthMethod(m)
    for (const r of options.bindingRules ?? []) this.upsertBindingRule(r)
  }

  // ---- configuration, also at run time -----------------------------------------------

  /** ACL.UpsertPolicies: the rules must parse (acl/policy.go Parse). */
  upsertPolicy(name: string, rules: string, description = '', index?: number): SimAclPolicy {
    if (!/^[a-zA-Z0-9-]{1,128}$/.test(name)) throw new Error(`invalid name '${name}'`)
    const at = index ?? this.store.apply('acl-policy-upsert', (tx) => tx.index)
    const policy: SimAclPolicy = {
      Name: name,
      Description: description,
      Rules: rules,
      RulesJSON: parsePolicy(rules),
      JobACL: null,
      Hash: hash(`${name}\0${description}\0${rules}`),
      CreateIndex: this.policies.get(name)?.CreateIndex ?? at,
      ModifyIndex: at,
    }
    this.policies.set(name, policy)
    return policy
  }

  /** ACL.UpsertAuthMethods' validation (structs.ACLAuthMethod.Validate). */
  upsertAuthMethod(m: AuthMethodSpec): void {
    const errors: string[] = []
    if (!/^[a-zA-Z0-9-]{1,128}$/.test(m.Name)) errors.push(`invalid name '${m.Name}'`)
    if (!['local', 'global'].includes(m.TokenLocality)) {
      errors.push(`invalid token locality '${m.TokenLocality}'`)
    }
    if (!['OIDC', 'JWT'].includes(m.Type)) errors.push(`invalid token type '${m.Type}'`)
    const c = m.Config
    if (m.Type === 'JWT' && !c.JWKSURL && !c.JWTValidationPubKeys?.length) {
      errors.push(
        'invalid config: JWT auth method requires either JWKS URL or JWTValidationPubKeys set (OIDCDiscoveryURL is not simulated)',
      )
    }
    const ttl = parseGoDuration(m.MaxTokenTTL)
    if (ttl === null || ttl <= 0) errors.push(`invalid MaxTokenTTL value '${m.MaxTokenTTL}'`)
    if (errors.length) throw new Error(errors.join('; '))
    this.methods.set(m.Name, structuredClone(m))
  }

  upsertBindingRule(r: BindingRuleSpec): void {
    if (!this.methods.has(r.AuthMethod)) throw new Error('auth method not found')
    if (!['policy', 'role', 'management'].includes(r.BindType)) {
      throw new Error(`unsupported bind type: ${r.BindType}`)
    }
    this.rules.push({ ...r })
  }

  /** A token by its secret, as an operator would create one (ACL.UpsertTokens), at a new index. */
  upsertToken(secret: string, spec: AclTokenSpec): SimAclToken {
    const index = this.store.apply('acl-token-upsert', (tx) => tx.index)
    const record = this.configuredToken(secret, spec, index)
    this.tokens.set(secret, record)
    return record.token
  }

  // ---- reads --------------------------------------------------------------------------

  policy(name: string): SimAclPolicy | undefined {
    return this.policies.get(name)
  }

  /** Every token, configured ones first, then in creation order. */
  allTokens(): SimAclToken[] {
    return [...this.tokens.values()].map((r) => r.token)
  }

  /** The policy names a token holds, directly or through its roles (getPoliciesForIdentity). */
  policyNames(token: SimAclToken): Set<string> {
    const names = new Set(token.Policies ?? [])
    for (const link of token.Roles ?? []) {
      for (const p of this.roles.get(link.Name)?.Policies ?? []) names.add(p)
    }
    return names
  }

  /**
   * Authenticate then ResolveACL: '' is the anonymous token (the `anonymous`
   * policy if there is one); an unknown secret is `not-found`, one past its
   * ExpirationTime `expired`.
   */
  resolve(secret: string, now: number): Resolved | 'not-found' | 'expired' {
    if (secret === '') {
      const anonymous = this.policies.get('anonymous')
      return { acl: new NamespaceAcl(false, anonymous ? [anonymous.RulesJSON] : []) }
    }
    const record = this.tokens.get(secret)
    if (!record) return 'not-found'
    if (record.expiresAt !== undefined && record.expiresAt < now) return 'expired'
    const token = record.token
    if (token.Type === 'management') return { token, acl: new NamespaceAcl(true, []) }
    if (record.simple) return { token, acl: new NamespaceAcl(false, [simplePolicy(record.simple)]) }
    const policies = [...this.policyNames(token)]
      .map((n) => this.policies.get(n)?.RulesJSON)
      .filter((p): p is ParsedPolicy => p !== undefined)
    return { token, acl: new NamespaceAcl(false, policies) }
  }

  // ---- login ---------------------------------------------------------------------------

  /**
   * ACL.Login after the region check: the method, the JWT, the claims mapped
   * and bound by the method's rules, then a token that expires after the
   * method's MaxTokenTTL. Throws NomadErrors with Nomad's codes and texts.
   */
  async login(methodName: string, loginToken: string, now: () => number): Promise<SimAclToken> {
    const missing = [
      ...(methodName === '' ? ['missing auth method name'] : []),
      ...(loginToken === '' ? ['missing login token'] : []),
    ]
    if (missing.length) {
      throw new NomadError(`invalid login request: ${multierrorText(missing)}`, 400)
    }
    const method = this.methods.get(methodName)
    if (!method) throw new NomadError(`auth-method "${methodName}" not found`, 400)
    if (method.Type !== 'JWT') {
      throw new NomadError(`unsupported auth-method type: ${method.Type}`, 400)
    }
    let claims: Record<string, unknown>
    try {
      claims = await validateJwt(loginToken, method.Config, now())
    } catch (e) {
      throw new NomadError(`unable to validate provided token: ${(e as Error).message}`, 401)
    }
    const data = selectorData(method, claims)
    const bindings = this.bind(method, data)
    if (!bindings.management && bindings.policies.length === 0 && bindings.roles.length === 0) {
      throw new NomadError('no role or policy bindings matched', 400)
    }
    const vars: Record<string, string> = { auth_method_type: 'JWT', auth_method_name: method.Name }
    for (const [k, v] of Object.entries(data.value)) vars[`value.${k}`] = v
    let name: string
    try {
      name = interpolate(method.TokenNameFormat || '${auth_method_type}-${auth_method_name}', vars)
    } catch (e) {
      throw new NomadError(`failed to generate ACL token name: ${(e as Error).message}`)
    }
    const ttlMs = parseGoDuration(method.MaxTokenTTL) ?? 0
    const index = this.store.apply('acl-token-upsert', (tx) => tx.index)
    const created = now()
    const secret = this.store.newId()
    const token: SimAclToken = {
      AccessorID: this.store.newId(),
      SecretID: secret,
      Name: name,
      Type: bindings.management ? 'management' : 'client',
      Policies: bindings.management ? null : bindings.policies,
      Roles: bindings.management || bindings.roles.length === 0 ? null : bindings.roles,
      Global: method.TokenLocality === 'global',
      Hash: hash(secret),
      CreateTime: goTime(created),
      ExpirationTime: goTime(created + ttlMs),
      ExpirationTTL: ttlMs * 1e6,
      CreateIndex: index,
      ModifyIndex: index,
    }
    this.tokens.set(secret, { token, expiresAt: created + ttlMs })
    return token
  }

  /** lib/auth/binder.go Bind: every matching rule's policy or role that exists; management wins. */
  private bind(
    method: AuthMethodSpec,
    data: SelectorData,
  ): { management: boolean; policies: string[]; roles: Array<{ ID: string; Name: string }> } {
    const out = {
      management: false,
      policies: [] as string[],
      roles: [] as { ID: string; Name: string }[],
    }
    const vars: Record<string, string> = {}
    for (const target of Object.values(method.Config.ClaimMappings ?? {}))
      vars[`value.${target}`] = ''
    for (const [k, v] of Object.entries(data.value)) vars[`value.${k}`] = v
    for (const rule of this.rules) {
      if (rule.AuthMethod !== method.Name || !selectorMatches(rule.Selector ?? '', data)) continue
      if (rule.BindType === 'management') return { management: true, policies: [], roles: [] }
      let bindName: string
      try {
        bindName = interpolate(rule.BindName ?? '', vars, true)
      } catch (e) {
        throw new NomadError(
          `cannot compute "${rule.BindType}" bind name for bind target: ${(e as Error).message}`,
        )
      }
      if (!/^[a-zA-Z0-9-]{1,128}$/.test(bindName)) {
        throw new NomadError(
          `computed "${rule.BindType}" bind name for bind target is invalid: "${bindName}"`,
        )
      }
      if (rule.BindType === 'policy' && this.policies.has(bindName)) {
        out.policies.push(bindName)
      }
      const role = rule.BindType === 'role' ? this.roles.get(bindName) : undefined
      if (role) out.roles.push({ ID: role.ID, Name: role.Name })
    }
    return out
  }

  private configuredToken(
    secret: string,
    spec: AclToken | AclTokenSpec,
    index = BOOTSTRAP_INDEX,
  ): TokenRecord {
    const simple = 'namespaces' in spec ? spec : undefined
    const s: AclTokenSpec =
      'namespaces' in spec ? { Type: spec.management ? 'management' : 'client' } : spec
    const roles = (s.Roles ?? []).map((name) => {
      const role = this.roles.get(name)
      if (!role) throw new Error(`token: no role ${name}`)
      return { ID: role.ID, Name: role.Name }
    })
    const created = this.store.now()
    const token: SimAclToken = {
      AccessorID: stableId(`token\0${secret}`),
      SecretID: secret,
      Name: s.Name ?? (simple ? 'simulator token' : ''),
      Type: s.Type ?? 'client',
      Policies: s.Type === 'management' ? null : (s.Policies ?? []),
      Roles: roles.length ? roles : null,
      Global: false,
      Hash: hash(secret),
      CreateTime: goTime(created),
      ExpirationTime: s.ExpirationTime === undefined ? null : goTime(s.ExpirationTime),
      ExpirationTTL: s.ExpirationTime === undefined ? 0 : (s.ExpirationTime - created) * 1e6,
      CreateIndex: index,
      ModifyIndex: index,
    }
    return { token, expiresAt: s.ExpirationTime, simple }
  }
}

/** The simple model's token as a policy: `read` or `write` on each of its namespaces. */
function simplePolicy(t: AclToken): ParsedPolicy {
  const level = t.write ? 'write' : 'read'
  return {
    ...parsePolicy(''),
    Namespaces: t.namespaces.map((n) => ({
      Name: n,
      Policy: level,
      Capabilities: expandNamespacePolicy(level),
      Variables: null,
    })),
  }
}

/** lib/auth/claims.go extractClaims: the mapped claims, stringified; errors answer 500. */
function selectorData(method: AuthMethodSpec, claims: Record<string, unknown>): SelectorData {
  const data: SelectorData = { value: {}, list: {} }
  for (const [source, target] of Object.entries(method.Config.ClaimMappings ?? {})) {
    const raw = claim(claims, source)
    if (raw === undefined || raw === null) continue
    const s = stringify(raw)
    if (s === undefined) {
      throw new NomadError(
        `error converting claim '${source}' to string from unknown type ${goType(raw)}`,
      )
    }
    data.value[target] = s
  }
  for (const [source, target] of Object.entries(method.Config.ListClaimMappings ?? {})) {
    const raw = claim(claims, source)
    if (raw === undefined || raw === null) continue
    const items = Array.isArray(raw) ? raw : [raw]
    const list: string[] = []
    for (const item of items) {
      const s = stringify(item)
      if (s === undefined) {
        throw new NomadError(
          `value ${String(item)} in "${source}" list claim could not be parsed as string`,
        )
      }
      if (s !== '') list.push(s)
    }
    data.list[target] = list
  }
  return data
}

/** getClaim: a claim by name, or by JSON pointer when it starts with `/`. */
function claim(all: Record<string, unknown>, name: string): unknown {
  if (!name.startsWith('/')) return all[name]
  let at: unknown = all
  for (const raw of name.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (at === null || typeof at !== 'object') return undefined
    at = (at as Record<string, unknown>)[key]
  }
  return at
}

/** stringifyClaimValue: strings, booleans, numbers (truncated to integers). */
function stringify(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return String(v)
  if (typeof v === 'number') return String(Math.trunc(v))
  return undefined
}

function goType(v: unknown): string {
  return Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}'
}

/** HIL as the binder uses it: `${name}` of known variables only. */
function interpolate(s: string, vars: Record<string, string>, lowercase = false): string {
  return s.replace(/\$\{\s*([^}\s]+)\s*\}/g, (_, name: string) => {
    if (!Object.hasOwn(vars, name)) throw new Error(`unknown variable accessed: ${name}`)
    return lowercase ? vars[name].toLowerCase() : vars[name]
  })
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64')
}

/** A UUID derived from `text`: configured objects take none from the cluster's ID source. */
function stableId(text: string): string {
  const h = createHash('sha256').update(text).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}
