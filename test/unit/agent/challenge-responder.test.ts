import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ManualClock} from '../../../src/agent/backoff.js'
import {fileChallengeCursor} from '../../../src/agent/challenge-cursor.js'
import {ChallengeResponder} from '../../../src/agent/challenge-responder.js'
import {HeartbeatMachine, type HeartbeatMachineOptions} from '../../../src/agent/heartbeat-machine.js'
import {Outbox} from '../../../src/agent/outbox.js'
import {CountingMetrics, FakeChain, FakeChallenges, FakeDevices, FakeEngine, FakeSelfVerify, IDENTITY, MemoryCursor, RecordingLogger} from './doubles.js'

function setup() {
  const clock = new ManualClock(1_700_000_000_000, {autoAdvance: true})
  const chain = new FakeChain(clock) // 30 blocks of 2 s per 60 s epoch
  const challenges = new FakeChallenges(chain)
  const cursor = new MemoryCursor()
  const logger = new RecordingLogger()
  const metrics = new CountingMetrics()
  const responder = (over: {cursor?: MemoryCursor} = {}) =>
    new ChallengeResponder({port: challenges, head: async () => chain.headNumber(), cursor: over.cursor ?? cursor, logger, metrics})
  return {clock, chain, challenges, cursor, logger, metrics, responder}
}

const lines = (logger: RecordingLogger, pattern: RegExp) => logger.lines.filter((l) => pattern.test(l.msg ?? ''))

describe('ChallengeResponder', () => {
  it('answers an open challenge it keeps the evidence for: one line seen, one answered, both with the deadline block', async () => {
    const t = setup()
    await t.clock.advance(20_000) // block 11
    t.challenges.open({at: 5n})
    const r = await t.responder().step()
    expect(r).toMatchObject({head: 11n, answered: [expect.any(String)], failed: [], unanswerable: [], open: []})
    expect(t.challenges.all()[0]).toMatchObject({status: 'answered', answeredAt: 12n, deadline: 45n})
    expect(lines(t.logger, /against device .* answer by block 45$/)).toHaveLength(1)
    expect(lines(t.logger, /answered in block 12 \(deadline 45\)$/)).toHaveLength(1)
    expect(t.metrics.challenges).toEqual({answered: 1})
    expect(t.metrics.challengesOpenNow).toBe(0)
    // nothing open: the next scan starts just behind the head
    expect(t.cursor.value).toBe(10n)
  })

  it('an unanswerable challenge (no kept evidence) is said once, stays in the open gauge, and holds the cursor at its block', async () => {
    const t = setup()
    t.challenges.open({at: 1n, keep: false})
    const responder = t.responder()
    for (let i = 0; i < 3; i++) {
      await t.clock.advance(20_000) // heads 11, 21, 31
      const r = await responder.step()
      expect(r.unanswerable).toHaveLength(1)
      expect(r.open).toHaveLength(1)
    }
    expect(lines(t.logger, /no kept evidence .* unanswerable, the host is slashed after block 41$/)).toHaveLength(1)
    expect(lines(t.logger, /answer by block 41$/)).toHaveLength(1)
    expect(t.metrics.challenges).toEqual({unanswerable: 1})
    expect(t.metrics.challengesOpenNow).toBe(1)
    expect(t.cursor.value).toBe(1n)
    expect(t.challenges.scans.slice(1)).toEqual([1n, 1n])
    // at its deadline block no answer can land any more: reported once as missed
    await t.clock.advance(20_000) // head 41
    const late = await responder.step()
    expect(late.open).toHaveLength(1)
    expect(lines(t.logger, /was not answered by block 41: the host can be slashed$/)).toHaveLength(1)
  })

  it('a failed answer is retried at the next step, and the cursor never passes it', async () => {
    const t = setup()
    await t.clock.advance(10_000)
    t.challenges.open()
    t.challenges.failAnswers = 1
    const first = await t.responder().step()
    expect(first.failed).toHaveLength(1)
    expect(t.cursor.value).toBe(5n) // just behind the head (6 + 1 − margin 2), older than its block 6
    expect(lines(t.logger, /failed, retrying next epoch \(deadline block 46\): RPC endpoint unreachable$/)).toHaveLength(1)
    await t.clock.advance(60_000)
    const second = await t.responder().step()
    expect(second.answered).toHaveLength(1)
    expect(t.challenges.all()[0]!.status).toBe('answered')
    expect(t.metrics.challenges).toEqual({failed: 1, answered: 1})
  })

  it('scans from the persisted cursor, and never further back than the answer window (head − window − margin)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-cursor-'))
    const t = setup()
    await t.clock.advance(200_000) // block 101
    const store = fileChallengeCursor(dataDir)
    const responder = new ChallengeResponder({port: t.challenges, head: async () => t.chain.headNumber(), cursor: store})
    await responder.step()
    expect(t.challenges.scans).toEqual([101n - 40n - 2n])
    expect(store.read()).toBe(100n)
    // a restart reads the file: a cheap scan from just behind the last head
    await t.clock.advance(20_000)
    await new ChallengeResponder({port: t.challenges, head: async () => t.chain.headNumber(), cursor: fileChallengeCursor(dataDir)}).step()
    expect(t.challenges.scans.at(-1)).toBe(100n)
    // an agent down for longer than the window: the window bounds the scan, not the stale cursor
    await t.clock.advance(400_000)
    await new ChallengeResponder({port: t.challenges, head: async () => t.chain.headNumber(), cursor: fileChallengeCursor(dataDir)}).step()
    expect(t.challenges.scans.at(-1)).toBe(t.chain.headNumber() - 42n)
  })
})

/** A machine over the doubles (one device, a fresh outbox) on `chain`, with the challenge game's options. */
function gameMachine(clock: ManualClock, chain: FakeChain, options: Partial<HeartbeatMachineOptions>): HeartbeatMachine {
  return new HeartbeatMachine({
    identity: IDENTITY,
    chain,
    engine: new FakeEngine(),
    devices: new FakeDevices(1),
    selfVerify: new FakeSelfVerify(),
    clock,
    outbox: new Outbox(mkdtempSync(join(tmpdir(), 'unet-agent-ch-')), {now: () => clock.now()}),
    logger: new RecordingLogger(),
    ...options,
  })
}

describe('HeartbeatMachine with the challenge game', () => {
  it('never misses a challenge while running: each one, opened at any block of any epoch, is answered by its deadline', async () => {
    const clock = new ManualClock(1_700_000_000_000, {autoAdvance: true})
    const chain = new FakeChain(clock)
    const challenges = new FakeChallenges(chain)
    challenges.window = 4n * chain.epochBlocks // ANSWER_EPOCHS × epochBlocks, as the contract
    // at an epoch's first block, in its middle, at its last block, two in one epoch, one whose first answer fails
    for (const at of [1n, 15n, 30n, 31n, 44n, 59n, 61n, 89n, 120n, 150n]) challenges.open({at, epoch: chain.epochOf(at)})
    challenges.failAnswers = 1
    const metrics = new CountingMetrics()
    const machine = gameMachine(clock, chain, {
      metrics,
      backoff: {baseMs: 1000, maxMs: 30_000, random: () => 0.5},
      challenges,
      challengeCursor: new MemoryCursor(),
      minBlocksLeft: 3,
    })
    const r = await machine.run({epochs: 9})
    expect(r.epochs.map((e) => e.result)).toEqual(Array(9).fill('confirmed'))
    const all = challenges.all()
    expect(all).toHaveLength(10)
    for (const c of all) {
      expect(c.status, `challenge opened at block ${c.openedAt}`).toBe('answered')
      expect(c.answeredAt!).toBeLessThanOrEqual(c.deadline)
      // answered at the start of the next epoch at the latest (a retry: one epoch later)
      expect(chain.epochOf(c.answeredAt!) - chain.epochOf(c.openedAt)).toBeLessThanOrEqual(2n)
    }
    expect(metrics.challenges).toEqual({answered: 10, failed: 1})
    expect(chain.credits.size).toBe(9)
  })

  it('a challenge step that cannot read the chain does not stop the heartbeat', async () => {
    const clock = new ManualClock(1_700_000_000_000, {autoAdvance: true})
    const chain = new FakeChain(clock)
    const challenges = new FakeChallenges(chain)
    challenges.challengesSince = async () => {
      throw new Error('getLogs: block range too large')
    }
    const logger = new RecordingLogger()
    const machine = gameMachine(clock, chain, {logger, challenges})
    const r = await machine.run({once: true})
    expect(r.epochs[0]).toMatchObject({result: 'confirmed'})
    expect(logger.messages('warn').some((m) => /reading challenges failed, trying again next epoch: getLogs/.test(m))).toBe(true)
  })
})
