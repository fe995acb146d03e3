// Durations as Go writes them (time.ParseDuration), because Nomad users write
// `wait = "5m"` and `healthy_deadline = "5m"` all day; plus bare seconds for
// shells and CI variables (`TIMEOUT=600`).

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
}

// Go's time.Duration is an int64 of nanoseconds; beyond that Go says "invalid duration".
const MAX_NS = (1n << 63n) - 1n

const BARE_SECONDS = /^(\d+(\.\d*)?|\.\d+)$/
const SEGMENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/

function bad(reason: string, text: string): Error {
  return new Error(`${reason} in duration ${JSON.stringify(text)}`)
}

/**
 * Milliseconds in a Go-style duration (`500ms`, `90s`, `1h30m`, `1.5h`, `250us`) or bare seconds
 * (`600`, `1.5`). Sub-millisecond parts survive as fractions. Throws an Error with a short reason
 * for an empty, negative or malformed value.
 */
export function parseDuration(text: string): number {
  if (text === '') throw new Error('empty duration')
  let rest = text
  if (rest.startsWith('-')) throw bad('negative value', text)
  if (rest.startsWith('+')) rest = rest.slice(1)
  if (rest === '') throw bad('no number', text)
  if (BARE_SECONDS.test(rest)) rest += 's'

  let total = 0n
  while (rest !== '') {
    const m = SEGMENT.exec(rest)
    const [whole, intDigits = '', fracDigits, unit = ''] = m ?? []
    if (!m || whole === undefined || (intDigits === '' && (fracDigits ?? '') === '')) {
      throw bad('expected a number', text)
    }
    if (unit === '') throw bad('missing unit', text)
    const perUnit = NS_PER_UNIT[unit]
    if (perUnit === undefined) {
      throw bad(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`, text)
    }
    total += BigInt(intDigits || '0') * perUnit
    if (fracDigits) total += (BigInt(fracDigits) * perUnit) / 10n ** BigInt(fracDigits.length)
    if (total > MAX_NS) throw bad('value out of range', text)
    rest = rest.slice(whole.length)
  }
  return Number(total) / 1e6
}

/** Short text for logs: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 0) return `-${formatDuration(-ms)}`
  if (ms > 0 && ms < 1) return `${Number(ms.toPrecision(2))}ms`
  // Each step checks the rounded value, so 59.96s reads 1m00s and not 60.0s.
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`
  const tenths = Math.round(ms / 100)
  if (tenths < 600) return `${tenths % 10 === 0 ? tenths / 10 : (tenths / 10).toFixed(1)}s`
  const seconds = Math.round(ms / 1000)
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`
  const minutes = Math.round(ms / 60_000)
  return `${Math.floor(minutes / 60)}h${pad2(minutes % 60)}m`
}

function pad2(n: number): string {
  return String(n).padStart(2, '0')
}
