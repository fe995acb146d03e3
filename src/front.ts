// What the action and the CLI share around the gate: the client's life, retry
// notices, and cancellation by SIGINT/SIGTERM (the runner sends SIGINT, then
// SIGTERM 7.5 s later, then kills).

import { runGate, type Log, type Outcome } from './gate/gate.js'
import { formatDuration, parseDuration } from './duration.js'
import { NomadClient } from './nomad/client.js'
import type { Settings } from './settings.js'

export const SKIP_VERIFY_WARNING =
  'tls-skip-verify is on: the certificate of Nomad is not checked, so anyone on the path can read the token and forge answers. Use ca-cert instead.'

export async function execute(settings: Settings, log: Log): Promise<Outcome> {
  if (settings.nomad.tls.skipVerify) log.warning(SKIP_VERIFY_WARNING)
  const cancel = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!cancel.signal.aborted) {
      log.warning(
        `Received ${sig}: stopping; no write is sent now (one already sent is waited for)`,
      )
    }
    cancel.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const client = new NomadClient(settings.nomad, {
    requestTimeoutMs: requestTimeoutMs(process.env),
    onRetry: (err, attempt, delayMs) =>
      log.warning(`${err.message}; retry ${attempt} in ${formatDuration(delayMs)}`),
  })
  try {
    return await runGate(settings, { client, log, signal: cancel.signal })
  } finally {
    client.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * NOMAD_CANARY_GATE_REQUEST_TIMEOUT: the time limit of a request that is not a
 * blocking query (default 30s). Undocumented; it exists so that tests of a slow
 * server do not take 30 seconds each.
 */
function requestTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.NOMAD_CANARY_GATE_REQUEST_TIMEOUT
  if (!raw) return undefined
  const ms = parseDuration(raw)
  if (!(ms > 0))
    throw new Error(`NOMAD_CANARY_GATE_REQUEST_TIMEOUT must be a positive duration (got "${raw}")`)
  return ms
}
