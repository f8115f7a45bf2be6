import {describe, expect, it} from 'vitest'

import type {RewardEvent} from '../../../src/chain/reward-events.js'
import {creditRows, replayLedger} from '../../../src/insight/reward-ledger.js'

const id = (n: number) => '0x' + n.toString(16).padStart(64, '0')
const OP = '0x' + 'a'.repeat(40)
const OTHER = '0x' + 'b'.repeat(40)
const PAY = '0x' + 'c'.repeat(40)
const HOST = id(1)
const GPU = id(2)
const RATE = 10n

let logIndex = 0
const at = (block: number) => ({block, logIndex: logIndex++, tx: '0x' + block.toString(16).padStart(64, '0')})
const registered = (block: number, regId: string, deviceId: string, kind: number, operator = OP): RewardEvent => ({
  ...at(block),
  type: 'registered',
  regId,
  deviceId,
  operator,
  hostId: HOST,
  kind,
  payout: PAY,
})
const approved = (block: number, regId: string, deviceId: string, power: number): RewardEvent => ({
  ...at(block),
  type: 'approved',
  regId,
  deviceId,
  hostId: HOST,
  power: String(power),
})
const beat = (block: number, epoch: number): RewardEvent => ({...at(block), type: 'heartbeat', hostId: HOST, epoch: String(epoch)})

describe('replayLedger: each heartbeat credits the power bound at that moment', () => {
  const events: RewardEvent[] = [
    registered(1, id(101), HOST, 2),
    approved(2, id(101), HOST, 1),
    beat(5, 1),
    registered(6, id(102), GPU, 7),
    approved(7, id(102), GPU, 40),
    beat(12, 2),
    {...at(13), type: 'unbound', deviceId: GPU, hostId: HOST, why: 'revoked'},
    beat(22, 3),
    {...at(23), type: 'claimed', hostId: HOST, payout: PAY, amount: String(1n * RATE * 3n + 40n * RATE)},
  ]

  it('one row per bound device per epoch; an epoch adds up to host power × rate', () => {
    const ledger = replayLedger(events, RATE, new Map([[5, 1000]]))
    const rows = creditRows(ledger)
    expect(rows.map((r) => [r.epoch, r.deviceId, r.role, r.kind, r.power, r.reward])).toEqual([
      [1n, HOST, 'host', 'host-emulator', 1n, 10n],
      [2n, HOST, 'host', 'host-emulator', 1n, 10n],
      [2n, GPU, 'device', 'emulator', 40n, 400n],
      [3n, HOST, 'host', 'host-emulator', 1n, 10n],
    ])
    expect(rows[0]!.time).toBe(1000)
    const host = ledger.get(HOST)!
    expect(host.epochs).toEqual([1n, 2n, 3n])
    expect(host.claimed).toBe(430n)
    expect([...host.devices.keys()]).toEqual([HOST])
    expect(host.operator).toBe(OP)
  })

  it('events out of order are replayed in (block, logIndex) order', () => {
    const shuffled = [...events].reverse()
    expect(creditRows(replayLedger(shuffled, RATE))).toEqual(creditRows(replayLedger(events, RATE)))
  })

  it('a released and re-registered host starts again from its own power only, under its new operator', () => {
    const more: RewardEvent[] = [
      ...events,
      {...at(30), type: 'unbound', deviceId: HOST, hostId: HOST, why: 'released'},
      beat(31, 4), // cannot happen on chain (no binding); if it did, nothing is bound to credit
      registered(32, id(103), HOST, 2, OTHER),
      approved(33, id(103), HOST, 3),
      beat(40, 5),
    ]
    const ledger = replayLedger(more, RATE)
    expect(creditRows(ledger, {operator: OTHER}).map((r) => [r.epoch, r.power])).toEqual([[5n, 3n]])
    expect(creditRows(ledger, {operator: OP}).map((r) => r.epoch)).toEqual([1n, 2n, 2n, 3n])
  })

  it('filters by device, host and time range', () => {
    const times = new Map([
      [5, 100],
      [12, 200],
      [22, 300],
    ])
    const ledger = replayLedger(events, RATE, times)
    expect(creditRows(ledger, {device: GPU}).map((r) => r.epoch)).toEqual([2n])
    expect(creditRows(ledger, {device: HOST})).toHaveLength(4)
    expect(creditRows(ledger, {since: 200, until: 300}).map((r) => [r.epoch, r.deviceId])).toEqual([
      [2n, HOST],
      [2n, GPU],
    ])
    expect(creditRows(ledger, {device: id(99)})).toEqual([])
  })
})
