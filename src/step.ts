// One run of the gate as a CI step, shared by the action and the CLI: the
// Nomad client's life, retry notices in the log, and cancellation by SIGINT or
// SIGTERM (the runner sends SIGINT, then SIGTERM 7.5 s later, then kills).

import type { Settings } from './config/settings.js'
import { formatDuration } from './duration.js'
import { runGate, type Log, type Outcome } from './gate/gate.js'
import { loginForStep, type StepLogin } from './login.js'
import { describeProxy, proxyFor } from './net/proxy.js'
import { NomadClient, type ClientOptions, type ExchangeRecord } from './nomad/client.js'
import { retryCause, type NomadError } from './nomad/errors.js'

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
  // Each retry is an info line; one warning at the end sums them up, so a
  // step that recovered does not look like one that failed.
  const retries = new RetryTally()
  const debug = log.debug
  const clientOptions: ClientOptions = {
    requestTimeoutMs: settings.requestTimeoutMs,
    onRetry: (err, attempt, delayMs, told) => {
      retries.add(err)
      if (!told) log.info(`${err.message}; retry ${attempt} in ${formatDuration(delayMs)}`)
      debug?.(
        `Retry ${attempt} of ${err.method} ${err.path} in ${formatDuration(delayMs)}: ${retryCause(err)} (${err.kind}${err.ambiguous ? ', may have been applied' : ''})`,
      )
    },
    onExchange: debug && ((r) => debug(describeExchange(r))),
  }
  if (debug) {
    const proxy = proxyFor(new URL(settings.nomad.address), settings.nomad.proxy)
    debug(
      `Nomad at ${settings.nomad.address}: ${proxy ? `through the proxy ${describeProxy(proxy)}` : 'direct (no proxy)'}`,
    )
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
    const summary = retries.summary()
    if (summary) log.warning(summary)
  }
}

/** A request in one debug line: never a header (the token is one), only what identifies it. */
export function describeExchange(r: ExchangeRecord): string {
  const took = formatDuration(r.ms)
  if (r.status === 0)
    return `${r.method} ${r.target}: no answer (${r.error ? retryCause(r.error) : 'unknown'}), ${took}`
  const index = r.index ? `, X-Nomad-Index ${r.index}` : ''
  return `${r.method} ${r.target}: ${r.status}${index}, ${took}`
}

/** The retries of a step by cause: `3 requests were retried: connection reset (2), No cluster leader (1)`. */
export class RetryTally {
  private readonly causes = new Map<string, number>()
  private count = 0

  add(err: NomadError): void {
    const cause = retryCause(err)
    this.causes.set(cause, (this.causes.get(cause) ?? 0) + 1)
    this.count++
  }

  /** One line, or '' when nothing was retried. */
  summary(): string {
    if (this.count === 0) return ''
    const causes = [...this.causes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} (${n})`)
    const requests = this.count === 1 ? '1 request was' : `${this.count} requests were`
    return `${requests} retried: ${causes.join(', ')}`
  }
}
