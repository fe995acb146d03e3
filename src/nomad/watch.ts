// The blocking-query loop (after Nomad's CLI monitor and consul-template's
// watcher): send the last index, reset to 0 when the server's index goes
// backwards, never spin, stop on the deadline or a signal.

import { NomadError } from './errors.js'
import { MAX_WAIT_MS, type QueryMeta, type QueryOptions, type Response } from './query.js'
import { sleep } from './retry.js'

export interface WatchOptions {
  /** performance.now() value at which the loop stops. */
  deadline: number
  signal: AbortSignal
  /** Longest hold asked of the server; the remaining time to the deadline caps it too. */
  maxWaitMs?: number
  /** The index of an answer the caller already has: the first query blocks on it. */
  index?: number
}

export type Fetch<T> = (q: QueryOptions) => Promise<Response<T, QueryMeta>>

/**
 * Calls `onChange` with the first answer (unless `options.index` says the caller
 * has it) and then with every answer whose index moved. Resolves when the deadline passes or the signal fires; rejects when a
 * read fails for good (the client already retried what can be retried).
 */
export async function watch<T>(
  fetch: Fetch<T>,
  onChange: (body: T, meta: QueryMeta) => void,
  options: WatchOptions,
): Promise<void> {
  const { deadline, signal } = options
  const maxWaitMs = Math.min(options.maxWaitMs ?? MAX_WAIT_MS, MAX_WAIT_MS)
  let index = options.index ?? 0
  let first = index === 0
  let idle = 0
  let backwards = 0
  while (!signal.aborted) {
    const remaining = deadline - performance.now()
    if (remaining <= 0) return
    const sentAt = performance.now()
    // The deadline ends a held query too: the server holds one for up to
    // wait + wait/16 (nomad/rpc.go jitter), so ask for less than what is left,
    // and stop waiting for an answer that has not come when the deadline passes.
    // (A timer, not AbortSignal.timeout: AbortSignal.any holds its sources
    // weakly, and a collected timeout signal never fires.)
    const bounded = new AbortController()
    const stop = () => bounded.abort()
    const timer = setTimeout(stop, Math.ceil(remaining))
    signal.addEventListener('abort', stop, { once: true })
    const waitMs = Math.min(maxWaitMs, Math.floor((remaining * 16) / 17))
    let res: Response<T, QueryMeta>
    try {
      res = await fetch({ index, waitMs, signal: bounded.signal, deadline })
    } catch (err) {
      if (signal.aborted) return
      if (bounded.signal.aborted) {
        // The deadline passed while the client was retrying a failed read:
        // that failure is the answer, not a quiet timeout.
        const cause = (err as Error).cause
        if (cause instanceof NomadError) throw cause
        return
      }
      throw err
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', stop)
    }
    if (signal.aborted) return
    const next = res.meta.lastIndex
    if (next < index) {
      // A restored snapshot or a new leader with an older state: start over
      // (Nomad's api docs on blocking queries); index 0 answers at once. An
      // index that keeps going backwards (a proxy or cache serving old
      // answers) must not make the loop spin: back off from the second time.
      index = 0
      first = true
      if (++backwards > 1) {
        const pause = Math.min(1_000, 25 * 2 ** backwards, deadline - performance.now())
        await sleep(pause, signal).catch(() => undefined)
      }
      continue
    }
    if (index > 0) backwards = 0
    const moved = first || next > index
    if (moved) {
      idle = 0
      first = false
      onChange(res.body, res.meta)
    } else if (performance.now() - sentAt < 50) {
      // The server (or a proxy) answered at once without a change: back off
      // rather than spin.
      idle++
      await sleep(Math.min(1_000, 25 * 2 ** idle), signal).catch(() => undefined)
    }
    // Never send an index below 1 after a valid read: 0 would not block.
    index = Math.max(1, next)
  }
}
