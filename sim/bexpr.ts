// Binding rule selectors: the part of hashicorp/go-bexpr that Nomad's binder
// evaluates over a login's mapped claims (lib/auth/binder.go
// doesSelectorMatch, over structs.ACLAuthClaims: `value.<name>` strings and
// `list.<name>` string lists). Operators: ==, !=, in, not in, contains, not
// contains, is empty, is not empty, matches, not matches; and, or, not,
// parentheses. A selector that does not parse matches nothing, as in Nomad.

export interface SelectorData {
  value: Record<string, string>
  list: Record<string, string[]>
}

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; inner: Node }
  | { kind: 'match'; op: string; path: string[]; value?: string }

/** doesSelectorMatch: an empty selector matches everything; one that fails to parse or evaluate, nothing. */
export function selectorMatches(selector: string, data: SelectorData): boolean {
  if (selector.trim() === '') return true
  try {
    return evaluate(parseSelector(selector), data)
  } catch {
    return false
  }
}

type Tok = { t: 'word' | 'str' | 'op'; v: string }

function lex(s: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < s.length) {
    const c = s[i]
    if (/\s/.test(c)) i++
    else if (c === '(' || c === ')') {
      out.push({ t: 'op', v: c })
      i++
    } else if (s.startsWith('==', i) || s.startsWith('!=', i)) {
      out.push({ t: 'op', v: s.slice(i, i + 2) })
      i += 2
    } else if (c === '"' || c === '`') {
      let j = i + 1
      let v = ''
      while (j < s.length && s[j] !== c) {
        if (c === '"' && s[j] === '\\') j++
        v += s[j++]
      }
      if (j >= s.length) throw new Error('unterminated string')
      out.push({ t: 'str', v })
      i = j + 1
    } else {
      let j = i
      while (j < s.length && /[^\s()"`=!]/.test(s[j])) j++
      if (j === i) throw new Error(`unexpected ${c}`)
      out.push({ t: 'word', v: s.slice(i, j) })
      i = j
    }
  }
  return out
}

function parseSelector(s: string): Node {
  const toks = lex(s)
  let i = 0
  const peek = (v: string): boolean => toks[i]?.t !== 'str' && toks[i]?.v === v
  const take = (v: string): boolean => (peek(v) ? (i++, true) : false)
  const or = (): Node => {
    let left = and()
    while (take('or')) left = { kind: 'or', left, right: and() }
    return left
  }
  const and = (): Node => {
    let left = not()
    while (take('and')) left = { kind: 'and', left, right: not() }
    return left
  }
  const not = (): Node => (take('not') ? { kind: 'not', inner: not() } : primary())
  const value = (): string => {
    const tok = toks[i++]
    if (!tok || tok.t === 'op') throw new Error('expected a value')
    return tok.v
  }
  const selector = (): string[] => {
    const tok = toks[i++]
    if (!tok || tok.t !== 'word') throw new Error('expected a selector')
    return tok.v.split('.')
  }
  const primary = (): Node => {
    if (take('(')) {
      const inner = or()
      if (!take(')')) throw new Error('expected )')
      return inner
    }
    // `<value> in <selector>` / `<value> not in <selector>`
    const word = (k: number, v: string): boolean => toks[k]?.t === 'word' && toks[k]?.v === v
    if (word(i + 1, 'in') || (word(i + 1, 'not') && word(i + 2, 'in'))) {
      const v = value()
      const negated = take('not')
      if (!take('in')) throw new Error('expected in')
      return { kind: 'match', op: negated ? 'not in' : 'in', path: selector(), value: v }
    }
    const path = selector()
    if (take('==')) return { kind: 'match', op: '==', path, value: value() }
    if (take('!=')) return { kind: 'match', op: '!=', path, value: value() }
    if (take('is')) {
      const negated = take('not')
      if (!take('empty')) throw new Error('expected empty')
      return { kind: 'match', op: negated ? 'is not empty' : 'is empty', path }
    }
    const negated = take('not')
    for (const op of ['contains', 'matches']) {
      if (take(op)) return { kind: 'match', op: negated ? `not ${op}` : op, path, value: value() }
    }
    throw new Error('expected an operator')
  }
  const node = or()
  if (i !== toks.length) throw new Error('trailing input')
  return node
}

function lookup(path: string[], data: SelectorData): string | string[] | undefined {
  if (path.length !== 2) throw new Error(`bad selector ${path.join('.')}`)
  const [root, key] = path
  if (root === 'value') return Object.hasOwn(data.value, key) ? data.value[key] : undefined
  if (root === 'list') return Object.hasOwn(data.list, key) ? data.list[key] : undefined
  throw new Error(`unknown selector ${root}`)
}

function evaluate(n: Node, data: SelectorData): boolean {
  switch (n.kind) {
    case 'and':
      return evaluate(n.left, data) && evaluate(n.right, data)
    case 'or':
      return evaluate(n.left, data) || evaluate(n.right, data)
    case 'not':
      return !evaluate(n.inner, data)
  }
  const got = lookup(n.path, data)
  const v = n.value ?? ''
  // A missing key: go-bexpr prefers "the selector does not exist" (only the negative forms hold).
  if (got === undefined)
    return ['!=', 'not in', 'is empty', 'not contains', 'not matches'].includes(n.op)
  const list = Array.isArray(got)
  switch (n.op) {
    case '==':
    case '!=':
      if (list) throw new Error('== on a list')
      return (got === v) === (n.op === '==')
    case 'in':
    case 'contains':
      return list ? got.includes(v) : got.includes(v)
    case 'not in':
    case 'not contains':
      return !got.includes(v)
    case 'is empty':
      return got.length === 0
    case 'is not empty':
      return got.length > 0
    case 'matches':
    case 'not matches': {
      if (list) throw new Error('matches on a list')
      return new RegExp(v).test(got) === (n.op === 'matches')
    }
  }
  throw new Error(`unknown operator ${n.op}`)
}
