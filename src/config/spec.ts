// The shape of the interface spec (inputs.ts, outputs.ts): what is said about
// each input and output, once, for action.yml, the README, the CLI and the parser.

/**
 * What sort of value an input takes: for the docs, and for the CLI, where a
 * boolean is a flag (`--dry-run`) and anything else takes a value. The sorts'
 * parsers are in values.ts (boolean, choice, list, duration, count) and
 * pem.ts; the rules of one input are in its `parsedBy` file.
 */
export type InputKind =
  /** Free text, checked by its own rule (a name, a UUID prefix, a token). */
  | 'text'
  | 'boolean'
  /** One of `choices`. */
  | 'choice'
  /** Comma, space or newline separated. */
  | 'list'
  /** Go-style (`90s`, `1h30m`) or bare seconds. */
  | 'duration'
  /** A whole number, 0 or more. */
  | 'count'
  | 'number'
  | 'url'
  /** PEM text, or the path of a file (or, for a CA, a directory) holding it. */
  | 'pem'

/** The parsers of src/config/, one file per concern; parse.ts composes them. */
export type ParserFile =
  | 'parse.ts'
  | 'nomad.ts'
  | 'login.ts'
  | 'address.ts'
  | 'tls.ts'
  | 'target.ts'
  | 'allocs.ts'
  | 'soak.ts'
  | 'github.ts'

/** The CLI's help groups options under these headings, in this order. */
export const CLI_SECTIONS = {
  target: 'Target (exactly one):',
  gate: 'Gate:',
  soak: 'Soak (after the canaries pass, before the write):',
  nomad: 'Nomad (defaults from the NOMAD_* environment, as the nomad CLI):',
} as const
export type CliSection = keyof typeof CLI_SECTIONS

export interface InputSpec {
  /** The action.yml input, and the CLI's `--option`. */
  readonly name: string
  /** Plain text: action.yml's description and the README's, without the default and example. */
  readonly description: string
  /**
   * The value when the input (and each of `env`) is empty. In action.yml only
   * for inputs without `env`: the runner fills a default in, which would hide
   * the variable.
   */
  readonly default?: string
  /** The default in words, where no value can say it. */
  readonly defaultText?: string
  /** Variables read, in this order, when the input is empty (the nomad CLI's names). */
  readonly env?: readonly string[]
  readonly kind: InputKind
  /** The file of src/config/ whose parser reads it (the rules beyond its kind are there). */
  readonly parsedBy: ParserFile
  readonly choices?: readonly string[]
  /** Must never be printed: masked as soon as it is read. */
  readonly secret?: boolean
  readonly example?: string
  /** The CLI's help line: the value's placeholder and a few words. Absent: not listed. */
  readonly cli?: { readonly value?: string; readonly help: string; readonly section: CliSection }
}

/** `a, b or c` */
export function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`
}

export interface OutputSpec {
  readonly name: string
  /** Plain text: action.yml's description and the README's. */
  readonly description: string
}

/**
 * An input's default in words: `env NOMAD_ADDR, else http://127.0.0.1:4646`,
 * `10m`, `all groups that have canaries`; undefined when it has none. `code`
 * wraps names and values (Markdown backticks, or `$` for the CLI's variables).
 */
export function defaultPhrase(
  spec: InputSpec,
  style: 'plain' | 'markdown' | 'cli' = 'plain',
): string | undefined {
  const value = (v: string) => (style === 'markdown' ? `\`${v}\`` : v)
  const variable = (v: string) =>
    style === 'markdown' ? `\`${v}\`` : style === 'cli' ? `$${v}` : v
  const parts: string[] = []
  if (spec.env?.length) {
    parts.push(`${style === 'cli' ? '' : 'env '}${spec.env.map(variable).join(', else ')}`)
  }
  if (spec.default !== undefined) parts.push(value(spec.default))
  else if (spec.defaultText !== undefined) parts.push(spec.defaultText)
  return parts.length ? parts.join(', else ') : undefined
}
