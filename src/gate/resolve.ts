// Which deployment to gate: a full ID, a unique ID prefix, or a job's latest
// deployment (with job-version: waiting, within the deadline, for that
// version's deployment to exist).

import type { NomadClient, QueryMeta } from '../nomad/client.js'
import { NomadError } from '../nomad/errors.js'
import type { Deployment } from '../nomad/types.js'
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
  const where = client.namespace ? ` in namespace "${client.namespace}"` : ''
  const q = { signal: options.signal, deadline: options.deadline }
  if ('deploymentId' in target) {
    const id = target.deploymentId
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
          throw new GateError(
            `Deployment ${id} not found${where}: check deployment-id and namespace`,
          )
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
  return resolveJob(target.job, target.jobVersion, client, options)
}

async function resolveJob(
  job: string,
  version: number | undefined,
  client: NomadClient,
  options: ResolveOptions,
): Promise<Resolved> {
  const where = client.namespace ? ` in namespace "${client.namespace}"` : ''
  const stop = new AbortController()
  let found: Resolved | undefined
  let refused: GateError | undefined
  let told = false
  try {
    await watch(
      (q) => client.jobLatestDeployment(job, q),
      (d, meta) => {
        if (d && (version === undefined || d.JobVersion === version)) {
          found = { deployment: d, meta }
        } else if (d && version !== undefined && d.JobVersion > version) {
          refused = new GateError(
            `Job "${job}"${where} has a deployment of version ${d.JobVersion} (${d.ID}), newer than job-version ${version}: refusing to gate another version`,
            'deployment-failed',
          )
        } else if (version === undefined) {
          refused = new GateError(
            `Job "${job}"${where} has no deployment: was it registered with an update block?`,
          )
        } else if (!told) {
          told = true
          options.log(
            `Waiting for job "${job}" version ${version} to get a deployment (latest: ${d ? `version ${d.JobVersion}` : 'none'})`,
          )
        }
        if (found || refused) stop.abort()
      },
      { deadline: options.deadline, signal: AbortSignal.any([stop.signal, options.signal]) },
    )
  } catch (err) {
    if (err instanceof NomadError && err.status === 404) {
      throw new GateError(`Job "${job}" not found${where}: check job and namespace`)
    }
    throw err
  }
  if (!found && !refused && !(await jobExists(client, job, options))) {
    throw new GateError(`Job "${job}" not found${where}: check job and namespace`)
  }
  if (found) return found
  if (refused) {
    // Nomad answers `null` for a job that does not exist too: tell the two apart.
    if (refused.result === 'error' && !(await jobExists(client, job, options))) {
      throw new GateError(`Job "${job}" not found${where}: check job and namespace`)
    }
    throw refused
  }
  if (options.signal.aborted) throw options.signal.reason
  throw new GateError(
    `Timed out waiting for job "${job}" version ${version} to get a deployment${where}`,
    'timed-out',
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

async function jobExists(
  client: NomadClient,
  job: string,
  options: ResolveOptions,
): Promise<boolean> {
  try {
    await client.job(job, { signal: options.signal, deadline: options.deadline })
    return true
  } catch (err) {
    if (err instanceof NomadError && err.status === 404) return false
    throw err
  }
}
