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
 * Resolves once the gate holds a blocking query on the allocations (and, with
 * `deployment`, on the deployment) at an index at or past `index`: it has taken
 * in every change up to that index and waits for the next one. A client status
 * change moves only the allocations' index; a health change moves both. Also
 * resolves when the gate sends a write instead, for the caller to see in
 * `s.writes()`: a test that asserts "no write yet" then fails on that assertion.
 */
export async function caughtUp(
  s: Simulator,
  deploymentId: string,
  index: number,
  options: { deployment?: boolean; ms?: number } = {},
): Promise<void> {
  const held = (path: string) => (r: RequestRecord) =>
    r.method === 'GET' && r.path === path && Number(r.query.index ?? 0) >= index
  const write = s.waitForRequest((r) => r.method !== 'GET', options.ms ?? 10_000)
  write.catch(() => undefined)
  const requeried = Promise.all([
    request(
      s,
      `the gate re-querying the allocations past index ${index}`,
      held(`/v1/deployment/allocations/${deploymentId}`),
      options.ms,
    ),
    options.deployment &&
      request(
        s,
        `the gate re-querying the deployment past index ${index}`,
        held(`/v1/deployment/${deploymentId}`),
        options.ms,
      ),
  ])
  await Promise.race([requeried, write.catch(() => requeried)])
}
