// The mutation tooling's own logic, in-process: the e2e catalogue still fits
// src/ as it is (a mutant whose text is gone would measure nothing), and the
// figures docs/reliability.md shows are computed from Stryker's report as
// Stryker defines its score.

import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { applyEdits } from '../scripts/mutate-e2e.js'
import { figures, reexplain } from '../scripts/mutate.js'
import { EQUIVALENT } from '../scripts/mutate/equivalent.js'
import { CATALOGUE } from '../scripts/mutants/catalogue.js'
import {
  HEADING,
  readFigures,
  renderMutation,
  replaceSection,
  score,
  total,
} from '../scripts/mutation-render.js'

describe('the e2e mutant catalogue', () => {
  it('has 10 to 20 mutants with unique names, each naming test files that exist', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(10)
    expect(CATALOGUE.length).toBeLessThanOrEqual(20)
    expect(new Set(CATALOGUE.map((m) => m.name)).size).toBe(CATALOGUE.length)
    for (const m of CATALOGUE) {
      expect(m.tests.length, m.name).toBeGreaterThan(0)
      for (const t of m.tests) expect(existsSync(t), `${m.name}: ${t}`).toBe(true)
      expect(m.bundles.length, m.name).toBeGreaterThan(0)
    }
  })

  it.each(CATALOGUE.map((m) => [m.name, m] as const))(
    '%s still applies to src/ exactly once, and changes it',
    (_, m) => {
      const text = readFileSync(m.file, 'utf8')
      const mutated = applyEdits(text, m)
      expect(
        mutated,
        `${m.file} no longer has the text of ${m.name}: update the catalogue`,
      ).toBeDefined()
      expect(mutated).not.toBe(text)
    },
  )

  it('refuses an edit whose text occurs twice or not at all', () => {
    const m = { ...CATALOGUE[0]!, edits: [{ search: 'a', replace: 'b' }] }
    expect(applyEdits('a a', m)).toBeUndefined()
    expect(applyEdits('c', m)).toBeUndefined()
    expect(applyEdits('xay', m)).toBe('xby')
  })
})

describe('mutation figures', () => {
  const source = 'const a = 1\nif (a > 0) return x\n'
  const at = (line: number, start: number, end: number) => ({
    start: { line, column: start },
    end: { line, column: end },
  })
  const report = {
    files: {
      'src/b.ts': {
        source,
        mutants: [{ mutatorName: 'X', status: 'Killed', location: at(1, 1, 2) }],
      },
      'src/a.ts': {
        source,
        mutants: [
          {
            mutatorName: 'EqualityOperator',
            replacement: 'a >= 0',
            status: 'Survived',
            location: at(2, 5, 10),
          },
          {
            mutatorName: 'ConditionalExpression',
            replacement: 'true',
            status: 'NoCoverage',
            location: at(2, 5, 10),
          },
          {
            mutatorName: 'NumericLiteral',
            replacement: '0',
            status: 'Killed',
            location: at(1, 11, 12),
          },
          {
            mutatorName: 'BlockStatement',
            replacement: '{}',
            status: 'Timeout',
            location: at(1, 1, 12),
          },
          {
            mutatorName: 'StringLiteral',
            replacement: '""',
            status: 'CompileError',
            location: at(1, 1, 2),
          },
          {
            mutatorName: 'Regex',
            replacement: '/a/',
            status: 'Ignored',
            location: at(1, 1, 2),
          },
        ],
      },
    },
  }

  it('counts each status per file, sorted by file, and quotes the survivors as written', () => {
    const { files, survivors } = figures(report, [])
    expect(files.map((f) => f.file)).toEqual(['src/a.ts', 'src/b.ts'])
    expect(files[0]).toMatchObject({
      killed: 1,
      timeout: 1,
      survived: 1,
      noCoverage: 1,
      errors: 1,
      ignored: 1,
    })
    expect(survivors).toEqual([
      {
        file: 'src/a.ts',
        line: 2,
        mutator: 'EqualityOperator',
        original: 'a > 0',
        replacement: 'a >= 0',
      },
      {
        file: 'src/a.ts',
        line: 2,
        mutator: 'ConditionalExpression',
        original: 'a > 0',
        replacement: 'true',
      },
    ])
  })

  it('counts a static survivor as ignored: no test can reach it with the vitest runner', () => {
    const { files, survivors } = figures({
      files: {
        'src/c.ts': {
          source: 'const A = 1\n',
          mutants: [
            {
              mutatorName: 'StringLiteral',
              replacement: '0',
              status: 'Survived',
              static: true,
              location: at(1, 11, 12),
            },
          ],
        },
      },
    })
    expect(files[0]).toMatchObject({ survived: 0, ignored: 1 })
    expect(survivors).toEqual([])
  })

  it('scores as Stryker does: killed and timed out of all but errors; equivalents apart', () => {
    const equivalent = [
      {
        file: 'src/a.ts',
        mutator: 'EqualityOperator',
        original: 'a  >  0',
        replacement: 'a >= 0',
        why: 'a is 1',
      },
    ]
    const { files, survivors } = figures(report, equivalent)
    expect(survivors[0]!.why).toBe('a is 1')
    expect(survivors[1]!.why).toBeUndefined()
    expect(score(files[0]!)).toBe(50) // 2 detected of 4
    expect(score(files[0]!, { equivalent: true })).toBeCloseTo(66.67, 1) // of 3
    expect(score(total(files))).toBe(60) // 3 of 5
    expect(total(files).ignored).toBe(1)
  })

  it('replaces only its own section, at the end of the document', () => {
    const section = renderMutation({})
    expect(section.startsWith(`${HEADING}\n`)).toBe(true)
    const doc = '# Reliability\n\n## Load\n\ntable\n'
    const once = replaceSection(doc, section)
    expect(once).toBe(`${doc}\n${section}`)
    expect(replaceSection(once, 'new')).toBe(`${doc}\nnew`)
  })
})

describe('survivors judged equivalent', () => {
  const run = {
    commit: 'c',
    dirty: false,
    date: 'd',
    node: 'n',
    stryker: 's',
    cpus: 1,
    ms: 1,
    tested: 3,
    files: [
      {
        file: 'src/a.ts',
        killed: 1,
        timeout: 0,
        survived: 2,
        noCoverage: 0,
        errors: 0,
        equivalent: 2,
        ignored: 0,
      },
    ],
    survivors: [
      { file: 'src/a.ts', line: 3, mutator: 'M', original: 'x', replacement: 'y', why: 'old' },
      { file: 'src/a.ts', line: 9, mutator: 'M', original: 'x', replacement: 'y', why: 'old' },
    ],
  }

  it('a reason given for one line applies there only; the counts follow the reasons', () => {
    const again = reexplain(run, [
      { file: 'src/a.ts', line: 9, mutator: 'M', original: 'x', replacement: 'y', why: 'new' },
    ])
    expect(again.survivors.map((s) => s.why)).toEqual([undefined, 'new'])
    expect(again.files[0]!.equivalent).toBe(1)
    expect(again.commit).toBe('c')
  })

  it('every entry has a reason, and names a file that is mutated', () => {
    const config = readFileSync('stryker.config.mjs', 'utf8')
    for (const e of EQUIVALENT) {
      expect(e.why.length, `${e.file} ${e.original}`).toBeGreaterThan(10)
      expect(config, e.file).toContain(`'${e.file}'`)
    }
  })

  it('docs/mutation.json gives the reasons of scripts/mutate/equivalent.ts (npm run mutate -- --explain)', () => {
    const core = readFigures('.').core
    expect(core, 'docs/mutation.json has a run of npm run mutate').toBeDefined()
    expect(core, 'run npm run mutate -- --explain').toEqual(reexplain(core!))
  })
})
