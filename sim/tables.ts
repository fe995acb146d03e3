// The store's tables (nomad/state/schema.go's jobs, deployment, allocs and
// evals) and what a transaction writes to them: what the store (store.ts) and
// its write transactions (tx.ts) share.

import type { SimAllocation, SimDeployment, SimEvaluation, SimJob, Table } from './model.js'

export interface Tables {
  raftIndex: number
  indexes: Record<Table, number>
  /** `namespace\0id` → versions by Version; the last one is the `jobs` table entry. */
  jobs: Map<string, SimJob[]>
  /** By lower-case hex UUID key (go-memdb's UUIDFieldIndex). */
  deployments: Map<string, SimDeployment>
  allocs: Map<string, SimAllocation>
  evals: Map<string, SimEvaluation>
  /** Jobs (jobKey) whose evaluations the scheduler processes: those `submitJob` registered. */
  scheduled: Set<string>
}

/** One object a transaction wrote: memdb's Change (table, before, after). */
export interface Written {
  table: Table
  key: string
  before: unknown
  after: unknown
}
