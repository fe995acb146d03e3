// When a failed allocation may be replaced: the reschedule rules of
// nomad/structs/alloc.go (NextRescheduleTime, NextDelay, LastEventTime) and
// structs.go (RescheduleTracker.RescheduleEligible). Times here are epoch ms;
// Nomad's policies and trackers hold nanoseconds.

import { GO_ZERO_TIME } from './go.js'
import type { SimReschedulePolicy } from './jobspec.js'
import type { RescheduleTracker, SimAllocation } from './model.js'

const NS_PER_MS = 1e6

/** Allocation.LastEventTime: the latest task FinishedAt, else the alloc's modify time. */
export function lastEventTime(a: SimAllocation): number {
  let last = 0
  for (const ts of Object.values(a.TaskStates ?? {})) {
    const finished = ts.FinishedAt && ts.FinishedAt !== GO_ZERO_TIME ? Date.parse(ts.FinishedAt) : 0
    if (finished > last) last = finished
  }
  return last || a.ModifyTime / NS_PER_MS
}

/** RescheduleTracker.rescheduleInfo: attempts made within the interval before `failTime`. */
function attemptsWithin(
  tracker: RescheduleTracker | null,
  policy: SimReschedulePolicy,
  failTime: number,
): number {
  if (!tracker || policy.Attempts <= 0) return 0
  return (tracker.Events ?? []).filter(
    (e) => failTime * NS_PER_MS - e.RescheduleTime < policy.Interval,
  ).length
}

/** RescheduleTracker.RescheduleEligible. */
export function rescheduleEligible(
  tracker: RescheduleTracker | null,
  policy: SimReschedulePolicy | undefined,
  failTime: number,
): boolean {
  if (!policy) return false
  if (policy.Attempts <= 0 && !policy.Unlimited) return false
  if (policy.Unlimited) return true
  if (!tracker?.Events?.length) return true
  return attemptsWithin(tracker, policy, failTime) < policy.Attempts
}

/** Allocation.NextDelay (ms): the policy's delay, grown by its delay function over past attempts. */
export function nextDelay(a: SimAllocation, policy: SimReschedulePolicy): number {
  const events = a.RescheduleTracker?.Events ?? []
  let delay = policy.Delay
  if (events.length === 0) return delay / NS_PER_MS
  const last = events[events.length - 1]
  switch (policy.DelayFunction) {
    case 'exponential':
      delay = last.Delay * 2
      break
    case 'fibonacci':
      if (events.length >= 2) {
        const n2 = events[events.length - 2].Delay
        // A series that reached the ceiling and was reset starts again.
        delay = n2 === policy.MaxDelay && last.Delay === policy.Delay ? last.Delay : last.Delay + n2
      }
      break
    default:
      return delay / NS_PER_MS
  }
  if (policy.MaxDelay > 0 && delay > policy.MaxDelay) {
    delay = policy.MaxDelay
    // Long enough since the last attempt: start over from the base delay.
    if (lastEventTime(a) * NS_PER_MS - last.RescheduleTime > delay) delay = policy.Delay
  }
  return delay / NS_PER_MS
}

/**
 * Allocation.NextRescheduleTime: when a failed (or lost) allocation may be
 * replaced, and whether the policy still allows it. A running or pending
 * allocation is never rescheduled, however unhealthy.
 */
export function nextRescheduleTime(
  a: SimAllocation,
  policy: SimReschedulePolicy | undefined,
): { at: number; eligible: boolean } {
  const failTime = lastEventTime(a)
  if (!policy || (policy.Attempts === 0 && !policy.Unlimited)) return { at: 0, eligible: false }
  const lastFailed = a.RescheduleTracker?.LastReschedule === 'no placement'
  if (
    (a.DesiredStatus === 'stop' && !lastFailed) ||
    (a.ClientStatus !== 'failed' && a.ClientStatus !== 'lost') ||
    failTime === 0
  ) {
    return { at: 0, eligible: false }
  }
  const delay = nextDelay(a, policy)
  let eligible = policy.Unlimited || (policy.Attempts > 0 && a.RescheduleTracker === null)
  if (policy.Attempts > 0 && a.RescheduleTracker?.Events) {
    eligible =
      attemptsWithin(a.RescheduleTracker, policy, failTime) < policy.Attempts &&
      delay * NS_PER_MS < policy.Interval
  }
  return { at: failTime + delay, eligible }
}

/** generic_sched.go UpdateRescheduleTracker: the replacement's tracker, with this attempt last. */
export function nextTracker(
  prev: SimAllocation,
  policy: SimReschedulePolicy,
  now: number,
): RescheduleTracker {
  const past = prev.RescheduleTracker?.Events ?? []
  const kept =
    policy.Attempts > 0
      ? past.filter(
          (e) => policy.Interval > 0 && now * NS_PER_MS - e.RescheduleTime <= policy.Interval,
        )
      : past.slice(-5) // maxPastRescheduleEvents
  return {
    Events: [
      ...kept,
      {
        RescheduleTime: now * NS_PER_MS,
        PrevAllocID: prev.ID,
        PrevNodeID: prev.NodeID,
        Delay: nextDelay(prev, policy) * NS_PER_MS,
      },
    ],
    LastReschedule: '',
  }
}
