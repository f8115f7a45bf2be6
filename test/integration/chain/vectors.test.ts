import {readFileSync} from 'node:fs'

import {Contract, JsonRpcProvider, keccak256, solidityPackedKeccak256, toUtf8Bytes} from 'ethers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startAnvil, type AnvilHandle} from '../../../src/chain/anvil.js'
import {loadArtifact} from '../../../src/chain/artifacts.js'
import {disconnect} from '../../../src/chain/client.js'
import * as nonce from '../../../src/evidence/nonce.js'
import {bytesToHex, hexToBytes} from '../../../src/util/hex.js'
import {anvilUrl} from '../../helpers/env.js'
import {deployFresh, rpc} from './helpers.js'

interface Vectors {
  domains: {heartbeat: string; register: string}
  heartbeat: Array<{
    chainId: string
    contract: string
    operator: string
    hostId: string
    epoch: string
    blockNumber: string
    blockHash: string
    challenge: string
  }>
  register: Array<{
    chainId: string
    contract: string
    operator: string
    payout: string
    deviceId: string
    hostId: string
    nonce: string
    challenge: string
    registrationId: string
  }>
  qualifyingData: Array<{challenge: string; devices: Array<{deviceId: string; evidenceDigest: string}>; devicesDigest: string; qualifyingData: string}>
  deviceIds: Array<{kind: string; publicKey: string; deviceId: string}>
}

const vectors = JSON.parse(readFileSync(new URL('../../../fixtures/vectors/challenges.json', import.meta.url), 'utf8')) as Vectors

describe('challenge vectors (fixtures/vectors/challenges.json)', () => {
  it('match src/evidence/nonce.ts', () => {
    expect(bytesToHex(nonce.HEARTBEAT_DOMAIN)).toBe(vectors.domains.heartbeat)
    expect(bytesToHex(nonce.REGISTER_DOMAIN)).toBe(vectors.domains.register)
    for (const v of vectors.heartbeat)
      expect(bytesToHex(nonce.heartbeatChallenge({...v, chainId: BigInt(v.chainId), epoch: BigInt(v.epoch), blockNumber: BigInt(v.blockNumber)}))).toBe(
        v.challenge,
      )
    for (const v of vectors.register) {
      expect(bytesToHex(nonce.registerChallenge({...v, chainId: BigInt(v.chainId), nonce: BigInt(v.nonce)}))).toBe(v.challenge)
      expect(nonce.registrationId(v.deviceId, BigInt(v.nonce))).toBe(v.registrationId)
    }
    // both kinds of registration are covered: hosts name themselves, devices their host
    expect(vectors.register.some((v) => v.hostId === v.deviceId)).toBe(true)
    expect(vectors.register.some((v) => v.hostId !== v.deviceId)).toBe(true)
    for (const v of vectors.qualifyingData) {
      expect(bytesToHex(nonce.devicesDigest(v.devices))).toBe(v.devicesDigest)
      expect(bytesToHex(nonce.quoteQualifyingData(hexToBytes(v.challenge), v.devices))).toBe(v.qualifyingData)
    }
    for (const v of vectors.deviceIds) expect(bytesToHex(nonce.deviceIdOf(hexToBytes(v.publicKey)))).toBe(v.deviceId)
  })

  it('match ethers solidityPackedKeccak256 (an independent abi.encodePacked)', () => {
    expect(keccak256(toUtf8Bytes('UNET-POCI-HEARTBEAT-v2'))).toBe(vectors.domains.heartbeat)
    expect(keccak256(toUtf8Bytes('UNET-POCI-REGISTER-v2'))).toBe(vectors.domains.register)
    for (const v of vectors.heartbeat)
      expect(
        solidityPackedKeccak256(
          ['bytes32', 'uint256', 'address', 'address', 'bytes32', 'uint64', 'uint64', 'bytes32'],
          [vectors.domains.heartbeat, v.chainId, v.contract, v.operator, v.hostId, v.epoch, v.blockNumber, v.blockHash],
        ),
      ).toBe(v.challenge)
    for (const v of vectors.register) {
      expect(
        solidityPackedKeccak256(
          ['bytes32', 'uint256', 'address', 'address', 'address', 'bytes32', 'bytes32', 'uint64'],
          [vectors.domains.register, v.chainId, v.contract, v.operator, v.payout, v.deviceId, v.hostId, v.nonce],
        ),
      ).toBe(v.challenge)
      expect(solidityPackedKeccak256(['bytes32', 'uint64'], [v.deviceId, v.nonce])).toBe(v.registrationId)
    }
    for (const v of vectors.qualifyingData) {
      const words = v.devices.flatMap((d) => [d.deviceId, d.evidenceDigest])
      const digest = solidityPackedKeccak256(
        words.map(() => 'bytes32'),
        words,
      )
      expect(digest).toBe(v.devicesDigest)
      expect(solidityPackedKeccak256(['bytes32', 'bytes32'], [v.challenge, digest])).toBe(v.qualifyingData)
    }
  })

  describe('and the Poci contract views on real anvil', () => {
    let runtime: string
    let other: AnvilHandle
    beforeAll(async () => {
      const dep = await deployFresh(anvilUrl())
      runtime = (await rpc(anvilUrl(), 'eth_getCode', [dep.deployed.poci, 'latest'])) as string
      disconnect(dep.verifier)
      other = await startAnvil({extraArgs: ['--chain-id', '2026']})
    })
    afterAll(() => other?.stop())

    /** The vector names the contract address: put Poci's runtime code there, then ask its views. */
    async function pociAt(chainId: string, address: string): Promise<Contract> {
      const url = chainId === '31337' ? anvilUrl() : chainId === '2026' ? other.rpcUrl : undefined
      if (!url) throw new Error(`no anvil for chain ${chainId}`)
      await rpc(url, 'anvil_setCode', [address, runtime])
      return new Contract(address, loadArtifact('Poci').abi as never, new JsonRpcProvider(url, undefined, {staticNetwork: true}))
    }

    it('recompute every challenge byte for byte', async () => {
      for (const v of vectors.heartbeat) {
        const poci = await pociAt(v.chainId, v.contract)
        expect(await poci.getFunction('heartbeatChallenge').staticCall(v.operator, v.hostId, v.epoch, v.blockNumber, v.blockHash)).toBe(v.challenge)
      }
      for (const v of vectors.register) {
        const poci = await pociAt(v.chainId, v.contract)
        expect(await poci.getFunction('registerChallenge').staticCall(v.operator, v.payout, v.deviceId, v.hostId, v.nonce)).toBe(v.challenge)
        expect(await poci.getFunction('registrationId').staticCall(v.deviceId, v.nonce)).toBe(v.registrationId)
      }
      const poci = await pociAt('31337', vectors.heartbeat[0]!.contract)
      for (const v of vectors.qualifyingData) {
        const words = v.devices.flatMap((d) => [d.deviceId, d.evidenceDigest])
        expect(await poci.getFunction('devicesDigest').staticCall(words)).toBe(v.devicesDigest)
        expect(await poci.getFunction('quoteQualifyingData').staticCall(v.challenge, words)).toBe(v.qualifyingData)
      }
      for (const v of vectors.deviceIds) expect(await poci.getFunction('deviceIdOf').staticCall(v.publicKey)).toBe(v.deviceId)
      // the contract's domain tags are the v2 ones; the activation commitment packs (domain, regId, secret)
      expect(await poci.getFunction('HEARTBEAT_DOMAIN').staticCall()).toBe(vectors.domains.heartbeat)
      expect(await poci.getFunction('REGISTER_DOMAIN').staticCall()).toBe(vectors.domains.register)
      const activation = keccak256(toUtf8Bytes('UNET-POCI-ACTIVATION-v2'))
      expect(await poci.getFunction('ACTIVATION_DOMAIN').staticCall()).toBe(activation)
      const [regId, secret] = [vectors.register[0]!.registrationId, vectors.heartbeat[0]!.blockHash]
      expect(await poci.getFunction('activationCommitment').staticCall(regId, secret)).toBe(
        solidityPackedKeccak256(['bytes32', 'bytes32', 'bytes32'], [activation, regId, secret]),
      )
    })
  })
})
