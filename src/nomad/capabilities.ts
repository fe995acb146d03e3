// Which namespace capability each call of the gate needs, and what a token's
// policies grant in a namespace: for a 403 that names what to grant, and for
// the warning at the start that a token evidently cannot write.
//
// Every read is read-job (nomad/deployment_endpoint.go GetDeployment, List,
// Allocations; nomad/job_endpoint.go GetJob; nomad/event_endpoint.go for the
// Job, Deployment and Allocation topics). Each deployment write accepts
// submit-job or, from Nomad 2.0, its own fine-grained capability
// (nomad/deployment_endpoint.go Promote, Pause, Fail, SetAllocHealth:
// AllowNsOpAnyOf(submit-job, ...)). Resume is Pause with Pause: false.

import type { ACLNamespaceRules } from './acl.js'

/** What a call needs: any one of these capabilities in the namespace. */
export interface Need {
  anyOf: readonly string[]
  /** The call in words: `promote`, `read`. */
  what: string
}

const READ: Need = { anyOf: ['read-job'], what: 'read' }

/** By the deployment write's path segment (deployments.ts writePath). */
const WRITES: Record<string, Need> = {
  promote: { anyOf: ['submit-job', 'promote-deployment'], what: 'promote' },
  pause: { anyOf: ['submit-job', 'pause-deployment'], what: 'pause or resume' },
  fail: { anyOf: ['submit-job', 'fail-deployment'], what: 'fail' },
  'allocation-health': {
    anyOf: ['submit-job', 'set-alloc-health-deployment'],
    what: 'set allocation health',
  },
}

/** The write each kind sends: a mode's or on-failure's. */
export const WRITE_NEEDS = {
  promote: WRITES.promote,
  pause: WRITES.pause,
  resume: WRITES.pause,
  fail: WRITES.fail,
  health: WRITES['allocation-health'],
} as const satisfies Record<string, Need>

/**
 * What a request needs, by its method and path; undefined for the ACL
 * endpoints (token/self and a policy want only a valid token, the login none).
 */
export function needFor(method: string, path: string): Need | undefined {
  if (path.startsWith('/v1/acl/')) return undefined
  const write = /^\/v1\/deployment\/([a-z-]+)\//.exec(path)?.[1]
  if (method !== 'GET' && write && WRITES[write]) return WRITES[write]
  return READ
}

/** `submit-job` / `submit-job or promote-deployment`. */
export function describeNeed(need: Need): string {
  return need.anyOf.join(' or ')
}

/**
 * The capabilities a token's policies grant in `namespace`, as Nomad merges
 * them (acl/acl.go NewACL: the union per namespace name, `deny` wins over all;
 * AllowNamespaceOperation via matchingNamespaceCapabilitySet: the exact name,
 * else the closest matching glob, findClosestMatchingGlob).
 */
export function grantedIn(namespace: string, rules: readonly ACLNamespaceRules[]): Set<string> {
  const byName = new Map<string, Set<string>>()
  for (const ns of rules) {
    let set = byName.get(ns.Name)
    if (!set) byName.set(ns.Name, (set = new Set()))
    if (set.has('deny')) continue
    for (const c of ns.Capabilities ?? []) {
      if (c === 'deny') {
        set.clear()
        set.add('deny')
        break
      }
      set.add(c)
    }
  }
  const exact = byName.get(namespace)
  if (exact) return exact
  let best: { difference: number; set: Set<string> } | undefined
  for (const [name, set] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.includes('*') || !globMatch(name, namespace)) continue
    // findAllMatchingWildcards: the characters the glob leaves to its stars.
    const difference = namespace.length - name.replace(/\*/g, '').length
    if (!best || difference < best.difference) best = { difference, set }
  }
  return best?.set ?? new Set()
}

/** ryanuber/go-glob Glob: `*` matches any run of characters. */
function globMatch(pattern: string, subject: string): boolean {
  const re = pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${re.join('.*')}$`, 's').test(subject)
}
