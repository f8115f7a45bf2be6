import {describe, expect, it} from 'vitest'

import {csvLine} from '../../../src/cli/render/csv.js'
import {parseDateBound} from '../../../src/util/dates.js'

describe('parseDateBound', () => {
  it('reads bare dates (midnight UTC; end of day for --until) and zoned times', () => {
    expect(parseDateBound('2026-12-01', '--since')).toBe(Date.UTC(2026, 11, 1) / 1000)
    expect(parseDateBound('2026-12-01', '--until', true)).toBe(Date.UTC(2026, 11, 2) / 1000)
    expect(parseDateBound('2026-12-01T18:30:00Z', '--since')).toBe(Date.UTC(2026, 11, 1, 18, 30) / 1000)
    expect(parseDateBound('2026-12-01T18:30:00+02:00', '--until', true)).toBe(Date.UTC(2026, 11, 1, 16, 30) / 1000)
  })

  it('refuses what is not a date, rolled-over days and times without a zone', () => {
    for (const bad of ['yesterday', '2026-02-30', '2026-13-01', '2026-12-01T18:30', '1733000000', ''])
      expect(() => parseDateBound(bad, '--since'), bad).toThrow(/^--since is not a date/)
  })
})

describe('csvLine', () => {
  it('quotes only fields that need it (RFC 4180)', () => {
    expect(csvLine(['1', 'a,b', 'say "hi"', 'x\ny', ''])).toBe('1,"a,b","say ""hi""","x\ny",')
  })
})
