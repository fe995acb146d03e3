// The soak's clock: after the canaries pass, hold for `soak`, running the
// checks every check-interval. The watches go on beside it (gate.ts), so a
// canary that stops passing ends the soak at once; this only counts time and
// check runs.

import { hasChecks, runChecks, type CheckRun, type CheckSettings } from '../checks.js'
import { formatDuration } from '../duration.js'
import { sleep } from '../nomad/client.js'
import { onFailureWrite } from './decide.js'
import type { Verdict } from './outcome.js'
import type { OnFailure } from '../config/settings.js'

export interface SoakOptions {
  soakMs: number
  checks: CheckSettings
  onFailure: OnFailure
  /** performance.now() of the step's start: check runs are timed from it. */
  started: number
  /** Check runs are appended here as they end. */
  runs: CheckRun[]
  event: (line: string) => void
}

export interface Soak {
  /** 'passed' when the soak's time is up with the checks within failure-limit; else the failing verdict. */
  readonly done: Promise<'passed' | Verdict>
  stop(): void
}

export function startSoak(o: SoakOptions, signal: AbortSignal): Soak {
  const stop = new AbortController()
  const both = AbortSignal.any([stop.signal, signal])
  const done = run(o, both)
  return { done, stop: () => stop.abort() }
}

async function run(o: SoakOptions, signal: AbortSignal): Promise<'passed' | Verdict> {
  const { soakMs, checks } = o
  const withChecks = hasChecks(checks)
  o.event(
    `Canaries pass the gate; soaking for ${formatDuration(soakMs)}` +
      (withChecks ? ` with checks every ${formatDuration(checks.intervalMs)}` : ''),
  )
  const end = performance.now() + soakMs
  let failures = 0
  for (;;) {
    if (withChecks) {
      const run = await runChecks(checks, signal)
      if (signal.aborted) return new Promise(() => {})
      o.runs.push({ ...run, atMs: run.atMs - o.started })
      const detail = run.results.map((c) => `${c.name} ${c.ok ? 'ok' : c.detail}`).join('; ')
      o.event(`Check run ${o.runs.length}: ${run.ok ? 'passed' : 'failed'} (${detail})`)
      if (!run.ok && ++failures > checks.failureLimit) {
        const write = onFailureWrite(o.onFailure)
        return {
          result: 'check-failed',
          ok: false,
          message: `Checks failed ${failures} time(s) during the soak (failure-limit ${checks.failureLimit}): ${detail}`,
          ...(write ? { write } : {}),
        }
      }
    }
    const left = end - performance.now()
    if (left <= 0) break
    try {
      await sleep(withChecks ? Math.min(left, checks.intervalMs) : left, signal)
    } catch {
      // Stopped: this soak's outcome no longer matters.
      return new Promise(() => {})
    }
  }
  o.event(`Soak of ${formatDuration(soakMs)} passed`)
  return 'passed'
}
