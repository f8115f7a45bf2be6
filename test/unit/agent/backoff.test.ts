import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {AbortedError, Backoff, fullJitterDelay, ManualClock, raceAbort, realClock} from '../../../src/agent/backoff.js'
import {ExitCode} from '../../../src/errors/index.js'

describe('backoff', () => {
  it('full jitter stays within [0, min(max, base·2^n)) for any attempt and random value', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: 200}), fc.double({min: 0, max: 0.9999999, noNaN: true}), (n, r) => {
        const d = fullJitterDelay(n, {baseMs: 250, maxMs: 30_000, random: () => r})
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThan(Math.min(30_000, 250 * 2 ** n))
      }),
    )
  })

  it('grows the ceiling each attempt and resets after success', () => {
    const b = new Backoff({baseMs: 100, maxMs: 1000, random: () => 0.999})
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([99, 199, 399, 799, 999, 999])
    b.reset()
    expect(b.next()).toBe(99)
    expect(() => new Backoff({baseMs: 0, maxMs: 1})).toThrow(RangeError)
  })

  it('real delays are spread (jitter), not synchronised', () => {
    const b = Array.from({length: 50}, () => fullJitterDelay(5, {baseMs: 1000, maxMs: 60_000}))
    expect(new Set(b).size).toBeGreaterThan(40)
  })

  it('ManualClock fires sleepers in due order when advanced; abort rejects with INTERRUPTED', async () => {
    const clock = new ManualClock(0)
    const order: string[] = []
    void clock.sleep(300).then(() => order.push('b'))
    void clock.sleep(100).then(() => order.push('a'))
    const ac = new AbortController()
    const c = clock.sleep(200, ac.signal).then(
      () => order.push('c'),
      (e: unknown) => order.push(`aborted:${(e as AbortedError).exitCode}`),
    )
    await clock.advance(150)
    expect(order).toEqual(['a'])
    ac.abort()
    await c
    expect(order).toEqual(['a', `aborted:${ExitCode.INTERRUPTED}`])
    await clock.advance(1000)
    expect(order).toEqual(['a', 'aborted:130', 'b'])
    expect(clock.now()).toBe(1150)
    expect(clock.pending).toBe(0)
  })

  it('realClock.sleep is AbortSignal-aware (already aborted, and mid-sleep)', async () => {
    const ac = new AbortController()
    ac.abort('SIGTERM')
    await expect(realClock.sleep(10_000, ac.signal)).rejects.toThrow('SIGTERM')
    const ac2 = new AbortController()
    const t0 = Date.now()
    setTimeout(() => ac2.abort(), 20)
    await expect(realClock.sleep(10_000, ac2.signal)).rejects.toBeInstanceOf(AbortedError)
    expect(Date.now() - t0).toBeLessThan(1000)
    await expect(realClock.sleep(5)).resolves.toBeUndefined()
  })

  it('Backoff.wait sleeps on the injected clock; raceAbort drops a slow call on abort', async () => {
    const clock = new ManualClock(0, {autoAdvance: true})
    const b = new Backoff({baseMs: 1000, maxMs: 8000, random: () => 0.5})
    expect(await b.wait(clock)).toBe(500)
    expect(await b.wait(clock)).toBe(1000)
    expect(clock.now()).toBe(1500)
    const ac = new AbortController()
    const never = new Promise<number>(() => {})
    const raced = raceAbort(never, ac.signal)
    ac.abort()
    await expect(raced).rejects.toBeInstanceOf(AbortedError)
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7)
  })
})
