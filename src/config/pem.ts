// PEM inputs: text pasted into a secret, or the path of a file, or (for a CA)
// a directory of files as NOMAD_CAPATH names one. The only part of parsing that
// reads files; each is checked to parse, so a bad one fails before any request.

import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fail, shown, type InputValue } from './values.js'

/** `ca`: a bundle or a directory; `cert`: certificates; `key`: a private key, secret. */
export type PemKind = 'ca' | 'cert' | 'key'

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** The certificates of a `ca` or `cert` input, as PEM text holding only them. */
export function loadCertificates(v: InputValue, kind: 'ca' | 'cert'): string {
  const { text, where } = pemText(v, kind)
  return `${certBlocks(v, text, where).join('\n')}\n`
}

/** The private key of a `key` input: its PEM text, and the key to check against a certificate. */
export function loadPrivateKey(v: InputValue): { text: string; key: crypto.KeyObject } {
  const { text, where } = pemText(v, 'key')
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    fail(v, `must be an unencrypted PEM private key; ${where} holds an encrypted one`)
  }
  try {
    return { text: `${text.trim()}\n`, key: crypto.createPrivateKey(text) }
  } catch {
    // The crypto error says nothing useful and the text is secret: say what is expected.
    return fail(
      v,
      `must be a PEM private key (PKCS#8, PKCS#1 or SEC1); ${where} does not parse as one`,
    )
  }
}

/** The value itself when it is PEM text, else what the file (or directory) it names holds. */
function pemText(v: InputValue, kind: PemKind): { text: string; where: string } {
  if (v.value.includes('-----BEGIN')) {
    return { text: unescapeNewlines(v.value), where: 'the PEM text' }
  }
  return readPath(v, kind)
}

/**
 * Some CI secret stores keep PEM on one line with literal `\n`s. A text on
 * several lines is kept as written. (A one-line text without a `\n` has none
 * to replace: no need to look for one first.)
 */
function unescapeNewlines(text: string): string {
  return text.includes('\n') ? text : text.replace(/\\n/g, '\n')
}

/**
 * The certificate blocks of a PEM text, each checked to parse. Only the blocks
 * are kept, so a combined cert+key file given as client-cert does not carry
 * the key into a non-secret field.
 */
function certBlocks(v: InputValue, text: string, where: string): string[] {
  const blocks = text.match(CERT_BLOCK) ?? []
  if (blocks.length === 0) {
    fail(v, `must be PEM certificates (-----BEGIN CERTIFICATE-----); none found in ${where}`)
  }
  blocks.forEach((block, i) => {
    try {
      new crypto.X509Certificate(block)
    } catch (e) {
      fail(v, `has a certificate that does not parse (#${i + 1} in ${where}): ${errText(e)}`)
    }
  })
  return blocks
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** A path may be echoed; a value that cannot be a path may be a pasted secret. */
function mayEcho(v: InputValue, kind: PemKind): boolean {
  return kind !== 'key' || (v.value.length <= 1024 && !/[\r\n]/.test(v.value))
}

function readPath(v: InputValue, kind: PemKind): { text: string; where: string } {
  const file = v.value
  const named = mayEcho(v, kind) ? ` ${shown(file)}` : ''
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? errText(e)})`
    return fail(
      v,
      `must be PEM text (-----BEGIN ...) or the path of a readable file; ${why}:${named || ' (value not shown)'}`,
    )
  }
  if (stat.isDirectory()) {
    if (kind !== 'ca') fail(v, `must be PEM text or a file path; it is a directory:${named}`)
    return { text: readCaDir(v, file), where: `directory ${shown(file)}` }
  }
  try {
    return { text: fs.readFileSync(file, 'utf8'), where: `file${named}` }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return fail(v, `must be a readable file; cannot read${named}: ${code ?? errText(e)}`)
  }
}

/**
 * A directory of CA files, as NOMAD_CAPATH (Go's rootcerts.LoadCAPath). Regular
 * files (symlinks followed) holding at least one certificate are used; other
 * files and subdirectories are skipped, so /etc/ssl/certs works. Duplicates
 * (the hash-named symlinks) are dropped.
 */
function readCaDir(v: InputValue, dir: string): string {
  const seen = new Set<string>()
  let names: string[]
  try {
    names = fs.readdirSync(dir).sort()
  } catch (e) {
    return fail(
      v,
      `must be a readable directory of CA PEM files; cannot list ${shown(dir)}: ${errText(e)}`,
    )
  }
  for (const name of names) {
    const file = path.join(dir, name)
    let text: string
    try {
      if (!fs.statSync(file).isFile()) continue
      text = fs.readFileSync(file, 'utf8')
    } catch (e) {
      return fail(
        v,
        `must be a directory of readable CA PEM files; cannot read ${shown(file)}: ${errText(e)}`,
      )
    }
    if (!CERT_BLOCK.test(text)) continue
    CERT_BLOCK.lastIndex = 0
    for (const block of certBlocks(v, text, `file ${shown(file)}`)) seen.add(block)
  }
  if (seen.size === 0)
    fail(v, `must name a directory holding PEM CA certificates; none found in ${shown(dir)}`)
  return [...seen].join('\n')
}
