// The step's story: every line the gate logs, with its time since the start,
// kept for the job summary's timeline.

import { formatDuration } from '../duration.js'
import type { Log, TimelineEvent } from './outcome.js'

export class Timeline {
  readonly started = performance.now()
  readonly events: TimelineEvent[] = []

  constructor(private readonly log: Log) {}

  event(text: string): void {
    const atMs = performance.now() - this.started
    this.events.push({ atMs, text })
    this.log.info(`[${formatDuration(atMs).padStart(6)}] ${text}`)
  }

  warning(text: string): void {
    this.log.warning(text)
  }

  debug(text: string): void {
    this.log.debug?.(text)
  }

  get elapsedMs(): number {
    return performance.now() - this.started
  }
}
