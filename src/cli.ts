// The command-line front (GitLab CI, Jenkins, shells): the same settings, the
// same gate, outputs as key=value lines or one JSON object on stdout, progress
// on stderr. Exit 0 when the step would pass, 1 when the gate fails, 2 for usage,
// 130 after SIGINT and 143 after SIGTERM.

import { parseArgs } from 'node:util'
// Only `version` is bundled (ncc keeps the fields used): one version, package.json's.
import pkg from '../package.json' with { type: 'json' }
import { PROGRAM, asOptions, cliHelp, cliOptions } from './config/help.js'
import { InputError, debugFromEnv, parseSettings } from './config/parse.js'
import { MODES } from './config/settings.js'
import { outputs, typedOutputs } from './report/outputs.js'
import { summaryText } from './report/summary.js'
import { runStep } from './step.js'

export async function main(argv: string[], env = process.env): Promise<number> {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: argv,
      options: cliOptions(),
      allowPositionals: true,
      strict: true,
    }))
  } catch (err) {
    return usage((err as Error).message)
  }
  if (values.help) {
    process.stdout.write(cliHelp())
    return 0
  }
  if (values.version) {
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  if (positionals.length > 1) return usage(`one mode expected, got ${positionals.join(' ')}`)
  if (positionals.length === 1 && values.mode)
    return usage('give the mode once: as <mode> or --mode')
  const mode = positionals[0] ?? values.mode
  if (mode === undefined) return usage(`a mode is required: ${MODES.join(', ')}`)

  const input = (name: string): string => {
    if (name === 'mode') return String(mode)
    const v = values[name]
    return v === undefined ? '' : String(v)
  }
  let settings
  try {
    settings = parseSettings(input, env)
  } catch (err) {
    if (err instanceof InputError) return usage(err.message)
    throw err
  }
  // The CLI has no CI to ask for a token: the JWT comes with it.
  if (settings.login && !settings.login.token) {
    return usage(
      "Option '--auth-method' needs the JWT to log in with: set NOMAD_LOGIN_TOKEN (or --login-token, which shows in ps)",
    )
  }

  // The gate's words name inputs; a shell user knows options.
  const say = (prefix: string) => (line: string) =>
    process.stderr.write(`${prefix}${asOptions(line)}\n`)
  const log = {
    info: say(''),
    warning: say('warning: '),
    debug: values.debug || debugFromEnv(env) ? say('debug: ') : undefined,
  }
  // A shell's convention: 128 + the signal's number when a signal ended the run.
  let signalled: NodeJS.Signals | undefined
  const onSignal = (sig: NodeJS.Signals) => (signalled ??= sig)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const ran = await runStep(settings, log)
    const outcome = { ...ran, message: asOptions(ran.message) }
    process.stderr.write(`\n${summaryText(outcome)}\n`)
    process.stdout.write(
      values.json
        ? `${JSON.stringify(typedOutputs(outcome))}\n`
        : Object.entries(outputs(outcome))
            .map(([k, v]) => `${k}=${v}`)
            .join('\n') + '\n',
    )
    // A write already in flight is waited for: then its outcome decides, not the signal.
    if (signalled && outcome.result === 'cancelled') return signalled === 'SIGINT' ? 130 : 143
    return outcome.ok ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function usage(message: string): number {
  process.stderr.write(`${PROGRAM}: ${asOptions(message)}\nRun '${PROGRAM} --help' for usage.\n`)
  return 2
}

process.exitCode = await main(process.argv.slice(2))
