// The simulator's time. Every timer of the simulated cluster (evaluation lag,
// client start, min_healthy_time, healthy_deadline, progress_deadline, the
// watcher's eval batching, reschedule delays) and every timestamp it writes
// goes through a Clock, so a test can run a rollout of minutes in no time:
// `new ManualClock()` and `clock.advance(ms)`.
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

interface Pending {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/**
 * A clock that moves only when told. Timers run inside `advance`, in order of
 * their due time (then of creation), each with `now()` at its due time; timers
 * that those timers set run too if they fall due before the target.
 */
export class ManualClock implements Clock {
  private time: number
  private seq = 0
  private timers: Pending[] = []
  private advancing = false

  /** `start`: the epoch ms the clock shows first (default 2026-01-01T00:00:00Z). */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimer(ms: number, fn: () => void): Timer {
    const p: Pending = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.timers.push(p)
    return {
      cancel: () => {
        p.cancelled = true
        this.timers = this.timers.filter((t) => t !== p)
      },
    }
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. Returns how many ran. */
  advance(ms: number): number {
    if (ms < 0) throw new Error(`cannot advance a clock by ${ms} ms`)
    return this.advanceTo(this.time + ms)
  }

  /** Moves time to `at` (epoch ms, not before now), running the timers due until then. */
  advanceTo(at: number): number {
    if (this.advancing) throw new Error('ManualClock.advance called from a timer')
    if (at < this.time) throw new Error(`cannot move a clock back to ${at} from ${this.time}`)
    this.advancing = true
    let ran = 0
    try {
      for (let next = this.nextDue(at); next; next = this.nextDue(at)) {
        this.timers = this.timers.filter((t) => t !== next)
        this.time = next.at
        ran++
        next.fn()
      }
      this.time = at
    } finally {
      this.advancing = false
    }
    return ran
  }

  /**
   * Runs timers until none is left within `limitMs` (default 1 hour) of now and
   * returns the time it stopped at. For "let the cluster settle".
   */
  runAll(limitMs = 3_600_000): number {
    const until = this.time + limitMs
    for (let next = this.nextDue(until); next; next = this.nextDue(until)) this.advanceTo(next.at)
    return this.time
  }

  /** Due times (epoch ms) of the pending timers, soonest first. */
  pending(): number[] {
    return this.sorted().map((t) => t.at)
  }

  private sorted(): Pending[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq)
  }

  private nextDue(until: number): Pending | undefined {
    const next = this.sorted()[0]
    return next && next.at <= until ? next : undefined
  }
}
