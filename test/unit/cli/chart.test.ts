import {describe, expect, it} from 'vitest'

import {epochChart} from '../../../src/cli/render/chart.js'
import {formatUnits} from '../../../src/util/units.js'

describe('epoch chart', () => {
  it('scales earnings to the window maximum and marks missed epochs', () => {
    const lines = epochChart([
      {epoch: 10n, earned: 100n, credited: true},
      {epoch: 11n, earned: 0n, credited: false},
      {epoch: 12n, earned: 50n, credited: true},
      {epoch: 13n, earned: 100n, credited: true},
    ])
    expect(lines[0]).toBe('earned  █ ▄█')
    expect(lines[1]).toBe('uptime  █·██')
    expect(lines[2]).toBe('epoch   1013')
  })

  it('says so when there is nothing to draw', () => {
    expect(epochChart([])).toEqual(['(no epochs yet)'])
  })
})

describe('formatUnits', () => {
  it.each([
    [1500000000000000000n, 18, '1.5'],
    [0n, 18, '0'],
    [1n, 18, '0.000001'],
    [123456789n, 6, '123.456789'],
    [-2000000n, 6, '-2'],
  ])('%s with %d decimals is %s', (amount, decimals, text) => {
    expect(formatUnits(amount, decimals)).toBe(text)
  })
})
