import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startAnvil, type AnvilHandle} from '../../../src/chain/anvil.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {connect, disconnect} from '../../../src/chain/client.js'
import {deploy} from '../../../src/chain/deploy.js'
import {approve} from '../../../src/chain/approve.js'
import {registrationState, registrations} from '../../../src/chain/registrations.js'
import {UnetError} from '../../../src/errors/index.js'
import {registrationId} from '../../../src/evidence/nonce.js'
import {anvilUrl} from '../../helpers/env.js'
import {deployFresh, emulatorHost, fundedKey, p256Device, profileFor, registerDevice, registerHost} from './helpers.js'

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

  it('works through a FallbackProvider over several URLs (deploy, views, transactions, events)', async () => {
    const key = await fundedKey(anvilUrl())
    const client = await connect({...profileFor(anvilUrl()), rpcUrls: [anvilUrl(), anvilUrl().replace('127.0.0.1', 'localhost')]}, {privateKey: key})
    expect(client.rpcUrls).toHaveLength(2)
    // the P-384 verifier the test deployments share (stateless)
    const shared = await deployFresh(anvilUrl())
    disconnect(shared.verifier)
    const d = await deploy(client, {verifier: client.signer!.address, epochBlocks: 60, allowEmulator: true, p384Verifier: shared.deployed.p384Verifier})
    const cb = await challengeBlock(client)
    expect(cb.epoch).toBe(1n)
    expect(cb.epochBlocks).toBe(60n)
    // wall time is an estimate from the profile's blockSeconds (1 s here)
    expect(cb.epochSeconds).toBe(60n)
    const host = emulatorHost()
    const hostReg = await registerHost(client, host)
    await approve(client, {regId: hostReg.regId, power: 1n})
    const dev = p256Device()
    const devReg = await registerDevice(client, dev, host.hostId)

    // registrations, their ids and nonces read back from events and views
    const regs = await registrations(client, {fromBlock: d.blockNumber})
    expect(regs.map((r) => [r.deviceId, r.hostId, r.regId, r.nonce])).toEqual([
      [host.hostId, host.hostId, registrationId(host.hostId, 0n), 0n],
      [dev.deviceId, host.hostId, devReg.regId, 0n],
    ])
    expect(await registrationState(client, devReg.regId)).toMatchObject({status: 'pending', hostRegId: hostReg.regId})
    disconnect(client)
  })
})
