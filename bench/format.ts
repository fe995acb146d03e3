// How the bench's figures are written: durations, sizes, ratios and Markdown tables,
// shared by the README renderer, the goals and the cost tables.

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  // Thresholds sit just below the powers of ten so that 99.99 prints as 100, not 100.0.
  if (x >= 999.5) return `${(x / 1000).toFixed(x >= 9_995 ? 1 : 2)} s`
  if (x >= 99.95) return `${x.toFixed(0)} ms`
  if (x >= 9.995) return `${x.toFixed(1)} ms`
  if (x >= 0.09995) return `${x.toFixed(2)} ms`
  return `${(x * 1000).toFixed(0)} µs`
}

export function seconds(s: number): string {
  return s >= 120 ? `${(s / 60).toFixed(s % 60 ? 1 : 0)} min` : `${s} s`
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-'
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)} kB`
  return `${n} B`
}

export function times(x: number): string {
  return x >= 100 ? `${Math.round(x)}x` : `${x.toFixed(1)}x`
}

export function table(head: string[], align: string, rows: string[][]): string {
  const sep = [...align].map((a) => (a === 'r' ? '--:' : '---'))
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}
