// The one way to run the built fronts, as their users run them: dist/index.js as
// the Actions runner starts a `node24` action, dist/cli/index.js as a shell does.
// Shared by the tests (__tests__/helpers/run.ts, __tests__/reliability/), the
// bench (bench/startup.ts, bench/latency.ts), the demo and the e2e workflow
// runner (scripts/e2e-workflow.ts), so that all of them measure and test the
// same thing.
//
// The runner (actions/runner, src/Runner.Worker/Handlers/NodeScriptActionHandler.cs
// and ActionRunner.cs) starts `node dist/index.js` with:
//   - INPUT_<NAME> for every input of `with:`, and for every other input that
//     action.yml gives a default: the name upper-cased, spaces turned into
//     underscores (hyphens kept);
//   - the file commands' files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV,
//     GITHUB_PATH, GITHUB_STATE), fresh for each step, and RUNNER_TEMP;
//   - GITHUB_ACTIONS=true and the step's environment.
// Here the environment is this process's, less anything that would leak the
// caller's Nomad, GitHub or runner settings into a test, and less the variables
// that change how Node itself starts (a hosted runner sets none of them).
//
// The Node that runs dist/ is Node 24, the runner's `node24`, when
// `npm run node24` (scripts/node24.mjs) has put it in .cache/node24; otherwise
// this machine's Node, with a one-line notice.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { checkDistSources } from './dist-sources.js'

/** The repository: the nearest folder above this file (scripts/ or lib/scripts/) with action.yml. */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'action.yml')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
})()

export const ACTION = join(ROOT, 'dist/index.js')
export const CLI = join(ROOT, 'dist/cli/index.js')
/** Where scripts/node24.mjs installs Node 24. */
export const NODE24 = join(ROOT, '.cache/node24/bin/node')

// ---------------------------------------------------------------------------
// Which Node

export interface DistNode {
  /** The executable. */
  path: string
  /** Its `process.version`. */
  version: string
  /** Why it is not Node 24 from .cache/node24, when it is not. */
  notice?: string
}

let chosen: DistNode | undefined

/**
 * The Node that runs dist/: $DIST_NODE when set (a path, or `system` for this
 * process's Node), else .cache/node24/bin/node when it runs, else this process's
 * Node with a notice (printed once per process unless `quiet`).
 */
export function distNode(options: { quiet?: boolean } = {}): DistNode {
  if (chosen) return chosen
  const wanted = process.env.DIST_NODE
  const system: DistNode = { path: process.execPath, version: process.version }
  if (wanted === 'system') {
    chosen = system
  } else if (wanted) {
    const version = wanted === process.execPath ? process.version : versionOf(wanted)
    if (!version) throw new Error(`DIST_NODE=${wanted} does not run`)
    chosen = { path: wanted, version }
  } else {
    const version = existsSync(NODE24) ? versionOf(NODE24) : undefined
    chosen = version
      ? { path: NODE24, version }
      : {
          ...system,
          notice: `dist/ runs on this machine's Node ${process.version}, not on Node 24 as on the runner: \`npm run node24\` installs it`,
        }
    if (chosen.notice && !options.quiet) process.stderr.write(`notice: ${chosen.notice}\n`)
  }
  return chosen
}

function versionOf(node: string): string | undefined {
  const res = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  return res.status === 0 ? res.stdout.trim() : undefined
}

// ---------------------------------------------------------------------------
// Environment and inputs

/** Variables that change how Node starts, whatever it runs; a hosted runner sets none. */
export const NODE_STARTUP_VARS = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS']

/** The proxy variables: a test that wants a proxy sets them itself. */
const PROXY_VARS = /^(https?_proxy|no_proxy|all_proxy)$/i

/**
 * This process's environment without the caller's NOMAD_*, INPUT_*, GitHub,
 * runner and proxy variables and (unless kept) Node's start-up variables, plus `extra`.
 */
export function cleanEnv(
  extra: Record<string, string> = {},
  options: { keepNodeVars?: boolean } = {},
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(NOMAD_|INPUT_|GITHUB_|RUNNER_|ACTIONS_)/.test(k)) continue
    if (PROXY_VARS.test(k)) continue
    if (k === 'DIST_NODE') continue
    if (!options.keepNodeVars && NODE_STARTUP_VARS.includes(k)) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

export interface ActionMetadata {
  inputs: Record<string, { default?: unknown; required?: unknown; description?: string }>
  outputs: Record<string, unknown>
}

export function loadAction(root = ROOT): ActionMetadata {
  const meta = parseYaml(readFileSync(join(root, 'action.yml'), 'utf8')) as Partial<ActionMetadata>
  return { inputs: meta.inputs ?? {}, outputs: meta.outputs ?? {} }
}

/**
 * The INPUT_* variables the runner sets for a step's `with:` block: every
 * given input, and action.yml's default for every other input that has one.
 * A default that is an expression (`${{ github.token }}`) is evaluated from
 * `github` as the runner would; any other expression is refused.
 */
export function inputVariables(
  given: Record<string, string>,
  options: { github?: Record<string, string>; metadata?: ActionMetadata } = {},
): Record<string, string> {
  const meta = options.metadata ?? loadAction()
  const unknown = Object.keys(given).filter((name) => !(name in meta.inputs))
  if (unknown.length) throw new Error(`action.yml has no input ${unknown.join(', ')}`)
  const values: Record<string, string> = {}
  for (const [name, spec] of Object.entries(meta.inputs)) {
    if (spec?.default === undefined || spec.default === null) continue
    values[name] = String(spec.default).replace(/\$\{\{\s*github\.([\w-]+)\s*\}\}/g, (_, key) => {
      const v = options.github?.[key]
      if (v === undefined) throw new Error(`input ${name}: no value for github.${key}`)
      return v
    })
    if (values[name].includes('${{')) throw new Error(`input ${name}: cannot evaluate its default`)
  }
  Object.assign(values, given)
  const vars: Record<string, string> = {}
  for (const [name, v] of Object.entries(values))
    vars[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = v
  return vars
}

// ---------------------------------------------------------------------------
// Spawning

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** GITHUB_OUTPUT, parsed (the action only). */
  outputs: Record<string, string>
  /** GITHUB_STEP_SUMMARY (the action only). */
  summary: string
  /** Milliseconds from spawn to exit. */
  ms: number
  pid: number
  /** Peak resident set of the node process in KiB, when measured. */
  maxRssKb?: number
}

export interface Started {
  child: ChildProcess
  /** performance.now() just before the spawn. */
  startedAt: number
  /** What the process has written to stdout so far (with stdio 'pipe'). */
  stdout(): string
  /**
   * The finished run. Rejects when the process has not exited within `limitMs`
   * (it is killed), saying so with the end of its output.
   */
  done: Promise<Run>
}

export interface SpawnOptions {
  /** Added to the clean environment. */
  env?: Record<string, string>
  /** Keep NODE_OPTIONS and NODE_EXTRA_CA_CERTS (the bench's "inherited" rows). */
  keepNodeVars?: boolean
  cwd?: string
  nodeArgs?: string[]
  /** Kill the process and reject `done` after this long. Default: 5 minutes. */
  limitMs?: number
  /** Measure the peak RSS (with /usr/bin/time -f %M, else by polling VmHWM). */
  measure?: boolean
  /** stdout/stderr: collected ('pipe', default) or dropped. */
  stdio?: 'pipe' | 'ignore'
}

const TIME = '/usr/bin/time'
let timeWorks: boolean | undefined
function hasTime(): boolean {
  timeWorks ??= existsSync(TIME) && spawnSync(TIME, ['-f', '%M', 'true']).status === 0
  return timeWorks
}

let sourcesChecked = false
/** dist/ must be built from the sources in the tree: refuse to run a stale bundle. */
function assertFreshDist(script: string): void {
  if (sourcesChecked || !script.startsWith(join(ROOT, 'dist'))) return
  const problem = checkDistSources(ROOT)
  if (problem) throw new Error(problem)
  sourcesChecked = true
}

/** `node [nodeArgs] <args>` on the Node that runs dist/, in a clean environment. */
export function startNode(args: string[], options: SpawnOptions = {}): Started {
  if (args[0]) assertFreshDist(args[0])
  const node = distNode().path
  const limitMs = options.limitMs ?? 300_000
  const dir = options.measure ? mkdtempSync(join(tmpdir(), 'run-dist-rss-')) : undefined
  const rssFile = dir && join(dir, 'rss')
  const useTime = options.measure && hasTime()
  const nodeArgs = [...(options.nodeArgs ?? []), ...args]
  const [cmd, argv] = useTime
    ? [TIME, ['-o', rssFile!, '-f', '%M', node, ...nodeArgs]]
    : [node, nodeArgs]
  const startedAt = performance.now()
  const child = spawn(cmd, argv, {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env, { keepNodeVars: options.keepNodeVars }),
    stdio: ['ignore', options.stdio ?? 'pipe', options.stdio ?? 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c) => (stdout += c))
  child.stderr?.on('data', (c) => (stderr += c))
  // Without /usr/bin/time: poll the high-water mark while the process lives.
  let hwm = 0
  const poll =
    options.measure && !useTime
      ? setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
            if (m) hwm = Math.max(hwm, Number(m[1]))
          } catch {
            // gone
          }
        }, 20)
      : undefined
  const done = new Promise<Run>((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL')
      const tail = `${stdout}${stderr}`.trimEnd().split('\n').slice(-15).join('\n    ')
      reject(
        new Error(
          `node ${args.join(' ')} did not exit within ${limitMs} ms (killed); its last output:\n    ${tail}`,
        ),
      )
    }, limitMs)
    child.on('error', (err) => {
      clearTimeout(limit)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(limit)
      if (poll) clearInterval(poll)
      let maxRssKb: number | undefined
      if (useTime) maxRssKb = Number(readFileSync(rssFile!, 'utf8').trim().split('\n').at(-1))
      else if (options.measure) maxRssKb = hwm
      if (dir) rmSync(dir, { recursive: true, force: true })
      resolve({
        code,
        signal,
        stdout,
        stderr,
        outputs: {},
        summary: '',
        ms: performance.now() - startedAt,
        pid: child.pid ?? 0,
        maxRssKb,
      })
    })
  })
  return { child, startedAt, done, stdout: () => stdout }
}

export interface ActionOptions extends SpawnOptions {
  /** Values for `${{ github.* }}` in action.yml's defaults. */
  github?: Record<string, string>
  metadata?: ActionMetadata
  /** Run this script instead of dist/index.js, with the same environment (the bench's baseline). */
  script?: string
}

const FILE_COMMANDS = [
  'GITHUB_OUTPUT',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_STATE',
]

/** dist/index.js with these inputs (action.yml names), as the runner starts it. */
export function startAction(inputs: Record<string, string>, options: ActionOptions = {}): Started {
  const vars = inputVariables(inputs, options)
  const dir = mkdtempSync(join(tmpdir(), 'run-dist-'))
  const files: Record<string, string> = {}
  for (const name of FILE_COMMANDS) {
    files[name] = join(dir, name.toLowerCase())
    writeFileSync(files[name], '')
  }
  let started: Started
  try {
    started = startNode([options.script ?? ACTION], {
      ...options,
      env: { GITHUB_ACTIONS: 'true', RUNNER_TEMP: dir, ...options.env, ...vars, ...files },
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const read = (name: string) => {
    try {
      return readFileSync(files[name], 'utf8')
    } catch {
      return ''
    }
  }
  return {
    ...started,
    done: started.done
      .then((run) => ({
        ...run,
        outputs: parseOutputFile(read('GITHUB_OUTPUT')),
        summary: read('GITHUB_STEP_SUMMARY'),
      }))
      .finally(() => rmSync(dir, { recursive: true, force: true })),
  }
}

export function runAction(inputs: Record<string, string>, options: ActionOptions = {}) {
  return startAction(inputs, options).done
}

/** dist/cli/index.js with these arguments, as a shell starts it. */
export function startCli(args: string[], options: SpawnOptions = {}): Started {
  return startNode([CLI, ...args], options)
}

export function runCli(args: string[], options: SpawnOptions = {}) {
  return startCli(args, options).done
}

/** GITHUB_OUTPUT: `name<<DELIMITER` blocks (what @actions/core writes) or `name=value` lines. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const block = /^([^=<]+)<<(.+)$/.exec(lines[i])
    if (block) {
      const [, name, delimiter] = block
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i])
      out[name] = value.join('\n')
      continue
    }
    const line = /^([^=]+)=(.*)$/.exec(lines[i])
    if (line) out[line[1]] = line[2]
  }
  return out
}
