import {describe, expect, it} from 'vitest'

import {earningsPerEpoch} from '../../../src/dashboard/earnings.js'
import {cachedSnapshot, type DashboardSnapshot} from '../../../src/dashboard/snapshot.js'

const row = (epoch: string, reward: string, date = '') => ({epoch, reward, date}) as never

describe('earnings per epoch', () => {
  it('sums the rows of one epoch (host and devices) and orders epochs by number', () => {
    const e = earningsPerEpoch({rows: [row('9', '1000', 'a'), row('10', '5'), row('9', '2000000000000000001', 'b')]})
    expect(e).toEqual([
      {epoch: '9', reward: '2000000000000001001', rewardUnc: '2.000000000000001001', date: 'a'},
      {epoch: '10', reward: '5', rewardUnc: '0.000000000000000005', date: ''},
    ])
  })
})

describe('the cached snapshot', () => {
  const snapshot = {} as DashboardSnapshot

  it('shares one read among requests while it runs and for the TTL after it settled', async () => {
    let clock = 0
    let reads = 0
    let release!: () => void
    const get = cachedSnapshot(
      () => {
        reads++
        return new Promise((resolve) => (release = () => resolve(snapshot)))
      },
      1000,
      () => clock,
    )
    const a = get()
    clock = 5000 // a slow read: still one read for everyone waiting
    const b = get()
    expect(reads).toBe(1)
    release()
    await Promise.all([a, b])
    clock = 5999
    await get()
    expect(reads).toBe(1)
    clock = 6000
    void get()
    expect(reads).toBe(2)
  })

  it('keeps a failure for the TTL too, then reads again', async () => {
    let clock = 0
    let reads = 0
    const get = cachedSnapshot(
      () => {
        reads++
        return Promise.reject(new Error('node down'))
      },
      1000,
      () => clock,
    )
    await expect(get()).rejects.toThrow('node down')
    await expect(get()).rejects.toThrow('node down')
    expect(reads).toBe(1)
    clock = 1000
    await expect(get()).rejects.toThrow('node down')
    expect(reads).toBe(2)
  })
})
