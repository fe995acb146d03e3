// Which deployment to gate: a full ID, a unique ID prefix, or a job's.
//
// For a job, the deployment of one version: job-version, else the job's
// current version as read now. Right after `nomad job run` that version has
// no deployment yet: Nomad creates it when the scheduler processes the
// registration's evaluation (scheduler/reconciler/reconcile_cluster.go
// createDeployment), and until then the job's latest deployment is the
// previous version's. So wait for that version's deployment within the
// deadline, and never take another version's. Say so as soon as it is certain
// that none will come: the evaluation of that version completed without
// creating one (no update block, count 0, nothing to update), or the job moved
// on to a newer version first. (An update block is not needed: the API gives
// service jobs a default one, api/jobs.go Canonicalize; only max_parallel = 0,
// an empty strategy, makes none: reconcile_cluster.go createDeployment.)

import type { NomadClient, QueryMeta } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import type { Deployment, Evaluation, Job } from '../nomad/types.js'
import { watch } from '../nomad/watch.js'
import type { Target } from '../config/settings.js'
import { GateError } from './errors.js'

export interface ResolveOptions {
  deadline: number
  signal: AbortSignal
  log: (line: string) => void
}

export interface Resolved {
  deployment: Deployment
  meta: QueryMeta
}

export async function resolveDeployment(
  target: Target,
  client: NomadClient,
  options: ResolveOptions,
): Promise<Resolved> {
  if ('deploymentId' in target) return resolveId(target.deploymentId, client, options)
  return new JobResolver(target.job, target.jobVersion, client, options).resolve()
}

function inNamespace(client: NomadClient): string {
  return client.namespace ? ` in namespace "${client.namespace}"` : ''
}

async function resolveId(
  id: string,
  client: NomadClient,
  options: ResolveOptions,
): Promise<Resolved> {
  const where = inNamespace(client)
  const q = { signal: options.signal, deadline: options.deadline }
  if (id.length === 36) {
    try {
      const { body, meta } = await client.deployment(id, q)
      // Without ACLs Nomad serves a deployment by ID whatever ?namespace= says
      // (nomad/deployment_endpoint.go GetDeployment): never act on another
      // namespace's deployment than the one the user named.
      const wanted = client.namespace ?? 'default'
      if (body.Namespace !== wanted) {
        throw new GateError(
          `Deployment ${id} is in namespace "${body.Namespace}", not "${wanted}": set namespace to "${body.Namespace}" if that is the one to gate`,
        )
      }
      return { deployment: body, meta }
    } catch (err) {
      if (err instanceof NomadError && err.status === 404) {
        throw new GateError(`Deployment ${id} not found${where}: check deployment-id and namespace`)
      }
      throw err
    }
  }
  const { body, meta } = await client.listDeployments(evenPrefix(id), q)
  const matches = body.filter((d) => d.ID.startsWith(id))
  if (matches.length === 1) return { deployment: matches[0], meta }
  if (matches.length === 0) {
    throw new GateError(
      `No deployment ID starts with "${id}"${where}: check deployment-id and namespace`,
    )
  }
  const list = matches
    .slice(0, 10)
    .map((d) => `${d.ID} (job "${d.JobID}" version ${d.JobVersion}, ${d.Status})`)
    .join('; ')
  throw new GateError(
    `Input 'deployment-id': "${id}" matches ${matches.length} deployments${where}: ${list}; give more characters`,
  )
}

/**
 * Nomad's UUID index matches whole bytes and rejects a prefix with an odd number
 * of hex digits; its CLI drops the last one (command/helpers.go
 * sanitizeUUIDPrefix). Do the same, then filter by the full prefix.
 */
function evenPrefix(prefix: string): string {
  const digits = prefix.replace(/-/g, '').length
  return digits % 2 === 0 ? prefix : prefix.slice(0, -1)
}

const TERMINAL_EVAL = ['complete', 'failed', 'canceled']

class JobResolver {
  private readonly where: string
  private readonly stop = new AbortController()
  private readonly signal: AbortSignal
  private job!: Job
  /** The version to gate: job-version, else the job's version when the step started. */
  private version!: number
  private found?: Resolved
  private refused?: GateError
  /** The version had no deployment at the first look: waiting (and said so). */
  private waiting = false
  private evaluations?: Promise<void>

  constructor(
    private readonly jobId: string,
    private readonly jobVersion: number | undefined,
    private readonly client: NomadClient,
    private readonly options: ResolveOptions,
  ) {
    this.where = inNamespace(client)
    this.signal = AbortSignal.any([this.stop.signal, options.signal])
  }

  async resolve(): Promise<Resolved> {
    try {
      const { body, meta } = await this.client.job(this.jobId, this.query())
      this.job = body
      this.version = this.jobVersion ?? body.Version
      if (body.Type === 'batch' || body.Type === 'sysbatch') {
        throw new GateError(
          `Job "${this.jobId}"${this.where} is a ${body.Type} job: Nomad makes no deployments for it`,
        )
      }
      if (this.version > body.Version) await this.untilVersion(meta.lastIndex)
      if (!this.found && !this.refused) await this.untilDeployment()
    } catch (err) {
      if (
        err instanceof NomadError &&
        err.status === 404 &&
        err.path === `/v1/job/${encodeURIComponent(this.jobId)}`
      ) {
        throw new GateError(`Job "${this.jobId}" not found${this.where}: check job and namespace`)
      }
      throw err
    }
    if (this.found) return this.found
    if (this.refused) throw this.refused
    if (this.options.signal.aborted) throw this.options.signal.reason
    throw new GateError(
      `Timed out waiting for job "${this.jobId}" version ${this.version} to get a deployment${this.where}`,
      'timed-out',
    )
  }

  private query() {
    return { signal: this.signal, deadline: this.options.deadline }
  }

  /** job-version names a version not registered yet: wait for the job to get it. */
  private async untilVersion(index: number): Promise<void> {
    this.options.log(
      `Waiting for job "${this.jobId}" to get version ${this.version} (now version ${this.job.Version})`,
    )
    const reached = new AbortController()
    await watch(
      (q) => this.client.job(this.jobId, q),
      (job) => {
        this.job = job
        if (job.Version >= this.version) reached.abort()
      },
      {
        deadline: this.options.deadline,
        signal: AbortSignal.any([reached.signal, this.signal]),
        index,
      },
    )
  }

  /** The deployments and the evaluations of the job, until the version's deployment shows or cannot come. */
  private async untilDeployment(): Promise<void> {
    const options = { deadline: this.options.deadline, signal: this.signal }
    try {
      await watch(
        (q) => this.client.jobDeployments(this.jobId, q),
        (list, meta) => this.onDeployments(list, meta),
        options,
      )
      await this.evaluations
    } catch (err) {
      if (!this.found && !this.refused) throw err
    }
  }

  /**
   * The version has no deployment yet: watch the job's evaluations too, to
   * know when none will come. Only the current version's registration is
   * known by its JobModifyIndex.
   */
  private startWaiting(): void {
    if (this.job.Stop) {
      return this.refuse(
        `Job "${this.jobId}"${this.where} is stopped: version ${this.version} will not get a deployment`,
      )
    }
    if (this.job.Version !== this.version) return
    const options = { deadline: this.options.deadline, signal: this.signal }
    this.evaluations = watch(
      (q) => this.client.jobEvaluations(this.jobId, q),
      (evals) => this.onEvaluations(evals),
      options,
    ).catch((err: unknown) => {
      // Only a shortcut to a clear failure: without it, the deadline still ends the wait.
      if (!(err instanceof NomadError) || this.signal.aborted) throw err
      this.options.log(
        `Cannot read the job's evaluations (${err.detail}); waiting for the deployment without them`,
      )
    })
  }

  private onDeployments(list: Deployment[], meta: QueryMeta): void {
    // This incarnation of the job only: a job purged and registered again starts its versions over.
    const mine = list.filter((d) => d.JobCreateIndex === this.job.CreateIndex)
    const exact = mine
      .filter((d) => d.JobVersion === this.version)
      .sort((a, b) => b.CreateIndex - a.CreateIndex)
    if (exact.length > 0) {
      this.found = { deployment: exact[0], meta }
      return this.stop.abort()
    }
    const latest = [...mine].sort((a, b) => b.CreateIndex - a.CreateIndex)[0]
    if (latest && latest.JobVersion > this.version) {
      const than =
        this.jobVersion === undefined
          ? `version ${this.version}, the job's version when this step started`
          : `job-version ${this.version}`
      return this.refuse(
        `Job "${this.jobId}"${this.where} has a deployment of version ${latest.JobVersion} (${latest.ID}), newer than ${than}: refusing to gate another version`,
        'deployment-failed',
      )
    }
    if (this.waiting) return
    this.waiting = true
    const now = latest ? `version ${latest.JobVersion}, ${latest.Status}` : 'none'
    this.options.log(
      `Waiting for job "${this.jobId}" version ${this.version} to get a deployment (latest: ${now})`,
    )
    this.startWaiting()
  }

  private onEvaluations(evals: Evaluation[]): void {
    // nomad/fsm.go applyUpsertJob: the registration's evaluation carries the job's JobModifyIndex.
    const done = evals.filter(
      (e) => e.JobModifyIndex === this.job.JobModifyIndex && TERMINAL_EVAL.includes(e.Status),
    )
    if (done.length === 0 || this.found) return
    // The scheduler writes the deployment before it completes the evaluation: a
    // fresh read after seeing it complete tells for sure.
    void this.client
      .jobDeployments(this.jobId, this.query())
      .then(({ body, meta }) => {
        this.onDeployments(body, meta)
        if (this.found || this.refused) return
        const e = done[0]
        const why =
          e.Status === 'complete'
            ? 'completed without creating one (an update block with max_parallel = 0, a count of 0, or nothing that needs a deployment changed)'
            : `${e.Status === 'failed' ? 'failed' : 'was canceled'}${e.StatusDescription ? ` (${e.StatusDescription})` : ''}`
        this.refuse(
          `Job "${this.jobId}"${this.where} version ${this.version} will not get a deployment: its evaluation ${e.ID.slice(0, 8)} ${why}; nothing to gate`,
        )
      })
      .catch(() => undefined)
  }

  private refuse(message: string, result: GateError['result'] = 'error'): void {
    this.refused ??= new GateError(message, result)
    this.stop.abort()
  }
}
