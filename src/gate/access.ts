// Before the wait: whether the token can send the step's write, where Nomad
// lets it be known (GET /v1/acl/token/self, then each of its policies), so a
// token that cannot write is found out at the start and not after the whole
// wait. Only ever a warning: anything unknown (no token, ACLs off, a token
// that cannot read itself or its policies, roles, an older Nomad without
// RulesJSON) ends the check without a word, and the write is sent as ever.

import {
  WRITE_NEEDS,
  describeNeed,
  grantedIn,
  type ACLNamespaceRules,
  type NomadClient,
} from '../nomad/client.js'
import type { WriteKind } from './outcome.js'

/** The whole check (token, then its policies in parallel) gets this long. */
export const ACCESS_CHECK_MS = 5_000

export interface AccessCheck {
  client: NomadClient
  /** The deployment's namespace. */
  namespace: string
  /** The writes the step may send: the mode's, and on-failure's. */
  writes: WriteKind[]
  signal: AbortSignal
  warning: (line: string) => void
  debug: (line: string) => void
}

/** Warns once when the token evidently cannot send one of `writes`; never throws. */
export async function checkWriteAccess(c: AccessCheck): Promise<void> {
  // Without a token the first read tells (anonymous access rarely reads jobs),
  // and a cluster without ACLs is not asked one more question.
  if (c.writes.length === 0 || !c.client.hasToken) return
  try {
    const line = await judge(c)
    if (line) c.warning(line)
  } catch (err) {
    c.debug(`Access check skipped: ${err instanceof Error ? err.message : String(err)}`)
  }
}

async function judge(c: AccessCheck): Promise<string | undefined> {
  const signal = AbortSignal.any([c.signal, AbortSignal.timeout(ACCESS_CHECK_MS)])
  // One try each: a retry of a guess would only add noise.
  const q = { signal, deadline: performance.now() }
  const token = (await c.client.tokenSelf(q)).body
  // structs.ACLsDisabledToken: every call is allowed.
  if (token.AccessorID === 'acls-disabled' || token.Type === 'management') return undefined
  const names = token.Policies ?? []
  const rules: ACLNamespaceRules[] = []
  for (const policy of await Promise.all(names.map((n) => c.client.policy(n, q)))) {
    const namespaces = policy.body.RulesJSON?.Namespaces
    // Before RulesJSON (older Nomad) the rules are HCL only: not guessed at.
    if (policy.body.RulesJSON == null) {
      c.debug(`Access check skipped: policy "${policy.body.Name}" comes without RulesJSON`)
      return undefined
    }
    rules.push(...(namespaces ?? []))
  }
  const granted = grantedIn(c.namespace, rules)
  const missing = [...new Set(c.writes.map((w) => WRITE_NEEDS[w]))].filter(
    (need) => !need.anyOf.some((cap) => granted.has(cap)),
  )
  if (missing.length === 0) return undefined
  // A role's policies are not in token/self: they may grant what is missing.
  if ((token.Roles ?? []).length > 0) {
    c.debug('Access check skipped: the token has roles, whose policies are not read')
    return undefined
  }
  const who = token.Name ? `The token "${token.Name}"` : 'The token'
  const held = names.length
    ? `its policies (${names.join(', ')}) grant none of these there`
    : 'it holds no policy'
  const cannot = missing.map((n) => `${n.what} (needs ${describeNeed(n)})`).join(', nor ')
  return `${who} evidently cannot ${cannot} in namespace "${c.namespace}": ${held}, so Nomad will refuse the write with 403; waiting anyway`
}
