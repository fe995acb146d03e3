// Settings: the one typed, validated shape of the gate's inputs. The action
// (core.getInput) and the CLI (util.parseArgs) both feed parseSettings().

import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { CheckSettings } from './checks.js'
import { parseDuration } from './duration.js'
import { redactUserinfo } from './redact.js'
import { DEFAULT_ADDRESS, type Config, type HttpBasicAuth, type TLSConfig } from './nomad/config.js'

export const MODES = ['promote', 'wait', 'fail', 'pause', 'resume', 'health'] as const
export type Mode = (typeof MODES)[number]

export const ON_FAILURE = ['none', 'fail', 'pause'] as const
export type OnFailure = (typeof ON_FAILURE)[number]

export type Target = { deploymentId: string } | { job: string; jobVersion?: number }

/** Which allocations `health` mode marks: every placed canary of the selected groups, or IDs/prefixes. */
export type AllocSelector = { canaries: true } | { ids: string[] }

export interface Settings {
  nomad: Config
  target: Target
  mode: Mode
  /** Empty: every group that has canaries. */
  groups: string[]
  timeoutMs: number
  onFailure: OnFailure
  healthyAllocs?: AllocSelector
  unhealthyAllocs?: AllocSelector
  waitForCompletion: boolean
  /** After the canaries pass: how long they must stay healthy (and the checks pass) before the write. */
  soakMs: number
  checks: CheckSettings
  /** Post GitHub deployment statuses (action only). */
  github?: { token: string; environment?: string; deploymentId?: number }
  /** Everything up to the write, which is only logged. */
  dryRun: boolean
  /** Every value that must never be printed: token, basic-auth password, client key. */
  secrets: string[]
}

// ---------------------------------------------------------------------------
// Parsing. Pure except for reading PEM files (ca-cert, client-cert,
// client-key, NOMAD_CAPATH). Every check runs before the first request.
// ---------------------------------------------------------------------------

/** Input names as action.yml spells them; the CLI uses the same names as `--options`. */
export const INPUT_NAMES = [
  'address',
  'token',
  'namespace',
  'region',
  'ca-cert',
  'client-cert',
  'client-key',
  'tls-server-name',
  'tls-skip-verify',
  'deployment-id',
  'job',
  'job-version',
  'mode',
  'groups',
  'timeout',
  'on-failure',
  'healthy-allocs',
  'unhealthy-allocs',
  'wait-for-completion',
  'soak',
  'check-url',
  'check-interval',
  'check-timeout',
  'prometheus-url',
  'prometheus-query',
  'prometheus-threshold',
  'failure-limit',
  'github-token',
  'github-deployment-id',
  'environment',
  'dry-run',
] as const
export type InputName = (typeof INPUT_NAMES)[number]

export const DEFAULT_TIMEOUT = '10m'
export const MAX_TIMEOUT_MS = 24 * 3_600_000

/** A bad input value. `input` is the action.yml input name (or the env var for NOMAD_HTTP_AUTH). */
export class InputError extends Error {
  readonly input: string
  constructor(input: string, message: string) {
    super(message)
    this.name = 'InputError'
    this.input = input
  }
}

/** A raw value and where it came from, so messages can say `(from NOMAD_ADDR)`. */
interface Raw {
  input: string
  value: string
  env?: string
}

const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u
// A token travels in an HTTP header: visible ASCII only.
const HEADER_SAFE = /^[\x21-\x7e]+$/
const UUID_PREFIX_HINT = 'a deployment UUID or a prefix of one, such as 5e7f2a1c'

function label(raw: Raw): string {
  return `Input '${raw.input}'${raw.env ? ` (from ${raw.env})` : ''}`
}

function shown(value: string): string {
  const cut = value.length > 120 ? `${value.slice(0, 117)}...` : value
  return JSON.stringify(cut)
}

function fail(raw: Raw, rest: string): never {
  throw new InputError(raw.input, `${label(raw)} ${rest}`)
}

/** `must …` plus the offending value, unless it is secret. */
function invalid(raw: Raw, must: string, secret = false): never {
  fail(raw, secret ? `${must} (value not shown)` : `${must} (got ${shown(raw.value)})`)
}

// Action booleans are what @actions/core's getBooleanInput accepts (YAML 1.2
// core schema); NOMAD_SKIP_VERIFY is read by Nomad with Go's strconv.ParseBool,
// so the env var also takes 1/0/t/f like the Nomad CLI does.
const TRUE_WORDS = ['true', 'True', 'TRUE']
const FALSE_WORDS = ['false', 'False', 'FALSE']
const GO_TRUE = [...TRUE_WORDS, '1', 't', 'T']
const GO_FALSE = [...FALSE_WORDS, '0', 'f', 'F']

function parseBool(raw: Raw | undefined): boolean {
  if (!raw) return false
  const yes = raw.env ? GO_TRUE : TRUE_WORDS
  const no = raw.env ? GO_FALSE : FALSE_WORDS
  if (yes.includes(raw.value)) return true
  if (no.includes(raw.value)) return false
  invalid(raw, `must be true or false${raw.env ? ' (or 1, 0)' : ''}`)
}

/** Each char in a UUID position: hex digits, and hyphens at 8, 13, 18, 23. */
function isUuidPrefix(s: string): boolean {
  if (s.length < 1 || s.length > 36) return false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    const ok = i === 8 || i === 13 || i === 18 || i === 23 ? c === '-' : /[0-9a-f]/.test(c)
    if (!ok) return false
  }
  return true
}

/**
 * Split on commas, spaces and newlines. One trailing comma is allowed (a YAML
 * block scalar written `web,\napi,`); any other empty entry (`web,,api`, `,web`)
 * is a mistake worth reporting. Duplicates are dropped, first one wins.
 */
function splitList(raw: Raw, what: string): string[] {
  const pieces = raw.value.split(',')
  if (pieces.length > 1 && pieces[pieces.length - 1]!.trim() === '') pieces.pop()
  const out: string[] = []
  for (const piece of pieces) {
    const words = piece.split(/\s+/).filter((w) => w !== '')
    if (words.length === 0) {
      invalid(raw, `must be ${what} separated by commas, spaces or newlines, with no empty entry`)
    }
    for (const w of words) if (!out.includes(w)) out.push(w)
  }
  return out
}

function noWhitespace(raw: Raw | undefined, what: string): string | undefined {
  if (!raw) return undefined
  if (WHITESPACE_OR_CONTROL.test(raw.value)) invalid(raw, `must be ${what} without whitespace`)
  return raw.value
}

// --- address and basic auth ------------------------------------------------

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

interface Address {
  address: string
  user?: string
  password?: string
  /** The password as written in the URL, when percent-encoding makes it differ. */
  rawPassword?: string
}

function parseAddress(raw: Raw): Address {
  const must =
    'must be an http:// or https:// URL such as https://nomad.example.com:4646, with no path, query or fragment'
  const bad = (reason: string): never =>
    fail(raw, `${must}; ${reason} (got ${shown(redactUserinfo(raw.value))})`)

  if (WHITESPACE_OR_CONTROL.test(raw.value)) bad('it contains whitespace')
  // WHATWG URL also accepts `http:host` and `http:\\host`; insist on the plain form.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw.value)
  if (!scheme) bad('it has no scheme')
  if (!/^https?$/i.test(scheme![1]!)) bad(`the scheme is ${scheme![1]}`)
  let url: URL
  try {
    url = new URL(raw.value)
  } catch {
    return bad('it is not a valid URL')
  }
  if (url.hostname === '') bad('it has no host')
  if (url.pathname !== '/') bad('it has a path')
  const afterHost = redactUserinfo(raw.value).slice(scheme![0].length)
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(afterHost)) {
    bad('it has a query or fragment')
  }

  const out: Address = { address: `${url.protocol}//${url.host}` }
  if (url.username !== '' || url.password !== '' || raw.value.includes('@')) {
    if (url.username === '') bad('its user:password@ part has no user name')
    out.user = decode(url.username)
    if (url.password !== '') {
      out.password = decode(url.password)
      if (out.password !== url.password) out.rawPassword = url.password
    }
  }
  return out
}

/** NOMAD_HTTP_AUTH as the Nomad API reads it: `user:password`, or `user` alone. */
function parseHttpAuth(value: string): { user: string; password?: string } {
  const colon = value.indexOf(':')
  const user = colon < 0 ? value : value.slice(0, colon)
  const password = colon < 0 ? undefined : value.slice(colon + 1)
  if (user === '' || /\p{Cc}/u.test(value)) {
    throw new InputError(
      'NOMAD_HTTP_AUTH',
      'Environment variable NOMAD_HTTP_AUTH must be user:password or user, with a non-empty user and no control characters (value not shown)',
    )
  }
  return password ? { user, password } : { user }
}

// --- PEM -------------------------------------------------------------------

type PemKind = 'ca' | 'cert' | 'key'

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** Some CI secret stores keep PEM on one line with literal `\n`s. */
function unescapeNewlines(text: string): string {
  return !text.includes('\n') && text.includes('\\n') ? text.replace(/\\n/g, '\n') : text
}

/**
 * The certificate blocks of a PEM text, each checked to parse. Only the blocks
 * are kept, so a combined cert+key file given as client-cert does not carry
 * the key into a non-secret field.
 */
function certBlocks(raw: Raw, text: string, where: string): string[] {
  const blocks = text.match(CERT_BLOCK) ?? []
  if (blocks.length === 0) {
    fail(raw, `must be PEM certificates (-----BEGIN CERTIFICATE-----); none found in ${where}`)
  }
  blocks.forEach((block, i) => {
    try {
      new crypto.X509Certificate(block)
    } catch (e) {
      fail(raw, `has a certificate that does not parse (#${i + 1} in ${where}): ${errText(e)}`)
    }
  })
  return blocks
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** A path may be echoed; a value that cannot be a path may be a pasted secret. */
function mayEcho(raw: Raw, kind: PemKind): boolean {
  return kind !== 'key' || (raw.value.length <= 1024 && !/[\r\n]/.test(raw.value))
}

function readPath(raw: Raw, kind: PemKind): { text: string; where: string } {
  const path = raw.value
  const named = mayEcho(raw, kind) ? ` ${shown(path)}` : ''
  let stat: fs.Stats
  try {
    stat = fs.statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? errText(e)})`
    return fail(
      raw,
      `must be PEM text (-----BEGIN ...) or the path of a readable file; ${why}:${named || ' (value not shown)'}`,
    )
  }
  if (stat.isDirectory()) {
    if (kind !== 'ca') fail(raw, `must be PEM text or a file path; it is a directory:${named}`)
    return { text: readCaDir(raw, path), where: `directory ${shown(path)}` }
  }
  try {
    return { text: fs.readFileSync(path, 'utf8'), where: `file${named}` }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return fail(raw, `must be a readable file; cannot read${named}: ${code ?? errText(e)}`)
  }
}

/**
 * A directory of CA files, as NOMAD_CAPATH (Go's rootcerts.LoadCAPath). Regular
 * files (symlinks followed) holding at least one certificate are used; other
 * files and subdirectories are skipped, so /etc/ssl/certs works. Duplicates
 * (the hash-named symlinks) are dropped.
 */
function readCaDir(raw: Raw, dir: string): string {
  const seen = new Set<string>()
  let names: string[]
  try {
    names = fs.readdirSync(dir).sort()
  } catch (e) {
    return fail(
      raw,
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
        raw,
        `must be a directory of readable CA PEM files; cannot read ${shown(file)}: ${errText(e)}`,
      )
    }
    if (!CERT_BLOCK.test(text)) continue
    CERT_BLOCK.lastIndex = 0
    for (const block of certBlocks(raw, text, `file ${shown(file)}`)) seen.add(block)
  }
  if (seen.size === 0)
    fail(raw, `must name a directory holding PEM CA certificates; none found in ${shown(dir)}`)
  return [...seen].join('\n')
}

interface Pem {
  text: string
  /** For a key: the parsed key, to check it against the client certificate. */
  key?: crypto.KeyObject
}

function loadPem(raw: Raw, kind: PemKind): Pem {
  let text: string
  let where: string
  if (raw.value.includes('-----BEGIN')) {
    text = unescapeNewlines(raw.value)
    where = 'the PEM text'
  } else {
    ;({ text, where } = readPath(raw, kind))
  }
  if (kind !== 'key') return { text: `${certBlocks(raw, text, where).join('\n')}\n` }

  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    fail(raw, `must be an unencrypted PEM private key; ${where} holds an encrypted one`)
  }
  try {
    return { text: `${text.trim()}\n`, key: crypto.createPrivateKey(text) }
  } catch {
    // The crypto error says nothing useful and the text is secret: say what is expected.
    return fail(
      raw,
      `must be a PEM private key (PKCS#8, PKCS#1 or SEC1); ${where} does not parse as one`,
    )
  }
}

function parseTls(
  pick: (name: InputName, env?: string) => Raw | undefined,
  env: Env,
  secrets: string[],
): TLSConfig {
  const tls: TLSConfig = { skipVerify: parseBool(pick('tls-skip-verify', 'NOMAD_SKIP_VERIFY')) }

  let caRaw = pick('ca-cert', 'NOMAD_CACERT')
  const caPath = envValue(env, 'NOMAD_CAPATH')
  if (!caRaw && caPath) caRaw = { input: 'ca-cert', value: caPath, env: 'NOMAD_CAPATH' }
  if (caRaw) tls.caCert = loadPem(caRaw, 'ca').text

  const certRaw = pick('client-cert', 'NOMAD_CLIENT_CERT')
  const keyRaw = pick('client-key', 'NOMAD_CLIENT_KEY')
  if (certRaw && !keyRaw) {
    throw new InputError(
      'client-key',
      "Input 'client-key' is required when client-cert is set (mTLS needs both)",
    )
  }
  if (keyRaw && !certRaw) {
    throw new InputError(
      'client-cert',
      "Input 'client-cert' is required when client-key is set (mTLS needs both)",
    )
  }
  if (certRaw && keyRaw) {
    const cert = loadPem(certRaw, 'cert')
    const key = loadPem(keyRaw, 'key')
    secrets.push(key.text.trim())
    const leaf = new crypto.X509Certificate(cert.text)
    if (!leaf.checkPrivateKey(key.key!)) {
      fail(
        keyRaw,
        'must be the private key of the first certificate in client-cert; it does not match',
      )
    }
    tls.clientCert = cert.text
    tls.clientKey = key.text
  }

  const serverName = noWhitespace(pick('tls-server-name', 'NOMAD_TLS_SERVER_NAME'), 'a host name')
  if (serverName) tls.serverName = serverName
  return tls
}

// --- the rest ----------------------------------------------------------------

type Env = Record<string, string | undefined>

function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim()
  return v ? v : undefined
}

function parseTarget(pick: (name: InputName) => Raw | undefined): Target {
  const idRaw = pick('deployment-id')
  const jobRaw = pick('job')
  const versionRaw = pick('job-version')
  if (!idRaw && !jobRaw) {
    throw new InputError(
      'deployment-id',
      "Input 'deployment-id' or input 'job' is required (exactly one of them)",
    )
  }
  if (idRaw && jobRaw) {
    throw new InputError(
      'deployment-id',
      "Input 'deployment-id' and input 'job' are both set; give exactly one of them",
    )
  }
  if (idRaw) {
    if (versionRaw) {
      fail(versionRaw, "can only be used with 'job', not with 'deployment-id'")
    }
    const id = idRaw.value.toLowerCase()
    if (!isUuidPrefix(id))
      invalid(
        idRaw,
        `must be ${UUID_PREFIX_HINT} (hex digits, hyphens where a UUID has them, at most 36 characters)`,
      )
    return { deploymentId: id }
  }
  const job = noWhitespace(jobRaw, 'a job ID')!
  if (!versionRaw) return { job }
  if (!/^\d+$/.test(versionRaw.value) || !Number.isSafeInteger(Number(versionRaw.value))) {
    invalid(versionRaw, 'must be a job version: a whole number, 0 or more')
  }
  return { job, jobVersion: Number(versionRaw.value) }
}

function oneOf<T extends string>(raw: Raw | undefined, allowed: readonly T[], fallback: T): T {
  if (!raw) return fallback
  if ((allowed as readonly string[]).includes(raw.value)) return raw.value as T
  return invalid(raw, `must be one of ${allowed.join(', ')}`)
}

function parseTimeout(raw: Raw | undefined): number {
  if (!raw) return parseDuration(DEFAULT_TIMEOUT)
  const must = 'must be a positive duration such as 90s, 10m or 1h30m'
  let ms = 0
  try {
    ms = parseDuration(raw.value)
  } catch {
    invalid(raw, must)
  }
  if (!(ms > 0)) invalid(raw, must)
  if (ms > MAX_TIMEOUT_MS) invalid(raw, `${must}, at most 24h`)
  return ms
}

function parseDurationInput(raw: Raw, zeroAllowed = false): number {
  const must = `must be a ${zeroAllowed ? 'non-negative' : 'positive'} duration such as 30s, 5m or 1h30m`
  let ms = 0
  try {
    ms = parseDuration(raw.value)
  } catch {
    invalid(raw, must)
  }
  if (ms < 0 || (!zeroAllowed && ms === 0) || ms > MAX_TIMEOUT_MS)
    invalid(raw, `${must}, at most 24h`)
  return ms
}

function parseUrl(raw: Raw, value: string): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    // reported below
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    !/^https?:\/\//i.test(value)
  ) {
    fail(raw, `must be http:// or https:// URLs (got ${shown(redactUserinfo(value))})`)
  }
  return value
}

function parseChecks(pick: (name: InputName) => Raw | undefined, soakMs: number): CheckSettings {
  const urlsRaw = pick('check-url')
  const urls = urlsRaw ? splitList(urlsRaw, 'URLs').map((u) => parseUrl(urlsRaw, u)) : []
  const promUrlRaw = pick('prometheus-url')
  const queryRaw = pick('prometheus-query')
  const thresholdRaw = pick('prometheus-threshold')
  let prometheus: CheckSettings['prometheus']
  if (promUrlRaw || queryRaw || thresholdRaw) {
    const first = (promUrlRaw ?? queryRaw ?? thresholdRaw)!
    if (!promUrlRaw || !queryRaw || !thresholdRaw) {
      fail(first, 'needs all three of prometheus-url, prometheus-query and prometheus-threshold')
    }
    const threshold = Number(thresholdRaw.value)
    if (!Number.isFinite(threshold)) invalid(thresholdRaw, 'must be a number such as 0.05')
    prometheus = {
      url: parseUrl(promUrlRaw, promUrlRaw.value).replace(/\/+$/, ''),
      query: queryRaw.value,
      threshold,
    }
  }
  const intervalRaw = pick('check-interval')
  const timeoutRaw = pick('check-timeout')
  const limitRaw = pick('failure-limit')
  const checks: CheckSettings = {
    urls,
    intervalMs: intervalRaw ? parseDurationInput(intervalRaw) : 10_000,
    timeoutMs: timeoutRaw ? parseDurationInput(timeoutRaw) : 5_000,
    failureLimit: 0,
  }
  if (prometheus) checks.prometheus = prometheus
  if (limitRaw) {
    if (!/^\d+$/.test(limitRaw.value))
      invalid(limitRaw, 'must be a whole number of failed check runs, 0 or more')
    checks.failureLimit = Number(limitRaw.value)
  }
  if ((urls.length > 0 || prometheus) && soakMs === 0) {
    fail((urlsRaw ?? promUrlRaw)!, 'runs during the soak: set soak (e.g. 5m) as well')
  }
  return checks
}

function parseGithub(
  pick: (name: InputName) => Raw | undefined,
  secrets: string[],
): Settings['github'] {
  const tokenRaw = pick('github-token')
  const idRaw = pick('github-deployment-id')
  const envRaw = pick('environment')
  if (!tokenRaw) {
    if (idRaw || envRaw) fail((idRaw ?? envRaw)!, 'needs github-token to post deployment statuses')
    return undefined
  }
  secrets.push(tokenRaw.value)
  if (!HEADER_SAFE.test(tokenRaw.value)) invalid(tokenRaw, 'must be a GitHub token', true)
  const github: NonNullable<Settings['github']> = { token: tokenRaw.value }
  if (idRaw) {
    if (!/^[1-9]\d*$/.test(idRaw.value))
      invalid(idRaw, 'must be a GitHub deployment ID (a positive number)')
    github.deploymentId = Number(idRaw.value)
  }
  if (envRaw) github.environment = envRaw.value
  if (!idRaw && !envRaw) {
    fail(
      tokenRaw,
      'needs github-deployment-id, or environment to create a deployment in (e.g. production)',
    )
  }
  return github
}

function parseAllocs(raw: Raw | undefined): AllocSelector | undefined {
  if (!raw) return undefined
  if (raw.value === 'canaries') return { canaries: true }
  const what = "allocation IDs or ID prefixes, or the word 'canaries'"
  const ids = [...new Set(splitList(raw, what).map((id) => id.toLowerCase()))]
  for (const id of ids) {
    if (!isUuidPrefix(id)) {
      fail(raw, `must be ${what}; ${shown(id)} is neither (got ${shown(raw.value)})`)
    }
  }
  return { ids }
}

function checkAllocs(
  mode: Mode,
  healthyRaw: Raw | undefined,
  healthy: AllocSelector | undefined,
  unhealthyRaw: Raw | undefined,
  unhealthy: AllocSelector | undefined,
): void {
  if (mode !== 'health') {
    const set = healthyRaw ?? unhealthyRaw
    if (set) fail(set, `is only used with mode 'health' (mode is '${mode}')`)
    return
  }
  if (!healthy && !unhealthy) {
    throw new InputError(
      'healthy-allocs',
      "Input 'healthy-allocs' or 'unhealthy-allocs' is required with mode 'health': allocation IDs, or the word 'canaries'",
    )
  }
  if (!healthy || !unhealthy) return
  if ('canaries' in healthy || 'canaries' in unhealthy) {
    fail(
      unhealthyRaw!,
      "cannot be set when the other list is 'canaries' (every canary would be marked twice); list allocation IDs in both",
    )
  }
  for (const a of healthy.ids) {
    // Prefixes that nest can name the same allocation.
    const b = unhealthy.ids.find((u) => u.startsWith(a) || a.startsWith(u))
    if (b !== undefined) {
      fail(
        unhealthyRaw!,
        `must not name an allocation that healthy-allocs also names (${shown(b)} and ${shown(a)} overlap)`,
      )
    }
  }
}

/**
 * Raw inputs (action inputs or CLI options by their action.yml names, '' when
 * unset) and the NOMAD_* environment into one validated Settings. Throws
 * InputError at the first bad value; reads only PEM files named by the inputs.
 */
export function parseSettings(input: (name: string) => string, env: Env): Settings {
  const secrets: string[] = []
  const pick = (name: InputName, envName?: string): Raw | undefined => {
    const value = (input(name) ?? '').trim()
    if (value) return { input: name, value }
    const fromEnv = envName ? envValue(env, envName) : undefined
    return fromEnv ? { input: name, value: fromEnv, env: envName } : undefined
  }

  const tokenRaw = pick('token', 'NOMAD_TOKEN')
  if (tokenRaw) {
    secrets.push(tokenRaw.value)
    if (!HEADER_SAFE.test(tokenRaw.value)) {
      invalid(tokenRaw, 'must be a Nomad ACL token: visible ASCII characters, no whitespace', true)
    }
  }

  const addressRaw = pick('address', 'NOMAD_ADDR') ?? { input: 'address', value: DEFAULT_ADDRESS }
  const addr = parseAddress(addressRaw)
  let httpAuth: HttpBasicAuth | undefined
  if (addr.user !== undefined) {
    // Credentials in the address are more specific than NOMAD_HTTP_AUTH.
    if (addr.password) secrets.push(addr.password)
    if (addr.rawPassword) secrets.push(addr.rawPassword)
    httpAuth = { username: addr.user, password: addr.password ?? '' }
  } else {
    const authEnv = envValue(env, 'NOMAD_HTTP_AUTH')
    if (authEnv) {
      const auth = parseHttpAuth(authEnv)
      if (auth.password) secrets.push(auth.password)
      httpAuth = { username: auth.user, password: auth.password ?? '' }
    }
  }

  const nomad: Config = { address: addr.address, tls: parseTls(pick, env, secrets) }
  if (tokenRaw) nomad.token = tokenRaw.value
  if (httpAuth !== undefined) nomad.httpAuth = httpAuth
  const namespaceRaw = pick('namespace', 'NOMAD_NAMESPACE')
  const namespace = noWhitespace(namespaceRaw, 'a namespace name')
  if (namespace !== undefined) {
    // `*` (all namespaces) is for listing; the gate acts on one deployment.
    if (namespace.includes('*'))
      invalid(namespaceRaw!, 'must be one namespace name, not a wildcard')
    nomad.namespace = namespace
  }
  const region = noWhitespace(pick('region', 'NOMAD_REGION'), 'a region name')
  if (region !== undefined) nomad.region = region

  const target = parseTarget(pick)
  const mode = oneOf(pick('mode'), MODES, 'promote')
  const groupsRaw = pick('groups')
  const groups = groupsRaw ? splitList(groupsRaw, 'task group names') : []
  const timeoutMs = parseTimeout(pick('timeout'))
  const onFailure = oneOf(pick('on-failure'), ON_FAILURE, 'none')

  const healthyRaw = pick('healthy-allocs')
  const unhealthyRaw = pick('unhealthy-allocs')
  const healthyAllocs = parseAllocs(healthyRaw)
  const unhealthyAllocs = parseAllocs(unhealthyRaw)
  checkAllocs(mode, healthyRaw, healthyAllocs, unhealthyRaw, unhealthyAllocs)

  const waitRaw = pick('wait-for-completion')
  const waitForCompletion = parseBool(waitRaw)
  if (waitForCompletion && mode !== 'promote') {
    fail(waitRaw!, `only applies to mode 'promote' (mode is '${mode}')`)
  }

  const soakRaw = pick('soak')
  const soakMs = soakRaw ? parseDurationInput(soakRaw, true) : 0
  if (soakMs > 0 && mode !== 'promote' && mode !== 'wait') {
    fail(soakRaw!, `only applies to modes 'promote' and 'wait' (mode is '${mode}')`)
  }
  if (soakMs >= timeoutMs) {
    fail(
      soakRaw!,
      `must be shorter than timeout (${shown(soakRaw!.value)} is not less than the timeout)`,
    )
  }
  const checks = parseChecks(pick, soakMs)
  const github = parseGithub(pick, secrets)
  const dryRun = parseBool(pick('dry-run'))

  const settings: Settings = {
    nomad,
    target,
    mode,
    groups,
    timeoutMs,
    onFailure,
    waitForCompletion,
    soakMs,
    checks,
    dryRun,
    secrets: [...new Set(secrets.filter((s) => s !== ''))],
  }
  if (github) settings.github = github
  if (healthyAllocs) settings.healthyAllocs = healthyAllocs
  if (unhealthyAllocs) settings.unhealthyAllocs = unhealthyAllocs
  return settings
}
