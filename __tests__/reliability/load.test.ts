// Load: one deployment with 200 task groups and 5,000 allocations, 500 health
// changes. dist/index.js must promote once, only after the last canary turns
// healthy, and stay under 150 MB of resident memory (peak RSS of the node
// process, from /usr/bin/time or /proc/<pid>/status VmHWM).

import { it } from 'vitest'
import { caughtUp } from '../helpers/wait.js'
import { Lab, TOKEN, expectNoLeak, report, startDist } from './helpers.js'

const GROUPS = 200
const CANARIES = 2
const PER_GROUP = 25 // 2 canaries + 23 other allocations: 5,000 in all
const CHANGES = 500
const BATCH = 25
const MAX_RSS_MB = 150

it('200 groups, 5,000 allocations, 500 health changes: promotes once, at the right moment, under 150 MB', async (ctx) => {
  const lab = new Lab(ctx)
  const s = await lab.sim()
  const groups = Array.from({ length: GROUPS }, (_, i) => ({
    name: `g${String(i).padStart(3, '0')}`,
    count: PER_GROUP,
    canaries: CANARIES,
  }))
  s.registerJob({ id: 'big', groups, spec: 'v0', stable: true })
  const { deploymentId } = s.rollout('big', { spec: 'v1' })
  const canaries: string[] = []
  const others: string[] = []
  for (const g of groups) {
    canaries.push(...s.placeCanaries(deploymentId, g.name))
    others.push(...s.placeAllocs(deploymentId, g.name, PER_GROUP - CANARIES))
  }
  ctx.expect(s.allocations(deploymentId)).toHaveLength(GROUPS * PER_GROUP)

  // 400 canaries turn healthy and 100 other allocations report in between; the
  // last change is the canary that completes the last group.
  const changes: string[] = []
  const extra = others.slice(0, CHANGES - canaries.length)
  for (let i = 0; i < canaries.length; i++) {
    changes.push(canaries[i])
    if (i % 4 === 0 && extra.length > 0) changes.push(extra.pop()!)
  }
  changes.push(...extra)
  changes.push(changes.splice(changes.indexOf(canaries.at(-1)!), 1)[0])
  ctx.expect(changes).toHaveLength(CHANGES)
  ctx.expect(changes.at(-1)).toBe(canaries.at(-1))

  const writes = lab.applied(s)
  const t0 = performance.now()
  const run = startDist(
    { address: s.address, token: TOKEN, job: 'big', timeout: '60s' },
    {},
    { measure: true, limitMs: 25_000 },
  )
  await caughtUp(s, deploymentId, 0, { ms: 15_000 })
  let lastHealthAt = 0
  for (let i = 0; i < changes.length; i += BATCH) {
    // No write may have been sent while a canary is still unhealthy.
    ctx.expect(s.writes()).toHaveLength(0)
    for (const id of changes.slice(i, i + BATCH)) s.setAllocHealth(id, true)
    lastHealthAt = performance.now()
    // The gate has taken this batch in once it waits past its index.
    if (i + BATCH < changes.length) await caughtUp(s, deploymentId, s.index(), { ms: 15_000 })
  }
  const res = await run.done
  const ms = performance.now() - t0
  const put = s.writes()
  ctx.expect(res.outputs.result).toBe('promoted')
  ctx.expect(res.code).toBe(0)
  ctx.expect(put).toHaveLength(1)
  ctx.expect(put[0].at).toBeGreaterThan(lastHealthAt)
  ctx.expect(writes.count()).toBe(1)
  ctx.expect(res.outputs['healthy-canaries']).toBe(String(GROUPS * CANARIES))
  ctx.expect(JSON.parse(res.outputs.groups)).toHaveLength(GROUPS)
  ctx
    .expect(Object.values(s.deployment(deploymentId)!.TaskGroups).every((g) => g.Promoted))
    .toBe(true)
  ctx.expect(res.maxRssKb).toBeGreaterThan(0)
  ctx.expect(res.maxRssKb! / 1024).toBeLessThan(MAX_RSS_MB)
  ctx.expect(ms).toBeLessThan(20_000)
  expectNoLeak(res, [TOKEN])
  const reads = s.requests.filter((r) => r.method === 'GET').length
  report({
    suite: 'load',
    name: `${GROUPS} groups, ${GROUPS * PER_GROUP} allocations, ${CHANGES} health changes`,
    via: 'dist',
    result: res.outputs.result ?? '',
    writesSent: put.length,
    writesApplied: writes.count(),
    requests: reads,
    elapsedMs: ms,
    note: `peak RSS ${(res.maxRssKb! / 1024).toFixed(1)} MB; summary ${(res.summary.length / 1024).toFixed(0)} KiB`,
  })
}, 30_000)
