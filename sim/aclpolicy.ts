// ACL policies as Nomad parses and merges them: the rules' HCL (the namespace
// blocks with `policy` and `capabilities`, acl/policy.go Parse) expanded to
// capabilities, and the ACL object that checks an operation in a namespace
// (acl/acl.go NewACL, AllowNamespaceOperation: exact names first, else the
// closest glob; `deny` overrides everything it meets).

/** acl/policy.go: the shorthand levels of `policy = "..."` in a namespace block. */
const POLICY_LEVELS = ['deny', 'read', 'write', 'scale'] as const

/** acl/policy.go isNamespaceCapabilityValid (CE and Enterprise). */
export const NAMESPACE_CAPABILITIES = [
  'deny',
  'list-jobs',
  'parse-job',
  'read-job',
  'submit-job',
  'dispatch-job',
  'read-logs',
  'read-fs',
  'alloc-exec',
  'alloc-node-exec',
  'alloc-lifecycle',
  'sentinel-override',
  'csi-register-plugin',
  'csi-write-volume',
  'csi-read-volume',
  'csi-list-volume',
  'csi-mount-volume',
  'host-volume-create',
  'host-volume-register',
  'host-volume-read',
  'host-volume-write',
  'host-volume-delete',
  'list-scaling-policies',
  'read-scaling-policy',
  'read-job-scaling',
  'scale-job',
  'submit-recommendation',
  // Nomad 2.0's fine-grained job and deployment capabilities, separated from submit-job.
  'register-job',
  'revert-job',
  'deregister-job',
  'purge-job',
  'evaluate-job',
  'plan-job',
  'tag-job-version',
  'stable-job',
  'fail-deployment',
  'pause-deployment',
  'promote-deployment',
  'unblock-deployment',
  'cancel-deployment',
  'set-alloc-health-deployment',
  'gc-allocation',
  'pause-allocation',
  'force-periodic-job',
  'delete-service-registration',
] as const
export type NamespaceCapability = (typeof NAMESPACE_CAPABILITIES)[number]

const READ: NamespaceCapability[] = [
  'list-jobs',
  'parse-job',
  'read-job',
  'csi-list-volume',
  'csi-read-volume',
  'read-job-scaling',
  'list-scaling-policies',
  'read-scaling-policy',
  'host-volume-read',
]

/** acl/policy.go expandNamespacePolicy. */
export function expandNamespacePolicy(level: string): NamespaceCapability[] {
  switch (level) {
    case 'deny':
      return ['deny']
    case 'read':
      return [...READ]
    case 'write':
      return [
        ...READ,
        'scale-job',
        'submit-job',
        'dispatch-job',
        'read-logs',
        'read-fs',
        'alloc-exec',
        'alloc-lifecycle',
        'csi-mount-volume',
        'csi-write-volume',
        'submit-recommendation',
        'host-volume-create',
      ]
    case 'scale':
      return [
        'list-scaling-policies',
        'read-scaling-policy',
        'read-job-scaling',
        'scale-job',
        'read-job',
        'submit-recommendation',
      ]
    default:
      return []
  }
}

/** acl/policy.go expandNamespaceCapabilities: what the host-volume capabilities imply. */
function impliedCapabilities(caps: string[]): string[] {
  const extra: string[] = []
  for (const c of caps) {
    if (c === 'host-volume-write') {
      extra.push('host-volume-register', 'host-volume-create', 'host-volume-delete')
      extra.push('host-volume-read')
    } else if (c === 'host-volume-register') extra.push('host-volume-create', 'host-volume-read')
    else if (c === 'host-volume-create') extra.push('host-volume-read')
  }
  return extra
}

/** One `namespace "name" { ... }` block, as ACL.GetPolicy's RulesJSON shows it. */
export interface NamespacePolicy {
  Name: string
  Policy: string
  /** The block's capabilities, then those its `policy` expands to, then the implied ones. */
  Capabilities: string[]
  Variables: null
}

/** A parsed policy: acl.Policy as JSON (only the namespace rules are modelled). */
export interface ParsedPolicy {
  Namespaces: NamespacePolicy[]
  NodePools: null
  HostVolumes: null
  Agent: { Policy: string } | null
  Node: { Policy: string } | null
  Operator: { Policy: string; Capabilities: string[] | null } | null
  Quota: { Policy: string } | null
  Plugin: { Policy: string } | null
  Raw: string
}

/** The top-level blocks of acl.Policy; only `namespace` is more than checked for its policy. */
const BLOCKS = [
  'namespace',
  'node_pool',
  'host_volume',
  'agent',
  'node',
  'operator',
  'quota',
  'plugin',
]

/**
 * acl/policy.go Parse, for the HCL that policies are written in: `namespace
 * "x" { policy = "read" capabilities = ["..."] }` blocks, and the single-level
 * blocks (`agent`, `node`, `operator`, `quota`, `plugin`) kept with their
 * `policy`. Errors carry Nomad's texts where it has one.
 */
export function parsePolicy(rules: string): ParsedPolicy {
  const p: ParsedPolicy = {
    Namespaces: [],
    NodePools: null,
    HostVolumes: null,
    Agent: null,
    Node: null,
    Operator: null,
    Quota: null,
    Plugin: null,
    Raw: rules,
  }
  if (rules === '') return p
  let body: HclBlock[]
  try {
    body = parseHcl(rules)
  } catch (e) {
    throw new Error(`Failed to parse ACL Policy: ${(e as Error).message}`)
  }
  for (const block of body) {
    if (!BLOCKS.includes(block.type)) {
      throw new Error(`Failed to parse ACL Policy: invalid key "${block.type}"`)
    }
    const level = stringAttr(block, 'policy')
    const caps = listAttr(block, 'capabilities')
    if (block.type === 'namespace') {
      const name = block.labels[0] ?? ''
      const ns = `{Name:"${name}", Policy:"${level}", Capabilities:[]string{${caps.map((c) => `"${c}"`).join(', ')}}}`
      if (!/^[a-zA-Z0-9-*]{1,128}$/.test(name)) throw new Error(`Invalid namespace name: ${ns}`)
      if (level !== '' && !(POLICY_LEVELS as readonly string[]).includes(level)) {
        throw new Error(`Invalid namespace policy: ${ns}`)
      }
      for (const c of caps) {
        if (!(NAMESPACE_CAPABILITIES as readonly string[]).includes(c)) {
          throw new Error(`Invalid namespace capability '${c}': ${ns}`)
        }
      }
      const all = [...caps, ...(level ? expandNamespacePolicy(level) : [])]
      all.push(...impliedCapabilities(all))
      p.Namespaces.push({ Name: name, Policy: level, Capabilities: all, Variables: null })
    } else if (block.type === 'operator') {
      p.Operator = { Policy: level, Capabilities: caps.length ? caps : null }
    } else if (block.type === 'agent') p.Agent = { Policy: level }
    else if (block.type === 'node') p.Node = { Policy: level }
    else if (block.type === 'quota') p.Quota = { Policy: level }
    else if (block.type === 'plugin') p.Plugin = { Policy: level }
  }
  const empty =
    p.Namespaces.length === 0 && !p.Agent && !p.Node && !p.Operator && !p.Quota && !p.Plugin
  if (empty && !body.some((b) => b.type === 'node_pool' || b.type === 'host_volume')) {
    throw new Error(`Invalid policy: ${rules}`)
  }
  return p
}

/**
 * acl.ACL for the namespace rules: the union of the policies' capabilities per
 * namespace name (exact, or glob when the name has a `*`), where `deny` clears
 * the set and stops further grants to it.
 */
export class NamespaceAcl {
  private readonly exact = new Map<string, Set<string>>()
  private readonly globs = new Map<string, Set<string>>()

  constructor(
    readonly management: boolean,
    policies: ParsedPolicy[],
  ) {
    for (const policy of policies) {
      for (const ns of policy.Namespaces) {
        const table = ns.Name.includes('*') ? this.globs : this.exact
        let set = table.get(ns.Name)
        if (!set) table.set(ns.Name, (set = new Set()))
        if (set.has('deny')) continue
        for (const c of ns.Capabilities) {
          if (c === 'deny') {
            set.clear()
            set.add('deny')
            break
          }
          set.add(c)
        }
      }
    }
  }

  /** AllowNamespaceOperation; `*` (all namespaces) passes when any namespace allows it. */
  allow(namespace: string, op: string): boolean {
    if (this.management) return true
    if (namespace === '*') {
      for (const set of [...this.exact.values(), ...this.globs.values()]) {
        if (set.has(op)) return true
      }
      return false
    }
    return this.capabilities(namespace)?.has(op) ?? false
  }

  /** AllowNsOpAnyOf. */
  allowAnyOf(namespace: string, ops: readonly string[]): boolean {
    return ops.some((op) => this.allow(namespace, op))
  }

  /** matchingNamespaceCapabilitySet: the exact name, else the glob closest to it. */
  private capabilities(namespace: string): Set<string> | undefined {
    const exact = this.exact.get(namespace)
    if (exact) return exact
    let best: { difference: number; set: Set<string> } | undefined
    // findClosestMatchingGlob: the smallest difference wins, the first of equals (radix order).
    for (const name of [...this.globs.keys()].sort()) {
      if (!globMatch(name, namespace)) continue
      const difference = namespace.length - name.length + (name.split('*').length - 1)
      if (!best || difference < best.difference) best = { difference, set: this.globs.get(name)! }
    }
    return best?.set
  }
}

/** ryanuber/go-glob Glob: `*` matches any run of characters. */
export function globMatch(pattern: string, subject: string): boolean {
  if (pattern === '*') return true
  const parts = pattern.split('*')
  if (parts.length === 1) return pattern === subject
  const first = parts[0]
  const last = parts[parts.length - 1]
  if (!subject.startsWith(first)) return false
  let at = first.length
  for (const part of parts.slice(1, -1)) {
    const i = subject.indexOf(part, at)
    if (i < 0) return false
    at = i + part.length
  }
  return subject.length - at >= last.length && subject.endsWith(last)
}

// ---- the HCL that policies are written in --------------------------------------------

interface HclBlock {
  type: string
  labels: string[]
  attrs: Map<string, string | string[]>
}

function stringAttr(b: HclBlock, name: string): string {
  const v = b.attrs.get(name)
  if (v === undefined) return ''
  if (typeof v !== 'string') throw new Error(`Failed to parse ACL Policy: ${name} must be a string`)
  return v
}

function listAttr(b: HclBlock, name: string): string[] {
  const v = b.attrs.get(name)
  if (v === undefined) return []
  if (!Array.isArray(v)) throw new Error(`Failed to parse ACL Policy: ${name} must be a list`)
  return v
}

type Token = { kind: 'word' | 'string' | 'punct'; text: string; line: number }

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let line = 1
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (c === '\n') {
      line++
      i++
    } else if (/\s/.test(c)) i++
    else if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2)
      if (end < 0) throw new Error(`At ${line}: comment not terminated`)
      line += src.slice(i, end).split('\n').length - 1
      i = end + 2
    } else if (c === '"') {
      let j = i + 1
      let text = ''
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\n') throw new Error(`At ${line}: literal not terminated`)
        if (src[j] === '\\') j++
        text += src[j]
        j++
      }
      if (j >= src.length) throw new Error(`At ${line}: literal not terminated`)
      out.push({ kind: 'string', text, line })
      i = j + 1
    } else if ('{}[]=,'.includes(c)) {
      out.push({ kind: 'punct', text: c, line })
      i++
    } else if (/[A-Za-z0-9_\-.]/.test(c)) {
      let j = i
      while (j < src.length && /[A-Za-z0-9_\-.]/.test(src[j])) j++
      out.push({ kind: 'word', text: src.slice(i, j), line })
      i = j
    } else {
      throw new Error(`At ${line}: illegal char`)
    }
  }
  return out
}

/** The top level of a policy: blocks (`type "label" { attr = value ... }`). */
function parseHcl(src: string): HclBlock[] {
  const tokens = tokenize(src)
  let i = 0
  const next = (): Token => {
    const t = tokens[i++]
    if (!t) throw new Error('unexpected end of input')
    return t
  }
  const expect = (text: string): void => {
    const t = next()
    if (t.text !== text || t.kind === 'string') {
      throw new Error(`At ${t.line}: expected ${text}, got ${JSON.stringify(t.text)}`)
    }
  }
  const value = (): string | string[] => {
    const t = next()
    if (t.kind === 'string' || (t.kind === 'word' && t.text !== '')) {
      if (t.kind === 'word' && !/^(true|false|\d+)$/.test(t.text)) {
        throw new Error(`At ${t.line}: unknown token ${t.text}`)
      }
      return t.text
    }
    if (t.text !== '[') throw new Error(`At ${t.line}: unexpected ${JSON.stringify(t.text)}`)
    const list: string[] = []
    while (tokens[i]?.text !== ']' || tokens[i]?.kind === 'string') {
      const el = next()
      if (el.kind !== 'string') throw new Error(`At ${el.line}: a list holds strings`)
      list.push(el.text)
      if (tokens[i]?.text === ',' && tokens[i]?.kind === 'punct') i++
    }
    next()
    return list
  }
  const blocks: HclBlock[] = []
  while (i < tokens.length) {
    const head = next()
    if (head.kind !== 'word') throw new Error(`At ${head.line}: expected a block name`)
    const labels: string[] = []
    while (tokens[i]?.kind === 'string') labels.push(next().text)
    expect('{')
    const attrs = new Map<string, string | string[]>()
    while (!(tokens[i]?.kind === 'punct' && tokens[i]?.text === '}')) {
      const name = next()
      if (name.kind !== 'word') throw new Error(`At ${name.line}: expected an attribute`)
      if (tokens[i]?.text === '{' || tokens[i]?.kind === 'string') {
        // A nested block (`variables { path "..." { ... } }`): skipped, not modelled.
        while (tokens[i]?.kind === 'string') i++
        expect('{')
        for (let depth = 1; depth > 0;) {
          const t = next()
          if (t.kind === 'punct' && t.text === '{') depth++
          if (t.kind === 'punct' && t.text === '}') depth--
        }
        continue
      }
      expect('=')
      attrs.set(name.text, value())
    }
    next()
    blocks.push({ type: head.text, labels, attrs })
  }
  return blocks
}
