// The TLS inputs into the client's TLSConfig: the CA to trust, the mTLS pair
// (checked to belong together), the name to verify, and skip-verify.

import * as crypto from 'node:crypto'
import type { TLSConfig } from '../nomad/config.js'
import { loadCertificates, loadPrivateKey } from './pem.js'
import {
  InputError,
  fail,
  noWhitespace,
  parseBoolean,
  type Inputs,
  type SecretList,
} from './values.js'

export function parseTls(inputs: Inputs, secrets: SecretList): TLSConfig {
  const tls: TLSConfig = { skipVerify: parseBoolean(inputs.get('tls-skip-verify')) }

  // ca-cert, else NOMAD_CACERT, else NOMAD_CAPATH (a file or a directory).
  const ca = inputs.get('ca-cert')
  if (ca) tls.caCert = loadCertificates(ca, 'ca')

  const certValue = inputs.get('client-cert')
  const keyValue = inputs.get('client-key')
  if (certValue && !keyValue) {
    throw new InputError(
      'client-key',
      "Input 'client-key' is required when input 'client-cert' is set (mTLS needs both)",
    )
  }
  if (keyValue && !certValue) {
    throw new InputError(
      'client-cert',
      "Input 'client-cert' is required when input 'client-key' is set (mTLS needs both)",
    )
  }
  if (certValue && keyValue) {
    const cert = loadCertificates(certValue, 'cert')
    const key = loadPrivateKey(keyValue)
    secrets.add(key.text.trim())
    if (!new crypto.X509Certificate(cert).checkPrivateKey(key.key)) {
      fail(
        keyValue,
        'must be the private key of the first certificate in client-cert; it does not match',
      )
    }
    tls.clientCert = cert
    tls.clientKey = key.text
  }

  const serverName = noWhitespace(inputs.get('tls-server-name'), 'a host name')
  if (serverName) tls.serverName = serverName
  return tls
}
