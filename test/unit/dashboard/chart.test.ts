import {describe, expect, it} from 'vitest'

import {chartLayout, type ChartPoint} from '../../../src/dashboard/page/chart.js'

const point = (epoch: number, reward: bigint): ChartPoint => ({epoch: String(epoch), reward: reward.toString(), rewardUnc: '', date: ''})

describe('the earnings chart geometry', () => {
  it('one bar per credited epoch, heights in proportion to the exact amounts', () => {
    const c = chartLayout([point(1, 10n ** 18n), point(2, 5n * 10n ** 17n), point(3, 10n ** 18n)], {width: 400, height: 200})
    expect(c.bars.map((b) => b.epoch)).toEqual(['1', '2', '3'])
    const plotHeight = c.plot.bottom - c.plot.top
    expect(c.bars[0]!.height).toBe(plotHeight)
    expect(c.bars[1]!.height).toBe(plotHeight / 2)
    expect(c.bars[2]!.y).toBe(c.plot.top)
    expect(c.bars[1]!.y + c.bars[1]!.height).toBe(c.plot.bottom)
  })

  it('amounts beyond a double’s precision still order the bars correctly', () => {
    const big = 2n ** 80n
    const c = chartLayout([point(1, big), point(2, big + 1n)])
    expect(c.bars[1]!.height).toBeGreaterThanOrEqual(c.bars[0]!.height)
    expect(c.bars[1]!.height).toBe(c.plot.bottom - c.plot.top)
  })

  it('a missed epoch is a gap: bars are placed by epoch number', () => {
    const c = chartLayout([point(1, 1n), point(2, 1n), point(5, 1n)])
    const step = c.bars[1]!.x - c.bars[0]!.x
    expect(c.bars[2]!.x - c.bars[1]!.x).toBeCloseTo(3 * step, 1)
    expect(c.ticks.map((t) => t.label)).toEqual(['1', '3', '5'])
  })

  it('draws only the latest maxBars and says how many are left out', () => {
    const points = Array.from({length: 10}, (_, i) => point(i + 1, 1n))
    const c = chartLayout(points, {maxBars: 4})
    expect(c.bars.map((b) => b.epoch)).toEqual(['7', '8', '9', '10'])
    expect(c.hidden).toBe(6)
  })

  it('nothing credited: no bars', () => {
    expect(chartLayout([]).bars).toEqual([])
  })
})
