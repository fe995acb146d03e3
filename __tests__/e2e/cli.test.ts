// dist/cli/index.js as a shell runs it, against the simulator; and the demo.

import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from '../../sim/simulator.js'
import { runScenario } from '../../sim/scenarios.js'
import { LIMIT_MS, cleanEnv, runCli, startCli } from '../helpers/run.js'
import { request, within } from '../helpers/wait.js'

const sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.stop()))
})

async function sim(): Promise<Simulator> {
  const s = await startSimulator()
  sims.push(s)
  return s
}

describe('nomad-canary-gate CLI', () => {
  it('--json prints one JSON object of the outputs; progress goes to stderr; exit 0', async () => {
    const s = await sim()
    const run = runScenario(s, 'healthy')
    const res = await runCli(['promote', '--job', 'web', '--json'], { NOMAD_ADDR: s.address })
    expect(res.code).toBe(0)
    const out = JSON.parse(res.stdout)
    expect(out).toMatchObject({
      result: 'promoted',
      'deployment-id': run.deploymentId,
      'job-id': 'web',
      // Typed: numbers as numbers, groups and checks as arrays.
      'job-version': 1,
      'healthy-canaries': 3,
      'desired-canaries': 3,
      checks: [],
      'reverted-job-version': null,
    })
    expect(out['eval-id']).toMatch(/^[0-9a-f-]{36}$/)
    for (const n of ['eval-create-index', 'deployment-modify-index', 'index', 'elapsed-ms'])
      expect(typeof out[n]).toBe('number')
    expect(out.groups).toHaveLength(2)
    expect(out.groups.every((g: { promoted: boolean }) => g.promoted)).toBe(true)
    expect(res.stdout.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toContain('Sent promote')
    expect(res.stderr).toMatch(/GROUP\s+DESIRED\s+PLACED\s+HEALTHY/)
    expect(s.writes()).toHaveLength(1)
  })

  it('prints key=value lines without --json', async () => {
    const s = await sim()
    runScenario(s, 'healthy')
    const res = await runCli(['wait', '--job', 'web', '--address', s.address])
    expect(res.code).toBe(0)
    const lines = res.stdout.trim().split('\n')
    expect(lines).toContain('result=promotable')
    expect(lines.every((l) => /^[a-z-]+=/.test(l))).toBe(true)
    expect(s.writes()).toHaveLength(0)
  })

  it('exits 1 when the gate fails (timed out), with the counts on stderr', async () => {
    const s = await sim()
    runScenario(s, 'manual')
    const res = await runCli(
      ['promote', '--job', 'web', '--timeout', '300ms', '--json'],
      { NOMAD_ADDR: s.address },
      { limitMs: 5_000 }, // a deadline the gate ignores fails here
    )
    expect(res.code).toBe(1)
    expect(JSON.parse(res.stdout).result).toBe('timed-out')
    expect(res.stderr).toContain('api 0/1 healthy, web 0/2 healthy')
  })

  it('exits 1 on a failed request, saying what failed where', async () => {
    const s = await sim()
    const address = s.address
    await s.stop()
    const res = await runCli(['wait', '--job', 'web', '--timeout', '1s'], { NOMAD_ADDR: address })
    expect(res.code).toBe(1)
    expect(res.stdout).toContain('result=error')
    expect(res.stderr).toContain(`cannot connect to Nomad at ${address}`)
  })

  it.each([
    [['promote'], 'exactly one of'],
    [['promote', '--job', 'web', '--deployment-id', 'abcd'], 'exactly one of'],
    [['launch', '--job', 'web'], "Option '--mode'"],
    [['promote', '--job', 'web', '--timeout', '-5s'], "Option '--timeout'"],
    [
      ['promote', '--job', 'web', '--client-cert', 'x.pem'],
      "Option '--client-key' is required when option '--client-cert' is set",
    ],
    [['health', '--job', 'web'], "Option '--healthy-allocs' or option '--unhealthy-allocs'"],
    [['promote', '--job', 'web', '--bogus'], "Unknown option '--bogus'"],
    [['promote', 'wait', '--job', 'web'], 'one mode expected'],
    [[], 'a mode is required'],
  ])('exits 2 for a usage error and sends nothing: %j', async (args, message) => {
    const s = await sim()
    const res = await runCli(args, { NOMAD_ADDR: s.address })
    expect(res.code).toBe(2)
    expect(res.stderr).toContain(message)
    expect(res.stdout).toBe('')
    expect(s.requests).toHaveLength(0)
  })

  it('--help shows modes, options and examples', async () => {
    const res = await runCli(['--help'])
    expect(res.code).toBe(0)
    for (const text of [
      'Usage: nomad-canary-gate <mode>',
      '--deployment-id',
      '--on-failure',
      'Examples:',
      'Exit status',
    ]) {
      expect(res.stdout).toContain(text)
    }
  })

  it('reads NOMAD_TOKEN and never prints it', async () => {
    const token = 'f00dcafe-1234-4321-8888-5ec2e7000000'
    const s = await startSimulator({
      acl: { tokens: { [token]: { namespaces: ['default'], write: false } } },
    })
    sims.push(s)
    runScenario(s, 'healthy')
    const res = await runCli(['promote', '--job', 'web'], {
      NOMAD_ADDR: s.address,
      NOMAD_TOKEN: token,
    })
    expect(res.code).toBe(1) // read-only token: the promote is refused
    expect(res.stderr).toContain('Permission denied')
    expect(res.stdout + res.stderr).not.toContain(token)
    expect(s.requests[0].headers['x-nomad-token']).toBe(token)
  })

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} ends a held query at once, exit ${code}`, async () => {
      const s = await sim()
      runScenario(s, 'manual')
      const run = startCli(['promote', '--job', 'web'], { NOMAD_ADDR: s.address })
      await request(s, 'the CLI holding a blocking query', (r) => r.query.index !== undefined)
      run.child.kill(signal)
      const res = await run.done
      expect(res.code).toBe(code)
      expect(res.stdout).toContain('result=cancelled')
      expect(s.writes()).toHaveLength(0)
    })
  }
})

describe('npm run demo', () => {
  for (const [scenario, result] of [
    ['', 'result=promoted'],
    ['unhealthy', 'result=unhealthy'],
  ] as const) {
    it(`shows each step${scenario ? ` (${scenario})` : ''}`, async () => {
      const child = spawn(
        process.execPath,
        ['lib/scripts/demo.js', ...(scenario ? [scenario] : [])],
        {
          env: cleanEnv(),
        },
      )
      let text = ''
      child.stdout.on('data', (c) => (text += c))
      child.stderr.on('data', (c) => (text += c))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      const out = await within(
        exited.then((code) => ({ code, text })),
        LIMIT_MS,
        `the demo${scenario ? ` (${scenario})` : ''} exiting`,
      ).finally(() => child.kill('SIGKILL'))
      expect(out.code).toBe(0)
      for (const step of [
        '1. A Nomad simulator',
        '2. The gate',
        '3. Its outputs',
        '4. Nomad now says',
      ]) {
        expect(out.text).toContain(step)
      }
      expect(out.text).toContain(result)
      expect(out.text).toMatch(/canary [0-9a-f]{8} is healthy/)
      if (scenario === 'unhealthy') {
        expect(out.text).toMatch(/canary [0-9a-f]{8} is unhealthy/)
        expect(out.text).toContain('Sent fail')
        expect(out.text).toMatch(/reverted-job-version=0/)
      } else {
        expect(out.text).toContain('Sent promote')
      }
    }, 20_000)
  }
})
