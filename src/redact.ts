// How a URL that may carry credentials is shown. Every place that prints a URL
// a user gave (an address, a check URL) or a server answered with (a redirect's
// Location) goes through here, so none of them prints a password.

/** Query parameters whose values are hidden: `?token=`, `?api_key=`, `?X-Amz-Signature=`... */
const SECRET_PARAM = /token|key|secret|pass|auth|sig|credential|session/i

/**
 * The URL to show. `mask` (for URLs the user gave): `user:password@` becomes
 * `***@` and the values of secret-looking query parameters become `***`, so the
 * user still recognises the URL. `strip` (for a place a server points to): no
 * userinfo and no query at all. Text that is no URL gets redactUserinfo().
 */
export function redactUrl(url: string, how: 'mask' | 'strip' = 'mask'): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return redactUserinfo(url)
  }
  if (how === 'strip') {
    u.username = ''
    u.password = ''
    u.search = ''
    return u.toString()
  }
  const userinfo = u.username || u.password ? '***@' : ''
  // Edit the raw query rather than through searchParams, which would re-encode all of it.
  // A key percent-decoded (a `+` for a space may stay: SECRET_PARAM's words are letters only).
  const search = u.search.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, key: string) =>
    SECRET_PARAM.test(percentDecoded(key)) ? `${sep}${key}=***` : whole,
  )
  return `${u.protocol}//${userinfo}${u.host}${u.pathname}${search}${u.hash}`
}

/**
 * Text as written with everything between `scheme://` (or the start) and the
 * last `@` hidden: that part may hold a password, and a value that does not
 * parse as a URL cannot be trusted to put its `@` where a parser would.
 */
export function redactUserinfo(text: string): string {
  const span = userinfoSpan(text)
  return span ? `${text.slice(0, span.start)}***${text.slice(span.end)}` : text
}

/**
 * The password part of `scheme://user:password@host` as written, and decoded
 * when percent-encoding makes the two differ: what must be masked even in an
 * address that is otherwise invalid. Empty when there is no `:password`.
 */
export function userinfoPasswords(text: string): string[] {
  const span = userinfoSpan(text)
  if (!span) return []
  const info = text.slice(span.start, span.end)
  const colon = info.indexOf(':')
  if (colon < 0 || colon === info.length - 1) return []
  const written = info.slice(colon + 1)
  const decoded = percentDecoded(written)
  return decoded === written ? [written] : [decoded, written]
}

function userinfoSpan(text: string): { start: number; end: number } | undefined {
  const at = text.lastIndexOf('@')
  if (at < 0) return undefined
  const scheme = text.indexOf('://')
  return { start: scheme >= 0 && scheme < at ? scheme + 3 : 0, end: at }
}

/** A URL part (user, password) percent-decoded; as written where that is not valid percent-encoding. */
export function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
