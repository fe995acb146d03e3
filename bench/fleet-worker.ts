// One process of the fleet (fleet.ts): many gates, or many pollers, waiting at
// once in one Node process, each on its own deployment. Started by fleet.ts
// through the spawner (on the Node that runs dist/), configured by
// FLEET_WORKER (JSON: FleetWorkerConfig); it stops them all and exits on
// SIGTERM. With no deployments it is the baseline whose memory the others'
// is measured against: the same modules loaded, nothing waiting.

import { setMaxListeners } from 'node:events'
import { NomadClient } from '../src/nomad/client.js'
import { delay, startGate } from './gated.js'
import { pollAndPromote } from './poller.js'

export interface FleetWorkerConfig {
  address: string
  deployments: string[]
  kind: 'gate' | 'poller'
  /** The gates' `watch` input. */
  watch?: string
  /** The pollers' interval. */
  intervalMs?: number
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FLEET_WORKER ?? '') as FleetWorkerConfig
  const stop = new AbortController()
  // Every gate of the process listens to it.
  setMaxListeners(0, stop.signal)
  process.once('SIGTERM', () => stop.abort())
  const runs: Promise<unknown>[] = []
  for (const id of config.deployments) {
    if (config.kind === 'gate') {
      const gate = startGate(config.address, id, {
        signal: stop.signal,
        timeout: '60m',
        inputs: config.watch ? { watch: config.watch } : {},
      })
      runs.push(gate.outcome)
    } else {
      const intervalMs = config.intervalMs ?? 1000
      const client = new NomadClient({ address: config.address, tls: { skipVerify: false } })
      // Each starts at a random point of its interval, as pipelines do.
      const run = delay(Math.random() * intervalMs)
        .then(() => pollAndPromote(client, id, intervalMs, 1_000_000, stop.signal))
        .finally(() => client.close())
      runs.push(run)
    }
  }
  process.stdout.write(`started ${config.deployments.length}\n`)
  // Keep the process alive until told to stop, whatever the runs do.
  const alive = setInterval(() => undefined, 60_000)
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()))
  await Promise.allSettled(runs)
  clearInterval(alive)
}

await main()
