// Shared by the reliability suite: simulators that stop after each test, the
// canary rollout every scenario gates, the gate run in-process with a real
// NomadClient, dist/index.js run as the runner runs it, a TCP proxy that can
// refuse connections, the count of writes that took effect, and the report
// lines that scripts/reliability-report.ts turns into docs/reliability.md.

import { expect, type TestContext } from 'vitest'
import { appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as net from 'node:net'
import {
  startSimulator,
  type ChangeRecord,
  type Simulator,
  type SimulatorOptions,
} from '../../sim/simulator.js'
import type { ReportLine } from '../../scripts/reliability-render.js'
import { startAction, type Run, type Started } from '../helpers/run.js'
import { caughtUp, request } from '../helpers/wait.js'

// ---- report ------------------------------------------------------------------

export type { ReportLine }

/** Appends one JSON line to $RELIABILITY_REPORT when it is set. */
export function report(line: ReportLine): void {
  const file = process.env.RELIABILITY_REPORT
  if (!file) return
  // The report is committed: no path of this machine in it (a message may quote a temporary file).
  const note = line.note?.split(tmpdir()).join('$TMPDIR')
  const out = { ...line, note, elapsedMs: Math.round(line.elapsedMs) }
  appendFileSync(file, `${JSON.stringify(out)}\n`)
}

// ---- simulators --------------------------------------------------------------

/**
 * What one test starts, stopped when that test finishes (through the test
 * context's hook, so concurrent tests do not stop each other's simulators).
 */
export class Lab {
  constructor(private readonly ctx: Pick<TestContext, 'onTestFinished'>) {}

  finally(fn: () => unknown): void {
    this.ctx.onTestFinished(async () => {
      await fn()
    })
  }

  async sim(options: SimulatorOptions = {}): Promise<Simulator> {
    const s = await startSimulator(options)
    this.finally(() => s.stop())
    return s
  }

  /** A server on 127.0.0.1 that takes connections and never says a word (a port that swallows). */
  async silentPort(): Promise<number> {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.finally(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          server.close(() => resolve())
        }),
    )
    return (server.address() as net.AddressInfo).port
  }

  async proxy(targetPort: number): Promise<RefusingProxy> {
    const p = new RefusingProxy(targetPort)
    this.finally(() => p.down())
    await p.up()
    return p
  }

  /** The deployment writes of these kinds that took effect (applied state changes), from now on. */
  applied(s: Simulator, kinds: readonly string[] = WRITE_KINDS): AppliedWrites {
    const changes: ChangeRecord[] = []
    const waiters = new Set<() => void>()
    const off = s.on('change', (c) => {
      // A client reporting health is also `alloc-health`; the API's write creates an evaluation.
      if (c.kind === 'alloc-health' && !c.tables.includes('evals')) return
      if (!kinds.includes(c.kind)) return
      changes.push(c)
      for (const w of [...waiters]) w()
    })
    this.finally(off)
    return {
      changes,
      count: () => changes.length,
      until: (pred, timeoutMs = 10_000) =>
        new Promise<ChangeRecord | undefined>((resolve) => {
          const timer = setTimeout(() => {
            waiters.delete(check)
            resolve(undefined)
          }, timeoutMs)
          const check = () => {
            const found = changes.find(pred)
            if (!found) return
            clearTimeout(timer)
            waiters.delete(check)
            resolve(found)
          }
          waiters.add(check)
          check()
        }),
    }
  }
}

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface AppliedWrites {
  changes: ChangeRecord[]
  count: () => number
  /**
   * Resolves with the first applied write that matches, already applied or yet
   * to come; with undefined when none has come within `timeoutMs`.
   */
  until: (
    pred: (c: ChangeRecord) => boolean,
    timeoutMs?: number,
  ) => Promise<ChangeRecord | undefined>
}

export const WRITE_KINDS = ['promote', 'fail', 'pause', 'resume', 'alloc-health'] as const

export interface Rollout {
  id: string
  web: string[]
  api: string[]
  all: string[]
}

/** Job `web`: version 0 stable, version 1 deploying; groups web (2 canaries) and api (1), placed. */
export function rollout(s: Simulator, options: { autoRevert?: boolean } = {}): Rollout {
  const groups = [
    { name: 'web', count: 3, canaries: 2, autoRevert: options.autoRevert },
    { name: 'api', count: 2, canaries: 1, autoRevert: options.autoRevert },
  ]
  s.registerJob({ id: 'web', groups, spec: 'v0', stable: true })
  const { deploymentId } = s.rollout('web', { spec: 'v1' })
  const web = s.placeCanaries(deploymentId, 'web')
  const api = s.placeCanaries(deploymentId, 'api')
  return { id: deploymentId, web, api, all: [...web, ...api] }
}

export function healthy(s: Simulator, ids: string[]): void {
  for (const id of ids) s.setAllocHealth(id, true)
}

/** Resolves once the gate holds a blocking query on the deployment's allocations. */
/** Resolves once the gate waits for changes (a held query on the allocations, or the event stream). */
export function holding(s: Simulator, timeoutMs = 10_000): Promise<void> {
  return caughtUp(s, undefined, 0, { ms: timeoutMs })
}

/** Resolves on the next logged request that matches, ignoring those already logged. */
export function nextRequest(
  s: Simulator,
  pred: (r: Simulator['requests'][number]) => boolean,
  timeoutMs = 10_000,
) {
  const seen = s.requests.length
  return request(
    s,
    `the next request matching ${pred.toString().replace(/\s+/g, ' ').slice(0, 120)}`,
    (r) => s.requests.indexOf(r) >= seen && pred(r),
    timeoutMs,
  )
}

// ---- dist/index.js ---------------------------------------------------------------

export type DistRun = Run

/**
 * Runs dist/index.js as the runner does, through the one spawner
 * (scripts/run-dist.ts); `measure` reads its peak RSS. Killed, failing the
 * test with its last output, when it has not exited within `limitMs`.
 */
export function startDist(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  options: { measure?: boolean; nodeArgs?: string[]; limitMs?: number } = {},
): Started {
  return startAction(inputs, env, options)
}

export function runDist(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  options: { measure?: boolean; limitMs?: number } = {},
): Promise<DistRun> {
  return startDist(inputs, env, options).done
}

/** Resolves when the child's stdout has a line matching `re`. */
export function stdoutLine(child: Started['child'], re: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.stdout!.off('data', onData)
      reject(new Error(`a line matching ${re}: did not come within ${ms} ms`))
    }, ms)
    let buf = ''
    const onData = (c: Buffer) => {
      buf += c.toString()
      const line = buf.split('\n').find((l) => re.test(l))
      if (line === undefined) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve(line)
    }
    child.stdout!.on('data', onData)
  })
}

// ---- secrets -------------------------------------------------------------------

/** A token that looks like a real Nomad secret ID. */
export const TOKEN = '3f9c2b1e-7a44-4c1d-9e8f-5ec2e77a0b1d'
/** A token-looking password for the address userinfo. */
export const PASSWORD = 'pw-8c41d7e2a9f04b6e'

/**
 * Asserts that no secret appears anywhere the user sees (stdout, stderr,
 * outputs, summary) other than in `::add-mask::` commands, and that the
 * `masked` ones are masked before every other line of output.
 */
export function expectNoLeak(run: Run, masked: string[], hidden: string[] = []): void {
  const lines = run.stdout.split('\n')
  const firstOther = lines.findIndex((l) => l !== '' && !l.startsWith('::add-mask::'))
  const masks = lines.slice(0, firstOther < 0 ? lines.length : firstOther)
  for (const secret of [...masked, ...hidden]) {
    if (masked.includes(secret)) expect(masks).toContain(`::add-mask::${secret}`)
    const places = {
      stdout: lines.filter((l) => !l.startsWith('::add-mask::')).join('\n'),
      stderr: run.stderr,
      outputs: JSON.stringify(run.outputs),
      summary: run.summary,
    }
    for (const [where, text] of Object.entries(places)) {
      expect(text.includes(secret), `a secret appears in ${where}`).toBe(false)
    }
  }
}

// ---- a TCP proxy that can refuse -------------------------------------------------

/**
 * Forwards 127.0.0.1:port to the simulator. `down()` closes the listener and
 * every connection (further connects are refused); `up()` listens again on the
 * same port. With `downOnPut`, the first `PUT` it sees is not forwarded: the
 * proxy goes down instead, so the write meets a cut connection and the read-back
 * meets refused connections.
 */
export class RefusingProxy {
  port = 0
  downOnPut = false
  /** Connections it refused to forward (PUTs cut by downOnPut). */
  cutPuts = 0
  private server?: net.Server
  private readonly sockets = new Set<net.Socket>()

  constructor(private readonly target: number) {}

  get address(): string {
    return `http://127.0.0.1:${this.port}`
  }

  up(): Promise<void> {
    const server = net.createServer((client) => this.forward(client))
    this.server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port
        resolve()
      })
    })
  }

  down(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const s of this.sockets) s.destroy()
    if (!server) return Promise.resolve()
    return new Promise((resolve) => server.close(() => resolve()))
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1')
    for (const s of [client, upstream]) {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
      s.on('error', () => undefined)
    }
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('data', (chunk: Buffer) => {
      if (this.downOnPut && chunk.subarray(0, 4).toString() === 'PUT ') {
        this.downOnPut = false
        this.cutPuts++
        void this.down()
        return
      }
      upstream.write(chunk)
    })
    upstream.pipe(client)
  }
}
