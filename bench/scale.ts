// Scale: the client-side cost of one health change as deployments grow (1, 20 and
// 200 task groups of 25 allocations). The bodies are made by the simulator's state
// store and serialized as its HTTP API does (JSON.stringify of what it serves). A
// replay server on loopback holds the gate's blocking queries and answers them
// with pre-serialized bytes, so the server's own work (the simulator clones and
// serializes 5,000 allocations per answer) is not counted: an update is from the
// replay server writing the deployment and allocations answers of a change to the
// gate having sent both of its next blocking queries. In between: reading the
// bodies, JSON.parse, evaluate(), the health-change log and the watch loop, all
// through the real NomadClient and runGate.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { evaluate, selectGroups } from '../src/gate/readiness.js'
import type { AllocListStub, Deployment } from '../src/nomad/types.js'
import { NomadState } from '../sim/state.js'
import { startGate } from './gated.js'
import type { ScaleResults, ScaleRow } from './results.js'
import { median, round, roundSummary, summarize } from './stats.js'

export interface ScaleOptions {
  groups: number[]
  allocsPerGroup: number
  /** Measured updates per size (after `warmup` unmeasured ones). */
  updates: (groups: number) => number
  warmup: number
}

type Kind = 'deployment' | 'allocations'

/** A stand-in for Nomad's HTTP API that serves fixed bytes and holds blocking queries. */
class Replay {
  address = ''
  private index = 0
  private bodies: Record<Kind, Buffer> = {
    deployment: Buffer.alloc(0),
    allocations: Buffer.alloc(0),
  }
  private held: Array<{ kind: Kind; res: ServerResponse }> = []
  private waiters: Array<{ kind: Kind; index: number; resolve: (at: number) => void }> = []
  private readonly server = createServer((req, res) => this.handle(req, res))

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.address = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  stop(): Promise<void> {
    for (const { res } of this.held) res.destroy()
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  /** Sets the state at `index`; answers held queries; returns performance.now() before the first byte. */
  publish(deployment: Buffer, allocations: Buffer, index: number): number {
    this.bodies = { deployment, allocations }
    this.index = index
    const held = this.held.sort((a, b) =>
      a.kind === b.kind ? 0 : a.kind === 'deployment' ? -1 : 1,
    )
    this.held = []
    const at = performance.now()
    for (const { kind, res } of held) this.answer(kind, res)
    return at
  }

  /** Resolves with the arrival time of the next blocking query of `kind` with index >= `index`. */
  nextQuery(kind: Kind, index: number, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(
          new Error(`no blocking query on the ${kind} with index ${index} within ${timeoutMs} ms`),
        )
      }, timeoutMs)
      const waiter = {
        kind,
        index,
        resolve: (at: number) => {
          clearTimeout(timer)
          resolve(at)
        },
      }
      this.waiters.push(waiter)
    })
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const at = performance.now()
    const url = new URL(req.url ?? '/', 'http://replay')
    const kind: Kind | undefined = url.pathname.startsWith('/v1/deployment/allocations/')
      ? 'allocations'
      : url.pathname.startsWith('/v1/deployment/')
        ? 'deployment'
        : undefined
    req.resume()
    if (!kind || req.method !== 'GET') {
      res.writeHead(404).end()
      return
    }
    const index = Number(url.searchParams.get('index') ?? 0)
    if (index > 0) {
      this.waiters = this.waiters.filter((w) => {
        if (w.kind !== kind || index < w.index) return true
        w.resolve(at)
        return false
      })
    }
    if (index > 0 && index >= this.index) {
      this.held.push({ kind, res })
      res.once('close', () => (this.held = this.held.filter((h) => h.res !== res)))
      return
    }
    this.answer(kind, res)
  }

  private answer(kind: Kind, res: ServerResponse): void {
    const body = this.bodies[kind]
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': body.length,
      'X-Nomad-Index': String(this.index),
      'X-Nomad-KnownLeader': 'true',
      'X-Nomad-LastContact': '0',
    })
    res.end(body)
  }
}

/** A deployment of `groups` groups with `perGroup` running canaries each, none healthy yet, from the simulator's store. */
function makeDeployment(
  groups: number,
  perGroup: number,
): { deployment: Deployment; allocs: AllocListStub[] } {
  const state = new NomadState()
  const specs = Array.from({ length: groups }, (_, i) => ({
    name: `group-${String(i).padStart(3, '0')}`,
    count: perGroup,
    canaries: perGroup,
  }))
  state.registerJob({ id: 'scale', groups: specs, spec: 'v0', stable: true })
  const { deploymentId } = state.rollout('scale', { spec: 'v1' })
  for (const g of specs) state.placeCanaries(deploymentId, g.name)
  return { deployment: state.deployment(deploymentId)!, allocs: state.allocations(deploymentId) }
}

/** Median time of one call of `fn`, timed in batches long enough for the clock. */
function timeCall(fn: () => void, budgetMs: number): number {
  fn()
  let batch = 1
  for (;;) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) fn()
    if (performance.now() - t >= 1 || batch >= 1 << 16) break
    batch *= 2
  }
  const perCall: number[] = []
  const end = performance.now() + budgetMs
  while (perCall.length < 5 || (performance.now() < end && perCall.length < 200)) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) fn()
    perCall.push((performance.now() - t) / batch)
  }
  return median(perCall)
}

async function measureSize(groups: number, options: ScaleOptions): Promise<ScaleRow> {
  const { deployment, allocs } = makeDeployment(groups, options.allocsPerGroup)
  const selected = selectGroups(deployment, [])
  let index = Math.max(deployment.ModifyIndex, ...allocs.map((a) => a.ModifyIndex))

  // Alone, on bodies with half the canaries healthy: UTF-8 decoding of the body as
  // it arrives (64 KiB chunks, joined, as NomadClient reads it), JSON.parse, and
  // evaluate() on a fresh parse (as in the gate: new objects, new ID strings to
  // hash) and again on the same objects.
  const half = structuredClone(allocs)
  half.forEach((a, i) => (a.DeploymentStatus!.Healthy = i % 2 === 0 ? true : null))
  const allocText = JSON.stringify(half)
  const deploymentText = JSON.stringify(deployment)
  const allocBytes = Buffer.from(allocText)
  const chunks: Buffer[] = []
  for (let i = 0; i < allocBytes.length; i += 65_536)
    chunks.push(allocBytes.subarray(i, i + 65_536))
  let sink = 0
  const decodeMs = timeCall(() => (sink += Buffer.concat(chunks).toString('utf8').length), 150)
  const parseAllocsMs = timeCall(() => (sink += (JSON.parse(allocText) as unknown[]).length), 300)
  const parseDeploymentMs = timeCall(
    () => (sink += (JSON.parse(deploymentText) as Deployment).ModifyIndex),
    150,
  )
  const fresh: number[] = []
  const again: number[] = []
  for (let i = 0; i < (groups >= 100 ? 15 : 60); i++) {
    const d = JSON.parse(deploymentText) as Deployment
    const list = JSON.parse(allocText) as AllocListStub[]
    let t = performance.now()
    sink += evaluate(d, list, selected).groups.length
    fresh.push(performance.now() - t)
    t = performance.now()
    sink += evaluate(d, list, selected).groups.length
    again.push(performance.now() - t)
  }
  if (sink < 0) throw new Error('unreachable')

  // Through the gate: one alloc turns healthy per update, the deployment's
  // counters and indexes move with it, as Nomad's state store does.
  const replay = new Replay()
  await replay.start()
  const samples: number[] = []
  const wanted = options.updates(groups)
  try {
    while (samples.length < wanted) {
      const d = structuredClone(deployment)
      const list = structuredClone(allocs)
      replay.publish(Buffer.from(JSON.stringify(d)), Buffer.from(JSON.stringify(list)), index)
      const stop = new AbortController()
      // The replay server serves no event stream: this is the blocking-query path.
      const gate = startGate(replay.address, d.ID, {
        signal: stop.signal,
        inputs: { watch: 'blocking' },
      })
      await Promise.all([
        replay.nextQuery('deployment', index),
        replay.nextQuery('allocations', index),
      ])
      // A run lasts until the deployment's canaries are all healthy but one.
      const perRun = Math.min(list.length - 1, wanted - samples.length + options.warmup)
      for (let u = 0; u < perRun; u++) {
        const a = list[u] // the last one never turns healthy: the gate keeps waiting
        index++
        a.DeploymentStatus = { ...a.DeploymentStatus!, Healthy: true, ModifyIndex: index }
        a.ModifyIndex = index
        d.TaskGroups[a.TaskGroup].HealthyAllocs++
        d.ModifyIndex = index
        const dBytes = Buffer.from(JSON.stringify(d))
        const aBytes = Buffer.from(JSON.stringify(list))
        const both = Promise.all([
          replay.nextQuery('deployment', index),
          replay.nextQuery('allocations', index),
        ])
        const t0 = replay.publish(dBytes, aBytes, index)
        const [td, ta] = await both
        if (u >= options.warmup) samples.push(Math.max(td, ta) - t0)
      }
      stop.abort()
      const outcome = await gate.outcome
      if (outcome.result !== 'cancelled') {
        throw new Error(
          `scale ${groups}: the gate ended with ${outcome.result}: ${outcome.message}`,
        )
      }
    }
  } finally {
    await replay.stop()
  }
  const update = summarize(samples.slice(0, wanted))
  return {
    groups,
    allocs: allocs.length,
    allocBodyBytes: Buffer.byteLength(JSON.stringify(allocs)),
    deploymentBodyBytes: Buffer.byteLength(deploymentText),
    decodeMs: round(decodeMs),
    parseAllocsMs: round(parseAllocsMs),
    parseDeploymentMs: round(parseDeploymentMs),
    evaluateMs: round(median(fresh.slice(2))),
    evaluateAgainMs: round(median(again.slice(2))),
    update: roundSummary(update),
    updateUsPerAlloc: round((update.p50 * 1000) / allocs.length),
  }
}

export async function measureScale(
  options: ScaleOptions,
  progress: (line: string) => void,
): Promise<ScaleResults> {
  const rows: ScaleRow[] = []
  for (const groups of options.groups) {
    const row = await measureSize(groups, options)
    progress(
      `scale: ${groups} groups / ${row.allocs} allocs: update p50 ${row.update.p50.toFixed(2)} ms, evaluate ${row.evaluateMs.toFixed(3)} ms`,
    )
    rows.push(row)
  }
  return { rows }
}
