import {mkdtempSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {Outbox, readJournal} from '../../../src/agent/outbox.js'
import type {SentTx} from '../../../src/agent/ports.js'

const H = (n: number) => '0x' + n.toString(16).padStart(64, '0')
const tx = (n: number, fee = 10n): SentTx => ({txHash: H(n), nonce: n, fees: {maxFeePerGas: fee * 10n, maxPriorityFeePerGas: fee}})
const fresh = () => mkdtempSync(join(tmpdir(), 'unet-outbox-'))

describe('Outbox', () => {
  it('walks prepared → sent → confirmed with 0600 files, bigints intact across instances', () => {
    const dir = fresh()
    const o = new Outbox(dir, {now: () => 1000})
    expect(o.get(5n)).toBeUndefined()
    o.prepare(5n, {number: 2n ** 63n, hash: H(1)})
    o.markSent(5n, tx(1, 2n ** 70n), 99n)
    expect(statSync(o.pathOf(5n)).mode & 0o777).toBe(0o600)
    const again = new Outbox(dir)
    expect(again.get(5n)).toEqual({
      epoch: 5n,
      state: 'sent',
      block: {number: 2n ** 63n, hash: H(1)},
      preparedAt: 1000,
      attempts: 1,
      txs: [tx(1, 2n ** 70n)],
      sentAt: 1000,
      sentBlock: 99n,
    })
    expect(again.inFlight().map((e) => e.epoch)).toEqual([5n])
    again.markConfirmed(5n, H(1), 100n)
    expect(again.get(5n)).toMatchObject({state: 'confirmed', confirmed: {txHash: H(1), blockNumber: 100n}})
    expect(again.inFlight()).toEqual([])
  })

  it('refuses to prepare over an in-flight or confirmed epoch (no duplicate sends)', () => {
    const o = new Outbox(fresh())
    o.prepare(1n, {number: 1n, hash: H(1)})
    o.markSent(1n, tx(1))
    expect(() => o.prepare(1n, {number: 2n, hash: H(2)})).toThrow(/in flight/)
    o.markConfirmed(1n, H(1), 3n)
    expect(() => o.prepare(1n, {number: 2n, hash: H(2)})).toThrow(/already confirmed/)
  })

  it('fee bumps accumulate on the same epoch; a failed epoch can be retried and counts attempts', () => {
    const o = new Outbox(fresh())
    o.prepare(2n, {number: 1n, hash: H(1)})
    o.markSent(2n, tx(1))
    o.markSent(2n, {...tx(1), txHash: H(2), fees: {maxFeePerGas: 200n, maxPriorityFeePerGas: 20n}})
    o.markSent(2n, {...tx(1), txHash: H(2), fees: {maxFeePerGas: 200n, maxPriorityFeePerGas: 20n}})
    expect(o.get(2n)!.txs.map((t) => t.txHash)).toEqual([H(1), H(2)])
    o.markFailed(2n, 'reverted: StaleBlock')
    expect(o.get(2n)).toMatchObject({state: 'failed', failure: {reason: 'reverted: StaleBlock'}})
    expect(o.prepare(2n, {number: 5n, hash: H(5)}).attempts).toBe(2)
  })

  it('prune drops old settled epochs but never a sent one', () => {
    const o = new Outbox(fresh(), {keepEpochs: 2})
    for (const e of [1n, 2n, 3n, 4n, 10n]) o.prepare(e, {number: e, hash: H(Number(e))})
    o.markSent(2n, tx(2))
    expect(o.prune(10n)).toBe(3)
    expect(o.epochs()).toEqual([2n, 10n])
  })

  it('journal: one row per epoch, newest N kept, readable without an instance', () => {
    const dir = fresh()
    const o = new Outbox(dir, {journalSize: 3, now: () => 42})
    o.record({epoch: 1n, result: 'failed', reason: 'TPM busy'})
    o.record({epoch: 1n, result: 'confirmed', txHash: H(1)})
    for (const e of [2n, 3n, 4n]) o.record({epoch: e, result: 'missed', reason: 'RPC down'})
    expect(o.journal().map((r) => [r.epoch, r.result])).toEqual([
      [2n, 'missed'],
      [3n, 'missed'],
      [4n, 'missed'],
    ])
    expect(readJournal(dir, 1)).toEqual([{epoch: 4n, result: 'missed', reason: 'RPC down', at: 42}])
    expect(readJournal(fresh())).toEqual([])
  })

  it('a wrongly shaped (valid JSON) entry or journal is moved aside, not trusted', () => {
    const dir = fresh()
    const warnings: string[] = []
    const o = new Outbox(dir, {logger: {debug() {}, info() {}, error() {}, warn: (_o, m) => void warnings.push(m ?? '')}})
    writeFileSync(o.pathOf(9n), JSON.stringify({version: 1, epoch: '9', state: 'sent', preparedAt: 1, attempts: 1, txs: []}))
    writeFileSync(o.journalPath, JSON.stringify({version: 1, entries: [{epoch: 'x'}]}))
    expect(o.get(9n)).toBeUndefined()
    expect(o.journal()).toEqual([])
    expect(warnings).toEqual(['corrupt agent state file moved aside: not a valid outbox entry', 'corrupt agent state file moved aside: not a valid journal'])
    expect(readdirSync(o.dir).some((n) => n.startsWith('epoch-000000000009.json.corrupt-'))).toBe(true)
  })
})
