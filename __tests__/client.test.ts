// The Nomad client against the simulator over real HTTP: no mocked network.

import { createServer, type IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import {
  NomadClient,
  blockingTimeoutMs,
  type ClientOptions,
  type QueryOptions,
} from '../src/nomad/client.js'
import { NomadError, cleanNomadText } from '../src/nomad/errors.js'
import { watch } from '../src/nomad/watch.js'
import type { Config } from '../src/nomad/config.js'
import { blockingParams } from '../src/nomad/query.js'
import type { Evaluation } from '../src/nomad/types.js'
import { runScenario } from '../sim/scenarios.js'
import { request, until } from './helpers/wait.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../sim/simulator.js'

const sims: Simulator[] = []
const clients: NomadClient[] = []
const servers: Array<() => Promise<void>> = []
afterEach(async () => {
  clients.splice(0).forEach((c) => c.close())
  await Promise.all([...sims.splice(0).map((s) => s.stop()), ...servers.splice(0).map((f) => f())])
})

async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator(options)
  sims.push(s)
  return s
}

const FAST: ClientOptions = { retry: { baseMs: 5, maxMs: 20 } }

function client(s: { address: string }, over: Partial<Config> = {}, options = FAST) {
  const c = new NomadClient({ address: s.address, tls: { skipVerify: false }, ...over }, options)
  clients.push(c)
  return c
}

async function caught(p: Promise<unknown>): Promise<NomadError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(NomadError)
    return err as NomadError
  }
  throw new Error('expected a NomadError')
}

const TOKEN = 'a1b2c3d4-0000-4000-8000-5ec2e7700000'

describe('reads', () => {
  it('returns body and QueryMeta from the headers', async () => {
    const s = await sim()
    const { deploymentId } = runScenario(s, 'manual')
    const { body, meta } = await client(s).deployment(deploymentId)
    expect(body.ID).toBe(deploymentId)
    expect(body.TaskGroups.web.DesiredCanaries).toBe(2)
    expect(meta.lastIndex).toBe(body.ModifyIndex)
    expect(meta.knownLeader).toBe(true)
    expect(meta.lastContact).toBe(0)
  })

  it('reads allocations, job deployments and prefix lists', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const allocs = await c.deploymentAllocations(run.deploymentId)
    expect(allocs.body.map((a) => a.ID).sort()).toEqual(
      [...run.canaries.web, ...run.canaries.api].sort(),
    )
    expect((await c.jobLatestDeployment('web')).body?.ID).toBe(run.deploymentId)
    expect((await c.jobDeployments('web')).body[0].ID).toBe(run.deploymentId)
    expect((await c.listDeployments(run.deploymentId.slice(0, 4))).body.map((d) => d.ID)).toContain(
      run.deploymentId,
    )
  })

  it('sends namespace and region on every request, reads and writes', async () => {
    const s = await sim({ namespaces: ['default', 'prod'], region: 'eu' })
    const run = runScenario(s, 'manual', { namespace: 'prod' })
    s.setAllocHealth(run.canaries.web[0], true)
    const c = client(s, { namespace: 'prod', region: 'eu' })
    await c.deployment(run.deploymentId)
    await c.deploymentAllocations(run.deploymentId)
    await c.pause(run.deploymentId, true)
    expect(s.requests.length).toBe(3)
    for (const r of s.requests) expect(r.query).toMatchObject({ namespace: 'prod', region: 'eu' })
    // Another region is refused by the server.
    const other = await caught(
      client(s, { namespace: 'prod', region: 'us' }).deployment(run.deploymentId),
    )
    expect(other.message).toContain('No path to region')
  })

  it('a blocking query holds until the object changes, then returns the new index', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const first = await c.deploymentAllocations(run.deploymentId)
    const held = c.deploymentAllocations(run.deploymentId, {
      index: first.meta.lastIndex,
      waitMs: 10_000,
    })
    await request(
      s,
      'the blocking query at the first index',
      (r) => r.query.index === String(first.meta.lastIndex),
    )
    expect(await Promise.race([held.then(() => 'answered'), sleep(100).then(() => 'held')])).toBe(
      'held',
    )
    s.setAllocHealth(run.canaries.web[0], true)
    const next = await held
    expect(next.meta.lastIndex).toBeGreaterThan(first.meta.lastIndex)
    expect(next.body.find((a) => a.ID === run.canaries.web[0])?.DeploymentStatus?.Healthy).toBe(
      true,
    )
    const sent = s.requests.at(-1)!
    expect(sent.query.wait).toBe('10000ms')
  })

  it('an abort ends a held request at once', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const first = await c.deployment(run.deploymentId)
    const ctrl = new AbortController()
    const held = c.deployment(run.deploymentId, {
      index: first.meta.lastIndex,
      signal: ctrl.signal,
    })
    await request(s, 'the held blocking query', (r) => r.query.index !== undefined)
    const t0 = performance.now()
    ctrl.abort()
    const err = await caught(held)
    expect(err.kind).toBe('aborted')
    expect(performance.now() - t0).toBeLessThan(200)
  })

  it('reads the job at its current version, with its identity and state', async () => {
    const s = await sim()
    runScenario(s, 'manual')
    const { body, meta } = await client(s).job('web')
    expect(body).toMatchObject({
      ID: 'web',
      Namespace: 'default',
      Type: 'service',
      Stop: false,
      Status: expect.any(String),
    })
    expect(body.Version).toBeGreaterThanOrEqual(1)
    expect(body.JobModifyIndex).toBeGreaterThan(0)
    expect(body.CreateIndex).toBeGreaterThan(0)
    expect(meta.lastIndex).toBeGreaterThan(0)
  })

  it("reads a job's evaluations, newest first, with namespace and region", async () => {
    const evaluation = (ID: string, CreateIndex: number): Evaluation => ({
      ID,
      Namespace: 'prod',
      JobID: 'web/api',
      JobModifyIndex: 7,
      TriggeredBy: 'deployment-watcher',
      Status: 'complete',
      StatusDescription: '',
      DeploymentID: '5e7f2a1c-9b3d-4e6f-8a0b-1c2d3e4f5a6b',
      CreateIndex,
      ModifyIndex: CreateIndex + 1,
      BlockedEval: '',
      NextEval: '',
    })
    const seen: IncomingMessage[] = []
    const server = await answering((req) => {
      seen.push(req)
      return [evaluation('b', 12), evaluation('c', 30), evaluation('a', 5)]
    })
    const c = client(server, { namespace: 'prod', region: 'eu' })
    const { body, meta } = await c.jobEvaluations('web/api')
    expect(seen.map((r) => r.url)).toEqual([
      '/v1/job/web%2Fapi/evaluations?namespace=prod&region=eu',
    ])
    expect(body.map((e) => [e.ID, e.CreateIndex])).toEqual([
      ['c', 30],
      ['b', 12],
      ['a', 5],
    ])
    expect(body[0]).toEqual(evaluation('c', 30))
    expect(meta.lastIndex).toBe(42)
  })

  it('sends basic auth from the config, and no token header without a token', async () => {
    const seen: IncomingMessage[] = []
    const server = await answering((req) => {
      seen.push(req)
      return []
    })
    await client(server, { httpAuth: { username: 'ci', password: 'p:w' } }).listDeployments('ab')
    expect(seen[0].headers.authorization).toBe(`Basic ${Buffer.from('ci:p:w').toString('base64')}`)
    expect(seen[0].headers['x-nomad-token']).toBeUndefined()
    expect(seen[0].url).toBe('/v1/deployments?prefix=ab')
  })

  it('socket timeout exceeds the wait plus the server jitter', () => {
    expect(blockingTimeoutMs(300_000)).toBeGreaterThan(300_000 + 300_000 / 16)
    expect(blockingTimeoutMs(1_000)).toBeGreaterThan(1_000 + 1_000 / 16)
  })
})

describe('blocking parameters', () => {
  it.each<[QueryOptions, Record<string, string>, number]>([
    [{}, {}, 30_000],
    [{ index: 0, waitMs: 1_000 }, {}, 30_000],
    [{ index: 7 }, { index: '7', wait: '300000ms' }, blockingTimeoutMs(300_000)],
    [{ index: 7, waitMs: 2_500 }, { index: '7', wait: '2500ms' }, blockingTimeoutMs(2_500)],
    [{ index: 7, waitMs: 600_000 }, { index: '7', wait: '300000ms' }, blockingTimeoutMs(300_000)],
    [{ index: 7, waitMs: 0.2 }, { index: '7', wait: '1ms' }, blockingTimeoutMs(1)],
  ])('%j -> %j', (q, params, timeoutMs) => {
    expect(blockingParams(q, 30_000)).toEqual({ params, timeoutMs })
  })
})

describe('retries', () => {
  it('retries reads on No cluster leader and 5xx, then succeeds', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    s.injectFault({
      path: '/v1/deployment/',
      kind: 'status',
      status: 500,
      body: 'No cluster leader',
      count: 2,
    })
    s.injectFault({ path: '/v1/deployment/', kind: 'status', status: 503, body: 'busy' })
    const retries: string[] = []
    const c = client(s, {}, { ...FAST, onRetry: (e) => retries.push(e.detail) })
    const { body } = await c.deployment(run.deploymentId)
    expect(body.ID).toBe(run.deploymentId)
    expect(retries).toEqual(['No cluster leader', 'No cluster leader', 'busy'])
    expect(s.requests.length).toBe(4)
  })

  it('retries reads on a reset and on malformed JSON', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    s.injectFault({ path: '/v1/deployment/', kind: 'reset' })
    s.injectFault({ path: '/v1/deployment/', kind: 'reset-mid-body' })
    s.injectFault({ path: '/v1/deployment/', kind: 'malformed-json' })
    const { body } = await client(s).deployment(run.deploymentId)
    expect(body.ID).toBe(run.deploymentId)
    expect(s.requests.length).toBe(4)
  })

  it('gives up at the deadline with the last error', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    s.injectFault({
      path: '/v1/deployment/',
      kind: 'status',
      status: 500,
      body: 'rpc error: No cluster leader',
      count: 1000,
    })
    const t0 = performance.now()
    const err = await caught(client(s).deployment(run.deploymentId, { deadline: t0 + 300 }))
    expect(performance.now() - t0).toBeLessThan(1_000)
    expect(err.status).toBe(500)
    expect(err.message).toContain('No cluster leader')
    expect(err.message).not.toContain('rpc error')
  })

  it('does not retry a 4xx or a 404', async () => {
    const s = await sim()
    const err = await caught(client(s).deployment('00000000-0000-4000-8000-000000000000'))
    expect(err.status).toBe(404)
    expect(err.detail).toBe('deployment not found')
    expect(s.requests.length).toBe(1)
  })

  it('never retries a write itself', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    s.injectFault({ method: 'PUT', kind: 'status', status: 500, body: 'No cluster leader' })
    const err = await caught(client(s).pause(run.deploymentId, true))
    expect(err.retryable).toBe(true)
    expect(s.writes().length).toBe(1)
    expect(s.deployment(run.deploymentId)?.Status).toBe('running')
  })

  it('marks a write whose answer was lost as ambiguous', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    s.injectFault({ method: 'PUT', kind: 'drop-response' })
    const err = await caught(client(s).pause(run.deploymentId, true))
    expect(err.ambiguous).toBe(true)
    expect(s.deployment(run.deploymentId)?.Status).toBe('paused')
  })
})

describe('errors', () => {
  it('403 says the token lacks permission for the namespace, without the token', async () => {
    const s = await sim({ acl: { tokens: { [TOKEN]: { namespaces: ['other'], write: true } } } })
    const run = runScenario(s, 'manual')
    const err = await caught(client(s, { token: TOKEN }).deployment(run.deploymentId))
    expect(err.status).toBe(403)
    expect(err.message).toContain('Permission denied')
    expect(err.message).toContain('namespace "default"')
    expect(err.message).not.toContain(TOKEN)
    expect(s.requests[0].headers['x-nomad-token']).toBe(TOKEN)
  })

  it('a token with write access can write', async () => {
    const s = await sim({ acl: { tokens: { [TOKEN]: { namespaces: ['default'], write: true } } } })
    const run = runScenario(s, 'manual')
    const res = await client(s, { token: TOKEN }).pause(run.deploymentId, true)
    expect(res.body.DeploymentModifyIndex).toBeGreaterThan(0)
    expect(res.meta.lastIndex).toBe(res.body.Index)
  })

  it('connection refused names the address tried', async () => {
    const s = await sim()
    const address = s.address
    await s.stop()
    const err = await caught(
      client({ address }).deployment('x', { deadline: performance.now() + 50 }),
    )
    expect(err.kind).toBe('refused')
    expect(err.message).toContain(`cannot connect to Nomad at ${address}`)
  })

  it('promoting too early carries the server text, trimmed of multierror noise', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const err = await caught(client(s).promote(run.deploymentId, []))
    expect(err.status).toBe(500)
    expect(err.detail).toMatch(/Task group "(web|api)" has 0\/[12] healthy allocations/)
    expect(err.detail).not.toContain('error occurred')
    expect(err.retryable).toBe(false)
  })

  it('does not follow a redirect (the token would go along)', async () => {
    const s = await sim()
    const other = await sim()
    s.injectFault({ kind: 'redirect', location: `${other.address}/v1/deployment/x?token=zz` })
    const err = await caught(client(s, { token: TOKEN }).deployment('x'))
    expect(err.kind).toBe('protocol')
    expect(err.message).toContain('redirect')
    expect(err.message).not.toContain('token=zz')
    expect(other.requests.length).toBe(0)
  })

  it('cleans rpc error prefixes and multierror lists', () => {
    expect(cleanNomadText('rpc error: rpc error: No cluster leader')).toBe('No cluster leader')
    expect(
      cleanNomadText(
        '2 errors occurred:\n\t* Task group "web" has 0/2 healthy allocations\n\t* Task group "api" has 0/1 healthy allocations\n\n',
      ),
    ).toBe(
      'Task group "web" has 0/2 healthy allocations; Task group "api" has 0/1 healthy allocations',
    )
  })

  it('rejects an address that is not http(s)', () => {
    expect(() => new NomadClient({ address: 'ftp://x', tls: { skipVerify: false } })).toThrow(
      /http:\/\/ or https:\/\//,
    )
  })
})

describe('watch', () => {
  it('calls back once per change, not per answer, and stops at the deadline', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const seen: number[] = []
    const ctrl = new AbortController()
    const done = watch(
      (q) => c.deploymentAllocations(run.deploymentId, { ...q, waitMs: 200 }),
      (_b, m) => seen.push(m.lastIndex),
      {
        deadline: performance.now() + 5_000,
        signal: ctrl.signal,
        maxWaitMs: 200,
      },
    )
    await request(s, 'a blocking query from the watch', (r) => r.query.index !== undefined)
    s.setAllocHealth(run.canaries.web[0], true)
    await request(
      s,
      'a blocking query past the first answer',
      (r) => r.query.index !== undefined && Number(r.query.index) > seen[0],
    )
    await sleep(450) // two empty wait timeouts
    ctrl.abort()
    await done
    expect(seen.length).toBe(2)
    expect(seen[1]).toBeGreaterThan(seen[0])
  })

  it('starts over from index 0 when the index goes backwards', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const ctrl = new AbortController()
    const sent: number[] = []
    const seen: number[] = []
    const done = watch(
      (q) => {
        sent.push(q.index ?? 0)
        return c.deploymentAllocations(run.deploymentId, q)
      },
      (_b, m) => {
        seen.push(m.lastIndex)
        // The blocking query that follows the first answer meets a lower index
        // (a restored snapshot, a new leader behind the old one).
        if (seen.length === 1) {
          s.injectFault({ path: '/v1/deployment/allocations/', kind: 'index-backwards', index: 1 })
        }
      },
      { deadline: performance.now() + 5_000, signal: ctrl.signal },
    )
    await until(() => sent.length >= 4, 'four queries from the watch')
    ctrl.abort()
    await done
    const real = seen[0]
    expect(real).toBeGreaterThan(1)
    // No index, the first answer's, then (index 1 came back) none again: a reset,
    // not a query at the lower index; then blocking from the re-read.
    expect(sent.slice(0, 4)).toEqual([0, real, 0, real])
    // The re-read state is delivered although its index did not move past the last one seen.
    expect(seen.slice(0, 2)).toEqual([real, real])
  })

  it('resets to 0 after a backwards index in the middle of a watch', async () => {
    const s = await sim()
    const run = runScenario(s, 'manual')
    const c = client(s)
    const ctrl = new AbortController()
    const indexes: string[] = []
    const first = await c.deploymentAllocations(run.deploymentId)
    s.injectFault({
      path: '/v1/deployment/allocations/',
      kind: 'index-backwards',
      index: first.meta.lastIndex - 1,
    })
    const done = watch(
      (q) => {
        indexes.push(String(q.index ?? 0))
        return c.deploymentAllocations(run.deploymentId, q)
      },
      () => undefined,
      { deadline: performance.now() + 5_000, signal: ctrl.signal, index: first.meta.lastIndex },
    )
    await until(() => indexes.length >= 3, 'three queries from the watch')
    await request(
      s,
      'the watch blocking again at the known index after the reset',
      (r) => r.query.index === String(first.meta.lastIndex) && r !== s.requests[1],
    )
    ctrl.abort()
    await done
    // sent the known index, got a lower one back, started over from 0 (no index), then blocked again
    expect(indexes.slice(0, 3)).toEqual([
      String(first.meta.lastIndex),
      '0',
      String(first.meta.lastIndex),
    ])
  })
})

/** A loopback HTTP server answering every request with `answer(req)` as JSON, X-Nomad-Index 42. */
async function answering(answer: (req: IncomingMessage) => unknown): Promise<{ address: string }> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-nomad-index': '42' })
    res.end(JSON.stringify(answer(req)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  return { address: `http://127.0.0.1:${port}` }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms))
}
