// Identifiers for what the simulator creates (deployments, allocations,
// evaluations, the node). Random by default; from a seed, the same sequence on
// every run, so a generated test that fails can be replayed exactly.

import { randomUUID } from 'node:crypto'

/** A version-4 UUID source: crypto's, or a seeded one (mulberry32) when `seed` is given. */
export function idSource(seed?: number): () => string {
  if (seed === undefined) return randomUUID
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  return () => {
    const bytes = new Uint8Array(16)
    for (let i = 0; i < 16; i += 4) {
      const n = next()
      bytes[i] = n & 0xff
      bytes[i + 1] = (n >>> 8) & 0xff
      bytes[i + 2] = (n >>> 16) & 0xff
      bytes[i + 3] = n >>> 24
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40 // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80 // RFC 4122 variant
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
}
