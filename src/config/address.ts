// The address input and HTTP basic auth (userinfo in the address, or
// NOMAD_HTTP_AUTH as the Nomad API reads it): the address part of the client's
// Config, with every password found added to the secrets.

import type { HttpBasicAuth } from '../nomad/config.js'
import { percentDecoded, redactUserinfo, userinfoPasswords } from '../redact.js'
import {
  InputError,
  envValue,
  fail,
  hasWhitespace,
  shown,
  type Env,
  type InputValue,
  type Inputs,
  type SecretList,
} from './values.js'

export interface NomadAddress {
  /** scheme://host[:port] */
  address: string
  httpAuth?: HttpBasicAuth
}

/** `address` (or NOMAD_ADDR, or the default), and its credentials or NOMAD_HTTP_AUTH's. */
export function parseNomadAddress(inputs: Inputs, env: Env, secrets: SecretList): NomadAddress {
  const parsed = parseAddress(inputs.withDefault('address'), secrets)
  // Credentials in the address are more specific than NOMAD_HTTP_AUTH.
  if (parsed.httpAuth) return parsed
  const authEnv = envValue(env, 'NOMAD_HTTP_AUTH')
  return authEnv ? { ...parsed, httpAuth: parseHttpAuth(authEnv, secrets) } : parsed
}

/** An http(s) URL with nothing after the host; `user:password@` becomes basic auth. */
export function parseAddress(v: InputValue, secrets: SecretList): NomadAddress {
  // Masked before anything can fail: an invalid address is still a secret's carrier.
  userinfoPasswords(v.value).forEach((p) => secrets.add(p))
  const must =
    'must be an http:// or https:// URL such as https://nomad.example.com:4646, with no path, query or fragment'
  const bad = (reason: string): never =>
    fail(v, `${must}; ${reason} (got ${shown(redactUserinfo(v.value))})`)

  if (hasWhitespace(v.value)) bad('it contains whitespace')
  // WHATWG URL also accepts `http:host` and `http:\\host`; insist on the plain form.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v.value)
  if (!scheme) return bad('it has no scheme')
  if (!/^https?$/i.test(scheme[1]!)) bad(`the scheme is ${scheme[1]}`)
  let url: URL
  try {
    url = new URL(v.value)
  } catch {
    return bad('it is not a valid URL')
  }
  // An http(s) URL always has a host: WHATWG URL refuses `http://` and `http://:4646`.
  if (url.pathname !== '/') bad('it has a path')
  // On the text, not url.search / url.hash, which are empty for a bare `?` or `#`.
  // Neither can be part of a user:password@ (it would end the host there).
  if (/[?#]/.test(v.value)) bad('it has a query or fragment')

  const address = `${url.protocol}//${url.host}`
  // With no path, query or fragment, an `@` can only end a user:password@ part.
  if (!v.value.includes('@')) return { address }
  if (url.username === '') bad('its user:password@ part has no user name')
  const password = percentDecoded(url.password)
  secrets.add(password)
  // The form as the URL keeps it too, where percent-encoding makes the two differ.
  secrets.add(url.password)
  return { address, httpAuth: { username: percentDecoded(url.username), password } }
}

/** NOMAD_HTTP_AUTH as the Nomad API reads it: `user:password`, or `user` alone. */
export function parseHttpAuth(value: string, secrets: SecretList): HttpBasicAuth {
  const colon = value.indexOf(':')
  const username = colon < 0 ? value : value.slice(0, colon)
  const password = colon < 0 ? '' : value.slice(colon + 1)
  secrets.add(password)
  if (username === '' || /\p{Cc}/u.test(value)) {
    throw new InputError(
      'NOMAD_HTTP_AUTH',
      'Environment variable NOMAD_HTTP_AUTH must be user:password or user, with a non-empty user and no control characters (value not shown)',
    )
  }
  return { username, password }
}
