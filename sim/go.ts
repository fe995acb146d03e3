// Small re-implementations of the Go behaviour that leaks through Nomad's HTTP
// API: duration parsing, time formatting, go-memdb's UUID index, multierror's
// text, and encoding/json's decoder errors. Each one names the Go code it copies.

/** Go's zero time.Time as encoding/json writes it (e.g. an unset RequireProgressBy). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z'

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5
  μs: 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/**
 * time.ParseDuration, in milliseconds; null where Go returns an error. A bare
 * number other than "0" has no unit and is an error, which is why Nomad answers
 * `?wait=5` with 400 `Invalid wait time` (command/agent/http.go parseWait).
 */
export function parseGoDuration(s: string): number | null {
  if (s === '0' || s === '+0' || s === '-0') return 0
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)[a-zµμ]+)+)$/.exec(s)
  if (!m) return null
  let total = 0
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)([a-zµμ]+)/g)) {
    const unit = DURATION_UNITS_MS[part[2]]
    if (unit === undefined) return null
    total += Number(part[1]) * unit
  }
  return m[1] === '-' ? -total : total
}

/** A time as Go's encoding/json writes time.Time (RFC 3339 with trailing fraction zeros cut). */
export function goTime(ms: number): string {
  if (ms === 0) return GO_ZERO_TIME
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z')
}

/** A wall-clock time in Unix nanoseconds, as Nomad's CreateTime/ModifyTime fields hold it. */
export function unixNano(ms: number): number {
  return ms * 1e6
}

/**
 * go-memdb's UUIDFieldIndex (index.go parseString): Nomad looks deployments and
 * allocations up by the 16 bytes of their UUID, not by the string. So a lookup
 * needs exactly 36 characters (`UUID must be 36 characters`), hyphens may sit
 * anywhere, case does not matter, and a prefix must have an even number of hex
 * digits. Returns the lower-case hex key, or Go's error text.
 */
export function uuidIndexKey(
  s: string,
  enforceLength: boolean,
): { key: string } | { error: string } {
  if (enforceLength && s.length !== 36) return { error: 'UUID must be 36 characters' }
  if (s.length > 36) {
    return { error: `Invalid UUID length. UUID have 36 characters; got ${s.length}` }
  }
  const hyphens = s.split('-').length - 1
  if (hyphens > 4) return { error: `UUID should have maximum of 4 "-"; got ${hyphens}` }
  const hex = s.replaceAll('-', '')
  if (hex.length % 2 !== 0) return { error: 'Input (without hyphens) must be even length' }
  for (let i = 0; i < hex.length; i++) {
    if (!/[0-9a-fA-F]/.test(hex[i])) {
      // encoding/hex reports the first bad byte as an InvalidByteError.
      const cp = hex.codePointAt(i) ?? 0
      return {
        error: `Invalid UUID: encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} ${quoteChar(cp)}`,
      }
    }
  }
  return { key: hex.toLowerCase() }
}

/** Go's %q for the plain strings Nomad quotes in its errors (group names, IDs). */
export function goQuote(s: string): string {
  return JSON.stringify(s)
}

/** hashicorp/go-multierror ListFormatFunc (format.go). */
export function multierrorText(errors: string[]): string {
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`
}

/** encoding/json quoteChar: a byte as a Go character literal, via strconv.Quote. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`
  if (c === 0x22) return `'"'`
  const named: Record<number, string> = {
    7: 'a',
    8: 'b',
    9: 't',
    10: 'n',
    11: 'v',
    12: 'f',
    13: 'r',
  }
  if (named[c]) return `'\\${named[c]}'`
  if (c === 0x5c) return `'\\\\'`
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`
  // A byte >= 0x80 is quoted as the rune U+00XX; strconv.IsPrint rejects C1 controls, NBSP and soft hyphen.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`
  return `'${String.fromCodePoint(c)}'`
}

/** The Go struct a request body is decoded into: its type name and its fields' Go types. */
export interface GoStruct {
  /** e.g. `DeploymentPromoteRequest`; errors print it as `structs.<name>`. */
  name: string
  fields: Record<string, 'string' | 'bool' | '[]string'>
}

/**
 * command/agent/http.go decodeBody: `json.NewDecoder(req.Body).Decode(&out)`.
 * Reproduces what a Go client sees: `Request body is empty` for a body-less
 * request (Go's http.NoBody), `EOF` for a chunked empty one, the decoder's
 * syntax errors, `unexpected EOF`, and its type errors. Like json.Decoder it reads
 * one value and ignores what follows; like Go it matches field names without
 * regard to case and skips unknown ones. Returns the decoded fields or the text.
 */
export function decodeGoJSONBody(
  body: Buffer,
  noBody: boolean,
  target: GoStruct,
): { value: Record<string, unknown> } | { error: string } {
  if (noBody) return { error: 'Request body is empty' }
  // Scan bytes, as Go does: latin1 maps each byte to one char.
  const scanned = scanGoJSONValue(body.toString('latin1'))
  if ('error' in scanned) return scanned
  const value: unknown = JSON.parse(body.subarray(scanned.start, scanned.end).toString('utf8'))
  return unmarshalInto(value, target)
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'boolean') return 'bool'
  return typeof v // 'string' | 'number' | 'object'
}

function unmarshalInto(
  v: unknown,
  t: GoStruct,
): { value: Record<string, unknown> } | { error: string } {
  const out: Record<string, unknown> = {}
  if (v === null) return { value: out } // null leaves the struct at its zero value
  if (typeof v !== 'object' || Array.isArray(v)) {
    return { error: `json: cannot unmarshal ${kindOf(v)} into Go value of type structs.${t.name}` }
  }
  let firstError: string | undefined
  const typeError = (kind: string, field: string, goType: string): void => {
    firstError ??= `json: cannot unmarshal ${kind} into Go struct field ${t.name}.${field} of type ${goType}`
  }
  const names = Object.keys(t.fields)
  for (const [key, raw] of Object.entries(v)) {
    const field =
      names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase())
    if (field === undefined || raw === null) continue
    const goType = t.fields[field]
    if (goType === '[]string') {
      if (!Array.isArray(raw)) {
        typeError(kindOf(raw), field, goType)
        continue
      }
      out[field] = raw.map((el: unknown) => {
        if (el !== null && typeof el !== 'string') typeError(kindOf(el), field, 'string')
        return typeof el === 'string' ? el : ''
      })
    } else if (kindOf(raw) === goType) {
      out[field] = raw
    } else {
      typeError(kindOf(raw), field, goType)
    }
  }
  return firstError === undefined ? { value: out } : { error: firstError }
}

/**
 * encoding/json's scanner (scanner.go) driven the way json.Decoder drives it:
 * find one value, report the first bad byte with the scanner's wording, `EOF`
 * when there is nothing but space, `unexpected EOF` when the value is cut short.
 */
function scanGoJSONValue(s: string): { start: number; end: number } | { error: string } {
  let i = 0
  class Stop {
    constructor(readonly message: string) {}
  }
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n'
  const skipSpace = (): void => {
    while (i < s.length && isSpace(s[i])) i++
  }
  const peek = (): string => {
    if (i >= s.length) throw new Stop('unexpected EOF')
    return s[i]
  }
  const fail = (context: string): never => {
    throw new Stop(`invalid character ${quoteChar(s.charCodeAt(i))} ${context}`)
  }
  const isDigit = (c: string): boolean => c >= '0' && c <= '9'

  const literal = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      i++
      if (peek() !== word[k]) fail(`in literal ${word} (expecting '${word[k]}')`)
    }
    i++
  }
  const string = (): void => {
    i++ // opening quote
    for (;;) {
      const c = peek()
      if (c === '"') {
        i++
        return
      }
      if (c === '\\') {
        i++
        const e = peek()
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++
            if (!/[0-9a-fA-F]/.test(peek())) fail('in \\u hexadecimal character escape')
          }
        } else if (!'"\\/bfnrt'.includes(e)) {
          fail('in string escape code')
        }
      } else if (c.charCodeAt(0) < 0x20) {
        fail('in string literal')
      }
      i++
    }
  }
  // A number ends at the first byte that cannot continue it; at the end of the
  // input it is complete (the decoder feeds the scanner a final space).
  const more = (): string | undefined => (i < s.length ? s[i] : undefined)
  const number = (): void => {
    if (s[i] === '-') {
      i++
      if (!isDigit(peek())) fail('in numeric literal')
    }
    if (s[i] === '0') i++
    else while (i < s.length && isDigit(s[i])) i++
    if (more() === '.') {
      i++
      if (!isDigit(peek())) fail('after decimal point in numeric literal')
      while (i < s.length && isDigit(s[i])) i++
    }
    const e = more()
    if (e === 'e' || e === 'E') {
      i++
      if (peek() === '+' || peek() === '-') i++
      if (!isDigit(peek())) fail('in exponent of numeric literal')
      while (i < s.length && isDigit(s[i])) i++
    }
  }
  const value = (): void => {
    skipSpace()
    const c = peek()
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    if (c === '-' || isDigit(c)) return number()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    fail('looking for beginning of value')
  }
  const object = (): void => {
    i++
    skipSpace()
    if (peek() === '}') {
      i++
      return
    }
    for (;;) {
      skipSpace()
      if (peek() !== '"') fail('looking for beginning of object key string')
      string()
      skipSpace()
      if (peek() !== ':') fail('after object key')
      i++
      value()
      skipSpace()
      const c = peek()
      i++
      if (c === '}') return
      if (c !== ',') {
        i--
        fail('after object key:value pair')
      }
    }
  }
  const array = (): void => {
    i++
    skipSpace()
    if (peek() === ']') {
      i++
      return
    }
    for (;;) {
      value()
      skipSpace()
      const c = peek()
      i++
      if (c === ']') return
      if (c !== ',') {
        i--
        fail('after array element')
      }
    }
  }

  skipSpace()
  if (i >= s.length) return { error: 'EOF' }
  const start = i
  try {
    value()
  } catch (e) {
    if (e instanceof Stop) return { error: e.message }
    throw e
  }
  return { start, end: i }
}
