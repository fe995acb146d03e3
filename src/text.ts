// Text for a person: every message, annotation and log line is one line. A
// library's text (OpenSSL's, a server's error page) is cleaned before it is
// shown, and a long one is cut at a word, never inside one.

/** Whitespace, line breaks included, folded to one space; cut at a word before `max` with `…`. */
export function oneLine(text: string, max = 300): string {
  const t = text.replace(/\s+/g, ' ').trim()
  if (t.length <= max) return t
  const cut = t.slice(0, max - 1)
  const space = cut.lastIndexOf(' ')
  // A single word longer than a third of the room is cut where it must be.
  return `${space > max / 3 ? cut.slice(0, space).replace(/[\s,;:.]+$/, '') : cut}…`
}

/**
 * OpenSSL's errors as Node puts them in a message
 * (`write EPROTO 80A0...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...c:350:`,
 * one per line) become their reasons (`wrong version number`); any other text is only made one line.
 */
export function libraryText(message: string): string {
  const reasons = [
    ...message.matchAll(/[0-9A-F]+:error:[0-9A-F]+:[^:\n]*:[^:\n]*:([^:\n]+):[^\n]*?:\d+:/g),
  ].map((m) => m[1].trim())
  if (reasons.length === 0) return oneLine(message)
  return [...new Set(reasons)].join('; ')
}
