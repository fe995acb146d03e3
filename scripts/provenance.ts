// Which commit a report or a benchmark describes. Figures are evidence only for
// the code they were measured on: `npm run bench` and `npm run reliability:report`
// record the commit, and refuse a work tree with uncommitted changes (the files
// they write themselves aside) unless told to mark the results as such.

import { execFileSync } from 'node:child_process'

export interface Provenance {
  /** `git rev-parse --short HEAD`. */
  commit: string
  /** Paths with uncommitted changes, untracked files included; empty when clean. */
  dirty: string[]
}

function git(root: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** The commit and the uncommitted changes outside `outputs`; undefined outside a git work tree. */
export function provenance(root: string, outputs: readonly string[] = []): Provenance | undefined {
  let commit: string
  let status: string
  try {
    commit = git(root, ['rev-parse', '--short', 'HEAD']).trim()
    status = git(root, ['status', '--porcelain', '--untracked-files=all'])
  } catch {
    return undefined
  }
  const dirty = status
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3).replace(/^.* -> /, ''))
    .filter((path) => !outputs.includes(path))
  return { commit, dirty }
}

/**
 * The provenance to record, or an error saying why the run must not count:
 * no git, or uncommitted changes without `allowDirty`.
 */
export function requireCommitted(
  root: string,
  what: string,
  options: { outputs?: readonly string[]; allowDirty?: boolean } = {},
): Provenance {
  const p = provenance(root, options.outputs)
  if (!p) throw new Error(`${what}: not in a git work tree, so the results could not name a commit`)
  if (p.dirty.length > 0 && !options.allowDirty) {
    const list = p.dirty.slice(0, 10).join(', ') + (p.dirty.length > 10 ? ', ...' : '')
    throw new Error(
      `${what}: the work tree has uncommitted changes (${list}), so the results would describe no commit. ` +
        'Commit them first, or pass --allow-dirty to mark the results as made from uncommitted code.',
    )
  }
  return p
}
