// Allocation names (`job.group[i]`) as the reconciler picks them
// (scheduler/reconciler/allocs.go AllocNameIndex): which indexes are taken,
// which a new placement or canary gets, which to stop first.

import type { SimAllocation } from './model.js'

export const byId = (a: SimAllocation, b: SimAllocation): number => (a.ID < b.ID ? -1 : 1)

function indexOf(name: string): number {
  const m = /\[(\d+)\]$/.exec(name)
  return m ? Number(m[1]) : 0
}

export function nameOrder(allocs: SimAllocation[]): SimAllocation[] {
  return [...allocs].sort((a, b) => indexOf(a.Name) - indexOf(b.Name) || byId(a, b))
}

/** allocs.go AllocNameIndex: which `job.group[i]` names are taken. */
export class AllocNameIndex {
  private readonly used = new Set<number>()

  constructor(
    private readonly job: string,
    private readonly group: string,
    private readonly count: number,
    allocs: SimAllocation[],
  ) {
    for (const a of allocs) this.used.add(indexOf(a.Name))
  }

  private name(i: number): string {
    return `${this.job}.${this.group}[${i}]`
  }

  /** Next: the lowest free names below the count, then overlapping ones from 0. */
  next(n: number): string[] {
    const out: string[] = []
    for (let i = 0; i < this.count && out.length < n; i++) {
      if (!this.used.has(i)) {
        this.used.add(i)
        out.push(this.name(i))
      }
    }
    for (let i = 0; out.length < n; i++) {
      this.used.add(i)
      out.push(this.name(i))
    }
    return out
  }

  /** NextCanaries: names of allocs being replaced first, then free names, then past the count. */
  nextCanaries(n: number, existing: SimAllocation[], destructive: SimAllocation[]): string[] {
    const out: string[] = []
    const taken = new Set(existing.map((a) => a.Name))
    const candidates = [
      ...[...new Set(destructive.map((a) => indexOf(a.Name)))]
        .filter((i) => i < this.count)
        .sort((a, b) => a - b),
      ...Array.from({ length: this.count }, (_, i) => i).filter((i) => !this.used.has(i)),
    ]
    for (const i of candidates) {
      if (out.length >= n) return out
      if (taken.has(this.name(i)) || out.includes(this.name(i))) continue
      this.used.add(i)
      out.push(this.name(i))
    }
    for (let i = this.count; out.length < n; i++) out.push(this.name(i))
    return out
  }

  /** Highest: the n highest taken names, freed. */
  highest(n: number): Set<string> {
    const out = new Set<string>()
    for (const i of [...this.used].sort((a, b) => b - a)) {
      if (out.size >= n) break
      this.used.delete(i)
      out.add(this.name(i))
    }
    return out
  }
}
