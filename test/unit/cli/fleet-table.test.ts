import {describe, expect, it} from 'vitest'

import {fleetTable} from '../../../src/cli/render/fleet-table.js'
import {styleFor} from '../../../src/cli/style.js'
import type {FleetHostRow, FleetReport} from '../../../src/insight/fleet.js'

const ESC = '\x1b['
const plain = styleFor({isTTY: false}, false, {})
const colour = styleFor({isTTY: true}, false, {})

const amounts = (claimable: string, formatted: string) => ({
  accrued: claimable,
  claimable,
  claimed: '0',
  formatted: {accrued: formatted, claimable: formatted, claimed: '0'},
})

function row(n: number, over: Partial<FleetHostRow>): FleetHostRow {
  return {
    hostId: '0x' + String(n).repeat(64),
    operator: '0x' + 'A'.repeat(40),
    payout: '0x' + 'b'.repeat(40),
    online: true,
    devices: {online: 1, total: 1},
    uptime: {percent: 100, window: 24, credited: 24},
    power: '1',
    rewards: amounts('1000000000000000', '0.001'),
    lastCreditedEpoch: '30',
    approvedEpoch: '2',
    ...over,
  }
}

function report(hosts: FleetHostRow[]): FleetReport {
  return {
    chainId: '31337',
    contract: '0x' + 'c'.repeat(40),
    head: 900,
    epoch: {current: '30'},
    uptimeWindow: 24,
    selectors: {operators: [], payouts: ['0x' + 'b'.repeat(40)], addresses: []},
    rewardToken: {symbol: 'UNC', decimals: 18},
    hosts,
    totals: {hosts: hosts.length, online: hosts.filter((h) => h.online).length, power: '52', ...amounts('2500000000000000', '0.0025')},
    unmatched: [],
    scan: {cachedTo: 880, scannedFrom: 881},
  }
}

describe('fleetTable', () => {
  const hosts = [
    row(1, {online: false, devices: {online: 0, total: 1}, uptime: {percent: 12.5, window: 24, credited: 3}, lastCreditedEpoch: null}),
    row(2, {power: '51', devices: {online: 2, total: 2}, rewards: amounts('1500000000000000', '0.0015')}),
  ]

  it('a header, one line per host in the order given, columns aligned under their headings, the totals', () => {
    const lines = fleetTable(report(hosts), plain).split('\n')
    expect(lines[0]).toBe('chain 31337  epoch 30  2 host(s), 1 online  (worst first)')
    const header = lines[2]!
    expect(lines[3]).toMatch(/^○ offline 0x1111111111… {3}0xAAAA…AAAA {3}0xbbbb…bbbb +0\/1 +12\.5% of 24 +1 +0\.001 +0\.001 +never$/)
    expect(lines[4]).toMatch(/^● online {2}0x2222222222… .* 2\/2 +100% of 24 +51 +0\.0015 +0\.0015 +30$/)
    // right-aligned columns end where their heading ends
    for (const heading of ['devices', 'uptime', 'power', 'claimable UNC', 'accrued UNC', 'last epoch']) {
      const end = header.indexOf(heading) + heading.length
      for (const line of [lines[3]!, lines[4]!]) expect(line[end - 1], `${heading} in ${line}`).not.toBe(' ')
      for (const line of [lines[3]!, lines[4]!]) expect([' ', undefined]).toContain(line[end])
    }
    expect(lines.at(-1)).toBe('total    power 52  claimable 0.0025 UNC  accrued 0.0025  claimed 0')
    expect(lines.join('\n')).not.toContain(ESC)
  })

  it('on a terminal the state words are coloured, and only they', () => {
    const out = fleetTable(report(hosts), colour)
    expect(out).toContain(`${ESC}31m○ offline${ESC}39m 0x1111111111…`)
    expect(out).toContain(`${ESC}32m● online ${ESC}39m 0x2222222222…`)
    expect(out.match(/\x1b\[3[12]m/g)).toHaveLength(2)
  })

  it('no host matched: says so instead of an empty table', () => {
    const out = fleetTable(report([]), plain)
    expect(out).toContain('no approved host matches the selected addresses')
    expect(out).not.toContain('claimable UNC')
  })
})
