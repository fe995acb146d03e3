// The catalogue behind README.md's troubleshooting table: for each row, how
// to make the gate print its line (dist/index.js against the simulator or a
// test server), which line to quote, and the hand-written "what it means" and
// "what to do". __tests__/docs/troubleshooting.test.ts runs every case and
// renders the table (scripts/troubleshooting-render.ts); a row's order here is
// its order in the README.

import { OidcIssuer, githubAuthMethod } from '../../sim/oidc.js'
import { runScenario } from '../../sim/scenarios.js'
import type { AclOptions, Simulator, SimulatorOptions } from '../../sim/simulator.js'
import {
  Lab,
  TOKEN,
  closedPort,
  healthy,
  holding,
  rollout,
  runDist,
  startDist,
  type DistRun,
  type Rollout,
} from '../reliability/helpers.js'
import type { Pki } from '../reliability/pki.js'

export interface CaseSetup {
  lab: Lab
  /** Present when openssl is (cases with `needs: 'openssl'` run only then). */
  pki?: Pki
}

export interface TroubleshootingCase {
  key: string
  /** Runs dist/index.js against what it starts (stopped with the test, through `lab`). */
  run: (setup: CaseSetup) => Promise<DistRun>
  /**
   * The line to quote: the `::error::` annotation, a `::warning::` annotation
   * or a plain log line, the first of its kind that matches.
   */
  quote: { from: 'error' | 'warning' | 'log'; match: RegExp }
  /** The step's `result` output (shown in the table when the line is the error). */
  result: string
  /** After a warning: when it comes; after a log line: what kind of line it is. */
  note?: string
  /** Other lines of the log that "what it means" quotes. */
  alsoLogs?: RegExp[]
  means: string
  todo: string
  needs?: 'openssl'
}

/** Every simulator of the catalogue: IDs from a seed, the same on every run (sim/ids.ts). */
function sim(lab: Lab, options: SimulatorOptions = {}): Promise<Simulator> {
  return lab.sim({ seed: 12, ...options })
}

/** Namespace `prod` next to `default`, as most real clusters gate outside `default`. */
const PROD = { namespaces: ['default', 'prod'] }

/** Token "ci" (TOKEN), whose one policy `read-<namespace>` reads that namespace. */
function readOnly(namespace: string): AclOptions {
  const policy = `read-${namespace}`
  return {
    policies: { [policy]: `namespace "${namespace}" { policy = "read" }` },
    tokens: { [TOKEN]: { Policies: [policy], Name: 'ci' } },
  }
}

/** Job `web` in namespace `prod`, its canaries all healthy; the token may read only `readable`. */
async function prodGate(lab: Lab, readable: string): Promise<DistRun> {
  const s = await sim(lab, { ...PROD, acl: readOnly(readable) })
  runScenario(s, 'healthy', { namespace: 'prod' })
  return runDist({ address: s.address, token: TOKEN, job: 'web', namespace: 'prod' })
}

/** Job `web` version 1 deploying: `web` 1/2 healthy (the other canary unhealthy if asked), `api` 1/1. */
async function halfHealthy(
  lab: Lab,
  options: { unhealthy?: boolean } = {},
): Promise<{ s: Simulator; r: Rollout }> {
  const s = await sim(lab)
  const r = rollout(s)
  healthy(s, [r.web[0], r.api[0]])
  if (options.unhealthy) s.setAllocHealth(r.web[1], false)
  return { s, r }
}

/** A JWT auth method `github` for GitHub's issuer, bound to these audiences. */
function jwtAcl(i: OidcIssuer, audiences: string[]): AclOptions {
  return {
    policies: { deploy: 'namespace "default" { capabilities = ["read-job", "submit-job"] }' },
    authMethods: [
      githubAuthMethod(i, { Config: { BoundAudiences: audiences, SigningAlgs: ['RS256'] } }),
    ],
    bindingRules: [{ AuthMethod: 'github', BindType: 'policy', BindName: 'deploy' }],
  }
}

/** How long a run that fails only after the first-contact window (8 s) may take here. */
const SLOW = { limitMs: 25_000 }

export const CASES: readonly TroubleshootingCase[] = [
  {
    key: 'read refused',
    run: ({ lab }) => prodGate(lab, 'default'),
    quote: {
      from: 'error',
      match: /HTTP 403: Permission denied: to read, the token needs read-job/,
    },
    result: 'error',
    means: 'the token cannot read jobs in that namespace, or it is missing or expired',
    todo: "grant the [policy above](#the-tokens-acl-policy) on the job's namespace; check `namespace`",
  },
  {
    key: 'write refused',
    run: ({ lab }) => prodGate(lab, 'prod'),
    quote: { from: 'error', match: /HTTP 403: Permission denied: to promote, the token needs/ },
    result: 'error',
    means: 'the token can read but not send this write',
    todo: 'grant one of the capabilities it names on that namespace',
  },
  {
    key: 'write refused, warned at the start',
    run: ({ lab }) => prodGate(lab, 'prod'),
    quote: { from: 'warning', match: /evidently cannot promote/ },
    result: 'error',
    note: 'at the start',
    means: "the token's policies grant none of these; the gate waits anyway",
    todo: 'as above, before the wait ends in a 403',
  },
  {
    key: 'job not found',
    run: async ({ lab }) => {
      const s = await sim(lab, PROD)
      return runDist({ address: s.address, job: 'web', namespace: 'prod' })
    },
    quote: { from: 'error', match: /Job "web" not found in namespace "prod"/ },
    result: 'error',
    means: 'the target is not there, in that namespace',
    todo: "check `job` and `namespace` (a job's namespace is not `default` by itself)",
  },
  {
    key: 'deployment ID not found',
    run: async ({ lab }) => {
      const s = await sim(lab, PROD)
      return runDist({ address: s.address, 'deployment-id': '5e7f2a1c', namespace: 'prod' })
    },
    quote: { from: 'error', match: /No deployment ID starts with "5e7f2a1c"/ },
    result: 'error',
    means: 'the target is not there, in that namespace',
    todo: 'check `deployment-id` and `namespace`',
  },
  {
    key: 'no deployment',
    run: async ({ lab }) => {
      const s = await sim(lab)
      // An empty update strategy (max_parallel = 0): the evaluation places allocations, no deployment.
      s.submitJob({
        id: 'web',
        groups: [{ name: 'web', count: 3, canaries: 0, update: null }],
        spec: 'v0',
      })
      return runDist({ address: s.address, job: 'web', timeout: '10s' })
    },
    quote: { from: 'error', match: /will not get a deployment: its evaluation/ },
    result: 'error',
    means: 'the job exists, but Nomad made no deployment of its version',
    todo: 'give its group an `update` block with `canary` (and `max_parallel` above 0)',
  },
  {
    key: 'no canaries',
    run: async ({ lab }) => {
      const s = await sim(lab)
      s.registerJob({
        id: 'web',
        groups: [{ name: 'web', count: 3, canaries: 0 }],
        spec: 'v0',
        stable: true,
      })
      s.rollout('web', { spec: 'v1' })
      return runDist({ address: s.address, job: 'web' })
    },
    quote: { from: 'error', match: /has no canaries to gate in any group/ },
    result: 'error',
    means: 'the version rolled out without canaries',
    todo: 'set `canary` in the update block; gate only groups that have some',
  },
  {
    key: 'timed out',
    run: async ({ lab }) => {
      const { s } = await halfHealthy(lab)
      return runDist({ address: s.address, job: 'web', timeout: '2s' })
    },
    quote: { from: 'error', match: /Timed out after 2s: / },
    result: 'timed-out',
    means: 'the canaries were not all healthy in time',
    todo: "look at the canaries' health checks; raise `timeout`; with `on-failure: fail` Nomad reverts",
  },
  {
    key: 'unhealthy canary',
    run: async ({ lab }) => {
      const { s } = await halfHealthy(lab, { unhealthy: true })
      return runDist({ address: s.address, job: 'web' })
    },
    quote: { from: 'error', match: /Canary [0-9a-f]{8} reported unhealthy: / },
    result: 'unhealthy',
    means: 'a canary of the new version failed its health checks',
    todo: 'the new version is bad: `on-failure: fail` fails the deployment (and auto-reverts)',
  },
  {
    key: 'superseded',
    run: async ({ lab }) => {
      const s = await sim(lab)
      rollout(s)
      const run = startDist({ address: s.address, job: 'web', 'job-version': '1' })
      await holding(s)
      s.rollout('web', { spec: 'v2' })
      return run.done
    },
    quote: { from: 'error', match: /is cancelled \(superseded by a newer deployment of the job\)/ },
    result: 'deployment-failed',
    means: 'someone deployed a newer version while this one was gated',
    todo: 'nothing was promoted; gate the newer deployment (pin it with `job-version`)',
  },
  {
    key: 'newer version',
    run: async ({ lab }) => {
      const s = await sim(lab)
      rollout(s)
      return runDist({ address: s.address, job: 'web', 'job-version': '0' })
    },
    quote: { from: 'error', match: /newer than job-version 0: refusing to gate another version/ },
    result: 'deployment-failed',
    means: 'the version you tested is not the latest any more',
    todo: 'as above',
  },
  {
    key: 'no deployment of the current version',
    run: async ({ lab }) => {
      const s = await sim(lab)
      // Version 0 deployed and promoted; version 1 registered, its deployment not created yet.
      s.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }], spec: 'v0' })
      const d0 = s.startDeployment('web')
      healthy(s, s.placeCanaries(d0, 'web'))
      s.apiPromote(d0, true, [])
      s.completeDeployment(d0)
      s.registerJob({ id: 'web', groups: [{ name: 'web', count: 3, canaries: 1 }], spec: 'v1' })
      return runDist({ address: s.address, job: 'web', timeout: '2s' })
    },
    quote: {
      from: 'error',
      match: /Timed out waiting for job "web" version 1 to get a deployment/,
    },
    result: 'timed-out',
    alsoLogs: [
      /\] Waiting for job "web" version 1 to get a deployment \(latest: version 0, successful\)$/,
    ],
    means:
      'with `job` and no `job-version`, the gate waits for the deployment of the job\'s current version (it never passes on the previous one); none came in time (log: `Waiting for job "web" version 1 to get a deployment (latest: version 0, successful)`)',
    todo: 'check that the version has an `update` block with `canary`, and that its evaluation placed allocations (`nomad job status`); raise `timeout`',
  },
  {
    key: 'waiting for a replacement',
    run: async ({ lab }) => {
      const { s } = await halfHealthy(lab, { unhealthy: true })
      return runDist({
        address: s.address,
        job: 'web',
        'on-unhealthy-canary': 'wait-for-replacement',
        timeout: '2s',
      })
    },
    quote: { from: 'log', match: /reported unhealthy; waiting for Nomad to replace it: / },
    result: 'timed-out',
    note: 'a progress line, not a failure',
    means:
      '`on-unhealthy-canary: wait-for-replacement`: the gate keeps waiting while Nomad reschedules the canary, and passes on the replacement',
    todo: 'nothing; `fail-fast` (the default) ends the step at once instead',
  },
  {
    key: 'connection refused',
    run: async () =>
      runDist({ address: `http://127.0.0.1:${await closedPort()}`, job: 'web' }, {}, SLOW),
    quote: { from: 'error', match: /cannot connect to Nomad at .* \(connection refused\)/ },
    result: 'error',
    means:
      "nothing listens there, or a firewall; retried for at most 8 s before Nomad's first answer, until the deadline after it",
    todo: 'check `address` and that the runner reaches Nomad',
  },
  {
    key: 'https to plain HTTP',
    needs: 'openssl',
    run: async ({ lab, pki }) => {
      const s = await sim(lab)
      const address = s.address.replace('http:', 'https:')
      return runDist({ address, job: 'web', 'ca-cert': pki!.ca.cert })
    },
    quote: { from: 'error', match: /answered in plain HTTP, not TLS: use http:/ },
    result: 'error',
    means: 'the agent serves plain HTTP',
    todo: 'fix the scheme in `address`',
  },
  {
    key: 'http to TLS',
    needs: 'openssl',
    run: async ({ lab, pki }) => {
      const s = await sim(lab, { tls: { key: pki!.server.key, cert: pki!.server.cert } })
      return runDist({ address: s.address.replace('https:', 'http:'), job: 'web' })
    },
    quote: { from: 'error', match: /answered that it serves HTTPS: use https:/ },
    result: 'error',
    means: 'the agent serves TLS',
    todo: 'use `https://`, and `ca-cert` for its CA',
  },
  {
    key: 'no connection',
    run: async ({ lab }) =>
      runDist({ address: `https://127.0.0.1:${await lab.silentPort()}`, job: 'web' }, {}, SLOW),
    quote: { from: 'error', match: /no connection to Nomad at .* within 5s/ },
    result: 'error',
    means: 'a firewall drops the packets, or only a proxy reaches Nomad',
    todo: 'check the port; set `HTTPS_PROXY` (see [Networks and proxies](#networks-and-proxies))',
  },
  {
    key: 'retries',
    run: async ({ lab }) => {
      const { s, r } = await halfHealthy(lab)
      // The faults hit blocking queries' reads: follow with those, not the event stream.
      const run = startDist({ address: s.address, 'deployment-id': r.id, watch: 'blocking' })
      await holding(s)
      const path = `/v1/deployment/allocations/${r.id}`
      s.injectFault({ method: 'GET', path, kind: 'reset', count: 2 })
      s.injectFault({ method: 'GET', path, kind: 'status', status: 500, body: 'No cluster leader' })
      healthy(s, [r.web[1]])
      return run.done
    },
    quote: { from: 'warning', match: /requests were retried: / },
    result: 'promoted',
    means: 'the step recovered from these; it passed or failed on its own merits',
    todo: 'nothing, unless it repeats: re-run with debug logging to see each one',
  },
  {
    key: 'untrusted certificate',
    needs: 'openssl',
    run: async ({ lab, pki }) => {
      const s = await sim(lab, { tls: { key: pki!.self.key, cert: pki!.self.cert } })
      return runDist({ address: s.address, job: 'web' })
    },
    quote: { from: 'error', match: /TLS with .* failed: .*self[- ]signed/ },
    result: 'error',
    means: "Nomad's certificate is not signed by a CA the gate knows",
    todo: 'set `ca-cert` (and `tls-server-name`, e.g. `server.global.nomad`); `client-cert`/`client-key` if Nomad requires mTLS',
  },
  {
    key: 'login refused',
    run: async ({ lab }) => {
      const i = await OidcIssuer.start()
      lab.finally(() => i.stop())
      const s = await sim(lab, { acl: jwtAcl(i, ['nomad.example.internal']) })
      runScenario(s, 'healthy')
      return runDist({ 'auth-method': 'github', job: 'web', address: s.address }, i.runnerEnv())
    },
    quote: { from: 'error', match: /Login with auth method "github" refused: / },
    result: 'error',
    means:
      'Nomad refused the OIDC token: the message names the claim or setting that did not match',
    todo: 'fix what it names: `auth-audience`, the auth method or the binding rule',
  },
  {
    key: 'no OIDC token',
    run: async ({ lab }) => {
      const s = await sim(lab)
      return runDist({ 'auth-method': 'github', job: 'web', address: s.address })
    },
    quote: { from: 'error', match: /auth-method needs the workflow's OIDC token/ },
    result: 'error',
    means: 'the job may not ask for its OIDC token',
    todo: 'add `permissions: id-token: write` to the workflow or the job',
  },
  {
    key: 'bad input',
    run: async ({ lab }) => {
      const s = await sim(lab)
      return runDist({ address: s.address, job: 'web', timeout: 'soon' })
    },
    quote: { from: 'error', match: /^Input 'timeout' must be a positive duration/ },
    result: 'error',
    means: 'a bad input; nothing was sent',
    todo: 'fix the input as the message says',
  },
]
