// The inputs that say where Nomad is and how to talk to it, into the client's
// own Config (src/nomad/config.ts): token, address and basic auth, TLS,
// namespace, region.

import type { Config } from '../nomad/config.js'
import { parseNomadAddress } from './address.js'
import { parseTls } from './tls.js'
import {
  invalid,
  isHeaderSafe,
  noWhitespace,
  type Env,
  type Inputs,
  type SecretList,
} from './values.js'

export function parseNomadConfig(inputs: Inputs, env: Env, secrets: SecretList): Config {
  const token = inputs.get('token')
  if (token) {
    secrets.add(token.value)
    if (!isHeaderSafe(token.value)) {
      invalid(token, 'must be a Nomad ACL token: visible ASCII characters, no whitespace', true)
    }
  }
  const { address, httpAuth } = parseNomadAddress(inputs, env, secrets)
  const config: Config = { address, tls: parseTls(inputs, secrets) }
  if (token) config.token = token.value
  if (httpAuth) config.httpAuth = httpAuth

  const namespaceValue = inputs.get('namespace')
  const namespace = noWhitespace(namespaceValue, 'a namespace name')
  if (namespace !== undefined) {
    // `*` (all namespaces) is for listing; the gate acts on one deployment.
    if (namespace.includes('*'))
      invalid(namespaceValue!, 'must be one namespace name, not a wildcard')
    config.namespace = namespace
  }
  const region = noWhitespace(inputs.get('region'), 'a region name')
  if (region !== undefined) config.region = region
  return config
}
