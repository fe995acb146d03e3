import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from '../src/duration.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2h45m30.5s', 9_930_500],
    ['1h0m0s', 3_600_000],
    ['250us', 0.25],
    ['250µs', 0.25], // U+00B5
    ['250μs', 0.25], // U+03BC
    ['1000000ns', 1],
    ['1.5ms', 1.5],
    ['.5s', 500],
    ['1.s', 1000],
    ['+5s', 5000],
    ['0', 0],
    ['0s', 0],
    ['600', 600_000],
    ['1.5', 1500],
    ['.25', 250],
    ['0.001', 1],
    ['1.1s', 1100],
    ['100ms5s', 5100],
  ])('%s -> %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    ['', /empty/],
    ['-5s', /negative/],
    ['-1', /negative/],
    ['abc', /expected a number/],
    ['s', /expected a number/],
    ['.s', /expected a number/],
    ['-', /negative/],
    ['+', /no number/],
    ['1h30', /missing unit/],
    ['10M', /unknown unit "M"/],
    ['3d', /unknown unit "d"/],
    ['1e3s', /unknown unit "e"/],
    ['5 s', /unknown unit/],
    [' 5s', /expected a number/],
    ['1..5s', /missing unit/],
    ['9999999999h', /out of range/],
  ])('%j fails (%s)', (text, reason) => {
    expect(() => parseDuration(text)).toThrow(reason)
  })

  it("Go's limit exactly: 2^63-1 ns is a duration, one more is out of range", () => {
    expect(parseDuration('9223372036854775807ns')).toBe(Number(2n ** 63n - 1n) / 1e6)
    expect(() => parseDuration('9223372036854775808ns')).toThrow(/out of range/)
  })

  it('throws a plain Error that quotes the text', () => {
    expect(() => parseDuration('soon')).toThrow(new Error('expected a number in duration "soon"'))
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [0.25, '0.25ms'],
    [850, '850ms'],
    [999.4, '999ms'],
    [999.6, '1s'],
    [1000, '1s'],
    [12_300, '12.3s'],
    [12_345, '12.3s'],
    [59_940, '59.9s'],
    [59_960, '1m00s'],
    [245_000, '4m05s'],
    [3_599_400, '59m59s'],
    [3_599_600, '1h00m'],
    [3_720_000, '1h02m'],
    [90_000_000, '25h00m'],
    [-1500, '-1.5s'],
    [Number.NaN, 'NaN'],
  ])('%s ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it.each(['850ms', '4m05s', '12.3s'])('round-trips %s', (text) => {
    expect(formatDuration(parseDuration(text))).toBe(text)
  })
})
