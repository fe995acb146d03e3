// `npm run demo [-- unhealthy]`: the gate, through its command line, against the
// built-in Nomad simulator, narrated for a newcomer. Finishes in seconds.

import { runScenario } from '../sim/scenarios.js'
import { startCli } from './run-dist.js'
import { startSimulator } from '../sim/simulator.js'

const STEP_MS = 700

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)

async function main(): Promise<number> {
  const scenario = process.argv[2] === 'unhealthy' ? 'unhealthy' : 'demo'
  if (process.argv[2] && process.argv[2] !== scenario) {
    process.stderr.write(`usage: npm run demo [-- unhealthy]\n`)
    return 2
  }
  const sim = await startSimulator()
  try {
    const run = runScenario(sim, scenario, { stepMs: STEP_MS, autoRevert: true })
    say(`${bold('1. A Nomad simulator')} is listening on ${sim.address}.`)
    say(
      `   Job "web" rolls out version 1 with canaries: group web (2 of 3) and group api (1 of 2),`,
    )
    say(`   with auto_revert: a failed deployment goes back to version 0.`)
    say(
      `   Deployment ${run.deploymentId}: ${sim.deployment(run.deploymentId)!.StatusDescription}.`,
    )
    say(
      scenario === 'demo'
        ? `   Its canaries will turn healthy one by one, ${STEP_MS} ms apart.`
        : `   Two canaries will turn healthy; the second web canary will turn UNHEALTHY.`,
    )
    const args =
      scenario === 'demo'
        ? ['promote', '--job', 'web', '--timeout', '30s']
        : ['promote', '--job', 'web', '--timeout', '30s', '--on-failure', 'fail']
    say('')
    say(`${bold('2. The gate')} holds blocking queries on the deployment and its allocations:`)
    say(`   $ NOMAD_ADDR=${sim.address} nomad-canary-gate ${args.join(' ')}`)
    say('')
    const { code, stdout } = await runCli(args, sim.address)
    say('')
    say(`${bold('3. Its outputs')} (key=value on stdout; --json gives one JSON object):`)
    for (const line of stdout.trim().split('\n')) say(`   ${line}`)
    say('')
    const d = sim.deployment(run.deploymentId)!
    const groups = Object.entries(d.TaskGroups)
      .map(([name, g]) => `${name} promoted=${g.Promoted}`)
      .join(', ')
    say(`${bold('4. Nomad now says')}: ${d.Status}, "${d.StatusDescription}" (${groups}).`)
    const writes = sim.writes().map((w) => `${w.method} ${w.path}`)
    say(`   Writes the gate sent: ${writes.length ? writes.join('; ') : 'none'}.`)
    say(`   Exit status: ${code} (${code === 0 ? 'the step passes' : 'the step fails'}).`)
    if (scenario === 'demo') say(dim(`   Next: npm run demo -- unhealthy`))
    run.cancel()
    // The unhealthy scenario is meant to fail the gate: the demo itself succeeded.
    return code === (scenario === 'demo' ? 0 : 1) ? 0 : 1
  } finally {
    await sim.stop()
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** The built CLI through the one spawner (scripts/run-dist.ts), its progress shown as it comes. */
async function runCli(args: string[], address: string): Promise<{ code: number; stdout: string }> {
  const run = startCli(args, { env: { NOMAD_ADDR: address }, limitMs: 120_000 })
  run.child.stderr!.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) if (line) say(dim('   │ ') + line)
  })
  const { code, stdout } = await run.done
  return { code: code ?? 1, stdout }
}

process.exitCode = await main()
