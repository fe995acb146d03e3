// The command-line front (GitLab CI, Jenkins, shells): the same settings, the
// same gate, outputs as key=value lines or one JSON object on stdout, progress
// on stderr. Exit 0 when the step would pass, 1 when the gate fails, 2 for usage.

import { parseArgs } from 'node:util'
// Only `version` is bundled (ncc keeps the fields used): one version, package.json's.
import pkg from '../package.json' with { type: 'json' }
import { outputs } from './report/outputs.js'
import { summaryText } from './report/summary.js'
import { runStep } from './step.js'
import { INPUTS } from './config/inputs.js'
import { InputError, parseSettings } from './config/parse.js'
import { MODES } from './config/settings.js'

export const HELP = `Usage: nomad-canary-gate <mode> (--job ID | --deployment-id ID) [options]

Holds a pipeline at a Nomad canary deployment and acts on it.

Modes:
  promote   wait until the canaries are healthy (the server's own rule), then promote
  wait      the same gate, no promotion: exit 0 once a promotion could pass
  fail      mark the deployment failed now (auto-revert applies)
  pause     pause the deployment now
  resume    resume a paused deployment now
  health    wait until the canaries run, then set their health by hand

Target (exactly one):
  --deployment-id ID      full deployment UUID or a unique prefix
  --job ID                the job's latest deployment
  --job-version N         with --job: gate exactly this version's deployment

Gate:
  --groups a,b            task groups to gate and promote (default: all with canaries)
  --timeout 10m           deadline for the whole step (90s, 10m, 1h30m, or seconds)
  --on-failure none       on timeout or an unhealthy canary: none, fail or pause
  --wait-for-completion   after promoting, wait until the deployment is successful
  --healthy-allocs IDS    health mode: alloc IDs/prefixes, or "canaries"
  --unhealthy-allocs IDS  health mode: alloc IDs/prefixes, or "canaries"
  --dry-run               do everything but the write, which is printed instead

Soak (after the canaries pass, before the write):
  --soak 5m               keep watching this long; an unhealthy canary fails at once
  --check-url URL         checked every --check-interval (10s) during the soak: 2xx passes
  --check-timeout 5s      time limit of one check
  --prometheus-url URL    with --prometheus-query Q and --prometheus-threshold N:
                          passes when every sample of the instant query is <= N
  --failure-limit 0       failed check runs tolerated before the gate fails

Nomad (defaults from the NOMAD_* environment, as the nomad CLI):
  --address URL           NOMAD_ADDR, else http://127.0.0.1:4646
  --token TOKEN           NOMAD_TOKEN (prefer the variable: arguments show in ps)
  --namespace NS          NOMAD_NAMESPACE
  --region REGION         NOMAD_REGION
  --ca-cert PEM|PATH      NOMAD_CACERT (or a directory in NOMAD_CAPATH)
  --client-cert PEM|PATH  NOMAD_CLIENT_CERT
  --client-key PEM|PATH   NOMAD_CLIENT_KEY
  --tls-server-name NAME  NOMAD_TLS_SERVER_NAME
  --tls-skip-verify       NOMAD_SKIP_VERIFY (insecure)

Output:
  --json                  print the outputs as one JSON object instead of key=value lines
  -h, --help              this text
  --version               the version

Examples:
  # promote job "web" once its canaries are healthy; fail the deployment otherwise
  nomad-canary-gate promote --job web --timeout 15m --on-failure fail

  # wait for a promotable deployment, then let a human approve the promotion
  nomad-canary-gate wait --job web --job-version "$VERSION" --json > gate.json

  # roll back
  nomad-canary-gate fail --deployment-id 5e7f2a1c

Exit status: 0 the step passed, 1 the gate failed (timed out, unhealthy,
deployment failed, request failed), 2 usage error (nothing was sent).
`

export async function main(argv: string[], env = process.env): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  }
  for (const input of INPUTS) {
    options[input.name] = { type: input.kind === 'boolean' ? 'boolean' : 'string' }
  }
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    }))
  } catch (err) {
    return usage((err as Error).message)
  }
  if (values.help) {
    process.stdout.write(HELP)
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
    if (err instanceof InputError)
      return usage(err.message.replace(/^Input '([^']+)'/, "Option '--$1'"))
    throw err
  }

  const log = {
    info: (line: string) => process.stderr.write(`${line}\n`),
    warning: (line: string) => process.stderr.write(`warning: ${line}\n`),
  }
  const outcome = await runStep(settings, log)
  process.stderr.write(`\n${summaryText(outcome)}\n`)
  const out = outputs(outcome)
  process.stdout.write(
    values.json
      ? `${JSON.stringify(out)}\n`
      : Object.entries(out)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n') + '\n',
  )
  return outcome.ok ? 0 : 1
}

function usage(message: string): number {
  process.stderr.write(`nomad-canary-gate: ${message}\nRun 'nomad-canary-gate --help' for usage.\n`)
  return 2
}

process.exitCode = await main(process.argv.slice(2))
