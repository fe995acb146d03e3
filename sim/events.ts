// The event broker (nomad/stream/event_broker.go, event_buffer.go,
// subscription.go) fed as nomad/state/events.go eventsFromChanges feeds it:
// each committed raft apply whose message type has an event type becomes one
// batch {Index, Events}, one event per written job, evaluation, allocation or
// deployment, all of the apply's type. The buffer keeps the last
// `event_buffer_size` batches; a restore replaces the broker (a new state
// store has its own) and closes every subscription.

import {
  copyAlloc,
  type SimAllocation,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
} from './model.js'
import type { Commit, Store } from './store.js'

export interface SimEvent {
  Topic: 'Deployment' | 'Allocation' | 'Evaluation' | 'Job'
  Type: string
  Key: string
  Namespace: string
  FilterKeys: string[] | null
  Index: number
  Payload: Record<string, unknown>
}

/** structs.Events: one raft index's events. */
export interface EventBatch {
  Index: number
  Events: SimEvent[]
}

/**
 * state/events.go MsgTypeEvents: the event type of each raft message the
 * simulator applies (by its change kind). Kinds without one (mark-stable is a
 * JobStabilityRequestType) publish nothing.
 */
const EVENT_TYPES: Record<string, string> = {
  'job-register': 'JobRegistered',
  'register-job': 'JobRegistered',
  'eval-update': 'EvaluationUpdated',
  'client-update': 'AllocationUpdated',
  'client-status': 'AllocationUpdated',
  'alloc-desired-transition': 'AllocationUpdateDesiredStatus',
  'deployment-failed': 'DeploymentStatusUpdate',
  'progress-deadline': 'DeploymentStatusUpdate',
  pause: 'DeploymentStatusUpdate',
  resume: 'DeploymentStatusUpdate',
  fail: 'DeploymentStatusUpdate',
  'complete-deployment': 'DeploymentStatusUpdate',
  'cancel-deployment': 'DeploymentStatusUpdate',
  promote: 'DeploymentPromotion',
  'auto-promote': 'DeploymentPromotion',
  // The scheduler's plan, and the verbs that stand in for it.
  'plan-result': 'PlanResult',
  'start-deployment': 'PlanResult',
  'place-canaries': 'PlanResult',
  'place-allocs': 'PlanResult',
  'stop-alloc': 'PlanResult',
}

/**
 * `alloc-health` is two raft messages: the API's Deployment.SetAllocHealth
 * (DeploymentAllocHealth, with its evaluation) and a client's report
 * (AllocationUpdated, without one).
 */
function eventType(c: Commit): string | undefined {
  if (c.kind === 'alloc-health') {
    return c.record.tables.includes('evals') ? 'DeploymentAllocHealth' : 'AllocationUpdated'
  }
  return EVENT_TYPES[c.kind]
}

/** eventFromChange for the tables the simulator has. */
function eventFrom(table: string, after: unknown): Omit<SimEvent, 'Type' | 'Index'> | undefined {
  switch (table) {
    case 'deployment': {
      const d = after as SimDeployment
      return objectEvent('Deployment', d, [d.JobID])
    }
    case 'allocs': {
      // The full allocation, its job left out to keep the event small.
      const a = copyAlloc(after as SimAllocation)
      return objectEvent('Allocation', a, [a.JobID, a.DeploymentID])
    }
    case 'evals': {
      const e = after as SimEvaluation
      return objectEvent('Evaluation', e, [e.JobID, e.DeploymentID])
    }
    case 'jobs':
      return objectEvent('Job', after as SimJob, null)
  }
  return undefined
}

/** One object's event: keyed by its ID, in its namespace, the object under its topic's name. */
function objectEvent(
  topic: SimEvent['Topic'],
  o: { ID: string; Namespace: string },
  filterKeys: string[] | null,
): Omit<SimEvent, 'Type' | 'Index'> {
  return {
    Topic: topic,
    Key: o.ID,
    Namespace: o.Namespace,
    FilterKeys: filterKeys,
    Payload: { [topic]: o },
  }
}

export interface SubscribeRequest {
  /** Start at this index (0: the whole buffer). */
  index: number
  /** Topic → keys; `*` for every topic or key. */
  topics: Map<string, string[]>
  /** The namespaces the subscriber may see (an event without a namespace passes). */
  namespaces: string[]
}

export interface Subscriber {
  /** A batch of events for the subscriber (already filtered). */
  send(batch: EventBatch): void
  /** The subscription was closed by the server (a restore): `subscription closed by server, ...`. */
  close(reason: string): void
}

/** stream.ErrSubscriptionClosed's text. */
export const SUBSCRIPTION_CLOSED = 'subscription closed by server, client should resubscribe'

export class EventBroker {
  /** Oldest first; at most `size` batches. */
  private buffer: EventBatch[] = []
  private readonly subscribers = new Set<{ req: SubscribeRequest; to: Subscriber }>()

  constructor(
    private readonly store: Store,
    /** event_buffer_size; Nomad's default 100. */
    readonly size = 100,
  ) {
    store.onCommit((c) => this.publish(c))
    store.onRestore(() => this.reset())
  }

  /**
   * EventBroker.Subscribe: replays the buffer from `index` as
   * eventBuffer.StartAtClosest finds it (the first batch at or after it; the
   * last one if none; index 0: the whole buffer; no signal for a gap), then
   * every new batch. Returns the unsubscribe function.
   */
  subscribe(req: SubscribeRequest, to: Subscriber): () => void {
    const entry = { req, to }
    let start = 0
    if (req.index !== 0 && this.buffer.length > 0) {
      const i = this.buffer.findIndex((b) => b.Index >= req.index)
      start = i === -1 ? this.buffer.length - 1 : i
    }
    for (const b of this.buffer.slice(start)) {
      const events = filter(req, b.Events)
      if (events.length > 0) to.send({ Index: b.Index, Events: events })
    }
    this.subscribers.add(entry)
    return () => this.subscribers.delete(entry)
  }

  /** The buffered batches' indexes, oldest first. */
  indexes(): number[] {
    return this.buffer.map((b) => b.Index)
  }

  private publish(c: Commit): void {
    const type = eventType(c)
    if (!type) return
    const events: SimEvent[] = []
    for (const w of c.written) {
      // Only the `jobs` table's entry, the latest version, publishes (not job_version).
      if (w.table === 'jobs') {
        const j = w.after as SimJob
        if (this.store.jobLatest(j.Namespace, j.ID)?.Version !== j.Version) continue
      }
      const e = eventFrom(w.table, w.after)
      // structs.Event's field order.
      if (e) {
        const { Topic, Key, Namespace, FilterKeys, Payload } = e
        events.push({ Topic, Type: type, Key, Namespace, FilterKeys, Index: c.index, Payload })
      }
    }
    if (events.length === 0) return
    const batch = { Index: c.index, Events: events }
    this.buffer.push(batch)
    if (this.buffer.length > this.size) this.buffer.shift()
    for (const { req, to } of [...this.subscribers]) {
      const mine = filter(req, events)
      if (mine.length > 0) to.send({ Index: c.index, Events: mine })
    }
  }

  /** A restored snapshot is a new state store with a new broker: empty buffer, subscriptions closed. */
  private reset(): void {
    this.buffer = []
    const subs = [...this.subscribers]
    this.subscribers.clear()
    for (const { to } of subs) to.close(SUBSCRIPTION_CLOSED)
  }
}

/** subscription.go filter: namespace, then topic keys matching the Key or a FilterKey. */
function filter(req: SubscribeRequest, events: SimEvent[]): SimEvent[] {
  const all = req.topics.get('*') ?? []
  return events.filter((e) => {
    if (e.Namespace !== '' && !req.namespaces.includes(e.Namespace)) return false
    if (all.length === 1 && all[0] === '*') return true
    const keys = [...all, ...(req.topics.get(e.Topic) ?? [])]
    if (keys.length === 1 && keys[0] === '*') return true
    return keys.some((k) => e.Key === k || (e.FilterKeys ?? []).includes(k))
  })
}
