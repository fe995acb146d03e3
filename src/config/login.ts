// The inputs of the login with a Nomad JWT auth method instead of a token:
// auth-method, auth-audience and login-token (NOMAD_LOGIN_TOKEN). A login
// token is masked as soon as it is read; auth-method with a token is a
// mistake to say at once, not a choice to make silently.

import type { LoginSettings } from './settings.js'
import { fail, invalid, isHeaderSafe, type Inputs, type SecretList } from './values.js'

/** structs.ValidACLAuthMethod. */
const AUTH_METHOD_NAME = /^[a-zA-Z0-9-]{1,128}$/
/** A JWS in compact form: three base64url parts. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export function parseLogin(inputs: Inputs, secrets: SecretList): LoginSettings | undefined {
  const loginToken = inputs.get('login-token')
  secrets.add(loginToken?.value)
  const method = inputs.get('auth-method')
  const audience = inputs.withDefault('auth-audience')
  const token = inputs.get('token')
  if (!method) {
    if (loginToken)
      fail(loginToken, 'needs auth-method: the name of the Nomad JWT auth method to log in with')
    return undefined
  }
  if (token) {
    secrets.add(token.value)
    const where = token.env ?? 'token'
    fail(
      method,
      `cannot be used with a token (${where} is set): auth-method logs in and sends the token Nomad returns. Remove ${where} to log in with auth-method, or remove auth-method to use the token`,
    )
  }
  if (!AUTH_METHOD_NAME.test(method.value)) {
    invalid(method, 'must be the name of a Nomad auth method: letters, digits and hyphens')
  }
  if (!isHeaderSafe(audience.value)) {
    invalid(audience, 'must be an audience without whitespace, such as nomad')
  }
  const login: LoginSettings = { authMethod: method.value, audience: audience.value }
  if (loginToken) {
    if (!JWT.test(loginToken.value)) {
      invalid(loginToken, 'must be a JWT: three base64url parts separated by dots', true)
    }
    login.token = loginToken.value
  }
  return login
}
