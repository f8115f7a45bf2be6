import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ManualClock} from '../../../src/agent/backoff.js'
import {HeartbeatMachine, type AgentState, type HeartbeatMachineOptions} from '../../../src/agent/heartbeat-machine.js'
import {Outbox, readJournal} from '../../../src/agent/outbox.js'
import {ExitCode, UnetError} from '../../../src/errors/index.js'
import {CountingMetrics, FakeChain, FakeDevices, FakeEngine, FakeSelfVerify, IDENTITY, RecordingLogger} from './doubles.js'

function setup(overrides: Partial<HeartbeatMachineOptions> = {}, clock = new ManualClock(1_700_000_000_000, {autoAdvance: true})) {
  const dataDir = mkdtempSync(join(tmpdir(), 'unet-agent-'))
  const chain = new FakeChain(clock)
  const engine = new FakeEngine()
  const devices = new FakeDevices(2)
  const selfVerify = new FakeSelfVerify()
  const logger = new RecordingLogger()
  const metrics = new CountingMetrics()
  const states: AgentState[] = []
  const outbox = new Outbox(dataDir, {logger, now: () => clock.now()})
  const make = (extra: Partial<HeartbeatMachineOptions> = {}) =>
    new HeartbeatMachine({
      identity: IDENTITY,
      chain,
      engine,
      devices,
      selfVerify,
      clock,
      outbox: extra.outbox ?? outbox,
      logger,
      metrics,
      backoff: {baseMs: 1000, maxMs: 30_000, random: () => 0.5},
      onTransition: (s) => states.push(s),
      ...overrides,
      ...extra,
    })
  return {dataDir, clock, chain, engine, devices, selfVerify, logger, metrics, states, outbox, make}
}

describe('HeartbeatMachine', () => {
  it('happy path: attest → self-verify → submit → receipt → journal, one credit', async () => {
    const t = setup()
    const r = await t.make().run({once: true})
    expect(r.stopped).toBe('once')
    expect(r.epochs).toHaveLength(1)
    const e = r.epochs[0]!
    expect(e).toMatchObject({epoch: 0n, result: 'confirmed', attempts: 1})
    expect(e.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(t.chain.credits.get(0n)).toBe(1)
    expect(t.states).toEqual(['Registered', 'Attesting', 'Submitting', 'Confirmed', 'Stopped'])
    expect(t.outbox.get(0n)?.state).toBe('confirmed')
    expect(t.outbox.journal()).toMatchObject([{epoch: 0n, result: 'confirmed', txHash: e.txHash}])
    expect(t.metrics.results).toEqual({confirmed: 1})
    expect(t.metrics.devices).toBe(2)
    expect(t.metrics.gas).toBe(10n ** 18n - 10n ** 14n)
    expect(t.metrics.rewards).toBe(10n ** 18n)
    expect(e.gas?.runwayEpochs).toBe(9999n)
  })

  it('started in the last blocks of an epoch, it begins with the next one instead of sending a doomed tx', async () => {
    const t = setup({minBlocksLeft: 3})
    await t.clock.advance(58_000) // the epoch's 30th and last block: none left after it
    const r = await t.make().run({once: true})
    expect(r.epochs).toMatchObject([{epoch: 1n, result: 'confirmed'}])
    expect(t.chain.credits.has(0n)).toBe(false)
    expect(t.chain.submits).toBe(1)
    expect(t.outbox.journal().map((j) => j.epoch)).toEqual([1n])
  })

  it('counts the room left in blocks, not seconds: slow blocks leave a long wall-time epoch but too few blocks', async () => {
    const t = setup({minBlocksLeft: 2})
    t.chain.blockMs = 15_000 // 4 blocks per 60 s epoch
    await t.clock.advance(31_000) // block 3: 1 block left after it, though 29 s of the epoch remain
    const r = await t.make().run({once: true})
    expect(r.epochs).toMatchObject([{epoch: 1n, result: 'confirmed'}])
    expect(t.chain.submits).toBe(1)
    expect(t.logger.messages('info')).toContain('only 1 block(s) left in epoch 0: starting with the next epoch')
  })

  it('runs epoch after epoch until aborted, one heartbeat each', async () => {
    const t = setup()
    const ac = new AbortController()
    const m = t.make({signal: ac.signal})
    const running = m.run()
    while (t.chain.credits.size < 3) await new Promise((r) => setImmediate(r))
    ac.abort('SIGTERM')
    const r = await running
    expect(r.stopped).toBe('aborted')
    expect([...t.chain.credits.entries()].slice(0, 3)).toEqual([
      [0n, 1],
      [1n, 1],
      [2n, 1],
    ])
    expect(t.chain.submits).toBe(t.chain.credits.size)
    expect(m.state).toBe('Stopped')
  })

  it('spreads the start of each epoch by a random delay when asked (fleet jitter)', async () => {
    const t = setup({epochStartJitterMs: 10_000, random: () => 0.25, epochPollMs: 60_000})
    const ac = new AbortController()
    const running = t.make({signal: ac.signal}).run()
    while (t.chain.credits.size < 2) await new Promise((r) => setImmediate(r))
    ac.abort()
    await running
    // epoch 0 at once; then: wait for the next epoch (60 s poll), then 0.25 × 10 s
    expect(t.clock.sleeps).toContain(2500)
  })

  it('retries within the epoch after transient failures, with jittered backoff', async () => {
    const t = setup()
    t.engine.failures = 2
    t.chain.failSubmits = 1
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed', attempts: 4})
    expect(t.chain.credits.get(0n)).toBe(1)
    expect(t.states.filter((s) => s === 'Backoff')).toHaveLength(3)
    // full jitter with random() = 0.5: 0.5 × 1 s, 0.5 × 2 s, 0.5 × 4 s
    expect(t.clock.sleeps.slice(0, 3)).toEqual([500, 1000, 2000])
    expect(t.metrics.results.retry).toBe(3)
    expect(t.logger.messages('warn').some((m) => m.includes('TPM_RC_RETRY'))).toBe(true)
  })

  it('a crash after broadcast: the restarted agent checks the sent tx by hash and sends nothing new', async () => {
    const t = setup({classify: (e) => (e instanceof Error && e.message === 'process killed' ? 'fatal' : 'transient')})
    t.chain.crashAfterBroadcast = new Error('process killed')
    await expect(t.make().run({once: true})).rejects.toThrow('process killed')
    const before = t.outbox.get(0n)!
    expect(before.state).toBe('sent')
    expect(t.chain.submits).toBe(1)

    // a new process: fresh Outbox instance on the same data dir, same chain
    const outbox2 = new Outbox(t.dataDir, {now: () => t.clock.now()})
    const r = await t.make({outbox: outbox2}).run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed', txHash: before.txs[0]!.txHash, recovered: true})
    expect(t.chain.submits).toBe(1)
    expect(t.chain.credits.get(0n)).toBe(1)
    expect(t.engine.quotes).toBe(1)
  })

  it('a tx signed but never broadcast (lost): replaced on the same nonce, never a second nonce', async () => {
    const t = setup({stuckAfterMs: 20_000, stuckAfterBlocks: 1000})
    t.chain.loseNextBroadcast = true
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    expect(t.chain.submits).toBe(1)
    expect(t.chain.bumps).toBe(1)
    expect([...t.chain.usedNonces]).toEqual([0])
    expect(t.chain.credits.get(0n)).toBe(1)
  })

  it('a stuck tx (no receipt within N blocks) is replaced with a fee bump', async () => {
    const t = setup({stuckAfterBlocks: 5, stuckAfterMs: 10 * 60_000})
    t.chain.minPriorityFee = 3n // the first tx pays 2: it sits in the mempool
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    const entry = t.outbox.get(0n)!
    expect(entry.txs).toHaveLength(2)
    expect(entry.txs[1]!.nonce).toBe(entry.txs[0]!.nonce)
    expect(entry.txs[1]!.fees.maxPriorityFeePerGas).toBeGreaterThan(entry.txs[0]!.fees.maxPriorityFeePerGas)
    expect(entry.confirmed!.txHash).toBe(entry.txs[1]!.txHash)
    expect(t.metrics.bumps).toBe(1)
    expect(t.chain.credits.get(0n)).toBe(1)
    expect(t.logger.messages('warn')).toContain('heartbeat transaction stuck: replaced with a fee bump')
  })

  it('RPC errors while waiting for the receipt are retried, the tx is never abandoned', async () => {
    const t = setup()
    t.chain.failReceipts = 3
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({result: 'confirmed'})
    expect(t.chain.submits).toBe(1)
  })

  it('abort during backoff ends the run cleanly and at once', async () => {
    const clock = new ManualClock(1_700_000_000_000) // time moves only when told
    const t = setup({}, clock)
    t.engine.failures = 1_000
    const ac = new AbortController()
    const running = t.make({signal: ac.signal}).run()
    while (!t.states.includes('Backoff') || clock.pending === 0) await new Promise((r) => setImmediate(r))
    ac.abort('SIGTERM')
    const r = await running
    expect(r).toEqual({stopped: 'aborted', epochs: []})
    expect(t.states.at(-1)).toBe('Stopped')
    expect(clock.pending).toBe(0)
    expect(t.chain.submits).toBe(0)
  })

  it('evidence that fails self-verification stops the agent with EVIDENCE_INVALID and journals why', async () => {
    const t = setup()
    t.selfVerify.forceFail = 'AK certificate chain does not reach a trusted root'
    const err = await t
      .make()
      .run({once: true})
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnetError)
    expect((err as UnetError).exitCode).toBe(ExitCode.EVIDENCE_INVALID)
    expect(t.chain.submits).toBe(0)
    expect(t.outbox.journal()).toMatchObject([{epoch: 0n, result: 'failed', reason: expect.stringContaining('trusted root')}])
  })

  it('an unregistered host stops with NOT_REGISTERED (or waits when asked)', async () => {
    const t = setup()
    t.chain.registered = false
    await expect(t.make().run({once: true})).rejects.toMatchObject({exitCode: ExitCode.NOT_REGISTERED})
    expect(t.states).toContain('Unregistered')
    const r = await t.make({onUnregistered: 'wait'}).run({once: true})
    expect(r.epochs[0]).toMatchObject({result: 'skipped', reason: expect.stringContaining('not registered')})
  })

  it('gives up on the epoch after maxAttemptsPerEpoch and journals the last reason', async () => {
    const t = setup({maxAttemptsPerEpoch: 3})
    t.engine.failures = 1_000
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'failed', attempts: 3, reason: 'gave up after 3 attempts: TPM returned TPM_RC_RETRY'})
    expect(t.outbox.journal()[0]).toMatchObject({result: 'failed', attempts: 3})
    expect(t.chain.submits).toBe(0)
  })

  it('a revert is retried in the epoch with a fresh challenge block', async () => {
    const t = setup()
    // the first heartbeat reverts (another tx credited this epoch already? here: a stale block)
    const realRecent = t.chain.recentBlock.bind(t.chain)
    let calls = 0
    t.chain.recentBlock = async () => {
      const b = await realRecent()
      return calls++ === 0 ? {...b, hash: '0x' + '00'.repeat(32)} : b
    }
    t.selfVerify.verify = async () => ({ok: true, reasons: []})
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed', attempts: 2})
    const reverted = [...t.chain.mined.values()].filter((x) => x.status === 'reverted')
    expect(reverted.map((x) => x.revertReason)).toEqual(['StaleBlock'])
    expect(t.chain.credits.get(0n)).toBe(1)
  })

  it('an epoch that ends while failing is journaled as missed with the last reason', async () => {
    const t = setup({maxAttemptsPerEpoch: 1000, backoff: {baseMs: 5000, maxMs: 20_000, random: () => 0.99}})
    t.engine.failures = 1_000
    const r = await t.make().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'missed', reason: expect.stringContaining('TPM_RC_RETRY')})
    expect(t.metrics.results.missed).toBe(1)
  })

  it('low gas: a warning with the runway in epochs; empty gas fails the epoch without sending', async () => {
    const t = setup()
    t.chain.balance = 20n * 10n ** 14n
    const r = await t.make().run({once: true})
    expect(r.epochs[0]!.gas?.runwayEpochs).toBe(19n)
    expect(t.logger.messages('warn').some((m) => /low gas: about 19 epochs/.test(m))).toBe(true)

    const t2 = setup()
    t2.chain.balance = 10n
    const r2 = await t2.make().run({once: true})
    expect(r2.epochs[0]).toMatchObject({result: 'failed', reason: expect.stringContaining('gas empty')})
    expect(t2.chain.submits).toBe(0)
  })
})

/** The node forgets what it knew (a chain reset, a devnet restored from an older dump) under a restarted agent. */
describe('HeartbeatMachine after the chain lost its transactions', () => {
  const killed = (e: unknown) => (e instanceof Error && e.message === 'process killed' ? 'fatal' : 'transient')
  const unregistered = () => new UnetError('heartbeat rejected by the contract: Unregistered', ExitCode.TX_REJECTED)

  /** An agent killed right after broadcasting epoch 0's heartbeat; then the node loses it. */
  async function sentThenLost(overrides: Partial<HeartbeatMachineOptions> = {}) {
    const t = setup({classify: killed, ...overrides})
    t.chain.crashAfterBroadcast = new Error('process killed')
    await expect(t.make().run({once: true})).rejects.toThrow('process killed')
    expect(t.outbox.get(0n)?.state).toBe('sent')
    t.chain.forgetTransactions()
    return {...t, restarted: () => t.make({outbox: new Outbox(t.dataDir, {now: () => t.clock.now(), logger: t.logger})})}
  }

  it('an outbox "confirmed" the chain has no receipt for is not reported: the epoch is sent again and credited', async () => {
    const t = setup()
    const first = await t.make().run({once: true})
    expect(first.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    t.chain.forgetTransactions()

    const r = await t.make({outbox: new Outbox(t.dataDir, {now: () => t.clock.now()})}).run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    expect(r.epochs[0]!.recovered).toBeUndefined()
    expect(t.chain.submits).toBe(2)
    expect(t.chain.credits.get(0n)).toBe(1)
    expect(t.logger.messages('warn').some((m) => /held epoch 0 as confirmed .* no successful receipt/.test(m))).toBe(true)
  })

  it('a sent tx whose epoch ended without a receipt is abandoned as missed, never fee-bumped; the next epoch is credited', async () => {
    const t = await sentThenLost()
    await t.clock.sleep(61_000) // epoch 0 (60 s) is over
    const r = await t.restarted().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 1n, result: 'confirmed'})
    expect(t.chain.credits.get(1n)).toBe(1)
    expect(t.chain.bumps + t.chain.bumpRefusals).toBe(0)
    expect(readJournal(t.dataDir).find((j) => j.epoch === 0n)).toMatchObject({
      result: 'missed',
      reason: expect.stringMatching(/^abandoned: epoch 0 ended with no receipt/),
    })
    expect(new Outbox(t.dataDir).get(0n)?.state).toBe('failed')
  })

  it('fee bumps refused (Unregistered) are abandoned after maxBumpRefusals and the open epoch is attempted afresh', async () => {
    const t = await sentThenLost({stuckAfterBlocks: 3})
    t.chain.refuseBumps = unregistered
    const r = await t.restarted().run({once: true})
    expect(r.epochs[0]).toMatchObject({epoch: 0n, result: 'confirmed'})
    expect(t.chain.bumpRefusals).toBe(3)
    expect(t.logger.messages('warn').filter((m) => m === 'fee bump refused')).toHaveLength(3)
    expect(t.chain.credits.get(0n)).toBe(1)
  })

  it('fee bumps refused for ever and nothing ever mined: --once still ends, with a bounded number of refusals', async () => {
    const t = await sentThenLost({stuckAfterBlocks: 2, maxAttemptsPerEpoch: 1000})
    t.chain.refuseBumps = unregistered
    t.chain.minPriorityFee = 1000n // nothing this agent sends is ever mined
    const r = await t.restarted().run({once: true})
    expect(r.epochs).toHaveLength(1)
    expect(r.epochs[0]!.result).toBe('missed')
    expect(r.epochs[0]!.epoch).toBe(0n)
    // each tx gets maxBumpRefusals refusals, then is abandoned; the epoch bounds the number of txs
    expect(t.chain.bumpRefusals).toBeLessThanOrEqual(3 * (t.chain.submits + 1))
    expect(t.chain.bumpRefusals).toBeGreaterThanOrEqual(3)
    expect(t.clock.now() - t.chain.genesis).toBeLessThan(2 * 60_000)
  })

  it('with giveUpAfterMs, a chain that never answers ends the run with its error instead of retrying for ever', async () => {
    const t = setup({giveUpAfterMs: 30_000})
    t.chain.currentEpoch = async () => {
      throw new UnetError('RPC endpoint unreachable', ExitCode.RPC_UNREACHABLE)
    }
    const started = t.clock.now()
    await expect(t.make().run({once: true})).rejects.toMatchObject({exitCode: ExitCode.RPC_UNREACHABLE})
    expect(t.clock.now() - started).toBeGreaterThanOrEqual(30_000)
    expect(t.clock.now() - started).toBeLessThan(30_000 + 30_000) // one backoff (max 30 s) past the limit at most
  })
})
