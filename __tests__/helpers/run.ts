// Run the built fronts as their users do, through the one spawner
// (scripts/run-dist.ts), with a limit under vitest's own timeout: a front that
// does not exit fails its test with what it was waiting for and its last output,
// not with vitest's bare "Test timed out".

import {
  ACTION,
  CLI,
  cleanEnv,
  parseOutputFile,
  startAction as spawnAction,
  startCli as spawnCli,
  type Run,
  type SpawnOptions,
  type Started,
} from '../../scripts/run-dist.js'

export { ACTION, CLI, cleanEnv, parseOutputFile, type Run, type Started }

/** How long a front may run in a test before it is killed (vitest's testTimeout is 20 s). */
export const LIMIT_MS = 15_000

/** Start the action with these inputs (action.yml names); defaults as the runner fills them. */
export function startAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Started {
  return spawnAction(inputs, { limitMs: LIMIT_MS, ...options, env })
}

export function runAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<Run> {
  return startAction(inputs, env, options).done
}

export function startCli(
  args: string[],
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Started {
  return spawnCli(args, { limitMs: LIMIT_MS, ...options, env })
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<Run> {
  return startCli(args, env, options).done
}
