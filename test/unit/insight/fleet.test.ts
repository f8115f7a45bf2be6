import {readFileSync} from 'node:fs'

import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'

import type {HostRecord} from '../../../src/chain/host-records.js'
import type {RewardEvent} from '../../../src/chain/reward-events.js'
import {buildFleet, isOnline, selectHosts, type FleetInputs, type FleetReport, type FleetSelectors} from '../../../src/insight/fleet.js'
import {replayLedger} from '../../../src/insight/reward-ledger.js'

const schema = JSON.parse(readFileSync(new URL('../../../docs/fleet-status.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>
const ajv = new Ajv2020({strict: true, allErrors: true})
const validate = ajv.compile(schema)

function expectValid(report: FleetReport): void {
  // through JSON, exactly as `unet fleet status --json` prints it
  const printed = JSON.parse(JSON.stringify(report)) as unknown
  expect(validate(printed), ajv.errorsText(validate.errors)).toBe(true)
}

const id = (n: number) => '0x' + n.toString(16).padStart(64, '0')
const addr = (c: string) => '0x' + c.repeat(40)
const OP_A = addr('a')
const OP_B = addr('b')
const PAY_1 = addr('1')
const PAY_2 = addr('2')
const RATE = 10n

let logIndex = 0
const at = (block: number) => ({block, logIndex: logIndex++, tx: '0x' + block.toString(16).padStart(64, '0')})
const registered = (block: number, regId: string, deviceId: string, hostId: string, kind: number, operator: string, payout: string): RewardEvent => ({
  ...at(block),
  type: 'registered',
  regId,
  deviceId,
  operator,
  hostId,
  kind,
  payout,
})
const approved = (block: number, regId: string, deviceId: string, hostId: string, power: number): RewardEvent => ({
  ...at(block),
  type: 'approved',
  regId,
  deviceId,
  hostId,
  power: String(power),
})
const beat = (block: number, hostId: string, epoch: number): RewardEvent => ({...at(block), type: 'heartbeat', hostId, epoch: String(epoch)})
/** A host registered and approved in `block` (regId = hostId + 100). */
const host = (block: number, hostId: string, operator: string, payout: string, power = 1): RewardEvent[] => [
  registered(block, id(Number(BigInt(hostId)) + 100), hostId, hostId, 2, operator, payout),
  approved(block, id(Number(BigInt(hostId)) + 100), hostId, hostId, power),
]

function record(hostId: string, over: Partial<HostRecord> = {}): HostRecord {
  return {hostId, status: 'approved', operator: OP_A, payout: PAY_1, active: true, power: 1n, attached: 0, lastEpoch: 0n, claimable: 0n, claimed: 0n, ...over}
}

const selectors = (over: Partial<FleetSelectors> = {}): FleetSelectors => ({operators: [], payouts: [], addresses: [], ...over})

function inputs(events: RewardEvent[], records: HostRecord[], current: bigint, sel: FleetSelectors, approvedEpochs: Array<[string, bigint]> = []): FleetInputs {
  return {
    identity: {chainId: 31337n, genesisHash: id(0xfeed), contract: addr('c')},
    head: 100,
    scan: {cachedTo: 50, scannedFrom: 51},
    ledger: replayLedger(events, RATE),
    chain: {currentEpoch: current, hosts: new Map(records.map((r) => [r.hostId, r]))},
    approvedEpochs: new Map(approvedEpochs),
    selectors: sel,
  }
}

describe('isOnline: credited in the current or the previous epoch, and approved', () => {
  it('the boundaries', () => {
    expect(isOnline({status: 'approved', active: true, lastEpoch: 10n}, 10n)).toBe(true)
    expect(isOnline({status: 'approved', active: true, lastEpoch: 9n}, 10n)).toBe(true)
    expect(isOnline({status: 'approved', active: true, lastEpoch: 8n}, 10n)).toBe(false)
    // never credited, in epoch 1 (lastEpoch 0 + 1 ≥ 1 must not count)
    expect(isOnline({status: 'approved', active: true, lastEpoch: 0n}, 1n)).toBe(false)
    expect(isOnline({status: 'approved', active: false, lastEpoch: 10n}, 10n)).toBe(false)
    expect(isOnline({status: 'none', active: true, lastEpoch: 10n}, 10n)).toBe(false)
  })
})

describe('selectHosts: bound hosts whose operator or payout is selected', () => {
  const events = [
    ...host(1, id(1), OP_A, PAY_1),
    ...host(2, id(2), OP_B, PAY_1),
    ...host(3, id(3), OP_B, PAY_2),
    ...host(4, id(4), OP_A, PAY_2),
    {...at(5), type: 'unbound', deviceId: id(4), hostId: id(4), why: 'released'} as RewardEvent,
    {...at(6), type: 'payout', hostId: id(3), payout: PAY_1} as RewardEvent,
  ]
  const ledger = replayLedger(events, RATE)

  it('--operator, --payout (after a PayoutChanged), and a --file address that matches either; a released host never', () => {
    expect(selectHosts(ledger, selectors({operators: [OP_A]}))).toEqual([id(1)])
    expect(selectHosts(ledger, selectors({payouts: [PAY_1]})).sort()).toEqual([id(1), id(2), id(3)])
    expect(selectHosts(ledger, selectors({payouts: [PAY_2]}))).toEqual([])
    expect(selectHosts(ledger, selectors({addresses: [OP_B]})).sort()).toEqual([id(2), id(3)])
    expect(selectHosts(ledger, selectors({addresses: [PAY_1]})).sort()).toEqual([id(1), id(2), id(3)])
    // an --operator address is not matched against payouts, nor a --payout against operators
    expect(selectHosts(ledger, selectors({operators: [PAY_1], payouts: [OP_A]}))).toEqual([])
    // any case matches
    expect(selectHosts(ledger, selectors({operators: [OP_A.toUpperCase().replace('0X', '0x')]}))).toEqual([id(1)])
  })
})

describe('buildFleet: rows from chain records and replayed events, worst first', () => {
  const GPU = id(50)
  const events: RewardEvent[] = [
    ...host(1, id(1), OP_A, PAY_1),
    ...host(1, id(2), OP_A, PAY_1),
    ...host(1, id(3), OP_B, PAY_1),
    ...host(1, id(4), OP_B, PAY_1),
    // host 1 credited epochs 2..5, host 2 only 2 and 3, host 3 epochs 2, 4, 5; host 4 every epoch too
    ...[2, 3, 4, 5].map((e) => beat(10 * e, id(1), e)),
    ...[2, 3].map((e) => beat(10 * e + 1, id(2), e)),
    ...[2, 4, 5].map((e) => beat(10 * e + 2, id(3), e)),
    ...[2, 3, 4, 5].map((e) => beat(10 * e + 3, id(4), e)),
    // a GPU attached to host 4 after its last heartbeat: bound, not yet credited
    registered(56, id(150), GPU, id(4), 7, OP_B, PAY_1),
    approved(57, id(150), GPU, id(4), 40),
  ]
  const records = [
    record(id(1), {lastEpoch: 5n, claimable: 40n, power: 1n}),
    record(id(2), {lastEpoch: 3n, claimable: 20n}),
    record(id(3), {operator: OP_B, lastEpoch: 5n, claimable: 30n}),
    record(id(4), {operator: OP_B, lastEpoch: 5n, claimable: 10n, claimed: 30n, power: 41n, attached: 1}),
  ]
  const approvedIn: Array<[string, bigint]> = [id(1), id(2), id(3), id(4)].map((h) => [h, 1n])

  it('offline first, then the lowest uptime, then the least claimable', () => {
    const f = buildFleet(inputs(events, [...records].reverse(), 5n, selectors({payouts: [PAY_1]}), approvedIn))
    expect(f.hosts.map((h) => [h.hostId, h.online, h.uptime.percent, h.rewards.claimable])).toEqual([
      [id(2), false, 50, '20'],
      [id(3), true, 75, '30'],
      [id(4), true, 100, '10'],
      [id(1), true, 100, '40'],
    ])
    expectValid(f)
  })

  it('each row: devices online/total, power, amounts in the smallest unit and in UNC, the last credited epoch', () => {
    const f = buildFleet(inputs(events, records, 5n, selectors({operators: [OP_B]}), approvedIn))
    const h4 = f.hosts.find((h) => h.hostId === id(4))!
    expect(h4).toMatchObject({
      operator: OP_B,
      payout: PAY_1,
      online: true,
      devices: {online: 1, total: 2},
      uptime: {percent: 100, window: 4, credited: 4},
      power: '41',
      rewards: {accrued: '40', claimable: '10', claimed: '30', formatted: {accrued: '0.000001', claimable: '0.000001', claimed: '0.000001'}},
      lastCreditedEpoch: '5',
      approvedEpoch: '1',
    })
    expect(f.hosts.map((h) => h.hostId).sort()).toEqual([id(3), id(4)])
    expect(f.totals).toMatchObject({hosts: 2, online: 2, power: '42', claimable: '40', claimed: '30', accrued: '70'})
    expectValid(f)
  })

  it('the next epoch: host 2 still offline, and the devices of an offline host count 0 online', () => {
    const f = buildFleet(inputs(events, records, 7n, selectors({payouts: [PAY_1]}), approvedIn))
    expect(f.hosts.every((h) => !h.online)).toBe(true)
    expect(f.hosts.every((h) => h.devices.online === 0)).toBe(true)
    expect(f.totals.online).toBe(0)
  })

  it('uptime counts from the first epoch after the approval, over at most the window', () => {
    const late: Array<[string, bigint]> = [[id(3), 3n]]
    const f = buildFleet(inputs(events, records, 5n, selectors({operators: [OP_B]}), late))
    // approved in epoch 3: epochs 4 and 5 counted, both credited
    expect(f.hosts.find((h) => h.hostId === id(3))!.uptime).toEqual({percent: 100, window: 2, credited: 2})
    const long = buildFleet(inputs(events, records, 40n, selectors({operators: [OP_B]}), approvedIn))
    expect(long.hosts.find((h) => h.hostId === id(4))!.uptime).toEqual({percent: 0, window: 24, credited: 0})
  })

  it('a host the contract no longer holds approved is not shown; unmatched selectors are named; never credited is null', () => {
    const f = buildFleet(
      inputs(
        events,
        [record(id(1), {status: 'none', active: false}), record(id(2), {lastEpoch: 0n})],
        5n,
        selectors({operators: [OP_A, addr('d')], payouts: [PAY_2]}),
        approvedIn,
      ),
    )
    expect(f.hosts.map((h) => h.hostId)).toEqual([id(2)])
    expect(f.hosts[0]).toMatchObject({online: false, lastCreditedEpoch: null})
    expect(f.unmatched).toEqual([addr('d'), PAY_2])
    expectValid(f)
  })

  it('an empty fleet is still a valid report', () => {
    const f = buildFleet(inputs([], [], 3n, selectors({addresses: [OP_A]})))
    expect(f.hosts).toEqual([])
    expect(f.totals).toMatchObject({hosts: 0, online: 0, power: '0', claimable: '0'})
    expect(f.unmatched).toEqual([OP_A])
    expectValid(f)
  })

  it('the schema refuses what the report must not contain', () => {
    const f = JSON.parse(JSON.stringify(buildFleet(inputs(events, records, 5n, selectors({payouts: [PAY_1]}), approvedIn)))) as {
      hosts: Array<Record<string, unknown>>
    }
    expect(validate({...f, hosts: [{...f.hosts[0], power: 41}]})).toBe(false)
    expect(validate({...f, hosts: [{...f.hosts[0], extra: true}]})).toBe(false)
    const {online: _, ...withoutOnline} = f.hosts[0]!
    expect(validate({...f, hosts: [withoutOnline]})).toBe(false)
  })
})
