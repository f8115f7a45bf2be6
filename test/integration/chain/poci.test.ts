import {createHash} from 'node:crypto'

import {Contract, ZeroHash} from 'ethers'
import {beforeAll, describe, expect, it} from 'vitest'

import {approve, reject, release, revoke} from '../../../src/chain/approve.js'
import {DeviceKind, loadArtifact} from '../../../src/chain/artifacts.js'
import {challengeBlock, hostDevices} from '../../../src/chain/block.js'
import {claim} from '../../../src/chain/claim.js'
import type {ChainClient} from '../../../src/chain/client.js'
import {heartbeat, heartbeatCallArgs} from '../../../src/chain/heartbeat.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {getStatus} from '../../../src/chain/status.js'
import {sendTx} from '../../../src/chain/tx.js'
import {UnetError} from '../../../src/errors/index.js'
import {deviceIdOf, registrationId} from '../../../src/evidence/nonce.js'
import {bytesToHex, concatBytes} from '../../../src/util/hex.js'
import {swtpm} from '../../helpers/env.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {until} from '../../helpers/until.js'
import {
  SwtpmAk,
  buildBeat,
  currentRegisterChallenge,
  emulatorHost,
  k1Device,
  mine,
  nextEpoch,
  p256Device,
  p256Key,
  p256Sign,
  p384Device,
  registerDevice,
  registerHost,
  revertName,
  roomInEpoch,
  rpc,
  rsaDevice,
  rsaKey,
  rsaSign,
  type BeatDevice,
  type BeatOptions,
  type TestDevice,
} from './helpers.js'

const sha256 = (b: Uint8Array) => Uint8Array.from(createHash('sha256').update(b).digest())
const hex = (b: Uint8Array) => bytesToHex(b)

describe('POCI v2 contract on real anvil', () => {
  const chain = pociSuite(['op', 'other', 'stranger'], {epochBlocks: 200})
  let ak: SwtpmAk
  let hostId: string
  const payout = '0x00000000000000000000000000000000000000aa'
  const p256Dev = p256Device()
  const rsaDev = rsaDevice()
  const k1Dev = k1Device()
  const p384Dev = p384Device()
  const byId = new Map<string, TestDevice>([p256Dev, rsaDev, k1Dev, p384Dev].map((d) => [d.deviceId, d]))

  /** The host's current device set, in hostDevices() order, as the heartbeat must list it. */
  async function hostSet(): Promise<BeatDevice[]> {
    return (await hostDevices(chain.op, hostId)).map((d) => ({device: byId.get(d.deviceId)!}))
  }

  async function beat(client: ChainClient, options: BeatOptions = {}) {
    return buildBeat(client, ak, await hostSet(), options)
  }

  beforeAll(async () => {
    ak = new SwtpmAk(swtpm().tcti).create()
    hostId = hex(deviceIdOf(ak.publicKey))
  })

  it('registers a real swtpm host with a quote over the register challenge (deposit and nonce); a quote over another challenge is refused', async () => {
    const result = await registerHost(chain.op, ak, {kind: DeviceKind.HOST_TPM, payout})
    expect(result.deviceId).toBe(hostId)
    expect(result.nonce).toBe(0n)
    expect(result.regId).toBe(registrationId(hostId, 0n))
    expect(await registrationState(chain.op, result.regId)).toMatchObject({
      deviceId: hostId,
      hostId,
      status: 'pending',
      kind: DeviceKind.HOST_TPM,
      activated: false,
    })
    // a quote over another challenge (another key, another payout) is refused
    const q = ak.quote(await currentRegisterChallenge(chain.op, {payout, deviceId: hostId}))
    expect(await revertName(registerHost(chain.other, {publicKey: p256Key().publicKey, quote: () => q}, {kind: DeviceKind.HOST_TPM, payout}))).toBe(
      'WrongExtraData',
    )
    // the deposit is exact
    const args = [DeviceKind.HOST_TPM, hex(ak.publicKey), payout, ZeroHash, hex(concatBytes(q.attest, q.r, q.s)), '0x']
    expect(await revertName(sendTx(chain.op, chain.op.poci!, 'register', args, 'register', {value: 0n}))).toBe('WrongDeposit')
  })

  it('refuses approval by anyone but the verifier, heartbeats of unapproved hosts, and devices under a host not yet approved', async () => {
    const regId = registrationId(hostId, 0n)
    expect(await revertName(approve(chain.op, {regId, power: 10n}))).toBe('NotVerifier')
    // a pending registration binds nothing: the host has no record until it is approved
    expect(await revertName(heartbeat(chain.op, await beat(chain.op)))).toBe('Unregistered')
    expect(await revertName(registerDevice(chain.op, p256Dev, hostId, {payout}))).toBe('NotApproved')
  })

  it('refuses heartbeats of unregistered hosts', async () => {
    expect(await revertName(heartbeat(chain.op, await buildBeat(chain.op, emulatorHost(), [])))).toBe('Unregistered')
  })

  it('approves the host (activation and EK id for host-tpm) and refunds the deposit', async () => {
    const regId = registrationId(hostId, 0n)
    // host-tpm approval needs the credential activation (tested in attacks/verifier-limits): a host-emulator
    // path would skip it, so here the verifier posts a commitment the operator answers
    const secret = sha256(Uint8Array.of(1))
    const poci = chain.op.poci!
    const commitment = (await poci.getFunction('activationCommitment').staticCall(regId, hex(secret))) as string
    await sendTx(chain.verifier, chain.verifier.poci!, 'challengeCredential', [regId, '0x01', '0x02', commitment], 'challenge')
    await sendTx(chain.op, poci, 'activate', [regId, hex(secret)], 'activate')
    const before = await chain.op.provider.getBalance(chain.op.signer!.address)
    await approve(chain.verifier, {regId, power: 10n, ekId: hex(sha256(Uint8Array.of(2)))})
    expect((await chain.op.provider.getBalance(chain.op.signer!.address)) - before).toBe(chain.deployed.registrationDeposit)
    expect(await registrationState(chain.op, regId)).toMatchObject({status: 'approved', activated: true})
  })

  it('registers own-key devices with proofs of possession (P-256, RSA-2048 via modexp, secp256k1, P-384 recorded)', async () => {
    const wrongKey = (d: TestDevice, sign: (c: Uint8Array) => Uint8Array): TestDevice => ({...d, registerProof: sign})
    const wrongProofs: Array<[TestDevice, (c: Uint8Array) => Uint8Array]> = [
      [p256Dev, (c) => p256Sign(p256Key(), c).rs],
      [rsaDev, (c) => rsaSign(rsaKey(), c)],
      [k1Dev, (c) => k1Device().registerProof(c)],
    ]
    for (const [device, sign] of wrongProofs)
      expect(await revertName(registerDevice(chain.op, wrongKey(device, sign), hostId, {payout})), `device kind ${device.kind}`).toBe('BadDeviceSignature')
    // a device must use its host's payout, and only the host's operator may attach devices
    expect(await revertName(registerDevice(chain.op, p256Dev, hostId, {payout: chain.op.signer!.address}))).toBe('PayoutMismatch')
    expect(await revertName(registerDevice(chain.other, p256Dev, hostId, {payout}))).toBe('NotOperator')
    for (const d of [p256Dev, rsaDev, k1Dev, p384Dev]) {
      const r = await registerDevice(chain.op, d, hostId, {payout})
      expect(await registrationState(chain.op, r.regId)).toMatchObject({deviceId: d.deviceId, hostId, hostRegId: registrationId(hostId, 0n), status: 'pending'})
    }
  })

  it('credits a heartbeat with a real swtpm quote, P-256, RSA, secp256k1 proofs and a committed P-384 device', async () => {
    for (const [d, power] of [
      [p256Dev, 100n],
      [rsaDev, 50n],
      [k1Dev, 20n],
      [p384Dev, 300n],
    ] as const)
      await approve(chain.verifier, {regId: registrationId(d.deviceId, 0n), power, chipId: d.chipId})
    await roomInEpoch(chain.url, chain.op, 3)
    const result = await heartbeat(chain.op, await beat(chain.op))
    expect(result.hostId).toBe(hostId)
    expect(result.reward).toBe(480n * chain.deployed.rewardPerPowerEpoch)
    const status = await getStatus(chain.op, {operator: chain.op.signer!.address})
    expect(status.devices).toHaveLength(5)
    for (const d of status.devices) {
      expect(d.approved).toBe(true)
      expect(d.lastHeartbeatEpoch).toBe(result.epoch)
      expect(d.lastHeartbeatTx).toBe(result.txHash)
      expect(d.accrued).toBe(d.power * chain.deployed.rewardPerPowerEpoch)
      expect(d.claimable).toBe(result.reward)
    }
  })

  it('refuses a device already bound to another miner', async () => {
    const otherHost = emulatorHost()
    await approve(chain.verifier, {regId: (await registerHost(chain.other, otherHost)).regId, power: 1n})
    expect(await revertName(registerDevice(chain.other, p256Dev, otherHost.hostId))).toBe('AlreadyBound')
  })

  it('rejects a replay in the same epoch', async () => {
    expect(await revertName(heartbeat(chain.op, await beat(chain.op)))).toBe('AlreadyCredited')
  })

  it('rejects a replay in the next epoch with an old block, and the previous epoch outright', async () => {
    const old = await challengeBlock(chain.op)
    await nextEpoch(chain.url, chain.op)
    const cb = await challengeBlock(chain.op)
    expect(cb.epoch).toBe(old.epoch + 1n)
    // the last credited block lies before this epoch: stale
    const host = (await new Contract(chain.deployed.poci, loadArtifact('Poci').abi as never, chain.op.provider)
      .getFunction('hostInfo')
      .staticCall(hostId)) as unknown[]
    const lastBlock = host[6] as bigint
    const lastHash = (await chain.op.provider.getBlock(Number(lastBlock)))!.hash!
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {block: {blockNumber: lastBlock, blockHash: lastHash}})))).toBe('StaleBlock')
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {epoch: old.epoch})))).toBe('WrongEpoch')
  })

  it('rejects a block not yet mined', async () => {
    const cb = await challengeBlock(chain.op)
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {block: {blockNumber: cb.blockNumber + 1n, blockHash: ZeroHash}})))).toBe('FutureBlock')
  })

  it('rejects a wrong block hash', async () => {
    const cb = await challengeBlock(chain.op)
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {block: {blockNumber: cb.blockNumber, blockHash: hex(sha256(Uint8Array.of(3)))}})))).toBe(
      'WrongBlockhash',
    )
  })

  it('rejects wrong extraData', async () => {
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {quoteExtra: () => new Uint8Array(32).fill(9)})))).toBe('WrongExtraData')
  })

  it('rejects one tampered attest byte', async () => {
    const params = await beat(chain.op)
    const attest = Uint8Array.from(params.attest)
    attest[attest.length - 40]! ^= 1 // inside clockInfo/firmware: structure intact, signature broken
    expect(await revertName(heartbeat(chain.op, {...params, attest}))).toBe('BadSignature')
    const badMagic = Uint8Array.from(params.attest)
    badMagic[0]! ^= 1
    expect(await revertName(heartbeat(chain.op, {...params, attest: badMagic}))).toBe('MalformedAttest')
    expect(await revertName(heartbeat(chain.op, {...params, attest: params.attest.subarray(0, params.attest.length - 1)}))).toBe('MalformedAttest')
  })

  it('rejects a quote signed by another key', async () => {
    expect(await revertName(heartbeat(chain.op, await beat(chain.op, {quoter: emulatorHost()})))).toBe('BadSignature')
  })

  it('rejects a heartbeat by a non-operator', async () => {
    expect(await revertName(heartbeat(chain.stranger, await beat(chain.stranger)))).toBe('NotOperator')
  })

  it('rejects a device signature by another key, and a device list that is not the host set', async () => {
    const params = await beat(chain.op)
    const i = params.devices.findIndex((d) => d.kind === DeviceKind.P256)
    const forged = params.devices.map((d, j) =>
      j === i ? {...d, proof: concatBytes(p256Dev.publicKey, p256Sign(p256Key(), sha256(new Uint8Array(1))).rs)} : d,
    )
    expect(await revertName(heartbeat(chain.op, {...params, devices: forged}))).toBe('BadDeviceSignature')
    expect(await revertName(heartbeat(chain.op, {...params, devices: params.devices.slice(1)}))).toBe('DeviceSetMismatch')
    const swapped = [params.devices[1]!, params.devices[0]!, ...params.devices.slice(2)]
    expect(await revertName(heartbeat(chain.op, {...params, devices: swapped}))).toBe('DeviceSetMismatch')
  })

  it('credits again in the next epoch, then pays claims only to the payout', async () => {
    const result = await heartbeat(chain.op, await beat(chain.op))
    const token = new Contract(chain.deployed.token, loadArtifact('UncToken').abi as never, chain.op.provider)
    const before = (await token.getFunction('balanceOf').staticCall(chain.stranger.signer!.address)) as bigint
    const paid = await claim(chain.stranger, {id: p256Dev.deviceId})
    expect(paid.payout.toLowerCase()).toBe(payout)
    expect(paid.amount).toBe(2n * result.reward)
    expect(await token.getFunction('balanceOf').staticCall(payout)).toBe(paid.amount)
    expect(await token.getFunction('balanceOf').staticCall(chain.stranger.signer!.address)).toBe(before)
    expect(await revertName(claim(chain.stranger, {id: hostId}))).toBe('NothingToClaim')
    const status = await getStatus(chain.op, {deviceIds: [hostId]})
    expect(status.devices[0]!.claimed).toBe(paid.amount)
    expect(status.devices[0]!.claimable).toBe(0n)
  })

  it('lets the verifier reject a pending registration (its deposit pays the verifier) and revoke an approved device', async () => {
    const spare = p256Device()
    const pending = await registerDevice(chain.op, spare, hostId, {payout})
    const before = await chain.verifier.provider.getBalance(chain.verifier.signer!.address)
    const rejected = await reject(chain.verifier, {regId: pending.regId, reason: 'no evidence'})
    const gasPaid = rejected.gasUsed * rejected.receipt.gasPrice
    expect((await chain.verifier.provider.getBalance(chain.verifier.signer!.address)) - before + gasPaid).toBe(chain.deployed.registrationDeposit)
    expect((await registrationState(chain.op, pending.regId)).status).toBe('rejected')
    expect(await revertName(reject(chain.verifier, {regId: pending.regId, reason: 'twice'}))).toBe('NotPending')
    expect(await revertName(revoke(chain.op, {deviceId: p384Dev.deviceId, reason: 'not the verifier'}))).toBe('NotVerifier')
    await revoke(chain.verifier, {deviceId: p384Dev.deviceId, reason: 'spot check failed'})
    expect((await registrationState(chain.op, registrationId(p384Dev.deviceId, 0n))).status).toBe('ended')
    byId.delete(p384Dev.deviceId)
  })

  it('lets the operator release; a released device can bind elsewhere', async () => {
    expect(await revertName(release(chain.stranger, {deviceId: rsaDev.deviceId}))).toBe('NotOperator')
    expect(await revertName(release(chain.op, {deviceId: hostId}))).toBe('HostHasDevices')
    await release(chain.op, {deviceId: rsaDev.deviceId})
    expect((await hostDevices(chain.op, hostId)).map((d) => d.kind).sort()).toEqual([DeviceKind.P256, DeviceKind.SECP256K1])
    // the host's state moved with its device set: this epoch stays credited, the old set is refused
    expect(await revertName(heartbeat(chain.op, await beat(chain.op)))).toBe('AlreadyCredited')
    await nextEpoch(chain.url, chain.op)
    const stale = await beat(chain.op)
    const oldSet = await buildBeat(chain.op, ak, [...(await hostSet()), {device: rsaDev}])
    expect(await revertName(heartbeat(chain.op, oldSet))).toBe('DeviceSetMismatch')
    const result = await heartbeat(chain.op, stale)
    expect(result.reward).toBe((10n + 100n + 20n) * chain.deployed.rewardPerPowerEpoch)
    const rsaStatus = (await getStatus(chain.op, {deviceIds: [rsaDev.deviceId, hostId]})).devices
    expect(rsaStatus[0]).toMatchObject({registered: false, approved: false, accrued: 0n})
    expect(rsaStatus[1]!.claimable).toBe(result.reward)
    // the released RSA chip can now be registered by another miner, onto their own approved host
    const otherHost = emulatorHost()
    const otherPayout = '0x00000000000000000000000000000000000000bb'
    await approve(chain.verifier, {regId: (await registerHost(chain.other, otherHost, {payout: otherPayout})).regId, power: 1n})
    const moved = await registerDevice(chain.other, rsaDev, otherHost.hostId, {payout: otherPayout})
    expect(moved.nonce).toBe(1n)
    await approve(chain.verifier, {regId: moved.regId, power: 50n})
    expect((await hostDevices(chain.other, otherHost.hostId)).map((d) => d.deviceId)).toEqual([rsaDev.deviceId])
  })

  it('names the error of a heartbeat mined after the epoch turned (estimate passed, chain reverted)', async () => {
    await nextEpoch(chain.url, chain.op)
    const params = await beat(chain.op)
    // the call encodes as the contract expects (the agent signs the same arguments)
    expect(heartbeatCallArgs(params)).toHaveLength(11)
    await rpc(chain.url, 'evm_setAutomine', [false])
    try {
      const sent = heartbeat(chain.op, params).catch((error: unknown) => error)
      await until(
        'the heartbeat in the pool',
        async () => (Number(((await rpc(chain.url, 'txpool_status')) as {pending: string}).pending) > 0 ? true : undefined),
        {timeoutMs: 10_000, everyMs: 50},
      )
      // blocks too small for it carry the chain to the last block of the epoch; the heartbeat then lands
      // in the first block of the next one
      const cb = await challengeBlock(chain.op)
      await rpc(chain.url, 'evm_setBlockGasLimit', ['0x5208'])
      await mine(chain.url, Number(cb.blocksLeft))
      await rpc(chain.url, 'evm_setBlockGasLimit', ['0x1c9c380'])
      await mine(chain.url, 1)
      const error = (await sent) as UnetError
      expect(error).toBeInstanceOf(UnetError)
      expect(error.code).toBe('TX_REJECTED')
      expect(error.details?.error).toBe('WrongEpoch')
      expect(error.details?.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    } finally {
      await rpc(chain.url, 'evm_setAutomine', [true])
    }
  })
})

describe('a deployment without the emulator', () => {
  const chain = pociSuite(['op'], {allowEmulator: false})

  it('refuses emulator hosts', async () => {
    expect(await revertName(registerHost(chain.op, emulatorHost()))).toBe('EmulatorNotAllowed')
  })
})
