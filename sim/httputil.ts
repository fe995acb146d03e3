// The plain helpers of the HTTP layer (http.ts), each after its Go original in
// command/agent/http.go: reading tokens and booleans, decoding write bodies,
// and the replies' shapes (meta headers, JSON, text errors).

import type { DeploymentUpdateResponse } from '../src/nomad/types.js'
import { decodeGoJSONBody, type GoStruct } from './go.js'
import type { ApiReply, ApiRequest } from './api.js'
import { NomadError } from './model.js'

/** command/agent/http.go ErrInvalidMethod. */
export const INVALID_METHOD = 'Invalid method'
export const PERMISSION_DENIED = 'Permission denied'
/** structs.ErrTokenNotFound: answers 403 like Permission denied (http.go wrap). */
export const TOKEN_NOT_FOUND = 'ACL token not found'
// Go structs the write bodies decode into (nomad/structs), with WriteRequest's fields.
const WRITE_REQUEST = {
  Region: 'string',
  Namespace: 'string',
  AuthToken: 'string',
  IdempotencyToken: 'string',
} as const
export const PROMOTE: GoStruct = {
  name: 'DeploymentPromoteRequest',
  fields: { DeploymentID: 'string', All: 'bool', Groups: '[]string', ...WRITE_REQUEST },
}
export const PAUSE: GoStruct = {
  name: 'DeploymentPauseRequest',
  fields: { DeploymentID: 'string', Pause: 'bool', ...WRITE_REQUEST },
}
export const ALLOC_HEALTH: GoStruct = {
  name: 'DeploymentAllocHealthRequest',
  fields: {
    DeploymentID: 'string',
    HealthyAllocationIDs: '[]string',
    UnhealthyAllocationIDs: '[]string',
    ...WRITE_REQUEST,
  },
}

export function decodeWriteBody(
  r: ApiRequest,
  target: GoStruct,
  id: string,
): Record<string, unknown> {
  const decoded = decodeGoJSONBody(r.body, r.noBody, target)
  if ('error' in decoded) throw new NomadError(decoded.error, 400)
  const body = decoded.value
  if (!body.DeploymentID) throw new NomadError('DeploymentID must be specified', 400)
  if (body.DeploymentID !== id) throw new NomadError('Deployment ID does not match', 400)
  return body
}

export function requireMethod(r: ApiRequest, ...methods: string[]): void {
  if (!methods.includes(r.method)) throw new NomadError(INVALID_METHOD, 405)
}

/** http.go parseToken: X-Nomad-Token, else `Authorization: Bearer <token>`. */
export function requestToken(r: Pick<ApiRequest, 'headers'>): string {
  const header = (name: string): string => {
    const v = r.headers[name]
    return (Array.isArray(v) ? v[0] : v) ?? ''
  }
  const token = header('x-nomad-token')
  if (token !== '') return token.trim()
  const parts = header('authorization').split(' ')
  if (parts.length > 1 && parts[0].toLowerCase() === 'bearer') {
    return parts.slice(1).join(' ').trim().split(' ')[0].trim()
  }
  return ''
}

/** strconv.ParseBool; null on error. */
export function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return null
}

export function notSimulated(what: string): NomadError {
  return new NomadError(`${what}: not implemented by the Nomad simulator`, 501)
}

/** http.go setMeta: the headers of every successful query answer. */
export function meta(index: number): Record<string, string> {
  return {
    'X-Nomad-Index': String(index),
    'X-Nomad-LastContact': '0',
    'X-Nomad-KnownLeader': 'true',
  }
}

/** http.go wrap: JSON, indented by 4 with a final newline under `?pretty` (unless `pretty=0`). */
export function jsonReply(
  r: ApiRequest,
  status: number,
  headers: Record<string, string>,
  body: unknown,
): ApiReply {
  const pretty = r.query.has('pretty') && r.query.get('pretty') !== '0'
  return {
    status,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: pretty ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body),
  }
}

/** Writes answer with the response and only `X-Nomad-Index` (deployment_endpoint.go setIndex). */
export function writeReply(r: ApiRequest, res: DeploymentUpdateResponse): ApiReply {
  return jsonReply(r, 200, { 'X-Nomad-Index': String(res.Index) }, res)
}

export function textReply(status: number, headers: Record<string, string>, text: string): ApiReply {
  return {
    status,
    headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
    body: text,
  }
}

/** http.go wrap: errors are plain text; permission errors become 403 by their suffix. */
export function errorReply(e: NomadError): ApiReply {
  let { status, message } = e
  for (const text of [PERMISSION_DENIED, TOKEN_NOT_FOUND]) {
    if (message.endsWith(text)) {
      status = 403
      message = text
    }
  }
  return textReply(status, {}, message)
}
