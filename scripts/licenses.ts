// The licenses of what dist/ ships. Each bundle's licenses.txt (written by
// scripts/build-dist.ts from the bundle's module list) must name only licenses
// of the allow-list, each with its text; so must every production dependency in
// the lockfile, so that a new dependency under another license is caught before
// it is bundled. Run by __tests__/licenses.test.ts (npm test, CI), or alone:
//   node lib/scripts/licenses.js

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NONE_BUNDLED } from './build-dist.js'
import { ROOT } from './run-dist.js'

/** Permissive licenses that ask only for the notice, which licenses.txt carries. */
export const ALLOWED = ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD']

export const BUNDLE_LICENSES = ['dist/licenses.txt', 'dist/cli/licenses.txt']

export interface Entry {
  name: string
  version: string
  license: string
  text: string
}

/** licenses.txt: `name version`, license, text; entries separated by a blank line before the next `name version`. */
export function parseLicenses(text: string): Entry[] {
  const entries: Entry[] = []
  const heads = [...text.matchAll(/^((?:@[^\s/]+\/)?[^\s/@]+) (\d+\.\d+\.\d+\S*)\n([^\n]+)\n/gm)]
  heads.forEach((m, i) => {
    const end = i + 1 < heads.length ? heads[i + 1].index : text.length
    const body = text.slice(m.index + m[0].length, end).trim()
    entries.push({ name: m[1], version: m[2], license: m[3].trim(), text: body })
  })
  return entries
}

/**
 * What is wrong with a bundle's licenses, one line each; empty when nothing is.
 * No entry is right only when the file says that nothing is bundled (`text`).
 */
export function licenseProblems(entries: Entry[], where: string, text?: string): string[] {
  const problems: string[] = []
  if (entries.length === 0 && text?.trim() !== NONE_BUNDLED)
    problems.push(`${where}: no packages listed`)
  for (const e of entries) {
    const id = `${where}: ${e.name} ${e.version}`
    if (!ALLOWED.includes(e.license))
      problems.push(`${id} is under ${e.license}, not one of ${ALLOWED.join(', ')}`)
    if (!e.text || e.text === '(no license file in the package)')
      problems.push(`${id} ships no license text`)
  }
  return problems
}

/** The production dependencies of the lockfile (what a bundle can contain), with their licenses. */
export function productionPackages(
  root = ROOT,
): Array<{ path: string; version: string; license?: string }> {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; license?: string; dev?: boolean }>
  }
  return Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.dev)
    .map(([path, p]) => ({ path, version: p.version ?? '', license: p.license }))
}

export function checkAll(root = ROOT): string[] {
  const problems: string[] = []
  for (const file of BUNDLE_LICENSES) {
    const text = readFileSync(join(root, file), 'utf8')
    problems.push(...licenseProblems(parseLicenses(text), file, text))
  }
  for (const p of productionPackages(root)) {
    if (!p.license || !ALLOWED.includes(p.license))
      problems.push(
        `package-lock.json: ${p.path} ${p.version} is under ${p.license ?? 'no license'}`,
      )
  }
  return problems
}

if (process.argv[1]?.endsWith('licenses.js')) {
  const problems = checkAll()
  for (const p of problems) process.stderr.write(`${p}\n`)
  process.stdout.write(
    problems.length ? `${problems.length} license problems\n` : 'licenses: all allowed\n',
  )
  process.exitCode = problems.length ? 1 : 0
}
