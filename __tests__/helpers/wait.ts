// Every wait in a test is bounded, and says what did not happen when it gives
// up: a test must fail on its own assertion, well before vitest's timeout.

import type { RequestRecord, Simulator } from '../../sim/simulator.js'

/** Wait until `predicate` holds, checking every 5 ms, for at most `ms`. */
export async function until(predicate: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = performance.now() + ms
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`${what}: did not happen within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** `promise`, or a failure saying what did not happen within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The first request (logged already or to come) that matches, within `ms`. */
export function request(
  s: Simulator,
  what: string,
  pred: (r: RequestRecord) => boolean,
  ms = 10_000,
): Promise<RequestRecord> {
  return s.waitForRequest(pred, ms).catch(() => {
    throw new Error(`${what}: did not happen within ${ms} ms`)
  })
}

/**
 * Resolves once the gate waits for changes, having taken in every change up to
 * `index` (default: none yet): with blocking queries, it holds a query on the
 * allocations (and, with `deployment`, on the deployment) at an index at or
 * past it; with the event stream (`watch: auto`, the default), it holds the
 * stream, has read the allocations since subscribing, and the stream has
 * delivered up to `index`. A client status change moves only the allocations'
 * index; a health change moves both. Also resolves when the gate sends a write
 * instead, for the caller to see in `s.writes()`: a test that asserts "no write
 * yet" then fails on that assertion.
 */
export async function caughtUp(
  s: Simulator,
  deploymentId: string | undefined,
  index = 0,
  options: { deployment?: boolean; ms?: number } = {},
): Promise<void> {
  const ms = options.ms ?? 10_000
  const onAllocs = (path: string) =>
    deploymentId
      ? path === `/v1/deployment/allocations/${deploymentId}`
      : path.startsWith('/v1/deployment/allocations/')
  const onDeployment = (path: string) =>
    deploymentId
      ? path === `/v1/deployment/${deploymentId}`
      : /^\/v1\/deployment\/[0-9a-f-]{36}$/.test(path)
  const waits = (): boolean => {
    if (s.writes().length > 0) return true
    const held = s.heldQueries()
    const stream = held.find((q) => q.path === '/v1/event/stream' && q.index >= index)
    if (stream) {
      const opened = s.requests.find(
        (r) => r.path === '/v1/event/stream' && r.status === 200 && r.at <= stream.since,
      )
      return (
        !!opened &&
        s.requests.some(
          (r) =>
            onAllocs(r.path) &&
            r.query.index === undefined &&
            r.at >= opened.at &&
            r.status === 200,
        )
      )
    }
    const allocs = held.some((q) => onAllocs(q.path) && q.index >= Math.max(index, 1))
    const deployment =
      !options.deployment || held.some((q) => onDeployment(q.path) && q.index >= index)
    return allocs && deployment
  }
  const what =
    index > 0 ? `the gate waiting for changes past index ${index}` : 'the gate waiting for changes'
  await until(
    waits,
    `${what} (a held allocations query, or the event stream after reading the allocations)`,
    ms,
  )
}
