// Debug on demand: a re-run with debug logging (the runner sets RUNNER_DEBUG=1)
// or the CLI's --debug (or NOMAD_CANARY_GATE_DEBUG=1) shows every request
// (method, path and query, status, X-Nomad-Index, time taken), every retry and
// its cause, and every readiness decision, and never the token. Without it,
// none of these lines.

import { afterEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from '../../sim/simulator.js'
import { runScenario } from '../../sim/scenarios.js'
import { runAction, runCli } from '../helpers/run.js'

const TOKEN = '7d1f0c2a-9b3e-4f5a-8c6d-0e1f2a3b4c5d'

const sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()))
})

async function sim(): Promise<Simulator> {
  const s = await startSimulator({
    acl: { tokens: { [TOKEN]: { namespaces: ['default'], write: true } } },
  })
  sims.push(s)
  return s
}

const REQUEST = /^GET \/v1\/job\/web\?namespace=default: 200, X-Nomad-Index \d+, \d+(\.\d+)? ?m?s$/

describe('RUNNER_DEBUG=1', () => {
  it('the action logs every request, retry and decision as ::debug::, never the token', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    s.injectFault({ method: 'GET', path: '/v1/deployment/allocations/', kind: 'reset' })
    const res = await runAction(
      { address: s.address, job: 'web', token: TOKEN, namespace: 'default' },
      { RUNNER_DEBUG: '1' },
    )
    expect(res.outputs.result).toBe('promoted')
    const debug = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('::debug::'))
      .map((l) => l.slice('::debug::'.length))
    expect(debug.some((l) => REQUEST.test(l))).toBe(true)
    expect(debug).toContainEqual(
      expect.stringMatching(
        /^PUT \/v1\/deployment\/promote\/[0-9a-f-]{36}\?namespace=default: 200, X-Nomad-Index \d+/,
      ),
    )
    expect(debug).toContainEqual(
      expect.stringMatching(
        /^GET \/v1\/deployment\/allocations\/.*: no answer \(connection reset\)/,
      ),
    )
    expect(debug).toContainEqual(
      expect.stringMatching(
        /^Retry 1 of GET \/v1\/deployment\/allocations\/.* in \d+ms: connection reset/,
      ),
    )
    expect(debug).toContainEqual(
      expect.stringMatching(/^Decision on deployment @\d+, allocations @\d+: /),
    )
    expect(debug).toContainEqual(`Nomad at ${s.address}: direct (no proxy)`)
    expect(
      res.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain(TOKEN)
  })

  it('without it, no debug line at all', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const res = await runAction({ address: s.address, job: 'web', token: TOKEN })
    expect(res.outputs.result).toBe('promoted')
    expect(res.stdout).not.toMatch(/^::debug::/m)
  })
})

describe('the CLI', () => {
  for (const [how, args, env] of [
    ['--debug', ['--debug'], {}],
    ['NOMAD_CANARY_GATE_DEBUG=1', [], { NOMAD_CANARY_GATE_DEBUG: '1' }],
  ] as const) {
    it(`${how}: the same lines on stderr, prefixed "debug: "`, async () => {
      const s = await sim()
      runScenario(s, 'healthy')
      const res = await runCli(['promote', '--job', 'web', '--namespace', 'default', ...args], {
        NOMAD_ADDR: s.address,
        NOMAD_TOKEN: TOKEN,
        ...env,
      })
      expect(res.code).toBe(0)
      const debug = res.stderr
        .split('\n')
        .filter((l) => l.startsWith('debug: '))
        .map((l) => l.slice('debug: '.length))
      expect(debug.some((l) => REQUEST.test(l))).toBe(true)
      expect(debug).toContainEqual(expect.stringMatching(/^Decision on deployment @\d+/))
      expect(res.stdout).not.toContain('debug')
      expect(res.stdout + res.stderr).not.toContain(TOKEN)
    })
  }

  it('without either, no debug line', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const res = await runCli(['promote', '--job', 'web'], {
      NOMAD_ADDR: s.address,
      NOMAD_TOKEN: TOKEN,
    })
    expect(res.code).toBe(0)
    expect(res.stderr).not.toMatch(/^debug: /m)
  })
})
