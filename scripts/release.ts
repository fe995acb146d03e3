// What the release workflow (.github/workflows/release.yml) needs to know
// before it tags: that the version is X.Y.Z, that package.json says the same,
// and what the CHANGELOG says about it (the release notes). Refuses a version
// whose CHANGELOG section is missing, empty or still "Unreleased".
//
//   node lib/scripts/release.js check 1.2.3      exit 0 when ready to release
//   node lib/scripts/release.js notes 1.2.3      the notes, Markdown, on stdout
//   node lib/scripts/release.js major 1.2.3      the major tag to move: v1

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './run-dist.js'

export function parseVersion(version: string): { major: number; tag: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version)
  if (!m) throw new Error(`version "${version}" is not X.Y.Z (no "v", no pre-release)`)
  return { major: Number(m[1]), tag: `v${version}` }
}

/**
 * The body of `## [X.Y.Z] - YYYY-MM-DD` in a Keep a Changelog file, without its
 * heading, up to the next `## ` heading.
 */
export function releaseNotes(changelog: string, version: string): string {
  const lines = changelog.split('\n')
  const escaped = version.replace(/\./g, '\\.')
  const start = lines.findIndex((l) => new RegExp(`^## \\[${escaped}\\]`).test(l))
  if (start < 0) throw new Error(`CHANGELOG.md has no "## [${version}]" section`)
  const heading = lines[start]
  if (!/ - \d{4}-\d{2}-\d{2}\s*$/.test(heading)) {
    throw new Error(`CHANGELOG.md: "${heading}" has no release date (## [${version}] - YYYY-MM-DD)`)
  }
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  const body = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim()
  if (!body) throw new Error(`CHANGELOG.md: the [${version}] section is empty`)
  return `${body}\n`
}

/** Every reason not to release `version` now; empty when ready. */
export function releaseProblems(version: string, root = ROOT): string[] {
  const problems: string[] = []
  try {
    parseVersion(version)
  } catch (err) {
    return [(err as Error).message]
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  if (pkg.version !== version) {
    problems.push(`package.json has version ${pkg.version}, not ${version}: bump it first`)
  }
  try {
    releaseNotes(readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), version)
  } catch (err) {
    problems.push((err as Error).message)
  }
  return problems
}

if (process.argv[1]?.endsWith('release.js')) {
  const [command, version = ''] = process.argv.slice(2)
  try {
    if (command === 'check') {
      const problems = releaseProblems(version)
      for (const p of problems) process.stderr.write(`::error::${p}\n`)
      process.exitCode = problems.length ? 1 : 0
    } else if (command === 'notes') {
      process.stdout.write(releaseNotes(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'), version))
    } else if (command === 'major') {
      process.stdout.write(`v${parseVersion(version).major}\n`)
    } else {
      throw new Error('usage: release.js check|notes|major X.Y.Z')
    }
  } catch (err) {
    process.stderr.write(`::error::${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
