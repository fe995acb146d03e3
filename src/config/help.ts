// The CLI's view of the input spec: its options (one per input, by the same
// name) and its --help, generated so that names, defaults and variables are
// the ones action.yml and the README show. The README carries a copy of the
// help; __tests__/docs.test.ts fails when it drifts.

import { INPUTS } from './inputs.js'
import { MODES, type Mode } from './settings.js'
import { CLI_SECTIONS, defaultPhrase, orList, type CliSection, type InputSpec } from './spec.js'

export const PROGRAM = 'nomad-canary-gate'

/** What each mode does, for the CLI's help. */
export const MODE_HELP: Record<Mode, string> = {
  promote: "wait until the canaries are healthy (the server's own rule), then promote",
  wait: 'the same gate, no promotion: exit 0 once a promotion could pass',
  fail: 'mark the deployment failed now (auto-revert applies)',
  pause: 'pause the deployment now',
  resume: 'resume a paused deployment now',
  health: 'wait until the canaries run, then set their health by hand',
}

/** The CLI's own options, besides one per input. */
export const CLI_OPTIONS = [
  {
    name: 'json',
    help: 'print the outputs as one JSON object instead of key=value lines',
  },
  {
    name: 'debug',
    help: 'print every request, retry and decision on stderr (also NOMAD_CANARY_GATE_DEBUG=1)',
  },
  { name: 'help', short: 'h', help: 'this text' },
  { name: 'version', help: 'the version' },
] as const

/** Booleans are flags (`--dry-run`); everything else takes a value. */
function cliOptionType(spec: InputSpec): 'boolean' | 'string' {
  return spec.kind === 'boolean' ? 'boolean' : 'string'
}

/** util.parseArgs's options: the CLI's own flags, and one option per input. */
export function cliOptions(): Record<string, { type: 'boolean' | 'string'; short?: string }> {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {}
  for (const o of CLI_OPTIONS) {
    options[o.name] = 'short' in o ? { type: 'boolean', short: o.short } : { type: 'boolean' }
  }
  for (const spec of INPUTS as readonly InputSpec[])
    options[spec.name] = { type: cliOptionType(spec) }
  return options
}

/**
 * A message in the CLI's words: `Input 'job'` becomes `Option '--job'`, and
 * advice such as `set ca-cert` names `--ca-cert`. Only the inputs' own names
 * are touched, so Nomad's texts stay as they are.
 */
export function asOptions(text: string): string {
  const names = new Set((INPUTS as readonly InputSpec[]).map((i) => i.name))
  return text
    .replace(/\b([Ii])nput '([a-z][a-z-]*)'/g, (all, i: string, name: string) =>
      names.has(name) ? `${i === 'I' ? 'O' : 'o'}ption '--${name}'` : all,
    )
    .replace(/\b(set|check|raise) ([a-z][a-z-]*)\b/g, (all, verb: string, name: string) =>
      names.has(name) ? `${verb} --${name}` : all,
    )
}

const WIDTH = 80
const COLUMN = 26

export function cliHelp(): string {
  const out: string[] = [
    `Usage: ${PROGRAM} <mode> (--job ID | --deployment-id ID) [options]`,
    '',
    'Holds a pipeline at a Nomad canary deployment and acts on it.',
    '',
    'Modes:',
    ...MODES.map((m) => `  ${m.padEnd(10)}${MODE_HELP[m]}`),
  ]
  for (const [section, heading] of Object.entries(CLI_SECTIONS)) {
    out.push('', heading)
    for (const spec of INPUTS as readonly InputSpec[]) {
      if (spec.cli?.section !== (section as CliSection)) continue
      const value = cliOptionType(spec) === 'boolean' ? '' : ` ${spec.cli.value ?? 'VALUE'}`
      out.push(...row(`--${spec.name}${value}`, describe(spec)))
    }
  }
  out.push('', 'Output:')
  for (const o of CLI_OPTIONS) {
    out.push(...row('short' in o ? `-${o.short}, --${o.name}` : `--${o.name}`, o.help))
  }
  out.push(
    '',
    'Examples:',
    '  # promote job "web" once its canaries are healthy; fail the deployment otherwise',
    `  ${PROGRAM} promote --job web --timeout 15m --on-failure fail`,
    '',
    '  # wait for a promotable deployment, then let a human approve the promotion',
    `  ${PROGRAM} wait --job web --job-version "$VERSION" --json > gate.json`,
    '',
    '  # roll back',
    `  ${PROGRAM} fail --deployment-id 5e7f2a1c`,
    '',
    'Exit status: 0 the step passed, 1 the gate failed (timed out, unhealthy,',
    'deployment failed, request failed), 2 usage error (nothing was sent),',
    '130 stopped by SIGINT, 143 stopped by SIGTERM.',
    '',
  )
  return out.join('\n')
}

/** The help line's text: the spec's few words, the accepted values, the default. */
function describe(spec: InputSpec): string {
  const notes: string[] = []
  if (spec.choices) notes.push(orList(spec.choices))
  const byDefault = spec.kind === 'boolean' && !spec.env ? undefined : defaultPhrase(spec, 'cli')
  if (byDefault) notes.push(`default: ${byDefault}`)
  return notes.length ? `${spec.cli!.help} (${notes.join('; ')})` : spec.cli!.help
}

/** `  --option VALUE          text`, the text wrapped at WIDTH under its column. */
function row(option: string, text: string): string[] {
  const head = `  ${option}`
  const lines: string[] = []
  const indent = ' '.repeat(COLUMN)
  let line = indent
  if (head.length < COLUMN) line = head.padEnd(COLUMN)
  else lines.push(head)
  let empty = true
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line)
      line = indent
      empty = true
    }
    line += empty ? word : ` ${word}`
    empty = false
  }
  lines.push(line)
  return lines
}
