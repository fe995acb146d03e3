// The fault matrix: every way a Nomad server (or what stands in front of it)
// can fail a request, while the gate waits on blocking queries and when it
// sends its one write. The gate runs in-process (runGate with a real
// NomadClient, fast back-off) against the simulator; dist/index.js runs a few.
// For each fault: the right result, exactly one write applied (counted from
// the simulator's applied changes), and when the fault never ends, a clear
// error only once the deadline has passed.

import { describe, it } from 'vitest'
import { request } from '../helpers/wait.js'
import type { FaultSpec, Simulator } from '../../sim/simulator.js'
import { Lab, healthy, holding, nextRequest, report, rollout } from './helpers.js'
import { startGate } from './inprocess.js'

/** A fault without method and path: the phase fills them in. */
type Spec = FaultSpec extends infer F
  ? F extends unknown
    ? Omit<F, 'method' | 'path'>
    : never
  : never

interface Case {
  name: string
  /** Injected in this order; a count of 0 means "until the test ends". */
  faults?: Spec[]
  /** Through the TCP proxy: connections refused, then accepted again. */
  refused?: boolean
  /** The client's per-request time limit for this case. */
  requestTimeoutMs?: number
  /** Write requests the gate sends in the write phase (the simulator's log). */
  sent?: number
  /** Fragment of the error message when the fault never ends. */
  says?: RegExp
}

const T = 300 // a short socket time limit, so "slower than the timeout" costs little

const STATUS_CASES: Case[] = [
  {
    name: '500 Internal Server Error',
    faults: [{ kind: 'status', status: 500 }],
    says: /HTTP 500/,
  },
  {
    name: '500 No cluster leader',
    faults: [{ kind: 'status', status: 500, body: 'No cluster leader' }],
    says: /No cluster leader/,
  },
  { name: '502 Bad Gateway', faults: [{ kind: 'status', status: 502 }], says: /HTTP 502/ },
  {
    name: '503 Service Unavailable',
    faults: [{ kind: 'status', status: 503 }],
    says: /HTTP 503/,
  },
  { name: '504 Gateway Timeout', faults: [{ kind: 'status', status: 504 }], says: /HTTP 504/ },
  {
    name: '500 rpc error: rpc error: No cluster leader',
    faults: [{ kind: 'status', status: 500, body: 'rpc error: rpc error: No cluster leader' }],
    says: /No cluster leader/,
  },
  {
    name: '500 rpc error: EOF',
    faults: [{ kind: 'status', status: 500, body: 'rpc error: EOF' }],
    says: /EOF/,
  },
  {
    name: '500 rpc error: Not ready to serve consistent reads',
    faults: [
      { kind: 'status', status: 500, body: 'rpc error: Not ready to serve consistent reads' },
    ],
    says: /Not ready to serve consistent reads/,
  },
  {
    name: '500 rpc error: failed to get conn (connection refused)',
    faults: [
      {
        kind: 'status',
        status: 500,
        body: 'rpc error: failed to get conn: dial tcp 10.0.0.2:4647: connect: connection refused',
      },
    ],
    says: /failed to get conn/,
  },
]

const READ_CASES: Case[] = [
  ...STATUS_CASES,
  { name: 'connection refused, then accepted', refused: true, says: /connection refused/ },
  { name: 'connection reset', faults: [{ kind: 'reset' }], says: /broke/ },
  { name: 'reset mid-body', faults: [{ kind: 'reset-mid-body' }], says: /broke/ },
  {
    // A blocking query may be held for minutes, so its own time limit is
    // wait + jitter + 5 s; the reads that can be slower than the socket time
    // limit are the ones at index 0: the one after an index went backwards.
    name: 'slower than the socket timeout',
    faults: [{ kind: 'index-backwards' }, { kind: 'delay', ms: 3 * T }],
    requestTimeoutMs: T,
    says: /no answer from/,
  },
  { name: 'malformed JSON', faults: [{ kind: 'malformed-json' }], says: /not valid JSON/ },
  { name: 'index goes backwards', faults: [{ kind: 'index-backwards' }] },
  { name: 'X-Nomad-KnownLeader: false', faults: [{ kind: 'no-leader' }] },
]

const WRITE_CASES: Case[] = [
  ...STATUS_CASES.map((c) => ({ ...c, sent: 2 })),
  { name: 'connection cut, then refused, then accepted', refused: true, sent: 1 },
  { name: 'connection reset before the answer', faults: [{ kind: 'reset' }], sent: 2 },
  { name: 'reset mid-body (applied)', faults: [{ kind: 'reset-mid-body' }], sent: 1 },
  {
    // The server applies the write after the client gave up on it: the
    // read-back must wait for it (as long again as the time limit), not send
    // a second promote.
    name: 'slower than the socket timeout (applied late)',
    faults: [{ kind: 'delay', ms: 1.5 * T }],
    requestTimeoutMs: T,
    sent: 1,
  },
  { name: 'malformed JSON (applied)', faults: [{ kind: 'malformed-json' }], sent: 1 },
  { name: 'answer dropped (applied)', faults: [{ kind: 'drop-response' }], sent: 1 },
  { name: 'index goes backwards', faults: [{ kind: 'index-backwards' }], sent: 1 },
  { name: 'X-Nomad-KnownLeader: false', faults: [{ kind: 'no-leader' }], sent: 1 },
]

// Reads while waiting are blocking queries' (watch: blocking in those cases);
// the event stream's faults are in stream.test.ts.
const READS = { method: 'GET', path: '/v1/deployment/' }
const WRITE = { method: 'PUT', path: '/v1/deployment/promote/' }

/** Injects the case's faults `times` times each (0: for good). */
function inject(s: Simulator, c: Case, where: typeof READS, times: number) {
  const faults = (c.faults ?? []).map((f) => {
    // The slow read must be the index-0 one that follows the backwards index.
    const path = c.name.startsWith('slower') && where === READS ? ALLOCS : where.path
    return s.injectFault({ ...f, ...where, path, count: times || 1_000_000 } as FaultSpec)
  })
  return {
    faults,
    allHit: () => faults.every((f) => f.hits >= f.spec.count!),
    hits: () => faults.reduce((n, f) => n + f.hits, 0),
  }
}

const ALLOCS = '/v1/deployment/allocations/'

/**
 * A change that wakes both held queries (the deployment's counters and its
 * allocations move) without touching the canaries: a new non-canary
 * allocation reports healthy. Resolves when the gate has come back with its
 * next read, so a faulted answer to the held query has been dealt with.
 */
async function nudge(s: Simulator, id: string): Promise<void> {
  const next = nextRequest(s, (r) => r.method === 'GET' && r.path.startsWith('/v1/deployment/'))
  const [alloc] = s.placeAllocs(id, 'web', 1)
  s.setAllocHealth(alloc, true)
  await next
}

describe.concurrent('reads fail while the gate waits', () => {
  for (const c of READ_CASES) {
    it(`${c.name}: survived, promoted once`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const r = rollout(s)
      const writes = lab.applied(s)
      const proxy = c.refused ? await lab.proxy(s.port) : undefined
      healthy(s, [r.web[0]])
      const gate = startGate(
        {
          address: proxy?.address ?? s.address,
          'deployment-id': r.id,
          timeout: '20s',
          watch: 'blocking',
        },
        { client: { requestTimeoutMs: c.requestTimeoutMs ?? 2_000 } },
      )
      await holding(s)
      const f = inject(s, c, READS, c.name.startsWith('slower') ? 1 : 3)
      if (proxy) {
        await proxy.down() // the held queries break, then every connect is refused
        await gate.retried(3, (e) => e.kind === 'refused')
        await proxy.up()
      } else {
        // Each change brings the held queries back into the faults; one more
        // after the last fault was met, so that its answer has been dealt with.
        for (let i = 0; i < 20 && !f.allHit(); i++) await nudge(s, r.id)
        ctx.expect(f.allHit(), 'every fault met a read within 20 changes').toBe(true)
        await nudge(s, r.id)
      }
      ctx.expect(s.writes()).toHaveLength(0)
      healthy(s, [r.api[0], r.web[1]])
      const { outcome, retries } = await gate.done
      const faults = proxy ? retries.length : f.hits()
      ctx.expect(outcome.message).toMatch(/^Promoted/)
      ctx.expect(outcome.result).toBe('promoted')
      ctx.expect(writes.count()).toBe(1)
      ctx.expect(s.writes()).toHaveLength(1)
      ctx.expect(faults).toBeGreaterThan(0)
      if (c.name.startsWith('slower')) {
        ctx.expect(retries.some((e) => e.kind === 'timeout')).toBe(true)
      }
      report({
        suite: 'faults',
        name: c.name,
        via: 'in-process',
        phase: 'wait',
        result: outcome.result,
        faults,
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        requests: s.requests.length,
        elapsedMs: outcome.elapsedMs,
      })
    })
  }
})

describe.concurrent('reads that never recover: a clear error at the deadline', () => {
  const TIMEOUT = 1_500
  const blocking: Case[] = [
    ...READ_CASES.filter((c) => c.says && !c.name.startsWith('slower')).map((c) =>
      // A malformed answer to a held query comes when the state changes: with
      // no further change, the gate waits out its deadline.
      c.name === 'malformed JSON' ? { ...c, says: /not valid JSON|^Timed out after/ } : c,
    ),
    // A server that takes the request and never answers.
    { name: 'no answer at all', faults: [{ kind: 'delay', ms: 60_000 }], says: /Timed out/ },
  ]
  for (const c of blocking) {
    it(`${c.name}: gives up at the deadline, no write`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const r = rollout(s)
      const writes = lab.applied(s)
      const proxy = c.refused ? await lab.proxy(s.port) : undefined
      healthy(s, [r.web[0], r.web[1]])
      const gate = startGate(
        {
          address: proxy?.address ?? s.address,
          'deployment-id': r.id,
          timeout: `${TIMEOUT}ms`,
          watch: 'blocking',
        },
        {
          client: { requestTimeoutMs: c.requestTimeoutMs ?? 2_000 },
          limitMs: TIMEOUT + 3_000,
          what: `the gate giving up at its ${TIMEOUT} ms deadline`,
        },
      )
      await holding(s)
      const f = inject(s, c, READS, 0)
      if (proxy) await proxy.down()
      else await nudge(s, r.id) // the held queries come back into the faults for good
      const { outcome, retries } = await gate.done
      ctx.expect(outcome.result).toMatch(/^(error|timed-out)$/)
      ctx.expect(outcome.ok).toBe(false)
      ctx.expect(outcome.message).toMatch(c.says!)
      ctx.expect(outcome.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT - 100)
      // Generous: concurrent tests share this event loop with their simulators.
      ctx.expect(outcome.elapsedMs).toBeLessThan(TIMEOUT + 2_000)
      ctx.expect(writes.count()).toBe(0)
      ctx.expect(s.writes()).toHaveLength(0)
      report({
        suite: 'deadline',
        name: c.name,
        via: 'in-process',
        phase: 'wait',
        result: outcome.result,
        faults: proxy ? retries.length : f.hits(),
        writesSent: 0,
        writesApplied: writes.count(),
        elapsedMs: outcome.elapsedMs,
        note: outcome.message.slice(0, 160),
      })
    })
  }

  it('index going backwards on every read: still promotes, backing off instead of spinning', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    const writes = lab.applied(s)
    healthy(s, [r.web[0], r.web[1]])
    const gate = startGate({
      address: s.address,
      'deployment-id': r.id,
      timeout: '20s',
      watch: 'blocking',
    })
    await holding(s)
    const f = s.injectFault({ ...READS, kind: 'index-backwards', count: 1_000_000 })
    await nudge(s, r.id)
    // Every answer now comes at once with an older index: count the reads.
    const t0 = performance.now()
    const from = s.requests.length
    await request(s, '16 reads after the fault', () => s.requests.length >= from + 16, 15_000)
    const perSecond = (16 * 1000) / (performance.now() - t0)
    healthy(s, [r.api[0]])
    const { outcome } = await gate.done
    ctx.expect(outcome.result).toBe('promoted')
    ctx.expect(writes.count()).toBe(1)
    ctx.expect(perSecond).toBeLessThan(50)
    report({
      suite: 'faults',
      name: 'index goes backwards on every read',
      via: 'in-process',
      phase: 'wait',
      result: outcome.result,
      faults: f.hits,
      writesSent: s.writes().length,
      writesApplied: writes.count(),
      requests: s.requests.length,
      elapsedMs: outcome.elapsedMs,
      note: `${Math.round(perSecond)} reads/s while it lasts`,
    })
  })

  it('X-Nomad-KnownLeader: false on every read: the answers still count', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    const writes = lab.applied(s)
    const gate = startGate({
      address: s.address,
      'deployment-id': r.id,
      timeout: '20s',
      watch: 'blocking',
    })
    await holding(s)
    const f = s.injectFault({ ...READS, kind: 'no-leader', count: 1_000_000 })
    for (const id of r.all) {
      const next = nextRequest(s, (q) => q.method === 'GET')
      healthy(s, [id])
      if (id !== r.all.at(-1)) await next
    }
    const { outcome } = await gate.done
    ctx.expect(outcome.result).toBe('promoted')
    ctx.expect(writes.count()).toBe(1)
    ctx.expect(f.hits).toBeGreaterThan(3)
    report({
      suite: 'faults',
      name: 'X-Nomad-KnownLeader: false on every read',
      via: 'in-process',
      phase: 'wait',
      result: outcome.result,
      faults: f.hits,
      writesSent: s.writes().length,
      writesApplied: writes.count(),
      requests: s.requests.length,
      elapsedMs: outcome.elapsedMs,
    })
  })
})

describe.concurrent('the write fails', () => {
  for (const c of WRITE_CASES) {
    it(`${c.name}: promoted, exactly one write applied`, async (ctx) => {
      const lab = new Lab(ctx)
      const s = await lab.sim()
      const r = rollout(s)
      const writes = lab.applied(s)
      const proxy = c.refused ? await lab.proxy(s.port) : undefined
      healthy(s, [r.web[0], r.api[0]])
      const gate = startGate(
        { address: proxy?.address ?? s.address, 'deployment-id': r.id, timeout: '20s' },
        { client: { requestTimeoutMs: c.requestTimeoutMs ?? 2_000 } },
      )
      await holding(s)
      const f = inject(s, c, WRITE, 1)
      if (proxy) {
        proxy.downOnPut = true
        const back = gate.retried(3, (e) => e.kind === 'refused').then(() => proxy.up())
        healthy(s, [r.web[1]])
        await back
      } else {
        healthy(s, [r.web[1]])
      }
      const { outcome, retries } = await gate.done
      const delayed = c.faults?.find((x) => x.kind === 'delay')
      if (delayed && delayed.kind === 'delay') {
        // The slow write lands after the gate gave up waiting for its answer:
        // wait for it, then count.
        const first = s.writes()[0]
        await writes.until((w) => w.at >= first.at + delayed.ms, 5_000)
      }
      const faults = proxy ? proxy.cutPuts + retries.length : f.hits()
      ctx.expect(outcome.result).toBe('promoted')
      ctx.expect(writes.count()).toBe(1)
      ctx.expect(s.writes()).toHaveLength(c.sent ?? 1)
      ctx.expect(s.deployment(r.id)!.TaskGroups.web.Promoted).toBe(true)
      ctx.expect(faults).toBeGreaterThan(0)
      report({
        suite: 'faults',
        name: c.name,
        via: 'in-process',
        phase: 'write',
        result: outcome.result,
        faults,
        writesSent: s.writes().length,
        writesApplied: writes.count(),
        requests: s.requests.length,
        elapsedMs: outcome.elapsedMs,
        note: outcome.write
          ? `EvalID ${outcome.write.EvalID ? 'set' : 'empty'}`
          : 'seen by read-back',
      })
    })
  }
})

describe.concurrent(
  'writes that never get through: a clear error once the write deadline passes',
  () => {
    // A write that has started gets 15 s even past the step's deadline
    // (gate/mutate.ts WRITE_GRACE_MS); these run concurrently to keep the suite short.
    const GRACE = 15_000
    const cases: Case[] = [
      STATUS_CASES[3], // 503
      STATUS_CASES[5], // rpc error: No cluster leader
      { name: 'connection reset before the answer', faults: [{ kind: 'reset' }], says: /broke/ },
      {
        name: 'connection cut, then refused',
        refused: true,
        says: /may or may not have been applied/,
      },
      {
        name: 'slower than the socket timeout',
        faults: [{ kind: 'delay', ms: 120_000 }],
        requestTimeoutMs: T,
        says: /no answer from/,
      },
    ]
    for (const c of cases) {
      it(`${c.name}: no promote applied, error after the grace`, async (ctx) => {
        const lab = new Lab(ctx)
        const s = await lab.sim()
        const r = rollout(s)
        const writes = lab.applied(s)
        const proxy = c.refused ? await lab.proxy(s.port) : undefined
        healthy(s, [r.web[0], r.api[0]])
        const gate = startGate(
          { address: proxy?.address ?? s.address, 'deployment-id': r.id, timeout: '1s' },
          {
            client: { requestTimeoutMs: c.requestTimeoutMs ?? 2_000 },
            limitMs: GRACE + 3_000,
            what: 'the gate giving up once the write grace has passed',
          },
        )
        await holding(s)
        const f = inject(s, c, WRITE, 0)
        if (proxy) proxy.downOnPut = true
        const t0 = performance.now()
        healthy(s, [r.web[1]])
        const { outcome } = await gate.done
        const writeMs = performance.now() - t0
        ctx.expect(outcome.result).toBe('error')
        ctx.expect(outcome.message).toMatch(c.says!)
        ctx.expect(writes.count()).toBe(0)
        ctx.expect(s.deployment(r.id)!.TaskGroups.web.Promoted).toBe(false)
        ctx.expect(writeMs).toBeGreaterThanOrEqual(GRACE - 2_500)
        ctx.expect(writeMs).toBeLessThan(GRACE + 2_500)
        report({
          suite: 'deadline',
          name: `write: ${c.name}`,
          via: 'in-process',
          phase: 'write',
          result: outcome.result,
          faults: proxy ? proxy.cutPuts : f.hits(),
          writesSent: s.writes().length,
          writesApplied: writes.count(),
          elapsedMs: outcome.elapsedMs,
          note: outcome.message.slice(0, 160),
        })
      })
    }
  },
)

describe.concurrent('lost write: the promote is applied, its answer dropped', () => {
  it('re-reads the deployment, reports promoted, and does not write again', async (ctx) => {
    const lab = new Lab(ctx)
    const s = await lab.sim()
    const r = rollout(s)
    healthy(s, r.all)
    const writes = lab.applied(s)
    const f = s.injectFault({ ...WRITE, kind: 'drop-response' })
    const gate = startGate({ address: s.address, 'deployment-id': r.id, timeout: '20s' })
    const { outcome, lines } = await gate.done
    ctx.expect(f.hits).toBe(1)
    ctx.expect(outcome.result).toBe('promoted')
    ctx.expect(outcome.ok).toBe(true)
    ctx.expect(outcome.write).toBeUndefined() // no answer to report
    ctx.expect(outcome.deployment!.TaskGroups.web.Promoted).toBe(true)
    ctx.expect(s.writes()).toHaveLength(1)
    ctx.expect(writes.count()).toBe(1)
    ctx.expect(lines.join('\n')).toMatch(/deployment shows it in effect: not sending it again/)
    // After the PUT, only reads.
    const put = s.requests.findIndex((q) => q.method === 'PUT')
    ctx.expect(s.requests.slice(put + 1).every((q) => q.method === 'GET')).toBe(true)
    report({
      suite: 'faults',
      name: 'lost write (promote applied, answer dropped)',
      via: 'in-process',
      phase: 'write',
      result: outcome.result,
      faults: f.hits,
      writesSent: s.writes().length,
      writesApplied: writes.count(),
      requests: s.requests.length,
      elapsedMs: outcome.elapsedMs,
      note: 'seen by read-back, not re-sent',
    })
  })
})

describe.concurrent(
  'the other writes (fail, pause, resume, allocation health) under faults',
  () => {
    const MODES = [
      { mode: 'fail', result: 'failed', kind: 'fail', path: '/v1/deployment/fail/' },
      { mode: 'pause', result: 'paused', kind: 'pause', path: '/v1/deployment/pause/' },
      { mode: 'resume', result: 'resumed', kind: 'resume', path: '/v1/deployment/pause/' },
      {
        mode: 'health',
        result: 'health-set',
        kind: 'alloc-health',
        path: '/v1/deployment/allocation-health/',
      },
    ] as const
    const FAULTS: Array<{ name: string; spec: Spec; sent: number; requestTimeoutMs?: number }> = [
      { name: '503', spec: { kind: 'status', status: 503 }, sent: 2 },
      { name: 'reset before the answer', spec: { kind: 'reset' }, sent: 2 },
      { name: 'answer dropped (applied)', spec: { kind: 'drop-response' }, sent: 1 },
      {
        name: 'slower than the socket timeout (applied late)',
        spec: { kind: 'delay', ms: 1.5 * T },
        sent: 1,
        requestTimeoutMs: T,
      },
    ]
    for (const m of MODES) {
      for (const f of FAULTS) {
        it(`${m.mode}: ${f.name}: ${m.result}, exactly one write applied`, async (ctx) => {
          const lab = new Lab(ctx)
          const s = await lab.sim()
          const r = rollout(s)
          if (m.mode === 'resume') s.apiPause(r.id, true)
          const writes = lab.applied(s, [m.kind])
          const fault = s.injectFault({ ...f.spec, method: 'PUT', path: m.path } as FaultSpec)
          const inputs: Record<string, string> = {
            address: s.address,
            'deployment-id': r.id,
            mode: m.mode,
            timeout: '20s',
          }
          if (m.mode === 'health') inputs['healthy-allocs'] = 'canaries'
          const gate = startGate(inputs, {
            client: { requestTimeoutMs: f.requestTimeoutMs ?? 2_000 },
          })
          const { outcome } = await gate.done
          const spec = f.spec
          if (spec.kind === 'delay') {
            const first = s.writes()[0]
            await writes.until((w) => w.at >= first.at + spec.ms, 5_000)
          }
          ctx.expect(fault.hits).toBe(1)
          ctx.expect(outcome.result).toBe(m.result)
          ctx.expect(writes.count()).toBe(1)
          ctx.expect(s.writes()).toHaveLength(f.sent)
          if (m.mode === 'health') {
            for (const id of r.all)
              ctx.expect(s.allocation(id)!.DeploymentStatus!.Healthy).toBe(true)
          } else {
            const status = { fail: 'failed', pause: 'paused', resume: 'running' }[m.mode]
            ctx.expect(s.deployment(r.id)!.Status).toBe(status)
          }
          report({
            suite: 'faults',
            name: `${m.mode}: ${f.name}`,
            via: 'in-process',
            phase: 'write',
            result: outcome.result,
            faults: fault.hits,
            writesSent: s.writes().length,
            writesApplied: writes.count(),
            requests: s.requests.length,
            elapsedMs: outcome.elapsedMs,
          })
        })
      }
    }
  },
)
