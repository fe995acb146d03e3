// The release's checks and notes (scripts/release.ts), which the release
// workflow runs before it tags.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseVersion, releaseNotes, releaseProblems } from '../scripts/release.js'

const CHANGELOG = `# Changelog

## [Unreleased]

- Something not yet released.

## [1.2.0] - 2027-01-15

### Added

- A mode.

## [1.1.0] - Unreleased

- Not dated.

## [1.0.0] - 2026-12-01

The first.
`

describe('releaseNotes', () => {
  it("is the version's section without its heading, up to the next one", () => {
    expect(releaseNotes(CHANGELOG, '1.2.0')).toBe('### Added\n\n- A mode.\n')
    expect(releaseNotes(CHANGELOG, '1.0.0')).toBe('The first.\n')
  })

  it('refuses a missing section, an undated one, an empty one', () => {
    expect(() => releaseNotes(CHANGELOG, '2.0.0')).toThrow('has no "## [2.0.0]" section')
    expect(() => releaseNotes(CHANGELOG, '1.1.0')).toThrow('has no release date')
    expect(() =>
      releaseNotes('## [3.0.0] - 2027-02-02\n\n## [2.0.0] - 2027-01-01\nx\n', '3.0.0'),
    ).toThrow('section is empty')
  })
})

it('parseVersion: X.Y.Z only; the major tag', () => {
  expect(parseVersion('1.2.3')).toEqual({ major: 1, tag: 'v1.2.3' })
  expect(parseVersion('10.0.0').major).toBe(10)
  for (const bad of ['v1.2.3', '1.2', '1.2.3-rc.1', '']) {
    expect(() => parseVersion(bad), bad).toThrow('is not X.Y.Z')
  }
})

it('releaseProblems: package.json must say the version, the CHANGELOG must date it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'release-test-'))
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.0' }))
    writeFileSync(join(dir, 'CHANGELOG.md'), CHANGELOG)
    expect(releaseProblems('1.2.0', dir)).toEqual([])
    expect(releaseProblems('1.0.0', dir)).toEqual([
      'package.json has version 1.2.0, not 1.0.0: bump it first',
    ])
    expect(releaseProblems('v1.2.0', dir)).toEqual([
      'version "v1.2.0" is not X.Y.Z (no "v", no pre-release)',
    ])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
