// Bad input, through dist/index.js as the runner runs it: every case fails the
// step with a message naming the input, sends no write, and sends no request
// at all when the input alone is wrong. Every run carries a token (and some a
// password in the address): neither may appear anywhere but in ::add-mask::.

import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import type { Simulator } from '../../sim/simulator.js'
import { Lab, PASSWORD, TOKEN, expectNoLeak, report, rollout, runDist } from './helpers.js'
import { hasOpenssl, makePki, type Pki } from './pki.js'

const pki: Pki | undefined = hasOpenssl ? makePki() : undefined
afterAll(() => pki?.remove())

interface Case {
  name: string
  /** Inputs by action.yml name; `{addr}` stands for the simulator's address, `{host}` for host:port. */
  inputs: Record<string, string>
  env?: Record<string, string>
  /** The error line must match this (it names the input). */
  says: RegExp
  /** The check needs the deployment (unknown group, alloc not a canary): requests, but no write. */
  reads?: boolean
  /** Secrets the run carries that are masked before anything is printed (beyond the token). */
  masked?: string[]
  /** Secrets that must not appear, though the step fails before it could mask them. */
  hidden?: string[]
  needsPki?: boolean
}

const JOB = { job: 'web' }
const garbageCert =
  '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----'
const garbageKey =
  '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----'

const CASES: Case[] = [
  // mode
  {
    name: 'unknown mode',
    inputs: { ...JOB, mode: 'promot' },
    says: /Input 'mode' must be one of promote, wait, fail, pause, resume, health/,
  },
  {
    name: 'mode in capitals',
    inputs: { ...JOB, mode: 'PROMOTE' },
    says: /Input 'mode' must be one of/,
  },
  // durations
  {
    name: 'negative timeout',
    inputs: { ...JOB, timeout: '-5m' },
    says: /Input 'timeout' must be a positive duration/,
  },
  {
    name: 'zero timeout (bare)',
    inputs: { ...JOB, timeout: '0' },
    says: /Input 'timeout' must be a positive duration/,
  },
  {
    name: 'zero timeout (0s)',
    inputs: { ...JOB, timeout: '0s' },
    says: /Input 'timeout' must be a positive duration/,
  },
  {
    name: 'timeout that is a word',
    inputs: { ...JOB, timeout: 'soon' },
    says: /Input 'timeout' must be a positive duration/,
  },
  {
    name: 'timeout with an unknown unit',
    inputs: { ...JOB, timeout: '5x' },
    says: /Input 'timeout'/,
  },
  { name: 'timeout in words', inputs: { ...JOB, timeout: '10 minutes' }, says: /Input 'timeout'/ },
  {
    name: 'timeout over 24h',
    inputs: { ...JOB, timeout: '48h' },
    says: /Input 'timeout'.*at most 24h/,
  },
  // groups
  {
    name: 'empty group entry',
    inputs: { ...JOB, groups: 'web,,api' },
    says: /Input 'groups'.*no empty entry/,
  },
  {
    name: 'leading empty group entry',
    inputs: { ...JOB, groups: ',web' },
    says: /Input 'groups'.*no empty entry/,
  },
  {
    name: 'unknown group',
    inputs: { ...JOB, groups: 'web,nope' },
    says: /Input 'groups'.*no task group "nope"/,
    reads: true,
  },
  // target
  {
    name: 'both deployment-id and job',
    inputs: { ...JOB, 'deployment-id': '5e7f2a1c' },
    says: /Input 'deployment-id' and input 'job' are both set/,
  },
  {
    name: 'neither deployment-id nor job',
    inputs: {},
    says: /Input 'deployment-id' or input 'job' is required/,
  },
  {
    name: 'deployment-id not hex',
    inputs: { 'deployment-id': 'not-a-uuid' },
    says: /Input 'deployment-id' must be a deployment UUID/,
  },
  {
    name: 'deployment-id too long',
    inputs: { 'deployment-id': '5e7f2a1c-0000-4000-8000-0000000000001' },
    says: /Input 'deployment-id'/,
  },
  {
    name: 'deployment-id hyphen misplaced',
    inputs: { 'deployment-id': '5e7f2a1c0-ab' },
    says: /Input 'deployment-id'/,
  },
  {
    name: 'job-version with deployment-id',
    inputs: { 'deployment-id': '5e7f2a1c', 'job-version': '2' },
    says: /Input 'job-version' can only be used with 'job'/,
  },
  {
    name: 'negative job-version',
    inputs: { ...JOB, 'job-version': '-1' },
    says: /Input 'job-version' must be a job version/,
  },
  {
    name: 'job-version not a number',
    inputs: { ...JOB, 'job-version': 'v2' },
    says: /Input 'job-version'/,
  },
  {
    name: 'job-version with a fraction',
    inputs: { ...JOB, 'job-version': '1.5' },
    says: /Input 'job-version'/,
  },
  {
    name: 'job with whitespace',
    inputs: { job: 'my job' },
    says: /Input 'job' must be a job ID without whitespace/,
  },
  // TLS
  {
    name: 'missing CA file',
    inputs: { ...JOB, 'ca-cert': '/nonexistent/ca.pem' },
    says: /Input 'ca-cert'.*no such file/,
  },
  {
    name: 'garbage CA PEM',
    inputs: { ...JOB, 'ca-cert': garbageCert },
    says: /Input 'ca-cert' has a certificate that does not parse/,
  },
  {
    name: 'CA file without PEM',
    inputs: { ...JOB, 'ca-cert': '{notpem}' },
    says: /Input 'ca-cert'.*none found/,
  },
  {
    name: 'client-cert without client-key',
    inputs: { ...JOB, 'client-cert': '{clientcert}' },
    says: /Input 'client-key' is required when input 'client-cert' is set/,
    needsPki: true,
  },
  {
    name: 'client-key without client-cert',
    inputs: { ...JOB, 'client-key': '{clientkey}' },
    says: /Input 'client-cert' is required when input 'client-key' is set/,
    needsPki: true,
  },
  {
    name: 'garbage client-key PEM',
    inputs: { ...JOB, 'client-cert': '{clientcert}', 'client-key': garbageKey },
    says: /Input 'client-key' must be a PEM private key/,
    needsPki: true,
    hidden: ['bm90IGEga2V5IGF0IGFsbA=='],
  },
  {
    name: 'client-key of another certificate',
    inputs: { ...JOB, 'client-cert': '{clientcert}', 'client-key': '{serverkey}' },
    says: /Input 'client-key'.*does not match/,
    needsPki: true,
  },
  {
    name: 'tls-skip-verify: maybe',
    inputs: { ...JOB, 'tls-skip-verify': 'maybe' },
    says: /Input 'tls-skip-verify' must be true or false/,
  },
  {
    name: 'tls-skip-verify: yes',
    inputs: { ...JOB, 'tls-skip-verify': 'yes' },
    says: /Input 'tls-skip-verify' must be true or false/,
  },
  {
    name: 'NOMAD_SKIP_VERIFY=maybe',
    inputs: JOB,
    env: { NOMAD_SKIP_VERIFY: 'maybe' },
    says: /Input 'tls-skip-verify' \(from NOMAD_SKIP_VERIFY\) must be true or false/,
  },
  {
    name: 'tls-server-name with a space',
    inputs: { ...JOB, 'tls-server-name': 'server global' },
    says: /Input 'tls-server-name'/,
  },
  // address
  {
    name: 'address without scheme',
    inputs: { ...JOB, address: '{host}' },
    says: /Input 'address'.*it has no scheme/,
  },
  {
    name: 'address with a path (and a password)',
    inputs: { ...JOB, address: `http://ci:${PASSWORD}@{host}/v1` },
    says: /Input 'address'.*it has a path/,
    masked: [PASSWORD],
  },
  {
    name: 'address with a query',
    inputs: { ...JOB, address: '{addr}?region=eu' },
    says: /Input 'address'.*query or fragment/,
  },
  {
    name: 'address with another scheme',
    inputs: { ...JOB, address: 'ftp://{host}' },
    says: /Input 'address'.*the scheme is ftp/,
  },
  {
    name: 'address with whitespace',
    inputs: { ...JOB, address: 'http://127.0.0.1 :4646' },
    says: /Input 'address'.*whitespace/,
  },
  {
    name: 'NOMAD_ADDR without scheme',
    inputs: JOB,
    env: { NOMAD_ADDR: '{host}' },
    says: /Input 'address' \(from NOMAD_ADDR\).*no scheme/,
  },
  {
    name: 'password in address without user',
    inputs: { ...JOB, address: `http://:${PASSWORD}@{host}` },
    says: /Input 'address'.*no user name/,
    masked: [PASSWORD],
  },
  {
    name: 'NOMAD_HTTP_AUTH without user',
    inputs: JOB,
    env: { NOMAD_HTTP_AUTH: `:${PASSWORD}` },
    says: /NOMAD_HTTP_AUTH must be user:password/,
    hidden: [PASSWORD],
  },
  // token, namespace, region
  {
    name: 'token with whitespace',
    inputs: { ...JOB, token: 'abcd efgh-1234' },
    says: /Input 'token' must be a Nomad ACL token.*\(value not shown\)/,
  },
  {
    name: 'wildcard namespace',
    inputs: { ...JOB, namespace: '*' },
    says: /Input 'namespace' must be one namespace name/,
  },
  {
    name: 'namespace with a space',
    inputs: { ...JOB, namespace: 'team a' },
    says: /Input 'namespace'/,
  },
  { name: 'region with a space', inputs: { ...JOB, region: 'eu west' }, says: /Input 'region'/ },
  // modes and their inputs
  {
    name: 'health without allocs',
    inputs: { ...JOB, mode: 'health' },
    says: /Input 'healthy-allocs' or input 'unhealthy-allocs' is required with mode 'health'/,
  },
  {
    name: 'healthy-allocs with mode promote',
    inputs: { ...JOB, 'healthy-allocs': 'canaries' },
    says: /Input 'healthy-allocs' is only used with mode 'health'/,
  },
  {
    name: 'healthy-allocs not IDs',
    inputs: { ...JOB, mode: 'health', 'healthy-allocs': 'zz-top' },
    says: /Input 'healthy-allocs' must be allocation IDs/,
  },
  {
    name: 'both lists are canaries',
    inputs: {
      ...JOB,
      mode: 'health',
      'healthy-allocs': 'canaries',
      'unhealthy-allocs': 'canaries',
    },
    says: /Input 'unhealthy-allocs' cannot be set when the other list is 'canaries'/,
  },
  {
    name: 'same alloc healthy and unhealthy',
    inputs: { ...JOB, mode: 'health', 'healthy-allocs': 'abcd1234', 'unhealthy-allocs': 'abcd' },
    says: /Input 'unhealthy-allocs' must not name an allocation that healthy-allocs also names/,
  },
  {
    name: 'alloc that is not a canary of the deployment',
    inputs: { ...JOB, mode: 'health', 'healthy-allocs': 'abcdef12' },
    says: /Input 'healthy-allocs': "abcdef12" is not a placed canary/,
    reads: true,
  },
  {
    name: 'on-failure: rollback',
    inputs: { ...JOB, 'on-failure': 'rollback' },
    says: /Input 'on-failure' must be one of none, fail, pause/,
  },
  {
    name: 'wait-for-completion: yes',
    inputs: { ...JOB, 'wait-for-completion': 'yes' },
    says: /Input 'wait-for-completion' must be true or false/,
  },
  {
    name: 'wait-for-completion with mode wait',
    inputs: { ...JOB, mode: 'wait', 'wait-for-completion': 'true' },
    says: /Input 'wait-for-completion' only applies to mode 'promote'/,
  },
]

function fill(value: string, s: Simulator, notPem: string): string {
  const host = s.address.replace(/^https?:\/\//, '')
  return value
    .replaceAll('{addr}', s.address)
    .replaceAll('{host}', host)
    .replaceAll('{notpem}', notPem)
    .replaceAll('{clientcert}', pki?.client.certFile ?? '')
    .replaceAll('{clientkey}', pki?.client.keyFile ?? '')
    .replaceAll('{serverkey}', pki?.server.keyFile ?? '')
}

describe.concurrent('bad input fails the step before any write', () => {
  for (const c of CASES) {
    it.skipIf(c.needsPki && !pki)(`${c.name}`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      rollout(s)
      const writes = lab.applied(s)
      const notPem = join(tmpdir(), `gate-not-pem-${s.port}.txt`)
      writeFileSync(notPem, 'hello, this is not a certificate\n')
      lab.finally(() => rmSync(notPem, { force: true }))
      const inputs: Record<string, string> = { address: s.address, token: TOKEN }
      for (const [k, v] of Object.entries(c.inputs)) inputs[k] = fill(v, s, notPem)
      if (c.env && 'NOMAD_ADDR' in c.env) delete inputs.address
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(c.env ?? {})) env[k] = fill(v, s, notPem)
      const run = await runDist(inputs, env)
      const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? ''
      ctx.expect(run.code).not.toBe(0)
      ctx.expect(run.outputs.result).toBe('error')
      ctx.expect(error).toMatch(c.says)
      ctx.expect(writes.count()).toBe(0)
      ctx.expect(s.writes()).toHaveLength(0)
      if (c.reads) ctx.expect(s.requests.length).toBeGreaterThan(0)
      else ctx.expect(s.requests).toHaveLength(0)
      expectNoLeak(run, [inputs.token, ...(c.masked ?? [])], c.hidden)
      report({
        suite: 'inputs',
        name: c.name,
        via: 'dist',
        result: run.outputs.result ?? '',
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        requests: s.requests.length,
        elapsedMs: run.ms,
        note: error.replace(/^::error::/, '').slice(0, 140),
      })
    })
  }
})
