/**
 * Attack (issue 10 #2): P-384 (NVIDIA) devices are committed by digest only, so random digests earned.
 * v2: anyone may challenge a committed device of a past heartbeat with a deposit; the answer is the
 * committed SPDM exchange, checked on chain (digest, nonce = that heartbeat's device challenge, P-384
 * signature under the registered key by the P384Verifier). No answer, or one that does not verify,
 * revokes the device and forfeits the host's unclaimed rewards (half minted to the challenger).
 *
 * The device key is one we generate (node:crypto P-384) and the test approves it directly as the
 * verifier: a recorded NVIDIA report cannot be re-signed over a new nonce without the GPU's key, and the
 * game needs reports over fresh heartbeat challenges. The exchange is laid out as an NVIDIA GPU returns
 * it (it parses with src/hw/nvidia/spdm.ts).
 */
import {Contract, keccak256} from 'ethers'
import {beforeAll, describe, expect, it} from 'vitest'

import {approve} from '../../../src/chain/approve.js'
import {loadArtifact} from '../../../src/chain/artifacts.js'
import {challengeBlock, hostDevices} from '../../../src/chain/block.js'
import {answerChallenge, challengeArgs, challengeState, openChallenge, slashChallenge, type ChallengeTarget} from '../../../src/chain/challenge.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {sendTx} from '../../../src/chain/tx.js'
import {heartbeatChallenge} from '../../../src/evidence/nonce.js'
import {parseSpdmExchange} from '../../../src/hw/nvidia/spdm.js'
import {bytesToHex, hexToBytes} from '../../../src/util/hex.js'
import {p384Key, resign, spdmExchange} from '../../helpers/spdm-exchange.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {
  approveHost,
  buildBeat,
  emulatorHost,
  mine,
  nextEpoch,
  p256Device,
  p384Device,
  registerDevice,
  registerHost,
  reverted,
  revertName,
  type TestDevice,
} from '../chain/helpers.js'

const EPOCH_BLOCKS = 10
const ANSWER_BLOCKS = 4n * BigInt(EPOCH_BLOCKS)
type Evidence = 'valid' | 'random' | 'wrong-nonce' | 'bad-signature'

describe('attack: committed P-384 evidence that does not exist (the challenge game)', () => {
  const chain = pociSuite(['op', 'challenger', 'answerer', 'stranger'], {epochBlocks: EPOCH_BLOCKS})
  let token: Contract
  const host = emulatorHost()
  const gpu = p384Device()
  const own = p256Device()
  const byId = new Map<string, TestDevice>([gpu, own].map((d) => [d.deviceId, d]))

  beforeAll(async () => {
    token = new Contract(chain.deployed.token, loadArtifact('UncToken').abi as never, chain.op.provider)
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host), {power: 10n})
    await bindGpu()
    await approve(chain.verifier, {regId: (await registerDevice(chain.op, own, host.hostId)).regId, power: 100n})
  })

  /** The test is the verifier: the GPU key is approved directly (see the header). */
  async function bindGpu(): Promise<void> {
    await approve(chain.verifier, {regId: (await registerDevice(chain.op, gpu, host.hostId)).regId, power: 300n, chipId: gpu.chipId})
  }

  /** A heartbeat in a fresh epoch committing `evidence` for the GPU; returns the challenge target and the report. */
  async function committedBeat(evidence: Evidence): Promise<{target: ChallengeTarget; report: Uint8Array}> {
    // a slash revoked it: bind it again, so every test starts from a bound GPU
    if (!(await gpuBound())) await bindGpu()
    await nextEpoch(chain.url, chain.op)
    const cb = await challengeBlock(chain.op)
    const operator = chain.op.signer!.address
    const nonce = heartbeatChallenge({
      chainId: chain.op.chainId,
      contract: chain.deployed.poci,
      operator,
      hostId: gpu.deviceId,
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
    })
    const valid = spdmExchange(gpu.key, nonce)
    const report =
      evidence === 'wrong-nonce' ? spdmExchange(gpu.key, new Uint8Array(32).fill(0x5a)) : evidence === 'bad-signature' ? resign(valid, p384Key()) : valid
    const digest = evidence === 'random' ? keccak256(Uint8Array.of(Number(cb.blockNumber % 256n), 1, 2, 3)) : keccak256(report)
    const order = await hostDevices(chain.op, host.hostId)
    const devices = order.map((d) => ({device: byId.get(d.deviceId)!, evidenceDigest: d.deviceId === gpu.deviceId ? digest : undefined}))
    const params = await buildBeat(chain.op, host, devices, {block: cb})
    await heartbeat(chain.op, params)
    const target: ChallengeTarget = {
      hostId: host.hostId,
      epoch: cb.epoch,
      deviceId: gpu.deviceId,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
      operator,
      commits: params.devices.flatMap((d) => [d.deviceId, d.evidenceDigest]),
      kinds: Uint8Array.from(params.devices.map((d) => d.kind)),
      index: order.findIndex((d) => d.deviceId === gpu.deviceId),
    }
    return {target, report}
  }

  async function accrued(): Promise<bigint> {
    return ((await chain.op.poci!.getFunction('hostInfo').staticCall(host.hostId)) as bigint[])[7]!
  }

  async function gpuBound(): Promise<boolean> {
    return Number(((await chain.op.poci!.getFunction('deviceInfo').staticCall(gpu.deviceId)) as unknown[])[2]) === 2
  }

  /** What a slash is measured against, read just before it: the host's accrued rewards and the challenger's UNC. */
  async function beforeSlash(): Promise<{forfeited: bigint; bounty: bigint}> {
    const forfeited = await accrued()
    return {forfeited, bounty: (await token.getFunction('balanceOf').staticCall(chain.challenger.signer!.address)) as bigint}
  }

  /** Slashed: device revoked, accrued forfeited (half to the challenger as UNC), the challenger's deposit back. */
  async function expectSlashed(challengeId: string, {forfeited, bounty}: {forfeited: bigint; bounty: bigint}): Promise<void> {
    expect((await challengeState(chain.op, challengeId)).status).toBe('slashed')
    expect(await gpuBound()).toBe(false)
    expect(await accrued()).toBe(0n)
    expect(forfeited).toBeGreaterThan(0n)
    expect(await token.getFunction('balanceOf').staticCall(chain.challenger.signer!.address)).toBe(bounty + forfeited / 2n)
  }

  it('the committed exchange parses as an NVIDIA GPU report and carries the device challenge as its nonce', async () => {
    const {target, report} = await committedBeat('valid')
    const parsed = parseSpdmExchange(report)
    await nextEpoch(chain.url, chain.op)
    const opened = await openChallenge(chain.challenger, target)
    const state = await challengeState(chain.op, opened.challengeId)
    expect(state).toMatchObject({
      status: 'open',
      hostId: host.hostId,
      deviceId: gpu.deviceId,
      epoch: target.epoch,
      challenger: chain.challenger.signer!.address,
      evidenceDigest: keccak256(report),
    })
    expect(bytesToHex(parsed.request.nonce)).toBe(state.nonce)
    expect(state.deadline).toBe(BigInt(opened.blockNumber) + ANSWER_BLOCKS)
    // one challenge per (host, epoch, device)
    expect(await revertName(openChallenge(chain.stranger, target))).toBe('AlreadyChallenged')
    // the answer window ends at the deadline: an honest answer sent later is too late, and the host is slashed
    await mine(chain.url, Number(ANSWER_BLOCKS))
    expect(await reverted(answerChallenge(chain.answerer, {challengeId: opened.challengeId, publicKey: gpu.publicKey, report}))).toEqual({
      name: 'AnswerTooLate',
      args: {challengeId: opened.challengeId, deadline: state.deadline.toString()},
    })
    const before = await beforeSlash()
    await slashChallenge(chain.stranger, opened.challengeId)
    await expectSlashed(opened.challengeId, before)
  })

  it('a valid answer survives; the frivolous challenger loses the deposit to the answerer', async () => {
    const {target, report} = await committedBeat('valid')
    await nextEpoch(chain.url, chain.op)
    const before = await accrued()
    const opened = await openChallenge(chain.challenger, target)
    const balance = await chain.op.provider.getBalance(chain.answerer.signer!.address)
    const answered = await answerChallenge(chain.answerer, {challengeId: opened.challengeId, publicKey: gpu.publicKey, report})
    expect((await challengeState(chain.op, opened.challengeId)).status).toBe('answered')
    expect((await chain.op.provider.getBalance(chain.answerer.signer!.address)) - balance + answered.gasUsed * answered.receipt.gasPrice).toBe(
      chain.deployed.challengeDeposit,
    )
    expect(await gpuBound()).toBe(true)
    expect(await accrued()).toBe(before)
    expect(await revertName(slashChallenge(chain.stranger, opened.challengeId))).toBe('NotOpen')
    expect(await revertName(answerChallenge(chain.answerer, {challengeId: opened.challengeId, publicKey: gpu.publicKey, report}))).toBe('NotOpen')
  })

  it('a random digest cannot be answered (NotCommitted) and is slashed after the deadline: bounty to the challenger, deposit back', async () => {
    const {target} = await committedBeat('random')
    await nextEpoch(chain.url, chain.op)
    const eth = await chain.op.provider.getBalance(chain.challenger.signer!.address)
    const opened = await openChallenge(chain.challenger, target)
    const state = await challengeState(chain.op, opened.challengeId)
    // whatever is posted, it is not what was committed
    const forged = spdmExchange(gpu.key, hexToBytes(state.nonce))
    expect(await revertName(answerChallenge(chain.op, {challengeId: opened.challengeId, publicKey: gpu.publicKey, report: forged}))).toBe('NotCommitted')
    expect(await revertName(slashChallenge(chain.stranger, opened.challengeId))).toBe('AnswerWindowOpen')
    await mine(chain.url, Number(state.deadline) - (await chain.op.provider.getBlockNumber()))
    const before = await beforeSlash()
    const regId = ((await chain.op.poci!.getFunction('deviceInfo').staticCall(gpu.deviceId)) as string[])[6]!
    const slashed = await slashChallenge(chain.stranger, opened.challengeId)
    const log = slashed.receipt.logs.map((l) => chain.op.poci!.interface.parseLog(l)).find((l) => l?.name === 'Slashed')!
    expect([log.args[3], log.args[4], log.args[5]]).toEqual([before.forfeited, before.forfeited / 2n, 'no answer'])
    expect((await registrationState(chain.op, regId)).status).toBe('ended')
    // the challenger paid only the gas of opening: the deposit came back
    expect((await chain.op.provider.getBalance(chain.challenger.signer!.address)) + opened.gasUsed * opened.receipt.gasPrice).toBe(eth)
    await expectSlashed(opened.challengeId, before)
  })

  // posted as the answer by the operator itself, or by anyone: either way the evidence fails the on-chain check
  for (const [evidence, what, poster] of [
    ['wrong-nonce', 'a wrong nonce', 'op'],
    ['bad-signature', 'a bad signature', 'answerer'],
  ] as const)
    it(`committed evidence with ${what} slashes at once when posted as the answer`, async () => {
      const {target, report} = await committedBeat(evidence)
      await nextEpoch(chain.url, chain.op)
      const opened = await openChallenge(chain.challenger, target)
      const before = await beforeSlash()
      await answerChallenge(chain[poster], {challengeId: opened.challengeId, publicKey: gpu.publicKey, report})
      await expectSlashed(opened.challengeId, before)
    })

  it('refuses challenges that do not name a stored heartbeat record (NoHeartbeat, RecordMismatch) or a committed device', async () => {
    const {target} = await committedBeat('valid')
    // the current epoch cannot be challenged yet
    expect(await revertName(openChallenge(chain.challenger, target))).toBe('WrongEpoch')
    await nextEpoch(chain.url, chain.op)
    await nextEpoch(chain.url, chain.op) // an epoch without a heartbeat
    expect(await reverted(openChallenge(chain.challenger, {...target, epoch: target.epoch + 1n}))).toEqual({
      name: 'NoHeartbeat',
      args: {hostId: host.hostId, epoch: (target.epoch + 1n).toString()},
    })
    const mismatch = {name: 'RecordMismatch', args: {hostId: host.hostId, epoch: target.epoch.toString()}}
    expect(await reverted(openChallenge(chain.challenger, {...target, blockHash: keccak256('0x01')}))).toEqual(mismatch)
    expect(await reverted(openChallenge(chain.challenger, {...target, blockNumber: target.blockNumber - 1n}))).toEqual(mismatch)
    expect(await reverted(openChallenge(chain.challenger, {...target, operator: chain.stranger.signer!.address}))).toEqual(mismatch)
    const commits = [...target.commits]
    commits[2 * target.index + 1] = keccak256('0x02')
    expect(await reverted(openChallenge(chain.challenger, {...target, commits}))).toEqual(mismatch)
    // the record matches, but the index names the own-key device / another device
    const ownIndex = 1 - target.index
    expect(await revertName(openChallenge(chain.challenger, {...target, deviceId: own.deviceId, index: ownIndex}))).toBe('NotCommittedKind')
    expect(await revertName(openChallenge(chain.challenger, {...target, index: ownIndex}))).toBe('DeviceSetMismatch')
    // the deposit is exact
    expect(await revertName(sendTx(chain.challenger, chain.challenger.poci!, 'challenge', challengeArgs(target), 'challenge', {value: 1n}))).toBe(
      'WrongDeposit',
    )
    // too old: the answer deadline would fall after the ring slot can be overwritten
    for (let i = 0; i < 12; i++) await nextEpoch(chain.url, chain.op)
    expect(await reverted(openChallenge(chain.challenger, target))).toEqual({name: 'ChallengeWindowClosed', args: {epoch: target.epoch.toString()}})
  })
})
