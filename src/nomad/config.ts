// The client's own configuration, as Nomad's Go API client owns its Config and
// TLSConfig (api/api.go). src/config/ fills it from the inputs and the NOMAD_*
// environment; the client never learns where a value came from.

import type { ProxyConfig } from '../net/proxy.js'

/** Where the nomad CLI connects when NOMAD_ADDR is unset (api/api.go DefaultConfig). */
export const DEFAULT_ADDRESS = 'http://127.0.0.1:4646'

/**
 * api.TLSConfig, holding PEM text where Go also takes file paths (CACertPEM,
 * ClientCertPEM, ClientKeyPEM): files are read while the inputs are parsed.
 */
export interface TLSConfig {
  /** PEM certificates of the CAs to trust instead of the system's. */
  caCert?: string
  /** PEM client certificate for mTLS; always together with clientKey. */
  clientCert?: string
  clientKey?: string
  /** TLSServerName: the name sent as SNI and verified in Nomad's certificate. */
  serverName?: string
  /** Insecure: do not verify Nomad's certificate. */
  skipVerify: boolean
}

/** api.HttpBasicAuth: sent as `Authorization: Basic`, for a proxy in front of Nomad. */
export interface HttpBasicAuth {
  username: string
  /** Empty when only a user name was given. */
  password: string
}

/** api.Config: where Nomad is and who is asking. */
export interface Config {
  /** scheme://host[:port], without userinfo, path, query or trailing slash. */
  address: string
  /** ACL token (SecretID), sent as X-Nomad-Token. */
  token?: string
  /** Sent as ?namespace= on every request. */
  namespace?: string
  /** Sent as ?region= on every request. */
  region?: string
  httpAuth?: HttpBasicAuth
  tls: TLSConfig
  /** HTTPS_PROXY, HTTP_PROXY, NO_PROXY (Go's http.ProxyFromEnvironment, in api/api.go's transport). */
  proxy?: ProxyConfig
}
