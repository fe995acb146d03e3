// The simulator's time. Every timer of the simulated cluster (evaluation lag,
// client start, min_healthy_time, healthy_deadline, progress_deadline, the
// watcher's eval batching, reschedule delays) and every timestamp it writes
// goes through a Clock.
//
// Not on the clock: the HTTP side (a blocking query's `wait`, fault delays),
// which a client measures in real time.

export interface Timer {
  /** Stops the timer; a no-op once it ran. */
  cancel(): void
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number
  /** Runs `fn` once, `ms` from now (0 or less: as soon as the clock can, never synchronously). */
  setTimer(ms: number, fn: () => void): Timer
}

/** Wall-clock time and Node timers (unref'd: a pending timer keeps no process alive). */
export class RealClock implements Clock {
  now(): number {
    return Date.now()
  }

  setTimer(ms: number, fn: () => void): Timer {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref()
    return { cancel: () => clearTimeout(t) }
  }
}
