// The one typed, validated shape of a step's configuration. parseSettings()
// (parse.ts) fills it from the action's inputs or the CLI's options and the
// environment; nothing after it reads an input or a variable.

import type { CheckSettings } from '../checks.js'
import type { GithubDeploymentSettings } from '../github.js'
import type { Config } from '../nomad/config.js'

export const MODES = ['promote', 'wait', 'fail', 'pause', 'resume', 'health'] as const
export type Mode = (typeof MODES)[number]

export const ON_FAILURE = ['none', 'fail', 'pause'] as const
export type OnFailure = (typeof ON_FAILURE)[number]

export const ON_UNHEALTHY_CANARY = ['fail-fast', 'wait-for-replacement'] as const
export type OnUnhealthyCanary = (typeof ON_UNHEALTHY_CANARY)[number]

export const WATCH_METHODS = ['auto', 'events', 'blocking'] as const
/** How changes are followed: Nomad's event stream, blocking queries, or the stream with a fallback. */
export type WatchMethod = (typeof WATCH_METHODS)[number]

export type Target = { deploymentId: string } | { job: string; jobVersion?: number }

/** Which allocations `health` mode marks: every placed canary of the selected groups, or IDs/prefixes. */
export type AllocSelector = { canaries: true } | { ids: string[] }

/** Sign in with a Nomad JWT auth method (auth-method) instead of a token. */
export interface LoginSettings {
  /** The auth method's name. */
  authMethod: string
  /** The `aud` to request for the workflow's OIDC token (the action front). */
  audience: string
  /** The JWT to log in with (login-token, NOMAD_LOGIN_TOKEN); absent: the action requests the workflow's. */
  token?: string
}

export interface Settings {
  /** Where Nomad is and how to talk to it: the client's own config (no token with `login`). */
  nomad: Config
  /** Log in first, and send the token Nomad returns. */
  login?: LoginSettings
  target: Target
  mode: Mode
  /** Empty: every group that has canaries. */
  groups: string[]
  timeoutMs: number
  onFailure: OnFailure
  /** What a selected canary reported unhealthy does to the step. */
  onUnhealthyCanary: OnUnhealthyCanary
  watch: WatchMethod
  healthyAllocs?: AllocSelector
  unhealthyAllocs?: AllocSelector
  waitForCompletion: boolean
  /** After the canaries pass: how long they must stay healthy (and the checks pass) before the write. */
  soakMs: number
  checks: CheckSettings
  /** Post GitHub deployment statuses (action only). */
  github?: GithubDeploymentSettings
  /** Everything up to the write, which is only logged. */
  dryRun: boolean
  /**
   * Time limit of a Nomad request that is not a blocking query; absent: the
   * client's default. From NOMAD_CANARY_GATE_REQUEST_TIMEOUT (tests of slow servers).
   */
  requestTimeoutMs?: number
  /** Every value that must never be printed: token, login token, basic-auth password, client key, GitHub token. */
  secrets: string[]
}
