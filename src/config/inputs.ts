// THE spec of the step's inputs: for each its name, description, default,
// NOMAD_* variables, kind and CLI help. action.yml, the README's inputs table and
// the CLI's --help are generated from it (docs.ts, help.ts; `npm run docs`);
// parse.ts reads every input through it; __tests__/docs.test.ts fails on drift.
// Names and meanings are fixed by the interface doc: add, never rename.

import { DEFAULT_ADDRESS } from '../nomad/config.js'
import { MODES, ON_FAILURE, ON_UNHEALTHY_CANARY, WATCH_METHODS } from './settings.js'
import { orList, type InputSpec } from './spec.js'

export const INPUTS = [
  {
    name: 'address',
    description: 'Nomad HTTP API address, http:// or https://.',
    env: ['NOMAD_ADDR'],
    default: DEFAULT_ADDRESS,
    kind: 'url',
    parsedBy: 'address.ts',
    example: 'https://nomad.example.internal:4646',
    cli: { value: 'URL', help: 'Nomad HTTP API address', section: 'nomad' },
  },
  {
    name: 'token',
    description: 'Nomad ACL token, sent as X-Nomad-Token and masked before anything is logged.',
    env: ['NOMAD_TOKEN'],
    kind: 'text',
    parsedBy: 'nomad.ts',
    secret: true,
    example: 'secrets.NOMAD_TOKEN',
    cli: {
      value: 'TOKEN',
      help: 'ACL token; prefer the variable: arguments show in ps',
      section: 'nomad',
    },
  },
  {
    name: 'auth-method',
    description:
      "Name of a Nomad JWT auth method (Nomad 1.5.4+): log in with the workflow's OIDC token (needs permissions: id-token: write) and send the token Nomad returns, masked. Not with token or NOMAD_TOKEN.",
    kind: 'text',
    parsedBy: 'login.ts',
    example: 'github',
    cli: {
      value: 'NAME',
      help: 'log in with this Nomad JWT auth method and the JWT of --login-token instead of a token',
      section: 'nomad',
    },
  },
  {
    name: 'auth-audience',
    description:
      "With auth-method: the audience (aud) to request for the workflow's OIDC token; one of the auth method's BoundAudiences.",
    default: 'nomad',
    kind: 'text',
    parsedBy: 'login.ts',
  },
  {
    name: 'login-token',
    description:
      "With auth-method: a JWT to log in with instead of the workflow's OIDC token (one from another identity provider); masked.",
    env: ['NOMAD_LOGIN_TOKEN'],
    kind: 'text',
    parsedBy: 'login.ts',
    secret: true,
    cli: {
      value: 'JWT',
      help: "with --auth-method: the JWT to log in with (GitLab's id_tokens, any CI that mints one); prefer the variable: arguments show in ps",
      section: 'nomad',
    },
  },
  {
    name: 'namespace',
    description:
      'Nomad namespace, sent as ?namespace= on every request; without one Nomad uses "default".',
    env: ['NOMAD_NAMESPACE'],
    kind: 'text',
    parsedBy: 'nomad.ts',
    example: 'prod',
    cli: { value: 'NS', help: 'namespace of the job and its deployment', section: 'nomad' },
  },
  {
    name: 'region',
    description: 'Nomad region, sent as ?region= on every request.',
    env: ['NOMAD_REGION'],
    kind: 'text',
    parsedBy: 'nomad.ts',
    example: 'eu-west',
    cli: { value: 'REGION', help: 'region to ask', section: 'nomad' },
  },
  {
    name: 'ca-cert',
    description:
      "CA bundle to verify Nomad's certificate: PEM text, a file path, or a directory of PEM files.",
    env: ['NOMAD_CACERT', 'NOMAD_CAPATH'],
    kind: 'pem',
    parsedBy: 'tls.ts',
    example: 'secrets.NOMAD_CACERT',
    cli: { value: 'PEM|PATH', help: "CA bundle to verify Nomad's certificate", section: 'nomad' },
  },
  {
    name: 'client-cert',
    description: 'Client certificate for mTLS: PEM text or a file path; needs client-key.',
    env: ['NOMAD_CLIENT_CERT'],
    kind: 'pem',
    parsedBy: 'tls.ts',
    cli: { value: 'PEM|PATH', help: 'client certificate for mTLS', section: 'nomad' },
  },
  {
    name: 'client-key',
    description: 'Client key for mTLS: PEM text or a file path; masked.',
    env: ['NOMAD_CLIENT_KEY'],
    kind: 'pem',
    parsedBy: 'tls.ts',
    secret: true,
    cli: { value: 'PEM|PATH', help: 'client key for mTLS', section: 'nomad' },
  },
  {
    name: 'tls-server-name',
    description: "Name to send as SNI and to verify in Nomad's certificate.",
    env: ['NOMAD_TLS_SERVER_NAME'],
    kind: 'text',
    parsedBy: 'tls.ts',
    example: 'server.global.nomad',
    cli: { value: 'NAME', help: "name to verify in Nomad's certificate", section: 'nomad' },
  },
  {
    name: 'tls-skip-verify',
    description: 'Disable certificate verification (insecure; warns).',
    env: ['NOMAD_SKIP_VERIFY'],
    default: 'false',
    kind: 'boolean',
    parsedBy: 'tls.ts',
    cli: { help: "do not verify Nomad's certificate, insecure", section: 'nomad' },
  },
  {
    name: 'deployment-id',
    description:
      'Deployment to gate: a full UUID or a unique prefix. Exactly one of deployment-id and job is required.',
    kind: 'text',
    parsedBy: 'target.ts',
    example: '5e7f2a1c',
    cli: { value: 'ID', help: 'full deployment UUID or a unique prefix', section: 'target' },
  },
  {
    name: 'job',
    description:
      'Job ID: the gate acts on its latest deployment. Exactly one of deployment-id and job is required.',
    kind: 'text',
    parsedBy: 'target.ts',
    example: 'web',
    cli: { value: 'ID', help: "the job's latest deployment", section: 'target' },
  },
  {
    name: 'job-version',
    description:
      'With job: gate exactly the deployment of this job version, waiting within timeout for it to appear; a newer version fails the step.',
    kind: 'count',
    parsedBy: 'target.ts',
    example: '7',
    cli: {
      value: 'N',
      help: "with --job: gate exactly this version's deployment",
      section: 'target',
    },
  },
  {
    name: 'mode',
    description: `What the step does: ${orList(MODES)}.`,
    default: 'promote',
    kind: 'choice',
    parsedBy: 'parse.ts',
    choices: MODES,
  },
  {
    name: 'groups',
    description:
      'Task groups to gate on and promote, comma, space or newline separated; each must exist in the deployment.',
    defaultText: 'all groups that have canaries',
    kind: 'list',
    parsedBy: 'parse.ts',
    example: 'web,api',
    cli: { value: 'a,b', help: 'task groups to gate and promote', section: 'gate' },
  },
  {
    name: 'timeout',
    description: 'Deadline for the whole step: Go-style duration or bare seconds.',
    default: '10m',
    kind: 'duration',
    parsedBy: 'parse.ts',
    example: '1h30m',
    cli: {
      value: 'DURATION',
      help: 'deadline for the whole step: 90s, 10m, 1h30m or seconds',
      section: 'gate',
    },
  },
  {
    name: 'on-failure',
    description: `What to do to the deployment when a canary turns unhealthy or the deadline passes: ${orList(ON_FAILURE)}.`,
    default: 'none',
    kind: 'choice',
    parsedBy: 'parse.ts',
    choices: ON_FAILURE,
    cli: { value: 'ACTION', help: 'on timeout or an unhealthy canary', section: 'gate' },
  },
  {
    name: 'on-unhealthy-canary',
    description:
      'fail-fast: a selected canary reported unhealthy ends the step at once (result unhealthy, then on-failure). wait-for-replacement: keep waiting, as Nomad does, while it replaces the canary; a replacement that turns healthy passes.',
    default: 'fail-fast',
    kind: 'choice',
    parsedBy: 'parse.ts',
    choices: ON_UNHEALTHY_CANARY,
    cli: { value: 'POLICY', help: 'when a selected canary is reported unhealthy', section: 'gate' },
  },
  {
    name: 'watch',
    description:
      "How changes are followed: auto (Nomad's event stream, falling back to blocking queries within a second or two when it is refused, silent or drops), events (the stream only; the step fails without it) or blocking (blocking queries only).",
    default: 'auto',
    kind: 'choice',
    parsedBy: 'parse.ts',
    choices: WATCH_METHODS,
    cli: { value: 'METHOD', help: 'how changes are followed', section: 'gate' },
  },
  {
    name: 'healthy-allocs',
    description:
      'health mode: allocation IDs (or unique prefixes) to mark healthy, or "canaries" for every placed canary of the selected groups.',
    kind: 'list',
    parsedBy: 'allocs.ts',
    example: 'canaries',
    cli: { value: 'IDS', help: 'health mode: alloc IDs/prefixes, or "canaries"', section: 'gate' },
  },
  {
    name: 'unhealthy-allocs',
    description:
      'health mode: allocation IDs (or unique prefixes) to mark unhealthy, or "canaries".',
    kind: 'list',
    parsedBy: 'allocs.ts',
    example: '9a3b1c2d',
    cli: { value: 'IDS', help: 'health mode: alloc IDs/prefixes, or "canaries"', section: 'gate' },
  },
  {
    name: 'wait-for-completion',
    description:
      'After promote: keep watching until the deployment is successful (pass) or failed/cancelled (fail), within timeout.',
    default: 'false',
    kind: 'boolean',
    parsedBy: 'parse.ts',
    cli: { help: 'after promoting, wait until the deployment is successful', section: 'gate' },
  },
  {
    name: 'soak',
    description:
      'After the canaries pass: keep watching them this long before promoting (0: no soak); an unhealthy canary or failed check during the soak fails the step at once.',
    default: '0',
    kind: 'duration',
    parsedBy: 'soak.ts',
    example: '5m',
    cli: {
      value: 'DURATION',
      help: 'keep watching this long; an unhealthy canary fails at once',
      section: 'soak',
    },
  },
  {
    name: 'check-url',
    description:
      'During the soak: URLs checked every check-interval; a check passes on HTTP 2xx within check-timeout. Comma, space or newline separated.',
    kind: 'list',
    parsedBy: 'soak.ts',
    example: 'https://canary.web.internal/healthz',
    cli: {
      value: 'URL',
      help: 'checked every check-interval during the soak: 2xx passes',
      section: 'soak',
    },
  },
  {
    name: 'check-interval',
    description: 'How often the checks run during the soak.',
    default: '10s',
    kind: 'duration',
    parsedBy: 'soak.ts',
    cli: { value: 'DURATION', help: 'how often the checks run', section: 'soak' },
  },
  {
    name: 'check-timeout',
    description: 'Time limit of one check.',
    default: '5s',
    kind: 'duration',
    parsedBy: 'soak.ts',
    cli: { value: 'DURATION', help: 'time limit of one check', section: 'soak' },
  },
  {
    name: 'prometheus-url',
    description:
      'During the soak: Prometheus base URL for prometheus-query (an instant query via /api/v1/query).',
    kind: 'url',
    parsedBy: 'soak.ts',
    example: 'http://prometheus:9090',
    cli: { value: 'URL', help: 'Prometheus to send prometheus-query to', section: 'soak' },
  },
  {
    name: 'prometheus-query',
    description:
      'PromQL instant query; the check passes when every returned sample is at or below prometheus-threshold.',
    kind: 'text',
    parsedBy: 'soak.ts',
    example:
      'sum(rate(http_errors_total{job="web",version="canary"}[1m])) / sum(rate(http_requests_total{job="web",version="canary"}[1m]))',
    cli: {
      value: 'Q',
      help: 'passes when every sample is <= prometheus-threshold',
      section: 'soak',
    },
  },
  {
    name: 'prometheus-threshold',
    description: 'Highest value a sample of prometheus-query may have.',
    kind: 'number',
    parsedBy: 'soak.ts',
    example: '0.05',
    cli: { value: 'N', help: 'highest value a sample may have', section: 'soak' },
  },
  {
    name: 'failure-limit',
    description:
      'How many failed check runs are tolerated during the soak before the step fails (result check-failed).',
    default: '0',
    kind: 'count',
    parsedBy: 'soak.ts',
    cli: { value: 'N', help: 'failed check runs tolerated before the gate fails', section: 'soak' },
  },
  {
    name: 'github-token',
    description:
      'With it, post GitHub deployment statuses: in_progress while gating, success after promotion, failure (or inactive when cancelled) otherwise. Needs permissions: deployments: write.',
    kind: 'text',
    parsedBy: 'github.ts',
    secret: true,
    example: 'github.token',
  },
  {
    name: 'github-deployment-id',
    description:
      'GitHub deployment to post statuses to; without it (and with github-token) the action creates one for environment.',
    kind: 'count',
    parsedBy: 'github.ts',
  },
  {
    name: 'environment',
    description:
      'GitHub environment of the deployment the action creates when github-deployment-id is not given.',
    kind: 'text',
    parsedBy: 'github.ts',
    example: 'production',
  },
  {
    name: 'dry-run',
    description:
      'Do everything up to the write, which is logged as the exact request instead; result becomes would-promote, would-fail, would-pause, would-resume or would-set-health.',
    default: 'false',
    kind: 'boolean',
    parsedBy: 'parse.ts',
    cli: { help: 'do everything but the write, which is printed instead', section: 'gate' },
  },
] as const satisfies readonly InputSpec[]

export type InputName = (typeof INPUTS)[number]['name']

const BY_NAME = new Map<string, InputSpec>(INPUTS.map((i) => [i.name, i]))

export function inputSpec(name: InputName): InputSpec {
  return BY_NAME.get(name)!
}
