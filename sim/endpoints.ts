// The RPC endpoints behind the HTTP API (nomad/deployment_endpoint.go,
// nomad/job_endpoint.go): what each read returns, at which index, and which
// changes wake it when it blocks; and each write's checks, in Nomad's order,
// before its effect (which the deployment watcher applies).

import { TERMINAL_DEPLOYMENT_STATUSES, type DeploymentUpdateResponse } from '../src/nomad/types.js'
import { uuidIndexKey } from './go.js'
import {
  NomadError,
  toStub,
  uuidKey,
  type ChangeRecord,
  type SimEvaluation,
  type Table,
} from './model.js'
import type { Store } from './store.js'
import type { DeploymentWatcher } from './watcher.js'

/** One run of a blocking query: its answer, its index and what would change it. */
export interface QueryResult {
  index: number
  body: unknown
  /** The changes that wake it: those to what it read. */
  watch: (c: ChangeRecord) => boolean
  /** The tables it read: with spurious wakes, any change to them wakes it (a watch channel covering more). */
  tables: Table[]
}

/**
 * Whether the request's token holds any one of these capabilities in a
 * namespace (acl.ACL AllowNsOpAnyOf; `*`: in any namespace).
 */
export type Allow = (namespace: string, ...anyOf: string[]) => boolean

/** What every read of a job's objects needs (nomad/deployment_endpoint.go, job_endpoint.go). */
export const READ_JOB = 'read-job'

/**
 * What each deployment write accepts (nomad/deployment_endpoint.go): submit-job,
 * or from Nomad 2.0 the write's own fine-grained capability. Resume is Pause.
 */
export const DEPLOYMENT_WRITE = {
  promote: ['submit-job', 'promote-deployment'],
  pause: ['submit-job', 'pause-deployment'],
  fail: ['submit-job', 'fail-deployment'],
  allocHealth: ['submit-job', 'set-alloc-health-deployment'],
} as const

const PERMISSION_DENIED = 'Permission denied'

export function permissionDenied(): NomadError {
  return new NomadError(PERMISSION_DENIED, 403)
}

export class Endpoints {
  constructor(
    private readonly store: Store,
    private readonly watcher: DeploymentWatcher,
  ) {}

  // ---- reads: each returns the query a blocking RPC reruns ---------------------------

  /** Deployment.List: by ID prefix in UUID order, else in creation order; `*` for every namespace. */
  deploymentList(
    namespace: string,
    prefixText: string,
    reverse: boolean,
    allow: Allow,
  ): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    const inNamespace = (dns: string): boolean => namespace === '*' || dns === namespace
    const prefix = prefixText === '' ? undefined : uuidIndexKey(prefixText, false)
    if (prefix && 'error' in prefix) throw new NomadError(prefix.error)
    return () => {
      let list = this.store.deploymentsByKey()
      if (prefix) {
        // DeploymentsByIDPrefix walks the `id` index (UUID order), filtered by namespace.
        list = list.filter(([k, d]) => k.startsWith(prefix.key) && inNamespace(d.Namespace))
      } else {
        // DeploymentsByNamespaceOrdered / Deployments: creation order.
        list = list
          .filter(([, d]) => inNamespace(d.Namespace))
          .sort(([ka, a], [kb, b]) => a.CreateIndex - b.CreateIndex || (ka < kb ? -1 : 1))
      }
      if (reverse) list.reverse()
      return {
        index: this.store.tableIndex('deployment'),
        tables: ['deployment'],
        body: list.map(([, d]) => d).filter((d) => allow(d.Namespace, READ_JOB)),
        watch: (c) =>
          c.deployments.some((id) =>
            prefix
              ? uuidKey(id).startsWith(prefix.key)
              : inNamespace(this.store.deploymentByKey(uuidKey(id))?.Namespace ?? ''),
          ),
      }
    }
  }

  /** Deployment.GetDeployment: by the UUID's bytes; hidden (null) outside the token's namespaces. */
  deployment(namespace: string, id: string, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      if (id === '') throw new NomadError('missing deployment ID')
      const key = uuidIndexKey(id, true)
      if ('error' in key) throw new NomadError(`deployment lookup failed: ${key.error}`)
      let d = this.store.deploymentByKey(key.key)
      // Re-checked against the deployment's own namespace: hidden if not allowed.
      if (d && !allow(d.Namespace, READ_JOB)) d = undefined
      return d
        ? {
            index: d.ModifyIndex,
            body: d,
            watch: (c) => c.deployments.includes(d.ID),
            tables: ['deployment'],
          }
        : {
            index: this.store.tableIndex('deployment'),
            body: null,
            watch: (c) => c.deployments.length > 0,
            tables: ['deployment'],
          }
    }
  }

  /**
   * Deployment.Allocations: the allocs table's index, but woken only by this
   * deployment's allocs. An unknown deployment has no allocations (`[]`).
   */
  deploymentAllocations(namespace: string, id: string, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      const key = uuidIndexKey(id, true)
      if ('error' in key) throw new NomadError(key.error)
      const allocs = this.store.allocsByDeploymentKey(key.key).map(toStub)
      const ns = allocs[0]?.Namespace
      if (ns !== undefined && ns !== namespace && !allow(ns, READ_JOB)) throw permissionDenied()
      return {
        index: this.store.tableIndex('allocs'),
        tables: ['allocs'],
        body: allocs,
        watch: (c) =>
          c.allocs.some((a) => {
            const alloc = this.store.allocByKey(uuidKey(a))
            return alloc !== undefined && uuidKey(alloc.DeploymentID) === key.key
          }),
      }
    }
  }

  /** Job.Deployments: the store's order (by deployment ID); an earlier job's with the same ID only with `all`. */
  jobDeployments(namespace: string, jobId: string, all: boolean, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      const job = this.store.jobLatest(namespace, jobId)
      const list = this.store
        .deploymentsByKey()
        .map(([, d]) => d)
        .filter((d) => d.Namespace === namespace && d.JobID === jobId)
        .filter((d) => all || !job || d.JobCreateIndex === job.CreateIndex)
      return {
        index: this.store.tableIndex('deployment'),
        tables: ['deployment'],
        body: list,
        watch: (c) =>
          c.deployments.some((id) => {
            const d = this.store.deploymentByKey(uuidKey(id))
            return d?.Namespace === namespace && d.JobID === jobId
          }),
      }
    }
  }

  /** Job.GetJob: the latest version; null (404) when there is none. */
  job(namespace: string, jobId: string, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      const job = this.store.jobLatest(namespace, jobId)
      const key = `${namespace}/${jobId}`
      return job
        ? {
            index: job.ModifyIndex,
            body: job,
            watch: (c) => c.jobs.includes(key),
            tables: ['jobs'],
          }
        : {
            index: this.store.tableIndex('jobs'),
            body: null,
            watch: (c) => c.jobs.length > 0,
            tables: ['jobs'],
          }
    }
  }

  /**
   * Job.Evaluations: the evals table's index; in the `job` index's order
   * (namespace, job, status, then ID), so not by age.
   */
  jobEvaluations(namespace: string, jobId: string, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      const evals = this.store
        .allEvals()
        .filter((e) => e.Namespace === namespace && e.JobID === jobId)
        .sort((a, b) => cmp(a.Status, b.Status) || cmp(uuidKey(a.ID), uuidKey(b.ID)))
      return {
        index: this.store.tableIndex('evals'),
        body: evals,
        watch: (c) =>
          c.evals.some((id) => isEvalOf(this.store.evalByKey(uuidKey(id)), namespace, jobId)),
        tables: ['evals'],
      }
    }
  }

  /** Eval.GetEval: by the UUID's bytes; re-checked against the eval's own namespace. */
  evaluation(namespace: string, id: string, allow: Allow): () => QueryResult {
    if (!allow(namespace, READ_JOB)) throw permissionDenied()
    return () => {
      const key = uuidIndexKey(id, true)
      if ('error' in key) {
        throw new NomadError(`failed to lookup eval: eval lookup failed: ${key.error}`)
      }
      const e = this.store.evalByKey(key.key)
      if (e && !allow(e.Namespace, READ_JOB)) throw permissionDenied()
      return e
        ? { index: e.ModifyIndex, body: e, watch: (c) => c.evals.includes(e.ID), tables: ['evals'] }
        : {
            index: this.store.tableIndex('evals'),
            body: null,
            watch: (c) => c.evals.length > 0,
            tables: ['evals'],
          }
    }
  }

  // ---- writes ---------------------------------------------------------------------------

  /**
   * The checks every deployment write RPC makes, in Nomad's order after the
   * region and token: the ID, the request's own validation, the deployment's
   * existence, one of `capabilities` in the deployment's own namespace (not the
   * request's), then that it is active (`terminal` is the RPC's wording).
   */
  checkWrite(
    allow: Allow,
    id: string,
    capabilities: readonly string[],
    terminal: string,
    validate?: () => void,
  ): void {
    if (id === '') throw new NomadError('missing deployment ID')
    validate?.()
    const key = uuidIndexKey(id, true)
    if ('error' in key) throw new NomadError(`deployment lookup failed: ${key.error}`)
    const d = this.store.deploymentByKey(key.key)
    if (!d) throw new NomadError('deployment not found')
    if (!allow(d.Namespace, ...capabilities)) throw permissionDenied()
    if (TERMINAL_DEPLOYMENT_STATUSES.includes(d.Status)) throw new NomadError(terminal)
  }

  /** Deployment.Promote. */
  promote(allow: Allow, id: string, all: boolean, groups: string[]): DeploymentUpdateResponse {
    this.checkWrite(allow, id, DEPLOYMENT_WRITE.promote, "can't promote terminal deployment")
    return this.watcher.promote(id, all, groups)
  }

  /** Deployment.Pause, also resuming (`pause: false`). */
  pause(allow: Allow, id: string, pause: boolean): DeploymentUpdateResponse {
    const terminal = pause ? "can't pause terminal deployment" : "can't resume terminal deployment"
    this.checkWrite(allow, id, DEPLOYMENT_WRITE.pause, terminal)
    return this.watcher.pause(id, pause)
  }

  /** Deployment.Fail. */
  fail(allow: Allow, id: string): DeploymentUpdateResponse {
    this.checkWrite(allow, id, DEPLOYMENT_WRITE.fail, "can't fail terminal deployment")
    return this.watcher.fail(id)
  }

  /** Deployment.SetAllocHealth: at least one alloc ID. */
  setAllocHealth(
    allow: Allow,
    id: string,
    healthy: string[],
    unhealthy: string[],
  ): DeploymentUpdateResponse {
    const terminal = "can't set health of allocations for a terminal deployment"
    this.checkWrite(allow, id, DEPLOYMENT_WRITE.allocHealth, terminal, () => {
      if (healthy.length + unhealthy.length === 0) {
        throw new NomadError('must specify at least one healthy/unhealthy allocation ID')
      }
    })
    return this.watcher.setAllocHealth(id, healthy, unhealthy)
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

function isEvalOf(e: SimEvaluation | undefined, namespace: string, jobId: string): boolean {
  return e !== undefined && e.Namespace === namespace && e.JobID === jobId
}
