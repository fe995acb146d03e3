// When a failed read is sent again: capped exponential back-off (as the Go
// client's api/retry.go calculateDelay, plus jitter), until the caller's
// deadline, never after its signal. Writes are never retried here: a write whose
// answer was lost is re-read first (gate/mutate.ts).

import { setTimeout as delay } from 'node:timers/promises'
import { NomadError, abortedError } from './errors.js'

export interface RetryPolicy {
  baseMs: number
  maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 200, maxMs: 5_000 }

/** Capped exponential back-off with "equal jitter": half fixed, half random. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 20))
  return Math.round(cap / 2 + Math.random() * (cap / 2))
}

/** Waits `ms`; rejects at once (an AbortError) when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal })
}

export interface RetryOptions {
  policy: RetryPolicy
  /** performance.now() value after which no retry starts; the last try is at the deadline. */
  deadline?: number
  signal?: AbortSignal
  /** Told about every retry, so the user sees why the gate is slower than usual. */
  onRetry?: (err: NomadError, attempt: number, delayMs: number) => void
  /**
   * Asked before each retry, with the delay it would wait and how long the
   * failed attempt took: an error returned is thrown instead (the client's
   * rule for an address that never answered).
   */
  giveUp?: (
    err: NomadError,
    attempt: number,
    delayMs: number,
    attemptMs: number,
  ) => NomadError | undefined
  /** Whether a failure may pass on another try; default: its own `retryable`. */
  retryable?: (err: NomadError) => boolean
  /** For the error that says a retry was aborted. */
  method: string
  path: string
}

/**
 * Runs `attempt` until it resolves, or fails in a way a retry cannot change,
 * or the deadline has passed: then the last failure is thrown.
 */
export async function retrying<T>(attempt: () => Promise<T>, o: RetryOptions): Promise<T> {
  let failed: NomadError | undefined
  for (let n = 1; ; n++) {
    const started = performance.now()
    try {
      return await attempt()
    } catch (err) {
      // Aborted on a retry: say why it was being retried.
      if (failed && err instanceof NomadError && err.kind === 'aborted') {
        throw abortedError(o.method, o.path, failed)
      }
      if (!(err instanceof NomadError)) throw err
      if (!(o.retryable ? o.retryable(err) : err.retryable)) throw err
      failed = err
      // Retry until the deadline itself (the last try is at the deadline): the
      // read fails for good only once the deadline has passed. Timers count
      // whole milliseconds and may fire up to one early: under 1 ms left is none.
      const left = o.deadline === undefined ? Infinity : o.deadline - performance.now()
      if (left < 1) throw err
      const delayMs = Math.min(backoffMs(o.policy, n), Math.ceil(left))
      const final = o.giveUp?.(err, n, delayMs, performance.now() - started)
      if (final) throw final
      o.onRetry?.(err, n, delayMs)
      await sleep(delayMs, o.signal).catch(() => {
        throw abortedError(o.method, o.path, err)
      })
    }
  }
}
