// The deployment endpoints (api/deployments.go): what each read asks and how
// its answer is read, and the path and body of each write.

import { ArrayStream } from './json-stream.js'
import type { ReadRequest } from './query.js'
import {
  allocView,
  type AllocView,
  type Deployment,
  type DeploymentAllocHealthRequest,
  type DeploymentFailRequest,
  type DeploymentPauseRequest,
  type DeploymentPromoteRequest,
} from './types.js'

const id = (deploymentId: string) => encodeURIComponent(deploymentId)

/** GET /v1/deployments?prefix=: Nomad matches whole bytes of the ID (see gate/resolve.ts). */
export function deploymentListRequest(prefix: string): ReadRequest<Deployment[]> {
  return { path: '/v1/deployments', params: { prefix } }
}

/** GET /v1/deployment/:id: the full ID only. */
export function deploymentRequest(deploymentId: string): ReadRequest<Deployment> {
  return { path: `/v1/deployment/${id(deploymentId)}` }
}

/**
 * GET /v1/deployment/allocations/:id, as AllocViews. With thousands of
 * allocations the answer is megabytes on every change: each stub is parsed and
 * cut down on its own, so the full stubs (task states and all) never all live at once.
 */
export function deploymentAllocationsRequest(deploymentId: string): ReadRequest<AllocView[]> {
  return {
    path: `/v1/deployment/allocations/${id(deploymentId)}`,
    reader: () => new ArrayStream(allocView),
  }
}

// Writes ----------------------------------------------------------------------

export interface WriteRequest {
  path: string
  body:
    | DeploymentPromoteRequest
    | DeploymentPauseRequest
    | DeploymentFailRequest
    | DeploymentAllocHealthRequest
}

const writePath = (verb: string, deploymentId: string) =>
  `/v1/deployment/${verb}/${id(deploymentId)}`

/** No groups: `All: true`. Nomad ignores unknown groups silently, so callers check them first. */
export function promoteRequest(deploymentId: string, groups: string[]): WriteRequest {
  return {
    path: writePath('promote', deploymentId),
    body:
      groups.length === 0
        ? { DeploymentID: deploymentId, All: true, Groups: null }
        : { DeploymentID: deploymentId, All: false, Groups: groups },
  }
}

/** `pause: false` resumes. */
export function pauseRequest(deploymentId: string, pause: boolean): WriteRequest {
  return {
    path: writePath('pause', deploymentId),
    body: { DeploymentID: deploymentId, Pause: pause },
  }
}

export function failRequest(deploymentId: string): WriteRequest {
  return { path: writePath('fail', deploymentId), body: { DeploymentID: deploymentId } }
}

/** Full allocation IDs only: the server does not resolve prefixes here. */
export function allocHealthRequest(
  deploymentId: string,
  healthy: string[],
  unhealthy: string[],
): WriteRequest {
  return {
    path: writePath('allocation-health', deploymentId),
    body: {
      DeploymentID: deploymentId,
      HealthyAllocationIDs: healthy,
      UnhealthyAllocationIDs: unhealthy,
    },
  }
}
