import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ManualClock} from '../../../src/agent/backoff.js'
import {bindStateToChain, chainFilePath, readStateChain, stateIsOf} from '../../../src/agent/chain-state.js'
import {Outbox, readJournal} from '../../../src/agent/outbox.js'
import {runAgent} from '../../../src/agent/run-agent.js'
import {chainKey, decodeChainIdentity, encodeChainIdentity, sameChain, type ChainIdentity} from '../../../src/util/chain-identity.js'
import {CHAIN, FakeChain, FakeDevices, FakeEngine, FakeSelfVerify, IDENTITY, RecordingLogger} from './doubles.js'

const fresh = () => mkdtempSync(join(tmpdir(), 'unet-chainstate-'))
/** Another devnet: same chain id, same contract address (same deployer and nonce), another genesis block. */
const RESET: ChainIdentity = {...CHAIN, genesisHash: '0x' + 'ab'.repeat(32)}

describe('chain identity key', () => {
  it('is the same however the hex is cased, and differs when any of chain id, genesis hash or contract differs', () => {
    const upper: ChainIdentity = {
      chainId: CHAIN.chainId,
      genesisHash: CHAIN.genesisHash.toUpperCase().replace('0X', '0x'),
      contract: CHAIN.contract.toUpperCase().replace('0X', '0x'),
    }
    expect(chainKey(upper)).toBe(chainKey(CHAIN))
    expect(sameChain(upper, CHAIN)).toBe(true)
    expect(sameChain(CHAIN, RESET)).toBe(false)
    expect(sameChain(CHAIN, {...CHAIN, chainId: 1n})).toBe(false)
    expect(sameChain(CHAIN, {...CHAIN, contract: '0x' + '11'.repeat(20)})).toBe(false)
  })

  it('round-trips through JSON and refuses what is not an identity', () => {
    expect(decodeChainIdentity(JSON.parse(JSON.stringify(encodeChainIdentity(CHAIN))))).toEqual({...CHAIN, contract: CHAIN.contract.toLowerCase()})
    for (const bad of [
      null,
      'x',
      {},
      {...encodeChainIdentity(CHAIN), chainId: 31337},
      {...encodeChainIdentity(CHAIN), chainId: '-1'},
      {...encodeChainIdentity(CHAIN), genesisHash: '0x1234'},
      {...encodeChainIdentity(CHAIN), contract: '0x' + 'zz'.repeat(20)},
    ])
      expect(decodeChainIdentity(bad)).toBeUndefined()
  })
})

/** Agent state for `chain` in `dataDir` as a run leaves it: an outbox file, the journal, the status file, the challenge cursor. */
function writeState(dataDir: string): void {
  const outbox = new Outbox(dataDir)
  outbox.prepare(1n, {number: 10n, hash: '0x' + '01'.repeat(32)})
  outbox.markSent(1n, {txHash: '0x' + '02'.repeat(32), nonce: 0, fees: {maxFeePerGas: 2n, maxPriorityFeePerGas: 1n}})
  outbox.markConfirmed(1n, '0x' + '02'.repeat(32), 11n)
  outbox.record({epoch: 1n, result: 'confirmed', txHash: '0x' + '02'.repeat(32)})
  writeFileSync(join(dataDir, 'agent', 'state.json'), '{"pid":1,"state":"Confirmed","updatedAt":1}\n')
  writeFileSync(join(dataDir, 'agent', 'challenge-cursor.json'), '{"nextBlock":"12"}\n')
  mkdirSync(join(dataDir, 'evidence', '0xdev'), {recursive: true})
  writeFileSync(join(dataDir, 'evidence', '0xdev', '1-0xabc.evidence'), 'kept')
}

describe('bindStateToChain', () => {
  it('records the chain on first start (0600) and leaves state of the same chain alone', () => {
    const dir = fresh()
    expect(bindStateToChain(dir, CHAIN)).toEqual({action: 'recorded'})
    expect(statSync(chainFilePath(dir)).mode & 0o777).toBe(0o600)
    writeState(dir)
    expect(bindStateToChain(dir, CHAIN, {extraPaths: [join(dir, 'evidence')]})).toEqual({action: 'same'})
    expect(new Outbox(dir).get(1n)?.state).toBe('confirmed')
    expect(existsSync(join(dir, 'agent', 'archive'))).toBe(false)
  })

  it('another chain (same chain id and contract, another genesis): every piece of old state is moved aside intact, with one log line', () => {
    const dir = fresh()
    bindStateToChain(dir, CHAIN)
    writeState(dir)
    const logger = new RecordingLogger()
    const r = bindStateToChain(dir, RESET, {extraPaths: [join(dir, 'evidence')], logger, now: () => Date.UTC(2026, 0, 2, 3, 4, 5)})
    expect(r.action).toBe('archived')
    if (r.action !== 'archived') return
    expect(r.previous?.genesisHash).toBe(CHAIN.genesisHash)
    expect(r.archivedTo).toBe(join(dir, 'agent', 'archive', `20260102T030405Z-chain31337-${CHAIN.genesisHash.slice(2, 10)}`))
    expect(r.moved.sort()).toEqual(['agent/chain.json', 'agent/challenge-cursor.json', 'agent/journal.json', 'agent/outbox', 'agent/state.json', 'evidence'])
    // nothing of the old chain is read as this one's
    expect(new Outbox(dir).get(1n)).toBeUndefined()
    expect(readJournal(dir)).toEqual([])
    expect(existsSync(join(dir, 'evidence'))).toBe(false)
    expect(readStateChain(dir)).toEqual({...RESET, contract: RESET.contract.toLowerCase()})
    // … and nothing was lost
    expect(new Outbox(join(r.archivedTo)).get(1n)?.state).toBe('confirmed')
    expect(readFileSync(join(r.archivedTo, 'evidence', '0xdev', '1-0xabc.evidence'), 'utf8')).toBe('kept')
    expect(readStateChain(r.archivedTo)).toEqual({...CHAIN, contract: CHAIN.contract.toLowerCase()})
    const lines = logger.lines.filter((l) => l.level !== 'debug')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.msg).toMatch(/another chain .* old agent state archived to /)
  })

  it('two chain changes in the same second get two archives; a garbled chain.json is archived too', () => {
    const dir = fresh()
    const now = () => 1_800_000_000_000
    bindStateToChain(dir, CHAIN)
    writeState(dir)
    const a = bindStateToChain(dir, RESET, {now})
    writeState(dir)
    const b = bindStateToChain(dir, CHAIN, {now})
    expect(a.action === 'archived' && b.action === 'archived' && a.archivedTo !== b.archivedTo).toBe(true)
    expect(readdirSync(join(dir, 'agent', 'archive'))).toHaveLength(2)

    writeState(dir)
    writeFileSync(chainFilePath(dir), '{"chainId": 31337, garbage')
    const c = bindStateToChain(dir, CHAIN, {now})
    expect(c).toMatchObject({action: 'archived', previous: undefined})
    expect(c.action === 'archived' && c.archivedTo.endsWith('-unknown-chain')).toBe(true)
    expect(new Outbox(dir).get(1n)).toBeUndefined()
  })

  it('stateIsOf: readers (unet status) take the state only as the chain it was recorded for, or when none is recorded', () => {
    const dir = fresh()
    expect(stateIsOf(dir, CHAIN)).toBe(true)
    bindStateToChain(dir, CHAIN)
    expect(stateIsOf(dir, CHAIN)).toBe(true)
    expect(stateIsOf(dir, RESET)).toBe(false)
    writeFileSync(chainFilePath(dir), 'garbage')
    expect(stateIsOf(dir, CHAIN)).toBe(false)
  })

  it('state written before chains were recorded is kept and bound to this chain', () => {
    const dir = fresh()
    writeState(dir)
    expect(bindStateToChain(dir, CHAIN)).toEqual({action: 'recorded'})
    expect(new Outbox(dir).get(1n)?.state).toBe('confirmed')
  })
})

describe('runAgent on another chain', () => {
  const agent = (dataDir: string, chain: FakeChain, chainIdentity: ChainIdentity, clock: ManualClock, logger = new RecordingLogger()) =>
    runAgent({
      dataDir,
      chainIdentity,
      once: true,
      clock,
      logger,
      handleSignals: false,
      identity: IDENTITY,
      chain,
      engine: new FakeEngine(),
      devices: new FakeDevices(1),
      selfVerify: new FakeSelfVerify(),
      backoff: {baseMs: 100, maxMs: 1000},
    })

  it('never reports the old chain\'s "confirmed" for the same epoch: it archives and sends on the new chain', async () => {
    const dir = fresh()
    const clock = new ManualClock(1_700_000_000_000, {autoAdvance: true})
    const old = new FakeChain(clock)
    const first = await agent(dir, old, CHAIN, clock)
    expect(first.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})

    // a fresh chain at the same epoch number: the old outbox says epoch 0 is confirmed
    const reset = new FakeChain(clock)
    const logger = new RecordingLogger()
    const second = await agent(dir, reset, RESET, clock, logger)
    expect(second.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    expect(second.epochs[0]!.recovered).toBeUndefined()
    expect(reset.submits).toBe(1)
    expect(reset.credits.get(0n)).toBe(1)
    expect(logger.messages('warn').filter((m) => /archived to/.test(m))).toHaveLength(1)
    expect(readdirSync(join(dir, 'agent', 'archive'))).toHaveLength(1)
  })
})
