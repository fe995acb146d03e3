// Loaded into the action with `node --import` by bench/memory.ts (never in a
// user's run): samples the process's memory every 5 ms with Node's and Linux's
// own accounting, and at exit writes the sample taken at the highest resident
// memory to $MEMORY_SAMPLES as JSON.

import { readFileSync, writeFileSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'

export interface MemorySample {
  /** ms since the process started. */
  at: number
  rss: number
  /** RssAnon and RssFile of /proc/self/status: the heap, malloc and stacks; the mapped binary and its data. */
  anon: number
  file: number
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
  /** V8's spaces by name (new_space, old_space, large_object_space, ...): bytes committed. */
  spaces: Record<string, number>
}

const out = process.env.MEMORY_SAMPLES
let peak: MemorySample | undefined

function sample(): void {
  const m = process.memoryUsage()
  if (peak && m.rss <= peak.rss) return
  let status = ''
  try {
    status = readFileSync('/proc/self/status', 'utf8')
  } catch {
    // not Linux
  }
  const kb = (k: string) =>
    Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) * 1024
  peak = {
    at: Math.round(performance.now()),
    rss: m.rss,
    anon: kb('RssAnon'),
    file: kb('RssFile'),
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size])),
  }
}

if (out) {
  setInterval(sample, 5).unref()
  process.on('exit', () => {
    sample()
    writeFileSync(out, JSON.stringify(peak))
  })
}
