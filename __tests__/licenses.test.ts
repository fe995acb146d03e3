// What dist/ bundles is shipped under its licenses: every bundle carries a
// licenses.txt listing each package in it, each under an allowed license with
// its text (scripts/licenses.ts); so does every production dependency.

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  ALLOWED,
  BUNDLE_LICENSES,
  checkAll,
  licenseProblems,
  parseLicenses,
  productionPackages,
} from '../scripts/licenses.js'
import { NONE_BUNDLED } from '../scripts/build-dist.js'

describe.each(BUNDLE_LICENSES)('%s', (file) => {
  const text = readFileSync(file, 'utf8')
  const entries = parseLicenses(text)
  const prod = productionPackages()

  it('lists the bundled packages, each a production dependency at its locked version', () => {
    if (file === 'dist/cli/licenses.txt') {
      // The CLI is node: modules and this repository's code only (net/http.ts, not undici).
      expect(entries).toEqual([])
      expect(text).toBe(`${NONE_BUNDLED}\n`)
    } else {
      expect(entries.map((e) => e.name)).toContain('@actions/core')
    }
    for (const e of entries) {
      const locked = prod.filter((p) => p.path.endsWith(`node_modules/${e.name}`))
      expect(
        locked.map((p) => p.version),
        `${e.name} in package-lock.json`,
      ).toContain(e.version)
    }
  })

  it('has only allowed licenses, each with its text', () => {
    expect(licenseProblems(entries, file, text)).toEqual([])
    for (const e of entries) expect(e.text.length, `${e.name}: license text`).toBeGreaterThan(100)
  })
})

it('the action bundle lists what it bundles: @actions/core and the GitHub client', () => {
  const names = parseLicenses(readFileSync('dist/licenses.txt', 'utf8')).map((e) => e.name)
  expect(names).toEqual(
    expect.arrayContaining(['@actions/core', '@actions/github', '@octokit/core']),
  )
})

it('every production dependency has an allowed license', () => {
  expect(checkAll()).toEqual([])
  expect(productionPackages().length).toBeGreaterThan(3)
})

it('fails on a license outside the allow-list, and on a missing text', () => {
  const text = [
    'left-pad 1.3.0\nWTFPL\nDo what you want.\n',
    'gpl-thing 2.0.0\nGPL-3.0-only\nGNU GENERAL PUBLIC LICENSE ...\n',
    'fine 1.0.0\nMIT\n(no license file in the package)\n',
  ].join('\n')
  const entries = parseLicenses(text)
  expect(entries.map((e) => e.name)).toEqual(['left-pad', 'gpl-thing', 'fine'])
  expect(licenseProblems(entries, 'x')).toEqual([
    `x: left-pad 1.3.0 is under WTFPL, not one of ${ALLOWED.join(', ')}`,
    `x: gpl-thing 2.0.0 is under GPL-3.0-only, not one of ${ALLOWED.join(', ')}`,
    'x: fine 1.0.0 ships no license text',
  ])
  expect(licenseProblems([], 'x', '')).toEqual(['x: no packages listed'])
  expect(licenseProblems([], 'x', `${NONE_BUNDLED}\n`)).toEqual([])
})
