// action.yml's inputs and outputs, and the README's inputs table, outputs table
// and CLI help, rendered from the spec (inputs.ts, outputs.ts, help.ts).
// `npm run docs` writes them (generate-docs.ts); __tests__/docs.test.ts renders
// them again and fails when a file differs. Build time only: not in dist/.

import { cliHelp } from './help.js'
import { INPUTS } from './inputs.js'
import { OUTPUTS } from './outputs.js'
import { defaultPhrase, type InputSpec, type OutputSpec } from './spec.js'

/** action.yml's description of an input: the spec's, its default and an example. */
export function actionDescription(spec: InputSpec): string {
  const byDefault = defaultPhrase(spec)
  return [
    spec.description,
    byDefault ? `Default: ${byDefault}.` : '',
    spec.example ? `Example: ${spec.example}` : '',
  ]
    .filter(Boolean)
    .join(' ')
}

/**
 * The runner fills an action.yml default in for an unset input, which would
 * hide the input's variables: inputs read from the environment have none there.
 */
export function actionDefault(spec: InputSpec): string | undefined {
  return spec.env?.length ? undefined : spec.default
}

const GENERATED =
  '# inputs and outputs: generated from src/config/ by `npm run docs`; edit them there.'

/** action.yml with its `inputs:` and `outputs:` (everything before `runs:`) rendered from the spec. */
export function renderActionYml(current: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`
  const lines = [GENERATED, 'inputs:']
  for (const spec of INPUTS as readonly InputSpec[]) {
    lines.push(`  ${spec.name}:`, `    description: ${quote(actionDescription(spec))}`)
    lines.push('    required: false')
    const value = actionDefault(spec)
    if (value !== undefined) lines.push(`    default: ${quote(value)}`)
  }
  lines.push('', 'outputs:')
  for (const o of OUTPUTS as readonly OutputSpec[]) {
    lines.push(`  ${o.name}:`, `    description: ${quote(o.description)}`)
  }
  const start = current.search(/^(# inputs and outputs: .*\n)?inputs:/m)
  const end = current.search(/^runs:/m)
  if (start < 0 || end < start) throw new Error('action.yml: no `inputs:` before `runs:`')
  return `${current.slice(0, start)}${lines.join('\n')}\n\n${current.slice(end)}`
}

/** Markdown table cells: no pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

export function inputsTable(): string {
  const rows = ['| input | default | description |', '| --- | --- | --- |']
  for (const spec of INPUTS as readonly InputSpec[]) {
    const example = spec.example ? ` Example: \`${spec.example}\`` : ''
    rows.push(
      `| \`${spec.name}\` | ${cell(defaultPhrase(spec, 'markdown') ?? '')} | ${cell(spec.description + example)} |`,
    )
  }
  return rows.join('\n')
}

export function outputsTable(): string {
  const rows = ['| output | meaning |', '| --- | --- |']
  for (const o of OUTPUTS as readonly OutputSpec[]) {
    rows.push(`| \`${o.name}\` | ${cell(o.description)} |`)
  }
  return rows.join('\n')
}

/** The README's generated parts, by the name of their markers (`<!-- inputs:start -->`). */
export const README_SECTIONS: Record<string, () => string> = {
  inputs: inputsTable,
  outputs: outputsTable,
  'cli-help': () => `\`\`\`text\n${cliHelp()}\`\`\``,
}

/** The README with every generated section rendered between its markers. */
export function renderReadme(current: string): string {
  let text = current
  for (const [name, render] of Object.entries(README_SECTIONS)) {
    const start = `<!-- ${name}:start -->`
    const end = `<!-- ${name}:end -->`
    const a = text.indexOf(start)
    const b = text.indexOf(end)
    if (a < 0 || b < a) throw new Error(`README.md: no ${start} ... ${end} markers`)
    text = `${text.slice(0, a + start.length)}\n\n${render()}\n\n${text.slice(b)}`
  }
  return text
}

/** `text` as the project's Prettier writes `path` (a devDependency: build time only). */
export async function formatted(path: string, text: string): Promise<string> {
  const prettier = await import('prettier')
  const options = (await prettier.resolveConfig(path)) ?? {}
  return prettier.format(text, { ...options, filepath: path })
}
