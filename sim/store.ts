// The simulated state store: Nomad's go-memdb tables (nomad/state/schema.go)
// with a raft index per applied change and an index per table like
// `state.Index(table)`. A change is one transaction: its writes are buffered
// and reads inside it see them (memdb's write txn), and it commits whole or not
// at all. Like a failed FSM apply in Nomad, a failed transaction still uses up
// its raft index (the log entry exists) but no table index moves.
//
// What changes is published twice: to `on('change')` listeners and blocking
// queries as a ChangeRecord, and to the simulator's own parts (the deployment
// watcher, the scheduler, the clients, the event stream) as a Commit that lists
// every written object, in commit order, after the listeners ran.

import { performance } from 'node:perf_hooks'

import type { Clock } from './clock.js'
import {
  clone,
  jobKey,
  uuidKey,
  type ChangeRecord,
  type SimAllocation,
  type SimDeployment,
  type SimJob,
  type SimEvaluation,
  type Table,
} from './model.js'
import type { Tables, Written } from './tables.js'
import { Tx } from './tx.js'

/** An opaque copy of the whole state, for a leader restore (indexes go back). */
export interface StateSnapshot {
  readonly tables: Tables
}

/** A committed transaction, for the simulator's own parts. */
export interface Commit {
  readonly index: number
  readonly now: number
  readonly kind: string
  /** Every object written, once, in the order of its last write (memdb Txn.Changes). */
  readonly written: readonly Written[]
  readonly record: ChangeRecord
}

const emptyTables = (): Tables => ({
  raftIndex: 0,
  indexes: { jobs: 0, deployment: 0, allocs: 0, evals: 0 },
  jobs: new Map(),
  deployments: new Map(),
  allocs: new Map(),
  evals: new Map(),
  scheduled: new Set(),
})

export class Store {
  /** Every applied change, oldest first. */
  readonly changes: ChangeRecord[] = []

  private t: Tables = emptyTables()
  private readonly listeners = new Set<(c: ChangeRecord) => void>()
  private readonly hooks = new Set<(c: Commit) => void>()
  private readonly restoreHooks = new Set<() => void>()
  private readonly waits = new Set<() => void>()
  /** Commits whose hooks have not run yet: hooks run in index order, after the listeners. */
  private readonly pending: Commit[] = []
  private draining = false
  /** The allocs' `deployment` index: alloc keys per deployment key, in UUID order. */
  private readonly allocsOf = new Map<string, string[]>()

  constructor(
    private readonly clock: Clock,
    /** The source of every UUID the cluster creates. */
    readonly newId: () => string,
  ) {}

  now(): number {
    return this.clock.now()
  }

  /** The last raft index. */
  index(): number {
    return this.t.raftIndex
  }

  /** state.Index(table): the last raft index that changed the table. */
  tableIndex(table: Table): number {
    return this.t.indexes[table]
  }

  deploymentByKey(key: string): SimDeployment | undefined {
    return this.t.deployments.get(key)
  }

  /** All deployments in go-memdb's `id` index order (by UUID bytes). */
  deploymentsByKey(): Array<[string, SimDeployment]> {
    return [...this.t.deployments.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  allocByKey(key: string): SimAllocation | undefined {
    return this.t.allocs.get(key)
  }

  evalByKey(key: string): SimEvaluation | undefined {
    return this.t.evals.get(key)
  }

  /** Allocations that match, in UUID order. */
  allocsWhere(pred: (a: SimAllocation) => boolean): SimAllocation[] {
    return [...this.t.allocs.entries()]
      .filter(([, a]) => pred(a))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, a]) => a)
  }

  allEvals(): SimEvaluation[] {
    return [...this.t.evals.values()]
  }

  jobVersions(namespace: string, id: string): SimJob[] {
    return this.t.jobs.get(jobKey(namespace, id)) ?? []
  }

  jobLatest(namespace: string, id: string): SimJob | undefined {
    return this.t.jobs.get(jobKey(namespace, id))?.at(-1)
  }

  isScheduled(namespace: string, id: string): boolean {
    return this.t.scheduled.has(jobKey(namespace, id))
  }

  /** AllocsByDeployment: the `deployment` index of allocs, ordered by alloc UUID. */
  allocsByDeploymentKey(key: string): SimAllocation[] {
    return (this.allocsOf.get(key) ?? []).map((k) => this.t.allocs.get(k) as SimAllocation)
  }

  /**
   * One raft apply. The index is taken first (a failed apply still uses it up);
   * on success the writes land, the tables touched take the index, listeners
   * are told, then the simulator's own parts.
   */
  apply<T>(kind: string, fn: (tx: Tx) => T): T {
    const tx = new Tx(this.t, this, ++this.t.raftIndex, this.clock.now(), kind)
    const result = fn(tx)
    const written = tx.written()
    for (const w of written) this.land(w)
    for (const key of tx.scheduledKeys) this.t.scheduled.add(key)
    for (const table of tx.tables) this.t.indexes[table] = tx.index
    const record: ChangeRecord = {
      index: tx.index,
      at: performance.now(),
      kind,
      deployments: [...tx.deployments].map((k) => this.t.deployments.get(k)?.ID ?? k),
      allocs: [...tx.allocs].map((k) => this.t.allocs.get(k)?.ID ?? k),
      jobs: [...tx.jobs],
      evals: [...tx.evals].map((k) => this.t.evals.get(k)?.ID ?? k),
      tables: [...tx.tables],
    }
    this.emit(record)
    this.pending.push({ index: tx.index, now: tx.now, kind, written, record })
    this.drain()
    return result
  }

  /** Listeners see every ChangeRecord at once, in index order. */
  on(listener: (change: ChangeRecord) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The simulator's parts see each Commit after its listeners, one commit at a time, in order. */
  onCommit(hook: (commit: Commit) => void): () => void {
    this.hooks.add(hook)
    return () => this.hooks.delete(hook)
  }

  onRestore(hook: () => void): () => void {
    this.restoreHooks.add(hook)
    return () => this.restoreHooks.delete(hook)
  }

  /**
   * Resolves when a change matching `pred` is applied (true), or after
   * `timeoutMs` of real time, on `signal` or on `dispose` (false). A restore
   * matches everything.
   */
  waitForChange(
    pred: (c: ChangeRecord) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false)
      const done = (woke: boolean): void => {
        clearTimeout(timer)
        this.listeners.delete(listener)
        this.waits.delete(cancel)
        signal.removeEventListener('abort', cancel)
        resolve(woke)
      }
      const listener = (c: ChangeRecord): void => {
        if (c.restore || pred(c)) done(true)
      }
      const cancel = (): void => done(false)
      const timer = setTimeout(cancel, timeoutMs)
      this.listeners.add(listener)
      this.waits.add(cancel)
      signal.addEventListener('abort', cancel)
    })
  }

  /** A copy of the whole state; `restore` brings it back as a newly elected leader would. */
  snapshot(): StateSnapshot {
    return { tables: clone(this.t) }
  }

  /**
   * Restores a snapshot: every index goes back to the snapshot's. Like Nomad
   * abandoning the state store, this wakes every blocking query; each reruns
   * and keeps waiting while its index is not above the one it was sent.
   */
  restore(snapshot: StateSnapshot): void {
    this.t = clone(snapshot.tables)
    this.allocsOf.clear()
    for (const [k, a] of this.t.allocs) this.indexAlloc(k, undefined, a)
    for (const hook of [...this.restoreHooks]) hook()
    this.emit({
      index: this.t.raftIndex,
      at: performance.now(),
      kind: 'restore',
      deployments: [],
      allocs: [],
      jobs: [],
      evals: [],
      tables: [],
      restore: true,
    })
  }

  /** Ends every wait. */
  dispose(): void {
    for (const cancel of [...this.waits]) cancel()
  }

  private land(w: Written): void {
    switch (w.table) {
      case 'deployment':
        this.t.deployments.set(w.key, w.after as SimDeployment)
        return
      case 'evals':
        this.t.evals.set(w.key, w.after as SimEvaluation)
        return
      case 'allocs':
        this.indexAlloc(w.key, w.before as SimAllocation | undefined, w.after as SimAllocation)
        this.t.allocs.set(w.key, w.after as SimAllocation)
        return
      case 'jobs': {
        const j = w.after as SimJob
        const key = jobKey(j.Namespace, j.ID)
        const versions = this.t.jobs.get(key) ?? []
        versions[j.Version] = j
        this.t.jobs.set(key, versions)
      }
    }
  }

  /** Keeps the `deployment` index of allocs sorted, so no read sorts thousands of allocs. */
  private indexAlloc(key: string, before: SimAllocation | undefined, after: SimAllocation): void {
    if (before && before.DeploymentID === after.DeploymentID) return
    if (before) {
      const keys = this.allocsOf.get(uuidKey(before.DeploymentID)) ?? []
      const i = sortedIndex(keys, key)
      if (keys[i] === key) keys.splice(i, 1)
    }
    const dkey = uuidKey(after.DeploymentID)
    let keys = this.allocsOf.get(dkey)
    if (!keys) this.allocsOf.set(dkey, (keys = []))
    const i = sortedIndex(keys, key)
    if (keys[i] !== key) keys.splice(i, 0, key)
  }

  private emit(change: ChangeRecord): void {
    this.changes.push(change)
    for (const listener of [...this.listeners]) listener(change)
  }

  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      for (let c = this.pending.shift(); c; c = this.pending.shift()) {
        for (const hook of [...this.hooks]) hook(c)
      }
    } finally {
      this.draining = false
      this.pending.length = 0
    }
  }
}

/** The first position in sorted `keys` whose key is not below `key`. */
function sortedIndex(keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (keys[mid] < key) lo = mid + 1
    else hi = mid
  }
  return lo
}
