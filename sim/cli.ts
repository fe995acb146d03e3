// Runs the Nomad simulator standalone with a scenario, for demos and manual tries:
//   node lib/sim/cli.js [--port 4646] [--host 127.0.0.1] [--scenario demo] [--step-ms 1000]

import { parseArgs } from 'node:util'

import { runScenario, SCENARIOS, type ScenarioName } from './scenarios.js'
import { startSimulator } from './simulator.js'

const USAGE = `usage: node lib/sim/cli.js [--port 4646] [--host 127.0.0.1] [--scenario ${SCENARIOS.join('|')}] [--step-ms 1000] [--token SECRET]`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4646' },
      host: { type: 'string', default: '127.0.0.1' },
      scenario: { type: 'string', default: 'demo' },
      'step-ms': { type: 'string', default: '1000' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return console.log(USAGE)
  const port = Number(values.port)
  const stepMs = Number(values['step-ms'])
  const scenario = values.scenario as ScenarioName
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: bad port ${values.port}`)
  if (!Number.isFinite(stepMs) || stepMs < 0) fail(`--step-ms: bad duration ${values['step-ms']}`)
  if (!SCENARIOS.includes(scenario)) {
    fail(`--scenario: unknown ${values.scenario}; one of ${SCENARIOS.join(', ')}`)
  }

  const sim = await startSimulator({
    port,
    host: values.host,
    // With --token, ACLs are on and that secret may do everything.
    acl: values.token
      ? { tokens: { [values.token]: { namespaces: ['*'], write: true } } }
      : undefined,
  })
  const run = runScenario(sim, scenario, { stepMs })
  console.log(`Nomad simulator listening on ${sim.address}`)
  console.log(`export NOMAD_ADDR=${sim.address}`)
  console.log(`scenario ${scenario}: job ${run.jobId}, deployment ${run.deploymentId}`)
  sim.on('change', (c) => console.log(`index ${c.index}: ${c.kind} ${c.deployments.join(' ')}`))

  const shutdown = (): void => {
    run.cancel()
    void sim.stop().then(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
