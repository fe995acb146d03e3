// What dist/ was built from: a SHA-256 over every input of the build (src/,
// the locked production packages, compiler and bundler, the build's own script
// and configuration), written next to the bundles by scripts/build-dist.ts and
// compared before anything runs them.
// Comparing content, not modification times: a checkout, a merge or a `git
// stash` sets times at will, and a stale bundle tests old code in silence.
//
// It proves the bundles were built from these sources by this build, not that
// nobody edited them by hand afterwards: check-dist (a clean rebuild compared
// with the committed dist/) does that, in CI.

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

export const RECORD = 'dist/sources.sha256'

/** The files the bundles depend on besides node_modules (which the lockfile stands for). */
function inputs(root: string): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else files.push(p.split(sep).join('/'))
    }
  }
  walk('src')
  files.push('tsconfig.json', 'scripts/build-dist.ts')
  return files.sort()
}

/**
 * Of the lockfile, what can reach a bundle: the production packages, and the
 * compiler and bundler. A devDependency bump (a linter, the test runner) does
 * not make dist/ stale.
 */
function lockedInputs(root: string): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; integrity?: string; dev?: boolean }>
  }
  const builders = ['node_modules/@vercel/ncc', 'node_modules/typescript']
  const out: Record<string, string> = {}
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || (p.dev && !builders.includes(path))) continue
    out[path] = `${p.version ?? ''} ${p.integrity ?? ''}`
  }
  return out
}

/**
 * The hash of the build's inputs. Text is hashed with LF line ends (a Windows
 * checkout converts them), and of package.json only what the bundles depend on:
 * a version bump must not call for a rebuild.
 */
export function sourcesHash(root: string): string {
  const hash = createHash('sha256')
  for (const file of inputs(root)) {
    hash.update(`${file}\0`)
    hash.update(readFileSync(join(root, file), 'utf8').replace(/\r\n/g, '\n'))
    hash.update('\0')
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >
  const relevant = {
    type: pkg.type,
    dependencies: pkg.dependencies,
    overrides: pkg.overrides,
    build: (pkg.scripts as Record<string, string> | undefined)?.['build:dist'],
  }
  hash.update(`package.json\0${JSON.stringify(relevant)}\0`)
  hash.update(`package-lock.json\0${JSON.stringify(lockedInputs(root))}`)
  return hash.digest('hex')
}

export function writeDistSources(root: string): void {
  writeFileSync(
    join(root, RECORD),
    `${sourcesHash(root)}  src/ tsconfig.json scripts/build-dist.ts package.json package-lock.json (production, ncc, typescript)\n`,
  )
}

/** Undefined when dist/ was built from the sources in the tree; else what is wrong and what to do. */
export function checkDistSources(root: string): string | undefined {
  const record = join(root, RECORD)
  const where = relative(process.cwd(), join(root, 'dist')) || 'dist'
  if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(root, 'dist/cli/index.js'))) {
    return `${where}/ has no bundles: run npm run build`
  }
  if (!existsSync(record)) {
    return `${where}/ has no ${RECORD.slice(5)}, so it cannot be told apart from a stale build: run npm run build`
  }
  const recorded = readFileSync(record, 'utf8').split(/\s/)[0]
  if (recorded !== sourcesHash(root)) {
    return `${where}/ was built from other sources than src/ (or the locked packages, or the build) in this tree, so its tests would test old code: run npm run build`
  }
  return undefined
}
