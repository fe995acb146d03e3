// The simulator's clocks: every timer of the simulated cluster runs on one.

import { describe, expect, it } from 'vitest'

import { ManualClock, RealClock } from '../../sim/clock.js'

describe('ManualClock', () => {
  it('runs due timers in order of due time, each seeing now() at its due time', () => {
    const clock = new ManualClock(1_000)
    const seen: Array<[string, number]> = []
    clock.setTimer(30, () => seen.push(['c', clock.now()]))
    clock.setTimer(10, () => seen.push(['a', clock.now()]))
    clock.setTimer(10, () => seen.push(['b', clock.now()]))
    expect(clock.advance(20)).toBe(2)
    expect(seen).toEqual([
      ['a', 1_010],
      ['b', 1_010],
    ])
    expect(clock.now()).toBe(1_020)
    clock.advance(10)
    expect(seen.at(-1)).toEqual(['c', 1_030])
  })

  it('runs timers set by timers when they fall due before the target, never synchronously', () => {
    const clock = new ManualClock(0)
    const seen: number[] = []
    clock.setTimer(5, () => {
      seen.push(clock.now())
      clock.setTimer(0, () => seen.push(clock.now()))
      clock.setTimer(100, () => seen.push(clock.now()))
    })
    expect(seen).toEqual([])
    clock.advance(50)
    expect(seen).toEqual([5, 5])
    expect(clock.pending()).toEqual([105])
  })

  it('cancels a timer; runAll runs until nothing is due within the limit', () => {
    const clock = new ManualClock(0)
    let ran = 0
    const t = clock.setTimer(10, () => ran++)
    t.cancel()
    clock.setTimer(1_000, () => ran++)
    clock.setTimer(10_000, () => ran++)
    expect(clock.runAll(5_000)).toBe(1_000)
    expect(ran).toBe(1)
    expect(clock.pending()).toEqual([10_000])
  })

  it('refuses to go back in time', () => {
    const clock = new ManualClock(100)
    expect(() => clock.advance(-1)).toThrow('cannot advance a clock by -1 ms')
    expect(() => clock.advanceTo(50)).toThrow('cannot move a clock back')
  })
})

describe('RealClock', () => {
  it('tells wall-clock time and runs a timer later, not at once', async () => {
    const clock = new RealClock()
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50)
    let ran = false
    const done = new Promise<void>((resolve) =>
      clock.setTimer(5, () => {
        ran = true
        resolve()
      }),
    )
    expect(ran).toBe(false)
    await done
    expect(ran).toBe(true)
  })
})
