// A write transaction of the store (store.ts), as go-memdb's write txn: its
// writes are buffered, reads inside it see them first, and it lands whole on
// commit or not at all.

import {
  copyAlloc,
  copyDeployment,
  jobKey,
  uuidKey,
  type SimAllocation,
  type SimDeployment,
  type SimEvaluation,
  type SimJob,
  type Table,
} from './model.js'
import type { Tables, Written } from './tables.js'

/** What a transaction reads from its store beyond the tables: the allocs' `deployment` index and the UUID source. */
export interface TxStore {
  allocsByDeploymentKey(deploymentKey: string): SimAllocation[]
  newId(): string
}

/**
 * A write transaction. Reads see its own writes first; objects read from it
 * must not be mutated (clone, change, put).
 */
export class Tx {
  /** Writes by `table\0key`, in the order of their last write. */
  private readonly writes = new Map<string, Written>()
  /** First-write order per table, for the ChangeRecord. */
  readonly deployments = new Set<string>()
  readonly allocs = new Set<string>()
  readonly jobs = new Set<string>()
  readonly evals = new Set<string>()
  readonly tables = new Set<Table>()

  constructor(
    private readonly t: Tables,
    private readonly store: TxStore,
    readonly index: number,
    readonly now: number,
    readonly kind: string,
  ) {}

  deployment(key: string): SimDeployment | undefined {
    return this.read('deployment', key, () => this.t.deployments.get(key)) as
      SimDeployment | undefined
  }

  alloc(key: string): SimAllocation | undefined {
    return this.read('allocs', key, () => this.t.allocs.get(key)) as SimAllocation | undefined
  }

  evaluation(key: string): SimEvaluation | undefined {
    return this.read('evals', key, () => this.t.evals.get(key)) as SimEvaluation | undefined
  }

  /**
   * A deployment to change and put back: this transaction's own copy when it
   * already wrote one (copied once per transaction, as memdb's write txn), else
   * a fresh copy.
   */
  editDeployment(key: string): SimDeployment | undefined {
    const w = this.writes.get(`deployment\0${key}`)
    if (w) return w.after as SimDeployment
    const d = this.t.deployments.get(key)
    return d && copyDeployment(d)
  }

  /** An allocation to change and put back (see editDeployment). */
  editAlloc(key: string): SimAllocation | undefined {
    const w = this.writes.get(`allocs\0${key}`)
    if (w) return w.after as SimAllocation
    const a = this.t.allocs.get(key)
    return a && copyAlloc(a)
  }

  jobVersions(namespace: string, id: string): SimJob[] {
    const versions = [...(this.t.jobs.get(jobKey(namespace, id)) ?? [])]
    for (const w of this.writes.values()) {
      const j = w.after as SimJob
      if (w.table === 'jobs' && j.Namespace === namespace && j.ID === id) versions[j.Version] = j
    }
    return versions
  }

  jobLatest(namespace: string, id: string): SimJob | undefined {
    return this.jobVersions(namespace, id).at(-1)
  }

  /** Every deployment, committed or written here. */
  allDeployments(): SimDeployment[] {
    const out = new Map(this.t.deployments)
    for (const w of this.writes.values()) {
      if (w.table === 'deployment') out.set(w.key, w.after as SimDeployment)
    }
    return [...out.values()]
  }

  /** AllocsByDeployment: the `deployment` index of allocs, ordered by alloc UUID. */
  allocsByDeployment(deploymentKey: string): SimAllocation[] {
    const committed = this.store.allocsByDeploymentKey(deploymentKey)
    if (!this.tables.has('allocs')) return committed
    const byKey = new Map(committed.map((a) => [uuidKey(a.ID), a]))
    for (const w of this.writes.values()) {
      if (w.table !== 'allocs') continue
      const a = w.after as SimAllocation
      if (uuidKey(a.DeploymentID) === deploymentKey) byKey.set(w.key, a)
      else byKey.delete(w.key)
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, a]) => a)
  }

  /** AllocsByJob, in UUID order. */
  allocsByJob(namespace: string, jobId: string): SimAllocation[] {
    const byKey = new Map<string, SimAllocation>()
    for (const [k, a] of this.t.allocs) {
      if (a.Namespace === namespace && a.JobID === jobId) byKey.set(k, a)
    }
    for (const w of this.writes.values()) {
      const a = w.after as SimAllocation
      if (w.table === 'allocs' && a.Namespace === namespace && a.JobID === jobId) {
        byKey.set(w.key, a)
      }
    }
    return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, a]) => a)
  }

  /** EvalsByJob. */
  evalsByJob(namespace: string, jobId: string): SimEvaluation[] {
    const byKey = new Map<string, SimEvaluation>()
    for (const [k, e] of this.t.evals) {
      if (e.Namespace === namespace && e.JobID === jobId) byKey.set(k, e)
    }
    for (const w of this.writes.values()) {
      const e = w.after as SimEvaluation
      if (w.table === 'evals' && e.Namespace === namespace && e.JobID === jobId) byKey.set(w.key, e)
    }
    return [...byKey.values()]
  }

  putDeployment(d: SimDeployment): void {
    d.ModifyIndex = this.index
    this.write('deployment', uuidKey(d.ID), d)
    this.deployments.add(uuidKey(d.ID))
  }

  putAlloc(a: SimAllocation): void {
    a.ModifyIndex = this.index
    this.write('allocs', uuidKey(a.ID), a)
    this.allocs.add(uuidKey(a.ID))
  }

  putJobVersion(j: SimJob): void {
    this.write('jobs', `${jobKey(j.Namespace, j.ID)}\0${j.Version}`, j)
    this.jobs.add(`${j.Namespace}/${j.ID}`)
  }

  putEval(e: SimEvaluation): void {
    e.ModifyIndex = this.index
    this.write('evals', uuidKey(e.ID), e)
    this.evals.add(uuidKey(e.ID))
  }

  /** Marks the job as one the scheduler processes (a `submitJob` job). */
  schedule(namespace: string, id: string): void {
    this.scheduledKeys.add(jobKey(namespace, id))
  }

  readonly scheduledKeys = new Set<string>()

  /** A new UUID from the simulator's source (seeded or random). */
  newId(): string {
    return this.store.newId()
  }

  /** The writes in commit order. */
  written(): Written[] {
    return [...this.writes.values()]
  }

  private read(table: Table, key: string, committed: () => unknown): unknown {
    const w = this.writes.get(`${table}\0${key}`)
    return w ? w.after : committed()
  }

  private write(table: Table, key: string, after: unknown): void {
    const id = `${table}\0${key}`
    const earlier = this.writes.get(id)
    const before = earlier ? earlier.before : this.committed(table, key)
    this.writes.delete(id)
    this.writes.set(id, { table, key, before, after })
    this.tables.add(table)
  }

  private committed(table: Table, key: string): unknown {
    switch (table) {
      case 'deployment':
        return this.t.deployments.get(key)
      case 'allocs':
        return this.t.allocs.get(key)
      case 'evals':
        return this.t.evals.get(key)
      case 'jobs': {
        const [ns, id, version] = key.split('\0')
        return this.t.jobs.get(jobKey(ns, id))?.[Number(version)]
      }
    }
  }
}
