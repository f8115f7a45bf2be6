import {createHash} from 'node:crypto'

import {Contract} from 'ethers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {approve, reject, release} from '../../../src/chain/approve.js'
import {DeviceKind, loadArtifact} from '../../../src/chain/artifacts.js'
import {challengeBlock, hostDevices} from '../../../src/chain/block.js'
import {claim} from '../../../src/chain/claim.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {heartbeat, type HeartbeatDevice, type HeartbeatParams} from '../../../src/chain/heartbeat.js'
import {register} from '../../../src/chain/register.js'
import {getStatus} from '../../../src/chain/status.js'
import {UnetError} from '../../../src/errors/index.js'
import {deviceIdOf, heartbeatChallenge, quoteQualifyingData, registerChallenge} from '../../../src/evidence/nonce.js'
import {bytesToHex, concatBytes} from '../../../src/util/hex.js'
import {anvilUrl, swtpm} from '../../helpers/env.js'
import {
  SwtpmAk,
  clientFor,
  deployFresh,
  emulatorQuote,
  increaseTime,
  k1Key,
  k1Sign,
  mine,
  p256Key,
  rpc,
  p256Sign,
  rsaKey,
  rsaSign,
  type Deployment,
} from './helpers.js'

const EPOCH = 3600
const MAX_AGE = 16
const sha256 = (b: Uint8Array) => Uint8Array.from(createHash('sha256').update(b).digest())
const hex = (b: Uint8Array) => bytesToHex(b)
const random32 = () => hex(Uint8Array.from(createHash('sha256').update(String(Math.random())).digest()))

async function rejected(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(UnetError)
    expect((error as UnetError).code).toBe('TX_REJECTED')
    return String((error as UnetError).details?.error)
  }
  throw new Error('expected a rejection')
}

describe('POCI contract on real anvil', () => {
  const url = anvilUrl()
  let dep: Deployment
  let op: ChainClient
  let other: ChainClient
  let stranger: ChainClient
  let ak: SwtpmAk
  let hostId: string
  const payout = '0x00000000000000000000000000000000000000aa'
  const p256Dev = p256Key()
  const rsaDev = rsaKey()
  const k1Dev = k1Key()
  const p384Pub = new Uint8Array(96).fill(7)

  const chainId = 31337n

  /** Builds a heartbeat over the host's current device set; `tamper` edits the parameters before sending. */
  async function buildBeat(client: ChainClient, opts: {quoteExtra?: (qd: Uint8Array) => Uint8Array; block?: {blockNumber: bigint; blockHash: string}; epoch?: bigint; signer?: 'tpm' | 'other'} = {}): Promise<HeartbeatParams> {
    const cb = await challengeBlock(client)
    const block = opts.block ?? cb
    const epoch = opts.epoch ?? cb.epoch
    const poci = dep.deployed.poci
    const operator = client.signer!.address
    const list = await hostDevices(client, hostId)
    const devices: HeartbeatDevice[] = list.map((d) => ({deviceId: d.deviceId, kind: d.kind, evidenceDigest: random32()}))
    for (const d of devices) {
      const ch = heartbeatChallenge({chainId, contract: poci, operator, hostId: d.deviceId, epoch, blockNumber: block.blockNumber, blockHash: block.blockHash})
      if (d.kind === DeviceKind.P256) d.proof = concatBytes(p256Dev.publicKey, p256Sign(p256Dev, ch).rs)
      if (d.kind === DeviceKind.RSA2048) d.proof = concatBytes(rsaDev.modulus, rsaSign(rsaDev, ch))
      if (d.kind === DeviceKind.SECP256K1) d.proof = k1Sign(k1Dev, ch)
    }
    const challenge = heartbeatChallenge({chainId, contract: poci, operator, hostId, epoch, blockNumber: block.blockNumber, blockHash: block.blockHash})
    let qd = quoteQualifyingData(challenge, devices)
    if (opts.quoteExtra) qd = opts.quoteExtra(qd)
    const q = opts.signer === 'other' ? emulatorQuote(p256Key(), qd) : ak.quote(qd)
    return {epoch, blockNumber: block.blockNumber, blockHash: block.blockHash, akPublicKey: ak.publicKey, attest: q.attest, signature: {r: q.r, s: q.s}, devices}
  }

  beforeAll(async () => {
    dep = await deployFresh(url, {epochSeconds: EPOCH, maxBlockAge: MAX_AGE})
    op = await clientFor(url, dep.deployed.poci)
    other = await clientFor(url, dep.deployed.poci)
    stranger = await clientFor(url, dep.deployed.poci)
    ak = new SwtpmAk(swtpm().tcti).create()
    hostId = hex(deviceIdOf(ak.publicKey))
  })

  afterAll(() => {
    for (const c of [dep?.verifier, op, other, stranger]) if (c) disconnect(c)
  })

  it('registers a real swtpm host with a quote over the register challenge', async () => {
    const ch = registerChallenge({chainId, contract: dep.deployed.poci, operator: op.signer!.address, payout, deviceId: hostId})
    const q = ak.quote(ch)
    const result = await register(op, {kind: DeviceKind.HOST_TPM, publicKey: ak.publicKey, payout, proof: concatBytes(q.attest, q.r, q.s)})
    expect(result.deviceId).toBe(hostId)
    // a quote over another challenge (e.g. another payout) is refused
    const other2 = await clientFor(url, dep.deployed.poci)
    expect(await rejected(register(other2, {kind: DeviceKind.HOST_TPM, publicKey: p256Key().publicKey, payout, proof: concatBytes(q.attest, q.r, q.s)}))).toBe('WrongExtraData')
  })

  it('registers own-key devices with proofs of possession (P-256, RSA-2048 via modexp, secp256k1, P-384 recorded)', async () => {
    const operator = op.signer!.address
    const reg = async (kind: number, pub: Uint8Array, proofOf: (ch: Uint8Array) => Uint8Array) => {
      const ch = registerChallenge({chainId, contract: dep.deployed.poci, operator, payout, deviceId: hex(deviceIdOf(pub))})
      return register(op, {kind: kind as never, publicKey: pub, payout, hostId, proof: proofOf(ch)})
    }
    // wrong signatures first
    expect(await rejected(reg(DeviceKind.P256, p256Dev.publicKey, (ch) => p256Sign(p256Key(), ch).rs))).toBe('BadDeviceSignature')
    expect(await rejected(reg(DeviceKind.RSA2048, rsaDev.modulus, (ch) => rsaSign(rsaKey(), ch)))).toBe('BadDeviceSignature')
    expect(await rejected(reg(DeviceKind.SECP256K1, k1Dev.publicKey, (ch) => k1Sign(k1Key(), ch)))).toBe('BadDeviceSignature')
    await reg(DeviceKind.P256, p256Dev.publicKey, (ch) => p256Sign(p256Dev, ch).rs)
    await reg(DeviceKind.RSA2048, rsaDev.modulus, (ch) => rsaSign(rsaDev, ch))
    await reg(DeviceKind.SECP256K1, k1Dev.publicKey, (ch) => k1Sign(k1Dev, ch))
    await reg(DeviceKind.P384, p384Pub, () => Uint8Array.of(1, 2, 3))
  })

  it('refuses a device already bound to another miner', async () => {
    const ch = registerChallenge({chainId, contract: dep.deployed.poci, operator: other.signer!.address, payout, deviceId: hex(deviceIdOf(p256Dev.publicKey))})
    expect(await rejected(register(other, {kind: DeviceKind.P256, publicKey: p256Dev.publicKey, payout, hostId, proof: p256Sign(p256Dev, ch).rs}))).toBe('AlreadyBound')
  })

  it('refuses approval by anyone but the verifier, and heartbeats of unapproved hosts', async () => {
    expect(await rejected(approve(op, {deviceId: hostId, power: 10n}))).toBe('NotVerifier')
    expect(await rejected(heartbeat(op, await buildBeat(op)))).toBe('NotApproved')
  })

  it('refuses heartbeats of unregistered hosts', async () => {
    const unknown = emulatorQuote(p256Key(), new Uint8Array(32))
    const cb = await challengeBlock(op)
    const params = {epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash, akPublicKey: p256Key().publicKey, attest: unknown.attest, signature: {r: unknown.r, s: unknown.s}, devices: []}
    expect(await rejected(heartbeat(op, params))).toBe('Unregistered')
  })

  it('credits a heartbeat with a real swtpm quote, P-256, RSA, secp256k1 proofs and a committed P-384 device', async () => {
    for (const [id, power] of [[hostId, 10n], [hex(deviceIdOf(p256Dev.publicKey)), 100n], [hex(deviceIdOf(rsaDev.modulus)), 50n], [hex(deviceIdOf(k1Dev.publicKey)), 20n], [hex(deviceIdOf(p384Pub)), 300n]] as const)
      await approve(dep.verifier, {deviceId: id, power})
    const beat = await heartbeat(op, await buildBeat(op))
    expect(beat.hostId).toBe(hostId)
    expect(beat.reward).toBe(480n * dep.deployed.rewardPerPowerEpoch)
    const status = await getStatus(op, {operator: op.signer!.address})
    expect(status.devices).toHaveLength(5)
    for (const d of status.devices) {
      expect(d.approved).toBe(true)
      expect(d.lastHeartbeatEpoch).toBe(beat.epoch)
      expect(d.lastHeartbeatTx).toBe(beat.txHash)
      expect(d.accrued).toBe(d.power * dep.deployed.rewardPerPowerEpoch)
      expect(d.claimable).toBe(beat.reward)
    }
  })

  it('rejects a replay in the same epoch', async () => {
    const params = await buildBeat(op)
    expect(await rejected(heartbeat(op, params))).toBe('AlreadyCredited')
  })

  it('rejects a replay in the next epoch with an old block', async () => {
    const old = await challengeBlock(op)
    await increaseTime(url, EPOCH)
    const cb = await challengeBlock(op)
    expect(cb.epoch).toBe(old.epoch + 1n)
    // same old block: below the last credited heartbeat's block? it is the block of an earlier challenge, so
    // take the one the last heartbeat used: anything not after it is stale
    const host = (await new Contract(dep.deployed.poci, loadArtifact('Poci').abi as never, op.provider).getFunction('hostInfo').staticCall(hostId)) as unknown[]
    const lastBlock = host[6] as bigint
    const lastHash = (await op.provider.getBlock(Number(lastBlock)))!.hash!
    expect(await rejected(heartbeat(op, await buildBeat(op, {block: {blockNumber: lastBlock, blockHash: lastHash}})))).toBe('StaleBlock')
    // and the previous epoch's parameters are refused outright
    expect(await rejected(heartbeat(op, await buildBeat(op, {epoch: old.epoch})))).toBe('WrongEpoch')
  })

  it('rejects a block older than the bound', async () => {
    const cb = await challengeBlock(op)
    await mine(url, MAX_AGE + 1)
    expect(await rejected(heartbeat(op, await buildBeat(op, {block: cb})))).toBe('StaleBlock')
  })

  it('rejects a wrong block hash', async () => {
    const cb = await challengeBlock(op)
    expect(await rejected(heartbeat(op, await buildBeat(op, {block: {blockNumber: cb.blockNumber, blockHash: random32()}})))).toBe('WrongBlockhash')
  })

  it('rejects wrong extraData', async () => {
    expect(await rejected(heartbeat(op, await buildBeat(op, {quoteExtra: () => new Uint8Array(32).fill(9)})))).toBe('WrongExtraData')
  })

  it('rejects one tampered attest byte', async () => {
    const params = await buildBeat(op)
    const attest = Uint8Array.from(params.attest)
    attest[attest.length - 40]! ^= 1 // inside clockInfo/firmware: structure intact, signature broken
    expect(await rejected(heartbeat(op, {...params, attest}))).toBe('BadSignature')
    const badMagic = Uint8Array.from(params.attest)
    badMagic[0]! ^= 1
    expect(await rejected(heartbeat(op, {...params, attest: badMagic}))).toBe('MalformedAttest')
    expect(await rejected(heartbeat(op, {...params, attest: params.attest.subarray(0, params.attest.length - 1)}))).toBe('MalformedAttest')
  })

  it('rejects a quote signed by another key', async () => {
    expect(await rejected(heartbeat(op, await buildBeat(op, {signer: 'other'})))).toBe('BadSignature')
  })

  it('rejects a heartbeat by a non-operator', async () => {
    expect(await rejected(heartbeat(stranger, await buildBeat(stranger)))).toBe('NotOperator')
  })

  it('rejects a device signature by another key, and a device list that is not the host set', async () => {
    const params = await buildBeat(op)
    const i = params.devices.findIndex((d) => d.kind === DeviceKind.P256)
    const forged = params.devices.map((d, j) => (j === i ? {...d, proof: concatBytes(p256Dev.publicKey, p256Sign(p256Key(), sha256(new Uint8Array(1))).rs)} : d))
    expect(await rejected(heartbeat(op, {...params, devices: forged}))).toBe('BadDeviceSignature')
    expect(await rejected(heartbeat(op, {...params, devices: params.devices.slice(1)}))).toBe('DeviceSetMismatch')
  })

  it('credits again in the next epoch, then pays claims only to the payout', async () => {
    const beat = await heartbeat(op, await buildBeat(op))
    const token = new Contract(dep.deployed.token, loadArtifact('UncToken').abi as never, op.provider)
    const before = (await token.getFunction('balanceOf').staticCall(stranger.signer!.address)) as bigint
    const paid = await claim(stranger, {id: hex(deviceIdOf(p256Dev.publicKey))})
    expect(paid.payout.toLowerCase()).toBe(payout)
    expect(paid.amount).toBe(2n * beat.reward)
    expect(await token.getFunction('balanceOf').staticCall(payout)).toBe(paid.amount)
    expect(await token.getFunction('balanceOf').staticCall(stranger.signer!.address)).toBe(before)
    expect(await rejected(claim(stranger, {id: hostId}))).toBe('NothingToClaim')
    const status = await getStatus(op, {deviceIds: [hostId]})
    expect(status.devices[0]!.claimed).toBe(paid.amount)
    expect(status.devices[0]!.claimable).toBe(0n)
  })

  it('lets the verifier revoke and the operator release; a released device can bind elsewhere', async () => {
    const rsaId = hex(deviceIdOf(rsaDev.modulus))
    expect(await rejected(release(stranger, {deviceId: rsaId}))).toBe('NotOperator')
    expect(await rejected(release(op, {deviceId: hostId}))).toBe('HostHasDevices')
    await reject(dep.verifier, {deviceId: hex(deviceIdOf(p384Pub)), reason: 'spot check failed'})
    await release(op, {deviceId: rsaId})
    expect((await hostDevices(op, hostId)).map((d) => d.kind)).toEqual([DeviceKind.P256, DeviceKind.SECP256K1])
    // the host's state moved with its device set: this epoch stays credited, the old set is refused
    expect(await rejected(heartbeat(op, await buildBeat(op)))).toBe('AlreadyCredited')
    await increaseTime(url, EPOCH)
    const stale = await buildBeat(op)
    const oldSet = [...stale.devices, {deviceId: rsaId, kind: DeviceKind.RSA2048, evidenceDigest: random32()}]
    expect(await rejected(heartbeat(op, {...stale, devices: oldSet}))).toBe('DeviceSetMismatch')
    const beat = await heartbeat(op, await buildBeat(op))
    expect(beat.reward).toBe((10n + 100n + 20n) * dep.deployed.rewardPerPowerEpoch)
    const rsaStatus = (await getStatus(op, {deviceIds: [rsaId, hostId]})).devices
    expect(rsaStatus[0]).toMatchObject({registered: false, approved: false, accrued: 0n})
    expect(rsaStatus[1]!.claimable).toBe(beat.reward)
    // the released RSA chip can now be registered by another miner (onto their own emulator host)
    const hostKey = p256Key()
    const otherHost = hex(deviceIdOf(hostKey.publicKey))
    const otherPayout = '0x00000000000000000000000000000000000000bb'
    const hq = emulatorQuote(hostKey, registerChallenge({chainId, contract: dep.deployed.poci, operator: other.signer!.address, payout: otherPayout, deviceId: otherHost}))
    await register(other, {kind: DeviceKind.HOST_EMULATOR, publicKey: hostKey.publicKey, payout: otherPayout, proof: concatBytes(hq.attest, hq.r, hq.s)})
    const ch = registerChallenge({chainId, contract: dep.deployed.poci, operator: other.signer!.address, payout: otherPayout, deviceId: rsaId})
    await register(other, {kind: DeviceKind.RSA2048, publicKey: rsaDev.modulus, payout: otherPayout, hostId: otherHost, proof: rsaSign(rsaDev, ch)})
  })
  it('names the error of a heartbeat mined after the epoch turned (estimate passed, chain reverted)', async () => {
    await increaseTime(url, EPOCH)
    const params = await buildBeat(op)
    await rpc(url, 'evm_setAutomine', [false])
    try {
      const sent = heartbeat(op, params).catch((error: unknown) => error)
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline && ((await rpc(url, 'txpool_content')) as {pending: Record<string, unknown>}).pending[op.signer!.address] === undefined)
        await new Promise((r) => setTimeout(r, 50))
      await increaseTime(url, EPOCH)
      const error = (await sent) as UnetError
      expect(error).toBeInstanceOf(UnetError)
      expect(error.code).toBe('TX_REJECTED')
      expect(error.details?.error).toBe('WrongEpoch')
      expect(error.details?.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    } finally {
      await rpc(url, 'evm_setAutomine', [true])
    }
  })
})

describe('a deployment without the emulator', () => {
  it('refuses emulator hosts and devices', async () => {
    const url = anvilUrl()
    const dep = await deployFresh(url, {allowEmulator: false})
    const op = await clientFor(url, dep.deployed.poci)
    const key = p256Key()
    const q = emulatorQuote(key, registerChallenge({chainId: 31337n, contract: dep.deployed.poci, operator: op.signer!.address, payout: op.signer!.address, deviceId: hex(deviceIdOf(key.publicKey))}))
    expect(await rejected(register(op, {kind: DeviceKind.HOST_EMULATOR, publicKey: key.publicKey, payout: op.signer!.address, proof: concatBytes(q.attest, q.r, q.s)}))).toBe('EmulatorNotAllowed')
    disconnect(op)
    disconnect(dep.verifier)
  })
})
