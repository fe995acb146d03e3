// bench/results.json is evidence only with its verdicts computed from its own
// figures: render.ts recomputes them (bench/goals.ts) instead of trusting the
// stored ones, and the committed results name their commit.

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { goals } from '../bench/goals.js'
import { RESULTS, renderMarkdown } from '../bench/render.js'
import type { Results } from '../bench/results.js'

const stored = JSON.parse(readFileSync(RESULTS, 'utf8')) as Results

describe('bench/results.json', () => {
  it('names the commit it measured', () => {
    expect(stored.env.commit).toMatch(/^[0-9a-f]{7,}$/)
  })

  it('stores the verdicts its figures give', () => {
    expect(stored.goals).toEqual(goals(stored))
  })

  it('renders verdicts from the figures, not from the stored goals', () => {
    const p50 = stored.latency.action.latency.p50
    const tampered: Results = structuredClone(stored)
    tampered.latency.action.latency.p50 = 50 // goal: <= 3 ms
    tampered.goals = stored.goals // still says met
    const row = renderMarkdown(tampered)
      .split('\n')
      .find((l) => l.startsWith('| Reaction latency p50,'))
    expect(row).toContain('50.0 ms')
    expect(row).toMatch(/\*\*missed\*\* \|$/)
    expect(p50).toBeLessThan(50)
  })

  it('says loudly when the figures describe uncommitted code', () => {
    const dirty: Results = { ...stored, env: { ...stored.env, dirty: true } }
    expect(renderMarkdown(dirty)).toContain(
      'with uncommitted changes: these figures describe no commit',
    )
    expect(renderMarkdown({ ...stored, env: { ...stored.env, dirty: false } })).not.toContain(
      'describe no commit',
    )
  })
})
