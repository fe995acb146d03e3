// One input value, where it came from, and the small parsers every input uses.
// Each failure is an InputError whose message names the input (and the
// variable it came from), quotes the value unless it is secret, and says what
// is accepted. Pure: nothing here reads a file or the network.

import { parseDuration } from '../duration.js'
import { inputSpec, type InputName } from './inputs.js'

/** A bad input value. `input` is the action.yml input name (or the variable, for NOMAD_HTTP_AUTH). */
export class InputError extends Error {
  readonly input: string
  constructor(input: string, message: string) {
    super(message)
    this.name = 'InputError'
    this.input = input
  }
}

/** A value and where it came from, so messages can say `(from NOMAD_ADDR)`. */
export interface InputValue {
  input: string
  value: string
  /** The variable it was read from, when not from the input itself. */
  env?: string
}

export type Env = Record<string, string | undefined>

/** A variable's value, trimmed; blank is unset. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim()
  return v ? v : undefined
}

export interface Inputs {
  /** The input, else each of its variables, else its default (inputs.ts); undefined when all are empty. */
  get(name: InputName): InputValue | undefined
  /** The same for an input that has a default, so never undefined. */
  withDefault(name: InputName): InputValue
}

/**
 * Inputs by name from `input` (the action's inputs or the CLI's options; ''
 * when unset, never undefined) and the environment. The defaults are
 * action.yml's, so the CLI gets what the runner fills in for the action.
 */
export function readInputs(input: (name: string) => string, env: Env): Inputs {
  const get = (name: InputName): InputValue | undefined => {
    const value = input(name).trim()
    if (value) return { input: name, value }
    const spec = inputSpec(name)
    for (const variable of spec.env ?? []) {
      const fromEnv = envValue(env, variable)
      if (fromEnv) return { input: name, value: fromEnv, env: variable }
    }
    return spec.default === undefined ? undefined : { input: name, value: spec.default }
  }
  return {
    get,
    withDefault: (name) => {
      const v = get(name)
      if (!v) throw new Error(`input ${name} has no default in src/config/inputs.ts`)
      return v
    },
  }
}

// Messages -------------------------------------------------------------------

function label(v: InputValue): string {
  return `Input '${v.input}'${v.env ? ` (from ${v.env})` : ''}`
}

/** A value quoted for a message, at most 120 characters. */
export function shown(value: string): string {
  const short = value.length > 120 ? `${value.slice(0, 117)}...` : value
  return JSON.stringify(short)
}

/** `Input 'x' <rest>`. */
export function fail(v: InputValue, rest: string): never {
  throw new InputError(v.input, `${label(v)} ${rest}`)
}

/** `must …` and the offending value, unless it is secret. */
export function invalid(v: InputValue, must: string, secret = false): never {
  fail(v, secret ? `${must} (value not shown)` : `${must} (got ${shown(v.value)})`)
}

// Parsers --------------------------------------------------------------------

// Action booleans are what @actions/core's getBooleanInput accepts (YAML 1.2
// core schema); NOMAD_SKIP_VERIFY is read by Nomad with Go's strconv.ParseBool,
// so a variable also takes 1/0/t/f like the Nomad CLI does.
const TRUE_WORDS = ['true', 'True', 'TRUE']
const FALSE_WORDS = ['false', 'False', 'FALSE']
const GO_TRUE = [...TRUE_WORDS, '1', 't', 'T']
const GO_FALSE = [...FALSE_WORDS, '0', 'f', 'F']

export function parseBoolean(v: InputValue | undefined): boolean {
  if (!v) return false
  const yes = v.env ? GO_TRUE : TRUE_WORDS
  const no = v.env ? GO_FALSE : FALSE_WORDS
  if (yes.includes(v.value)) return true
  if (no.includes(v.value)) return false
  invalid(v, `must be true or false${v.env ? ' (or 1, 0)' : ''}`)
}

export function oneOf<T extends string>(v: InputValue, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(v.value)) return v.value as T
  return invalid(v, `must be one of ${allowed.join(', ')}`)
}

/**
 * Split on commas, spaces and newlines. One trailing comma is allowed (a YAML
 * block scalar written `web,\napi,`); any other empty entry (`web,,api`, `,web`)
 * is a mistake worth reporting. Duplicates are dropped, first one wins.
 */
export function splitList(v: InputValue, what: string): string[] {
  const pieces = v.value.split(',')
  if (pieces.length > 1 && pieces[pieces.length - 1]!.trim() === '') pieces.pop()
  const out: string[] = []
  for (const piece of pieces) {
    const words = piece.split(/\s+/).filter((w) => w !== '')
    if (words.length === 0) {
      invalid(v, `must be ${what} separated by commas, spaces or newlines, with no empty entry`)
    }
    for (const w of words) if (!out.includes(w)) out.push(w)
  }
  return out
}

const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u

export function hasWhitespace(text: string): boolean {
  return WHITESPACE_OR_CONTROL.test(text)
}

export function noWhitespace(v: InputValue | undefined, what: string): string | undefined {
  if (!v) return undefined
  if (hasWhitespace(v.value)) invalid(v, `must be ${what} without whitespace`)
  return v.value
}

/** A token travels in an HTTP header: visible ASCII only. */
export function isHeaderSafe(text: string): boolean {
  return /^[\x21-\x7e]+$/.test(text)
}

/** Each char in a UUID position: hex digits, and hyphens at 8, 13, 18, 23. */
export function isUuidPrefix(s: string): boolean {
  if (s.length < 1 || s.length > 36) return false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    const ok = i === 8 || i === 13 || i === 18 || i === 23 ? c === '-' : /[0-9a-f]/.test(c)
    if (!ok) return false
  }
  return true
}

/** A whole number, 0 or more, that is exact as a JavaScript number. */
export function parseCount(v: InputValue, must: string): number {
  if (!/^\d+$/.test(v.value) || !Number.isSafeInteger(Number(v.value))) invalid(v, must)
  return Number(v.value)
}

/** Longest duration any input takes. */
export const MAX_DURATION_MS = 24 * 3_600_000

/**
 * Milliseconds of a Go-style duration or bare seconds, above 0 (or at 0 with
 * `allowZero`) and at most 24h. `must` says what is accepted; ", at most 24h"
 * is added when the value is over it, and with `boundAlways` to 0 as well.
 */
export function parseDurationValue(
  v: InputValue,
  must: string,
  options: { allowZero?: boolean; boundAlways?: boolean } = {},
): number {
  let ms = 0
  try {
    ms = parseDuration(v.value)
  } catch {
    invalid(v, must)
  }
  // parseDuration refuses a negative value: 0 is the only one too low.
  const zero = ms === 0 && !options.allowZero
  if (ms > MAX_DURATION_MS || (zero && options.boundAlways)) invalid(v, `${must}, at most 24h`)
  if (zero) invalid(v, must)
  return ms
}

/**
 * Every value that must never be printed, in the order found. `onSecret` hears
 * of each at once, before anything later can fail: the action masks them.
 */
export class SecretList {
  readonly values: string[] = []
  constructor(private readonly onSecret?: (secret: string) => void) {}

  add(secret: string | undefined): void {
    if (!secret || this.values.includes(secret)) return
    this.values.push(secret)
    this.onSecret?.(secret)
  }
}
