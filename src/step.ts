// One run of the gate as a CI step, shared by the action and the CLI: the
// Nomad client's life, retry notices in the log, and cancellation by SIGINT or
// SIGTERM (the runner sends SIGINT, then SIGTERM 7.5 s later, then kills).

import type { Settings } from './config/settings.js'
import { formatDuration } from './duration.js'
import { runGate, type Log, type Outcome } from './gate/gate.js'
import { loginForStep, type StepLogin } from './login.js'
import { NomadClient, type ClientOptions } from './nomad/client.js'

export const SKIP_VERIFY_WARNING =
  'tls-skip-verify is on: the certificate of Nomad is not checked, so anyone on the path can read the token and forge answers. Use ca-cert instead.'

export async function runStep(
  settings: Settings,
  log: Log,
  options: StepLogin = {},
): Promise<Outcome> {
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
  const clientOptions: ClientOptions = {
    requestTimeoutMs: settings.requestTimeoutMs,
    onRetry: (err, attempt, delayMs) =>
      log.warning(`${err.message}; retry ${attempt} in ${formatDuration(delayMs)}`),
  }
  let client: NomadClient | undefined
  try {
    // With auth-method, the client carries the token that the login returns.
    const nomad = await loginForStep(settings, {
      ...options,
      log,
      clientOptions,
      signal: cancel.signal,
    })
    if ('outcome' in nomad) return nomad.outcome
    client = new NomadClient(nomad.config, clientOptions)
    return await runGate(settings, { client, log, signal: cancel.signal })
  } finally {
    client?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
