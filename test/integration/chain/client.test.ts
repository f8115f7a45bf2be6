import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startAnvil, type AnvilHandle} from '../../../src/chain/anvil.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {connect, disconnect} from '../../../src/chain/client.js'
import {deploy} from '../../../src/chain/deploy.js'
import {register} from '../../../src/chain/register.js'
import {registrations} from '../../../src/chain/registrations.js'
import {decideRegistration} from '../../../src/verifier/decide.js'
import {UnetError} from '../../../src/errors/index.js'
import {deviceIdOf, registerChallenge} from '../../../src/evidence/nonce.js'
import {bytesToHex, concatBytes} from '../../../src/util/hex.js'
import {anvilUrl} from '../../helpers/env.js'
import {emulatorQuote, fundedKey, p256Key, p256Sign, profileFor} from './helpers.js'

async function failure(promise: Promise<unknown>): Promise<UnetError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(UnetError)
    return error as UnetError
  }
  throw new Error('expected a failure')
}

describe('connect()', () => {
  let foreign: AnvilHandle
  beforeAll(async () => {
    foreign = await startAnvil({extraArgs: ['--chain-id', '2026']})
  })
  afterAll(() => foreign?.stop())

  it('refuses a node whose chain id differs from the profile (CHAIN_MISMATCH)', async () => {
    const e = await failure(connect(profileFor(anvilUrl(), 1)))
    expect(e.code).toBe('CHAIN_MISMATCH')
    expect(e.exitCode).toBe(9)
    const mixed = await failure(connect({...profileFor(anvilUrl()), rpcUrls: [anvilUrl(), foreign.rpcUrl]}))
    expect(mixed.code).toBe('CHAIN_MISMATCH')
    expect(mixed.message).toContain(foreign.rpcUrl)
  })

  it('maps unreachable RPCs to RPC_UNREACHABLE, and falls back past a dead URL', async () => {
    const dead = 'http://127.0.0.1:1'
    const e = await failure(connect(profileFor(dead)))
    expect(e.code).toBe('RPC_UNREACHABLE')
    expect(e.exitCode).toBe(8)
    const client = await connect({...profileFor(dead), rpcUrls: [dead, anvilUrl()]})
    expect(client.rpcUrls).toEqual([anvilUrl()])
    expect(client.chainId).toBe(31337n)
    disconnect(client)
  })

  it('works through a FallbackProvider over several URLs (deploy, views, transactions)', async () => {
    const key = await fundedKey(anvilUrl())
    const client = await connect({...profileFor(anvilUrl()), rpcUrls: [anvilUrl(), anvilUrl().replace('127.0.0.1', 'localhost')]}, {privateKey: key})
    expect(client.rpcUrls).toHaveLength(2)
    const d = await deploy(client, {verifier: client.signer!.address, epochSeconds: 60, allowEmulator: true})
    const cb = await challengeBlock(client)
    expect(cb.epoch).toBe(1n)
    expect(cb.epochSeconds).toBe(60n)
    const dev = p256Key()
    const host = p256Key()
    const hostId = bytesToHex(deviceIdOf(host.publicKey))
    const operator = client.signer!.address
    const q = emulatorQuote(host, registerChallenge({chainId: 31337n, contract: d.poci, operator, payout: operator, deviceId: hostId}))
    await register(client, {kind: DeviceKind.HOST_EMULATOR, publicKey: host.publicKey, payout: operator, proof: concatBytes(q.attest, q.r, q.s)})
    const devId = bytesToHex(deviceIdOf(dev.publicKey))
    await register(client, {
      kind: DeviceKind.P256,
      publicKey: dev.publicKey,
      payout: operator,
      hostId,
      proof: p256Sign(dev, registerChallenge({chainId: 31337n, contract: d.poci, operator, payout: operator, deviceId: devId})).rs,
    })

    // the verifier's decisions are recomputable by anyone from chain data alone
    const regs = await registrations(client, {fromBlock: d.blockNumber})
    expect(regs.map((r) => r.deviceId)).toEqual([hostId, devId])
    const ctx = {chainId: 31337n, contract: d.poci, allowEmulator: true, tpmRoots: [], now: new Date()}
    const first = regs.map((r) => decideRegistration(r, ctx))
    expect(first.map((x) => x.approve)).toEqual([false, true])
    expect(first[0]!.reasons).toEqual(['a host-emulator registration must carry emulator evidence'])
    expect(regs.map((r) => decideRegistration(r, ctx))).toEqual(first)
    expect(regs.map((r) => decideRegistration(r, {...ctx, allowEmulator: false}))[0]!.reasons[0]).toMatch(/emulator devices are refused/)
    disconnect(client)
  })
})
