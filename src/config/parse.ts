// parseSettings: the action's inputs or the CLI's options, and the environment,
// into one validated Settings, by composing the parsers of each concern. The
// rules that tie inputs together live here or in the parser of their concern;
// every check runs before the first request.

import { parseDuration } from '../duration.js'
import { parseAllocs } from './allocs.js'
import { parseGithub } from './github.js'
import { parseLogin } from './login.js'
import { parseNomadConfig } from './nomad.js'
import { parseProxies } from './proxy.js'
import { MODES, ON_FAILURE, ON_UNHEALTHY_CANARY, WATCH_METHODS, type Settings } from './settings.js'
import { parseSoak } from './soak.js'
import { parseTarget } from './target.js'
import {
  SecretList,
  fail,
  oneOf,
  parseBoolean,
  parseDurationValue,
  readInputs,
  splitList,
  type Env,
} from './values.js'

export { InputError } from './values.js'

export interface ParseOptions {
  /**
   * Told each secret (token, password, key) as soon as it is read, before any
   * later input can fail: the action masks it there.
   */
  onSecret?: (secret: string) => void
}

/**
 * Inputs by their action.yml names ('' when unset) and the environment
 * (NOMAD_*, GITHUB_*) into Settings. Throws an InputError at the first bad
 * value; reads only the PEM files the inputs name.
 */
export function parseSettings(
  input: (name: string) => string,
  env: Env,
  options: ParseOptions = {},
): Settings {
  const secrets = new SecretList(options.onSecret)
  const inputs = readInputs(input, env)

  // HTTPS_PROXY, HTTP_PROXY, NO_PROXY: for Nomad and the soak's checks (GitHub's
  // client, @actions/github, reads them itself, by the same rules).
  const proxy = parseProxies(env, secrets)
  const login = parseLogin(inputs, secrets)
  const nomad = parseNomadConfig(inputs, env, secrets)
  if (proxy) nomad.proxy = proxy
  const target = parseTarget(inputs)
  const mode = oneOf(inputs.withDefault('mode'), MODES)
  const groupsValue = inputs.get('groups')
  const groups = groupsValue ? splitList(groupsValue, 'task group names') : []
  const timeoutMs = parseDurationValue(
    inputs.withDefault('timeout'),
    'must be a positive duration such as 90s, 10m or 1h30m',
  )
  const onFailure = oneOf(inputs.withDefault('on-failure'), ON_FAILURE)
  const onUnhealthyCanary = oneOf(inputs.withDefault('on-unhealthy-canary'), ON_UNHEALTHY_CANARY)
  const watch = oneOf(inputs.withDefault('watch'), WATCH_METHODS)
  const allocs = parseAllocs(inputs, mode)

  const wait = inputs.withDefault('wait-for-completion')
  const waitForCompletion = parseBoolean(wait)
  if (waitForCompletion && mode !== 'promote') {
    fail(wait, `only applies to mode 'promote' (mode is '${mode}')`)
  }
  const { soakMs, checks } = parseSoak(inputs, mode, timeoutMs)
  if (proxy) checks.proxy = proxy
  const github = parseGithub(inputs, env, secrets)
  const dryRun = parseBoolean(inputs.withDefault('dry-run'))
  const requestTimeoutMs = requestTimeoutFromEnv(env)

  const settings: Settings = {
    nomad,
    target,
    mode,
    groups,
    timeoutMs,
    onFailure,
    onUnhealthyCanary,
    watch,
    ...allocs,
    waitForCompletion,
    soakMs,
    checks,
    dryRun,
    secrets: secrets.values,
  }
  if (login) settings.login = login
  if (github) settings.github = github
  if (requestTimeoutMs !== undefined) settings.requestTimeoutMs = requestTimeoutMs
  return settings
}

/**
 * NOMAD_CANARY_GATE_REQUEST_TIMEOUT: the time limit of a request that is not a
 * blocking query (default 30s). Undocumented; it exists so that tests of a slow
 * server do not take 30 seconds each. Not an input, so a plain Error.
 */
function requestTimeoutFromEnv(env: Env): number | undefined {
  const raw = env.NOMAD_CANARY_GATE_REQUEST_TIMEOUT
  if (!raw) return undefined
  const ms = parseDuration(raw)
  if (!(ms > 0)) {
    throw new Error(`NOMAD_CANARY_GATE_REQUEST_TIMEOUT must be a positive duration (got "${raw}")`)
  }
  return ms
}

/**
 * NOMAD_CANARY_GATE_DEBUG=1 (or true): the CLI's --debug, for a pipeline where
 * adding an option is harder than setting a variable.
 */
export function debugFromEnv(env: Env): boolean {
  return /^(1|true|yes)$/i.test(env.NOMAD_CANARY_GATE_DEBUG?.trim() ?? '')
}
