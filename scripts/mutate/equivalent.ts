// Survivors of `npm run mutate` judged equivalent: no test can tell the mutant
// from the code, because no input reaches a different outcome. Stryker's own
// way to say so is a `// Stryker disable next-line` comment in src/; these live
// here instead, so src/ carries no tool's comments. scripts/mutate.ts matches
// each survivor by file, mutator and text (not line), and docs/reliability.md
// lists them with the reason. A survivor not listed wants a test.

export interface Equivalent {
  file: string
  /** Only where the same text and mutant occur more than once in the file with different reasons. */
  line?: number
  mutator: string
  /** The code as written (whitespace-insensitive). */
  original: string
  /** The mutant's code, as Stryker prints it. */
  replacement: string
  why: string
}

const D = 'src/duration.ts'
const R = 'src/gate/readiness.ts'
const V = 'src/gate/view.ts'
const W = 'src/nomad/watch.ts'
const E = 'src/nomad/errors.ts'
const X = 'src/redact.ts'
const P = 'src/config/pem.ts'
const C = 'src/config/parse.ts'

const NEVER_NULL =
  'SEGMENT has no required part, so exec() never returns null and its whole match is always a string: this part of the check never decides.'
const PLACED_CHECK =
  'With no canary placed in any group, the group that still wants canaries (the next check needs one) has fewer placed than DesiredCanaries, and the every() below is false anyway: this check only ends early.'
const AT_THE_DEADLINE =
  'Differs only when the clock reads the deadline exactly; the query then sent would be aborted by a 0 ms timer, ending the same way.'
const AS_ROOT =
  "Not equivalent: killed by settings.test.ts 'names a CA directory it cannot list' as any user but root; as root (this run) that test is skipped, since chmod 000 does not stop root from listing a directory, and no other state makes readdir fail once stat has passed."
const UNSET_KEY =
  'Sets the key to undefined where it was left out; every reader tests the value, so the two are the same settings.'
const SCHEME_ONLY =
  "The address is scheme://host[:port] (parseAddress, src/config/address.ts): an 'http:' or 'https:' in it can only be its scheme, so the first match is at the start or there is none."

export const EQUIVALENT: Equivalent[] = [
  {
    file: D,
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    why: 'The default of a capture group that always takes part in the match ((\\d*), ([^\\d.]*)): never used.',
  },
  {
    file: D,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    why: NEVER_NULL,
  },
  {
    file: D,
    mutator: 'ConditionalExpression',
    original: '!m || whole === undefined',
    replacement: 'false',
    why: NEVER_NULL,
  },
  {
    file: D,
    mutator: 'LogicalOperator',
    original: '!m || whole === undefined',
    replacement: '!m && whole === undefined',
    why: NEVER_NULL,
  },
  {
    file: D,
    mutator: 'ConditionalExpression',
    original: 'whole === undefined',
    replacement: 'false',
    why: NEVER_NULL,
  },
  {
    file: D,
    mutator: 'StringLiteral',
    original: "'0'",
    replacement: '""',
    why: "BigInt('') is 0n, as BigInt('0') is.",
  },
  {
    file: D,
    mutator: 'ConditionalExpression',
    original: 'ms > 0',
    replacement: 'true',
    why: 'Differs only at 0 (negatives return earlier), where both branches print 0ms.',
  },
  {
    file: D,
    mutator: 'EqualityOperator',
    original: 'ms > 0',
    replacement: 'ms >= 0',
    why: 'Differs only at 0, where both branches print 0ms.',
  },
  {
    file: D,
    mutator: 'EqualityOperator',
    original: 'ms < 1',
    replacement: 'ms <= 1',
    why: 'At exactly 1 both branches print 1ms.',
  },
  {
    file: D,
    mutator: 'ConditionalExpression',
    original: 'tenths % 10 === 0',
    replacement: 'true',
    why: 'A whole number of tenths divided by 10 prints with one decimal, as toFixed(1) does, or none when it is whole.',
  },
  {
    file: R,
    line: 172,
    mutator: 'ConditionalExpression',
    original: '!groups.some(([, g]) => (g.PlacedCanaries ?? []).length > 0)',
    replacement: 'false',
    why: PLACED_CHECK,
  },
  {
    file: R,
    line: 172,
    mutator: 'ConditionalExpression',
    original: '(g.PlacedCanaries ?? []).length > 0',
    replacement: 'true',
    why: PLACED_CHECK,
  },
  {
    file: R,
    line: 172,
    mutator: 'EqualityOperator',
    original: '(g.PlacedCanaries ?? []).length > 0',
    replacement: '(g.PlacedCanaries ?? []).length >= 0',
    why: PLACED_CHECK,
  },
  {
    file: R,
    line: 172,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    why: PLACED_CHECK,
  },
  {
    file: R,
    line: 176,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    why: 'A group with nothing placed gets one made-up ID: the length check then passes only for DesiredCanaries 1, and reportedHealthy (counted by evaluateGroup from PlacedCanaries itself) is 0, not 1.',
  },
  {
    file: R,
    mutator: 'ConditionalExpression',
    original: 'placed.length < g.DesiredCanaries',
    replacement: 'false',
    why: 'reportedHealthy counts healthy canaries among those placed: fewer placed than DesiredCanaries already fails reportedHealthy === DesiredCanaries.',
  },
  {
    file: R,
    line: 192,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    why: 'A made-up ID matches no allocation and the filter drops it: the same empty list.',
  },
  {
    file: V,
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    why: "The key of an absent group only has to differ from a present group's, which always holds two ':'.",
  },
  {
    file: V,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    why: 'Keys are compared between two reads of the same group: a null PlacedCanaries gives the same made-up list both times, unlike any real list of allocation IDs.',
  },
  {
    file: V,
    mutator: 'StringLiteral',
    original: "','",
    replacement: '""',
    why: 'Allocation IDs are UUIDs of one length: two different lists joined without a separator still differ.',
  },
  {
    file: W,
    mutator: 'EqualityOperator',
    original: 'remaining <= 0',
    replacement: 'remaining < 0',
    why: AT_THE_DEADLINE,
  },
  {
    file: W,
    mutator: 'ObjectLiteral',
    original: '{ once: true }',
    replacement: '{}',
    why: 'The listener is removed in the finally of every query; once would only matter if the signal fired twice, which an AbortSignal never does.',
  },
  {
    file: W,
    line: 49,
    mutator: 'BooleanLiteral',
    original: 'true',
    replacement: 'false',
    why: 'The listener is removed in the finally of every query; once would only matter if the signal fired twice, which an AbortSignal never does.',
  },
  {
    file: W,
    line: 76,
    mutator: 'BooleanLiteral',
    original: 'true',
    replacement: 'false',
    why: 'After a reset the index is 0, and every answer Nomad gives has an index of 1 or more: above it, so reported either way.',
  },
  {
    file: W,
    mutator: 'EqualityOperator',
    original: 'performance.now() - sentAt < 50',
    replacement: 'performance.now() - sentAt <= 50',
    why: 'Differs only for an answer exactly 50 ms after its query on a fractional clock.',
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^rpc error:\\s*/i',
    replacement: '/^rpc error:\\S*/i',
    why: "In the loop's test: `rpc error:` followed by a run of non-blanks matches the same texts, those that start with `rpc error:`.",
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^rpc error:\\s*/i',
    replacement: '/rpc error:\\s*/i',
    why: "In the replace: the loop's test has just found `rpc error:` at the start, so the first match anywhere is that one.",
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^\\d+ errors? occurred:\\s*/',
    replacement: '/^\\d+ errors? occurred:\\s/',
    why: 'Only where the list starts: blanks left over are dropped by the trim of each line and the filter of empty ones.',
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^\\d+ errors? occurred:\\s*/',
    replacement: '/^\\d+ errors? occurred:\\S*/',
    why: 'Only where the list starts: blanks left over are dropped by the trim of each line and the filter of empty ones.',
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^http:/',
    replacement: '/http:/',
    why: SCHEME_ONLY,
  },
  {
    file: E,
    mutator: 'Regex',
    original: '/^https:/',
    replacement: '/https:/',
    why: SCHEME_ONLY,
  },
  {
    file: E,
    mutator: 'Regex',
    original:
      '/; if the root CA is installed locally, try running Node\\.js with --use-system-ca$/',
    replacement:
      '/; if the root CA is installed locally, try running Node\\.js with --use-system-ca/',
    why: 'Node 24 appends this advice to the message of a failed certificate check (lib/_tls_wrap.js onConnectSecure), a short line that libraryText leaves whole: the advice is at its end or nowhere.',
  },
  {
    file: E,
    mutator: 'ConditionalExpression',
    original: 'status >= 300',
    replacement: 'true',
    why: 'fromStatus is called only for answers that are not 2xx; below 300 that leaves 1xx, which fetch never gives as a final answer.',
  },
  {
    file: 'src/nomad/retry.ts',
    mutator: 'EqualityOperator',
    original: 'left <= 0',
    replacement: 'left < 0',
    why: 'Differs only when the clock reads the deadline exactly.',
  },
  {
    file: X,
    mutator: 'StringLiteral',
    original: "'mask'",
    replacement: '""',
    why: "Any value but 'strip' masks: the default is never compared to 'mask'.",
  },
  {
    file: X,
    mutator: 'EqualityOperator',
    original: 'scheme < at',
    replacement: 'scheme <= at',
    why: "'://' and '@' cannot start at the same index.",
  },
  {
    file: C,
    mutator: 'ConditionalExpression',
    original: 'github',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: C,
    mutator: 'ConditionalExpression',
    original: 'proxy',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: C,
    mutator: 'ConditionalExpression',
    original: 'login',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: C,
    mutator: 'ConditionalExpression',
    original: 'requestTimeoutMs !== undefined',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: C,
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    why: "The text tested when NOMAD_CANARY_GATE_DEBUG is unset: any text but 1, true or yes fails the test, as '' does.",
  },
  {
    file: 'src/config/values.ts',
    mutator: 'Regex',
    original: '/\\s+/',
    replacement: '/\\s/',
    why: 'Split at each blank rather than at each run of blanks, a piece gets empty words between two blanks, and the filter that follows drops empty words.',
  },
  {
    file: P,
    mutator: 'StringLiteral',
    original: '`directory ${shown(file)}`',
    replacement: '``',
    why: "Where certBlocks would say a directory's certificates are; but readCaDir has already refused a directory without one, or with one that does not parse, so certBlocks never fails on the text it returns.",
  },
  {
    file: P,
    mutator: 'MethodExpression',
    original: 'fs.readdirSync(dir).sort()',
    replacement: 'fs.readdirSync(dir)',
    why: 'Only the order of the CA certificates changes, and a set of CAs trusts the same servers in any order. Node already lists a directory in byte order on Linux and macOS (libuv sorts the names with strcmp): the sort settles it elsewhere (Windows), as the lexical walk of Go does, and for names whose UTF-16 order is not their byte order.',
  },
  {
    file: P,
    line: 145,
    mutator: 'StringLiteral',
    original: "'\\n'",
    replacement: '""',
    why: 'loadCertificates finds the blocks of the directory again in this text and joins them itself: each ends with -----END CERTIFICATE----- and the next starts with -----BEGIN CERTIFICATE-----, so they are found alike with nothing between them.',
  },
  {
    file: 'src/config/nomad.ts',
    mutator: 'ConditionalExpression',
    original: 'httpAuth',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: 'src/config/nomad.ts',
    mutator: 'ConditionalExpression',
    original: 'region !== undefined',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: 'src/config/tls.ts',
    mutator: 'ConditionalExpression',
    original: 'serverName',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: 'src/config/soak.ts',
    mutator: 'ConditionalExpression',
    original: 'prometheus',
    replacement: 'true',
    why: UNSET_KEY,
  },
  {
    file: 'src/config/tls.ts',
    mutator: 'LogicalOperator',
    original: 'certValue && keyValue',
    replacement: 'certValue || keyValue',
    why: 'The two checks above throw when only one of client-cert and client-key is set: here both are set or neither.',
  },
  {
    file: 'src/config/tls.ts',
    mutator: 'StringLiteral',
    original: "'cert'",
    replacement: '""',
    why: "pem.ts compares the kind only with 'ca' (a directory allowed) and 'key' (never echoed): any other kind reads as 'cert' does.",
  },
  {
    file: 'src/nomad/retry.ts',
    mutator: 'EqualityOperator',
    original: 'left < 1',
    replacement: 'left <= 1',
    why: 'Differs only when performance.now() reads exactly 1 ms before the deadline, to the fraction of a millisecond; the original then makes one more try, 1 ms later, at the deadline, which the rule allows (the last try is at the deadline).',
  },
  // Not equivalent: killed where the tests do not run as root. chmod 000 does
  // not stop root from listing a directory, so the test that makes one
  // unlistable is skipped as root (as npm run mutate runs here).
  {
    file: 'src/config/pem.ts',
    mutator: 'BlockStatement',
    original: `{
    return fail(
      v,
      \`must be a readable directory of CA PEM files; cannot list \${shown(dir)}: \${errText(e)}\`,
    )
  }`,
    replacement: '{}',
    why: AS_ROOT,
  },
  {
    file: 'src/config/pem.ts',
    mutator: 'StringLiteral',
    original:
      '`must be a readable directory of CA PEM files; cannot list ${shown(dir)}: ${errText(e)}`',
    replacement: '``',
    why: AS_ROOT,
  },
  {
    file: E,
    mutator: 'ConditionalExpression',
    original: "err.kind === 'network'",
    replacement: 'true',
    why: "Only a 'network' failure's detail says \" broke: \" (fromNetworkError's last case): for any other kind the test after it is false anyway.",
  },
]
