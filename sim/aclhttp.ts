// The ACL endpoints of Nomad's HTTP API that the simulator serves
// (command/agent/acl_endpoint.go, nomad/acl_endpoint.go): the JWT login, the
// request's own token, and a policy by name. The rest of /v1/acl/ answers 501.

import { GO_ZERO_TIME, decodeGoJSONBody, type GoStruct } from './go.js'
import type { AclState, SimAclToken } from './acl.js'
import { permissionDenied } from './endpoints.js'
import type { ApiReply, ApiRequest } from './http.js'
import {
  jsonReply,
  meta,
  notSimulated,
  requestToken,
  requireMethod,
  textReply,
} from './httputil.js'
import { NomadError } from './model.js'

const LOGIN: GoStruct = {
  name: 'ACLLoginRequest',
  fields: {
    AuthMethodName: 'string',
    LoginToken: 'string',
    Region: 'string',
    Namespace: 'string',
    AuthToken: 'string',
    IdempotencyToken: 'string',
  },
}

/** nomad/acl_endpoint.go aclDisabled. */
const ACL_DISABLED = () => new NomadError('ACL support disabled', 400)

export interface AclApiOptions {
  region: string
  /** The cluster's clock: token expiry and JWT times are judged on it. */
  now: () => number
}

export class AclApi {
  constructor(
    private readonly acl: AclState | undefined,
    private readonly options: AclApiOptions,
  ) {}

  route(r: ApiRequest): Promise<ApiReply> | ApiReply {
    const p = r.path
    if (p === '/v1/acl/login') return this.login(r)
    if (p === '/v1/acl/token/self') return this.tokenSelf(r)
    if (p.startsWith('/v1/acl/policy/')) return this.policy(r, p.slice('/v1/acl/policy/'.length))
    throw notSimulated(p)
  }

  /**
   * PUT/POST /v1/acl/login (ACLLoginRequest, ACL.Login): the token Nomad
   * creates for a JWT that the auth method accepts, with X-Nomad-Index.
   */
  private async login(r: ApiRequest): Promise<ApiReply> {
    requireMethod(r, 'PUT', 'POST')
    const decoded = decodeGoJSONBody(r.body, r.noBody, LOGIN)
    if ('error' in decoded) throw new NomadError(decoded.error, 400)
    const body = decoded.value
    if (!this.acl) throw ACL_DISABLED()
    this.forward(r.query.get('region') || (body.Region as string) || '')
    const token = await this.acl.login(
      (body.AuthMethodName as string) ?? '',
      (body.LoginToken as string) ?? '',
      this.options.now,
    )
    return jsonReply(r, 200, { 'X-Nomad-Index': String(token.ModifyIndex) }, token)
  }

  /**
   * GET /v1/acl/token/self (ACL.WhoAmI): the request's token; the anonymous
   * one without a secret. An unknown token is 403; an expired one is the RPC's
   * own `ACL token expired` (a 500: WhoAmI returns Authenticate's error as is).
   */
  private tokenSelf(r: ApiRequest): ApiReply {
    requireMethod(r, 'GET')
    this.forward(r.query.get('region') || '')
    if (!this.acl)
      return jsonReply(r, 200, meta(1), pseudoToken('acls-disabled', 'ACLs disabled token'))
    const resolved = this.acl.resolve(requestToken(r), this.options.now())
    if (resolved === 'not-found') throw permissionDenied()
    if (resolved === 'expired') throw new NomadError('ACL token expired')
    const token = resolved.token ?? pseudoToken('anonymous', 'Anonymous Token', ['anonymous'])
    return jsonReply(r, 200, meta(Math.max(1, token.ModifyIndex)), token)
  }

  /**
   * GET /v1/acl/policy/:name (ACL.GetPolicy): for a management token, or a
   * token that holds the policy (directly or through a role); `anonymous` for
   * anyone. 404 `ACL policy not found` when it does not exist.
   */
  private policy(r: ApiRequest, name: string): ApiReply {
    if (name === '') throw new NomadError('Missing Policy Name', 400)
    if (name === 'self') throw notSimulated('/v1/acl/policy/self')
    if (r.method !== 'GET') {
      if (['PUT', 'POST', 'DELETE'].includes(r.method)) throw notSimulated(`${r.method} ${r.path}`)
      throw new NomadError('Invalid method', 405)
    }
    if (!this.acl) throw ACL_DISABLED()
    this.forward(r.query.get('region') || '')
    const resolved = this.acl.resolve(requestToken(r), this.options.now())
    if (typeof resolved === 'string') throw permissionDenied()
    const allowed =
      name === 'anonymous' ||
      resolved.acl.management ||
      (resolved.token !== undefined && this.acl.policyNames(resolved.token).has(name))
    if (!allowed) throw permissionDenied()
    const policy = this.acl.policy(name)
    if (!policy) return textReply(404, meta(1), 'ACL policy not found')
    return jsonReply(r, 200, meta(policy.ModifyIndex), policy)
  }

  /** The RPC's forward: this server's region only. */
  private forward(region: string): void {
    if (region !== '' && region !== this.options.region) throw new NomadError('No path to region')
  }
}

/** structs.AnonymousACLToken and structs.ACLsDisabledToken as the API shows them. */
function pseudoToken(
  accessor: string,
  name: string,
  policies: string[] | null = null,
): SimAclToken {
  return {
    AccessorID: accessor,
    SecretID: '',
    Name: name,
    Type: 'client',
    Policies: policies,
    Roles: null,
    Global: false,
    Hash: '',
    CreateTime: GO_ZERO_TIME,
    ExpirationTime: null,
    ExpirationTTL: 0,
    CreateIndex: 0,
    ModifyIndex: 0,
  }
}
