// The contract generates the docs: action.yml's inputs and outputs, the
// README's tables and the CLI's --help all come from src/config/ (inputs.ts,
// outputs.ts). These fail when a file drifts from what `npm run docs` writes,
// or when the spec and the code that reads it disagree.

import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  actionDefault,
  actionDescription,
  formatted,
  renderActionYml,
  renderReadme,
} from '../src/config/docs.js'
import { cliHelp } from '../src/config/help.js'
import { INPUTS } from '../src/config/inputs.js'
import { OUTPUTS } from '../src/config/outputs.js'
import { parseSettings } from '../src/config/parse.js'
import type { InputSpec } from '../src/config/spec.js'
import type { Outcome } from '../src/gate/gate.js'
import { outputs } from '../src/report/outputs.js'
import { runCli } from './helpers/run.js'

const SPECS: readonly InputSpec[] = INPUTS
const read = (path: string) => readFileSync(path, 'utf8')
const FIX = 'run `npm run docs` and commit the result'

interface ActionMetadata {
  inputs: Record<string, { description: string; required: boolean; default?: string }>
  outputs: Record<string, { description: string }>
  runs: { using: string; main: string }
}

describe('action.yml', () => {
  const meta = parseYaml(read('action.yml')) as ActionMetadata

  it('declares the spec’s inputs, in order, with its descriptions and defaults', () => {
    expect(Object.keys(meta.inputs)).toEqual(SPECS.map((s) => s.name))
    for (const spec of SPECS) {
      const value = actionDefault(spec)
      expect(meta.inputs[spec.name], spec.name).toEqual({
        description: actionDescription(spec),
        required: false,
        ...(value === undefined ? {} : { default: value }),
      })
    }
  })

  it('declares the spec’s outputs, in order, with its descriptions', () => {
    expect(meta.outputs).toEqual(
      Object.fromEntries(OUTPUTS.map((o) => [o.name, { description: o.description }])),
    )
  })

  it('is what npm run docs writes', async () => {
    const text = read('action.yml')
    expect(text, FIX).toBe(await formatted('action.yml', renderActionYml(text)))
    expect(meta.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })
})

describe('README.md', () => {
  it('has the inputs, outputs and CLI help that npm run docs writes', async () => {
    const text = read('README.md')
    expect(text, FIX).toBe(await formatted('README.md', renderReadme(text)))
  })

  it('names every input and output', () => {
    const text = read('README.md')
    for (const { name } of [...SPECS, ...OUTPUTS]) {
      expect(text).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'))
    }
  })
})

describe('the CLI', () => {
  it('prints the generated help', async () => {
    const res = await runCli(['--help'])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe(cliHelp())
  })

  it("prints package.json's version", async () => {
    const { version } = JSON.parse(read('package.json')) as { version: string }
    const res = await runCli(['--version'])
    expect(res.stdout).toBe(`${version}\n`)
  })

  it('lists every input it shows in the help as an option of its kind', () => {
    const help = cliHelp()
    for (const spec of SPECS) {
      if (!spec.cli) continue
      const option =
        spec.kind === 'boolean' ? `--${spec.name} ` : `--${spec.name} ${spec.cli.value}`
      expect(help).toContain(option)
    }
  })
})

describe('the spec', () => {
  it('reads no variable that an action.yml default would hide', () => {
    for (const spec of SPECS) {
      if (spec.env?.length) expect(actionDefault(spec), spec.name).toBeUndefined()
    }
  })

  it('gives each choice a default among its choices', () => {
    for (const spec of SPECS.filter((s) => s.kind === 'choice')) {
      expect(spec.choices, spec.name).toContain(spec.default)
    }
  })

  it('is what parseSettings reads: every input, and nothing else', () => {
    const asked = new Set<string>()
    const input = (name: string) => {
      asked.add(name)
      return name === 'job' ? 'web' : ''
    }
    parseSettings(input, {})
    expect([...asked].sort()).toEqual(SPECS.map((s) => s.name).sort())
  })

  it('names the parser that reads each input', () => {
    for (const spec of SPECS) {
      const file = `src/config/${spec.parsedBy}`
      expect(existsSync(file), file).toBe(true)
      expect(read(file), `${spec.name} in ${file}`).toContain(`'${spec.name}'`)
    }
  })

  it('lists exactly the outputs the step sets', () => {
    const outcome = {
      ok: true,
      result: 'promoted',
      message: '',
      groups: [],
      index: 0,
      elapsedMs: 0,
      timeline: [],
      checks: [],
    } as unknown as Outcome
    // github-deployment-id is the action's own, set beside the gate's outputs.
    const set = [...Object.keys(outputs(outcome)), 'github-deployment-id'].sort()
    expect(set).toEqual(OUTPUTS.map((o) => o.name).sort())
  })
})
