// The gate in-process: runGate (src/gate/gate.ts) with a real NomadClient
// against the simulator, with a fast back-off so a fault costs milliseconds.

import { runGate, type Outcome } from '../../src/gate/gate.js'
import { NomadClient, type ClientOptions } from '../../src/nomad/client.js'
import type { NomadError } from '../../src/nomad/errors.js'
import { parseSettings } from '../../src/config/parse.js'
import { within } from '../helpers/wait.js'

/** Fast back-off so a fault costs milliseconds, not the production 200 ms..5 s. */
export const FAST_RETRY = { baseMs: 5, maxMs: 40 }

export interface InProcess {
  outcome: Outcome
  retries: NomadError[]
  lines: string[]
}

export interface GateRun {
  done: Promise<InProcess>
  retries: NomadError[]
  /** The gate's log so far (info, `warning: ` and `debug: ` lines). */
  lines: string[]
  /** Resolves when at least `n` retries matched `pred`. */
  retried(n: number, pred?: (e: NomadError) => boolean): Promise<void>
}

/**
 * runGate with a real NomadClient; `inputs` by their action.yml names, validated
 * by parseSettings. `done` fails the test when the gate has not ended within
 * `limitMs` (the gate is then cancelled): a bound of the test's own, under
 * vitest's timeout.
 */
export function startGate(
  inputs: Record<string, string>,
  options: {
    client?: ClientOptions
    signal?: AbortSignal
    limitMs?: number
    what?: string
    progressMs?: number
  } = {},
): GateRun {
  const settings = parseSettings((name) => inputs[name] ?? '', {})
  const retries: NomadError[] = []
  const waiters: Array<() => void> = []
  const client = new NomadClient(settings.nomad, {
    retry: FAST_RETRY,
    requestTimeoutMs: 2_000,
    ...options.client,
    onRetry: (err, attempt, delayMs) => {
      retries.push(err)
      options.client?.onRetry?.(err, attempt, delayMs)
      for (const w of [...waiters]) w()
    },
  })
  const lines: string[] = []
  const log = {
    info: (l: string) => lines.push(l),
    warning: (l: string) => lines.push(`warning: ${l}`),
  }
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  const limitMs = options.limitMs ?? 15_000
  const done = within(
    runGate(settings, { client, log, signal, progressMs: options.progressMs }).then((outcome) => ({
      outcome,
      retries,
      lines,
    })),
    limitMs,
    options.what ?? 'the gate ending',
  ).finally(() => {
    stop.abort()
    client.close()
  })
  return {
    done,
    retries,
    lines,
    retried: (n, pred = () => true) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (retries.filter(pred).length < n) return
            waiters.splice(waiters.indexOf(check), 1)
            resolve()
          }
          waiters.push(check)
          check()
        }),
        10_000,
        `${n} retries by the client`,
      ),
  }
}
