/**
 * The agent's side of the challenge game on real anvil: a host (the emulator engine) with a P-384
 * device heartbeats with the committed digest of a raw SPDM exchange, a challenger opens a challenge
 * of that heartbeat, `unet status` lists it while open, and the agent's challenge step answers it
 * on chain from the evidence it kept — at start-up, and while it runs.
 *
 * The P-384 device is one this test controls: a node:crypto P-384 key, approved directly by the test as
 * the verifier, answering each heartbeat with an SPDM-shaped exchange over its device challenge
 * (test/helpers/spdm-exchange.ts). NVIDIA's recorded report cannot be re-signed over a fresh nonce
 * without the GPU's key, and the NVML stub (native/nvml-stub) replays that recorded report, so it
 * cannot sign a fresh nonce either: neither could answer a challenge. Everything else is the real code:
 * liveChainPort/liveEnginePort/liveSelfVerifyPort/liveChallengePort, keepDeviceEvidence, committedDigest.
 */
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runAgent} from '../../../src/agent/run-agent.js'
import type {DevicesPort} from '../../../src/agent/ports.js'
import {readJournal} from '../../../src/agent/outbox.js'
import {approve} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {readChainIdentity} from '../../../src/chain/chain-identity.js'
import {challengeState, openChallenge, type ChallengeTarget} from '../../../src/chain/challenge.js'
import {heartbeatHistory} from '../../../src/chain/history.js'
import {register} from '../../../src/chain/register.js'
import {canonicalPublicKey, heartbeatChallenge, type AcceleratorEvidence} from '../../../src/evidence/index.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {buildHostEvidence, type EngineIdentity} from '../../../src/hw/engine.js'
import {NVIDIA_REPORT_FORMAT} from '../../../src/hw/nvidia/verify-evidence.js'
import {leftPad, parseSignature} from '../../../src/hw/tpm2/structures.js'
import {committedDigest, findKeptEvidence, keepDeviceEvidence} from '../../../src/miner/attest-devices.js'
import {liveChainPort, liveChallengePort, liveEnginePort, liveSelfVerifyPort, type LiveDeviceEvidence} from '../../../src/miner/live-ports.js'
import type {StatusReport} from '../../../src/miner/status-report.js'
import {bytesToHex, concatBytes, hexToBytes} from '../../../src/util/hex.js'
import {makeHome, runCli, type Home} from '../../helpers/cli.js'
import {keccak_256} from '@noble/hashes/sha3.js'

import {spdmExchange} from '../../helpers/spdm-exchange.js'
import {RecordingLogger} from '../../unit/agent/doubles.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {until} from '../../helpers/until.js'
import {currentRegisterChallenge, nextEpoch, p384Device, roomInEpoch} from '../chain/helpers.js'

const EPOCH_BLOCKS = 12

describe('the agent answers challenges of its committed P-384 evidence (real anvil)', () => {
  const chain = pociSuite(['op', 'challenger'], {epochBlocks: EPOCH_BLOCKS})
  const gpu = p384Device()
  const dataDir = mkdtempSync(join(tmpdir(), 'unet-agent-challenge-'))
  const evidenceDir = join(dataDir, 'evidence')
  const logger = new RecordingLogger()
  let engine: EmulatorEngine
  let identity: EngineIdentity
  let hostId: string
  let home: Home

  beforeAll(async () => {
    const operator = chain.op.signer!.address
    engine = await EmulatorEngine.open({dataDir, pcrs: [0, 1]})
    identity = await engine.identity()
    hostId = identity.deviceId
    const regChallenge = await currentRegisterChallenge(chain.op, {payout: operator, deviceId: hostId})
    const q = (await buildHostEvidence(engine, {qualifyingData: regChallenge, challenge: regChallenge})).quote
    const sig = parseSignature(q.signature)
    if (sig.alg !== 'ecdsa') throw new Error('expected an ECDSA quote')
    const proof = concatBytes(q.attest, Uint8Array.from(leftPad(sig.r, 32)), Uint8Array.from(leftPad(sig.s, 32)))
    const hostReg = await register(chain.op, {kind: DeviceKind.HOST_EMULATOR, publicKey: canonicalPublicKey(identity.publicKey), payout: operator, proof})
    await approve(chain.verifier, {regId: hostReg.regId, power: 1n})
    // the test is the verifier: the GPU key is approved directly (see the header)
    const devChallenge = await currentRegisterChallenge(chain.op, {payout: operator, deviceId: gpu.deviceId, hostId})
    const devReg = await register(chain.op, {kind: DeviceKind.P384, publicKey: gpu.publicKey, payout: operator, hostId, proof: gpu.registerProof(devChallenge)})
    await approve(chain.verifier, {regId: devReg.regId, power: 310n, chipId: gpu.chipId})

    // `unet status` of this operator against this chain
    home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    const contracts = {registry: chain.deployed.poci, heartbeat: chain.deployed.poci, rewards: chain.deployed.poci, token: chain.deployed.token}
    writeFileSync(
      join(home.configDir, 'config.json'),
      JSON.stringify({networks: {devnet: {rpcUrls: [chain.url], chainId: Number(chain.op.chainId), contracts, blockSeconds: 1}}}),
    )
  }, 60_000)

  afterAll(() => {
    engine?.close()
  })

  /** The device this test controls: a fresh SPDM exchange over its heartbeat challenge, kept as liveDevicesPort keeps it. */
  const devices: DevicesPort = {
    async attestAll(_challenge, context) {
      const nonce = heartbeatChallenge({
        chainId: chain.op.chainId,
        contract: chain.op.pociAddress!,
        operator: chain.op.signer!.address,
        hostId: gpu.deviceId,
        epoch: context!.epoch,
        blockNumber: context!.block.number,
        blockHash: context!.block.hash,
      })
      const evidence: AcceleratorEvidence = {
        v: 1,
        kind: 'nvidia-cc',
        device: {publicKey: concatBytes(Uint8Array.of(4), gpu.publicKey), certChain: []},
        nonce: {qualifyingData: nonce, challenge: nonce},
        producedAt: Math.floor(Date.now() / 1000),
        report: {format: NVIDIA_REPORT_FORMAT, body: spdmExchange(gpu.key, nonce)},
      }
      const digest = committedDigest(DeviceKind.P384, evidence)
      keepDeviceEvidence(evidenceDir, gpu.deviceId, context!.epoch, evidence, undefined, digest)
      const live: LiveDeviceEvidence = {chainKind: DeviceKind.P384, kind: evidence.kind, evidence}
      return [{deviceId: gpu.deviceId, evidenceDigest: digest, evidence: live}]
    },
  }

  async function agent(options: {once?: boolean; signal?: AbortSignal}) {
    return runAgent({
      dataDir,
      chainIdentity: await readChainIdentity(chain.op),
      once: options.once,
      signal: options.signal,
      handleSignals: false,
      logger,
      identity: {chainId: chain.op.chainId, contract: chain.op.pociAddress!, operator: chain.op.signer!.address, hostId},
      chain: liveChainPort(chain.op, identity, chain.op.signer!.address),
      engine: liveEnginePort(engine),
      devices,
      selfVerify: liveSelfVerifyPort(identity, true, 'test'),
      challenges: liveChallengePort(chain.op, hostId, {evidenceDir}),
      minBlocksLeft: 3,
      receiptPollMs: 100,
      epochPollMs: 100,
      backoff: {baseMs: 100, maxMs: 1000},
    })
  }

  /** What a challenger reads from the heartbeat's calldata: the fields the contract checks against its record. */
  async function targetOf(epoch: bigint): Promise<ChallengeTarget> {
    const beat = (await heartbeatHistory(chain.op, hostId)).find((b) => b.epoch === epoch)!
    const tx = (await chain.op.provider.getTransaction(beat.txHash))!
    const args = chain.op.poci!.interface.parseTransaction({data: tx.data})!.args
    return {
      hostId,
      epoch,
      deviceId: gpu.deviceId,
      blockNumber: args[1] as bigint,
      blockHash: args[2] as string,
      operator: tx.from,
      commits: [...(args[8] as string[])],
      kinds: hexToBytes(args[9] as string),
      index: 0,
    }
  }

  const confirmed = (epoch: bigint) => readJournal(dataDir).some((j) => j.epoch === epoch && j.result === 'confirmed') || undefined

  it('commits keccak256 of the raw exchange, lists the open challenge in status, and answers it at start-up and while running', async () => {
    await roomInEpoch(chain.url, chain.op, 6)
    const first = await agent({once: true})
    const e = first.epochs[0]!.epoch
    expect(first.epochs[0]).toMatchObject({result: 'confirmed'})
    // the committed digest is the raw exchange's, and the kept file is found by (device, epoch, digest)
    const target = await targetOf(e)
    const kept = findKeptEvidence(evidenceDir, gpu.deviceId, e, target.commits[1]!, DeviceKind.P384)!
    expect(bytesToHex(keccak_256(kept.report.body))).toBe(target.commits[1])

    // a challenger opens a challenge of epoch e once it is over
    await nextEpoch(chain.url, chain.op)
    const opened = await openChallenge(chain.challenger, target)
    expect(opened.deadline).toBe(BigInt(opened.blockNumber) + 4n * BigInt(EPOCH_BLOCKS))

    // status while open (the agent is not running): JSON and --explain name it with its deadline block
    const statusJson = await runCli(['status', '--json', '--operator', chain.op.signer!.address], {home})
    expect(statusJson.code, statusJson.stderr).toBe(0)
    const report = statusJson.json<StatusReport>()
    expect(report.epoch).toMatchObject({blocks: String(EPOCH_BLOCKS), seconds: EPOCH_BLOCKS})
    expect(report.challenges).toEqual([
      expect.objectContaining({challengeId: opened.challengeId, hostId, deviceId: gpu.deviceId, epoch: String(e), deadline: String(opened.deadline)}),
    ])
    const explain = await runCli(['status', '--explain', '--operator', chain.op.signer!.address], {home})
    expect(explain.stdout).toContain(`answer by block ${opened.deadline}`)
    expect(explain.stdout).toMatch(
      new RegExp(`why: challenge ${opened.challengeId.slice(0, 10)}… .*: open, the agent must answer it by block ${opened.deadline} \\(~`),
    )

    // start-up: the challenge step runs before the epoch's heartbeat
    const second = await agent({once: true})
    expect(second.epochs[0]).toMatchObject({result: 'confirmed'})
    expect(logger.messages('warn')).toContain(
      `challenge ${opened.challengeId.slice(0, 10)}… against device ${gpu.deviceId.slice(0, 10)}… for epoch ${e}: answer by block ${opened.deadline}`,
    )
    await expectAnswered(opened)

    // while running: a challenge opened under a running agent is answered at its next epoch
    const ac = new AbortController()
    const running = agent({signal: ac.signal})
    try {
      const now = (await heartbeatHistory(chain.op, hostId)).at(-1)!.epoch // the epoch the second run beat
      await nextEpoch(chain.url, chain.op)
      await until(`the heartbeat of epoch ${now + 1n}`, () => confirmed(now + 1n))
      const live = await openChallenge(chain.challenger, await targetOf(now))
      await nextEpoch(chain.url, chain.op)
      await until(`the agent's answer to ${live.challengeId}`, () => (answerLine(live.challengeId) ? true : undefined))
      await expectAnswered(live)
    } finally {
      ac.abort()
      await running
    }
  }, 120_000)

  /** The agent's line about its answer (answered, or a failed attempt it retries). */
  const answerLine = (id: string) =>
    logger.lines.find(
      (l) => l.msg?.startsWith(`challenge ${id.slice(0, 10)}… answered in block`) || l.msg?.startsWith(`answering challenge ${id.slice(0, 10)}… failed`),
    )

  async function expectAnswered(c: {challengeId: string; deadline: bigint}): Promise<void> {
    const state = await challengeState(chain.op, c.challengeId)
    expect(state.status).toBe('answered')
    expect(answerLine(c.challengeId)?.msg).toMatch(/answered in block \d+ \(deadline \d+\)$/)
  }
})
