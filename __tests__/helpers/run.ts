// Run the built fronts as their users do: dist/index.js as the Actions runner
// runs it (INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), and
// dist/cli/index.js as a shell does.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseOutputFile } from '../../scripts/e2e-workflow.js'

export { parseOutputFile }

export const ACTION = resolve('dist/index.js')
export const CLI = resolve('dist/cli/index.js')

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  /** Milliseconds from spawn to exit. */
  ms: number
}

/** Environment without the caller's NOMAD_* and GitHub variables, so tests start clean. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(NOMAD_|INPUT_|GITHUB_|RUNNER_)/.test(k)) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

export interface Started {
  child: ChildProcess
  done: Promise<Run>
}

/** Start the action with these inputs (action.yml names); defaults as the runner fills them. */
export function startAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Started {
  const dir = mkdtempSync(join(tmpdir(), 'gate-action-'))
  const outputFile = join(dir, 'output')
  const summaryFile = join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const defaults = {
    mode: 'promote',
    timeout: '10m',
    'on-failure': 'none',
    'wait-for-completion': 'false',
  }
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...defaults, ...inputs }))
    vars[`INPUT_${k.toUpperCase()}`] = v
  const started = start(
    ACTION,
    [],
    cleanEnv({ ...vars, ...env, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile }),
  )
  return {
    child: started.child,
    done: started.done.then((r) => {
      const run = {
        ...r,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
      }
      rmSync(dir, { recursive: true, force: true })
      return run
    }),
  }
}

export function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<Run> {
  return startAction(inputs, env).done
}

export function startCli(args: string[], env: Record<string, string> = {}): Started {
  return start(CLI, args, cleanEnv(env))
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return startCli(args, env).done
}

function start(script: string, args: string[], env: Record<string, string>): Started {
  const t0 = performance.now()
  const child = spawn(process.execPath, [script, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c) => (stdout += c))
  child.stderr!.on('data', (c) => (stderr += c))
  const done = new Promise<Run>((resolveRun) => {
    child.on('close', (code, signal) =>
      resolveRun({
        code,
        signal,
        stdout,
        stderr,
        outputs: {},
        summary: '',
        ms: performance.now() - t0,
      }),
    )
  })
  return { child, done }
}

/** Wait until `predicate` holds, checking on every tick of the event loop up to `ms`. */
export async function until(
  predicate: () => boolean,
  ms = 5_000,
  what = 'condition',
): Promise<void> {
  const end = performance.now() + ms
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
