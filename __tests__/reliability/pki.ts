// Throwaway TLS material made with openssl while the tests run, in a temporary
// directory removed afterwards: nothing here is ever committed.

import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0

export interface Pair {
  cert: string
  key: string
  certFile: string
  keyFile: string
}

export interface Pki {
  dir: string
  ca: Pair
  /** Signed by the CA for 127.0.0.1, localhost and nomad.test (a name only a test proxy resolves). */
  server: Pair
  /** Signed by the CA for server.global.nomad only (Nomad's own naming). */
  named: Pair
  /** A client certificate signed by the CA (mTLS). */
  client: Pair
  /** Self-signed for 127.0.0.1: trusted by nobody. */
  self: Pair
  remove(): void
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'gate-pki-'))
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const read = (name: string): Pair => ({
    cert: readFileSync(join(dir, `${name}.pem`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certFile: join(dir, `${name}.pem`),
    keyFile: join(dir, `${name}.key`),
  })
  const selfSigned = (name: string, subject: string, ...ext: string[]) => {
    openssl(
      ...['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`],
      ...['-days', '1', '-subj', subject, ...ext.flatMap((e) => ['-addext', e])],
    )
    return read(name)
  }
  const signed = (name: string, subject: string, ext: string[]) => {
    openssl('req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
    writeFileSync(join(dir, `${name}.ext`), `${ext.join('\n')}\n`)
    openssl(
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key'],
      ...['-CAcreateserial', '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`],
    )
    return read(name)
  }
  const ca = selfSigned(
    'ca',
    '/CN=nomad-canary-gate reliability test CA',
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  )
  const server = signed('server', '/CN=127.0.0.1', [
    'basicConstraints=CA:FALSE',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:nomad.test',
    'extendedKeyUsage=serverAuth',
  ])
  const named = signed('named', '/CN=server.global.nomad', [
    'basicConstraints=CA:FALSE',
    'subjectAltName=DNS:server.global.nomad',
    'extendedKeyUsage=serverAuth',
  ])
  const client = signed('client', '/CN=nomad-canary-gate', [
    'basicConstraints=CA:FALSE',
    'extendedKeyUsage=clientAuth',
  ])
  const self = selfSigned('self', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1')
  return {
    dir,
    ca,
    server,
    named,
    client,
    self,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
