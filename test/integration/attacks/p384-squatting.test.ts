/**
 * Attack (issue 9 #6): P-384 (NVIDIA) keys could be squatted: a stranger bound a GPU's public key under
 * a pending host, so the owner's register reverted AlreadyBound. v2: a pending registration binds
 * nothing; the verifier approves the owner's (its report over the owner's register challenge proves
 * possession, checked off chain: here the test is the verifier) and the squatter's deposit pays the
 * verifier on rejection.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {approve, reject} from '../../../src/chain/approve.js'
import {hostDevices} from '../../../src/chain/block.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {anvilUrl} from '../../helpers/env.js'
import {approveHost, clientFor, deployFresh, emulatorHost, p384Device, registerDevice, registerHost, revertName, type Deployment} from '../chain/helpers.js'

describe('attack: squatting a P-384 device key', () => {
  const url = anvilUrl()
  let dep: Deployment
  let owner: ChainClient
  let squatter: ChainClient
  const ownerHost = emulatorHost()
  const squatterHost = emulatorHost()

  beforeAll(async () => {
    dep = await deployFresh(url)
    owner = await clientFor(url, dep.deployed.poci)
    squatter = await clientFor(url, dep.deployed.poci)
    await approveHost(dep.verifier, owner, await registerHost(owner, ownerHost))
    await approveHost(dep.verifier, squatter, await registerHost(squatter, squatterHost))
  })
  afterAll(() => {
    for (const c of [dep?.verifier, owner, squatter]) if (c) disconnect(c)
  })

  it("a stranger's pending claim does not stop the owner's registration and approval, and costs the stranger", async () => {
    const gpu = p384Device()
    const squat = await registerDevice(squatter, gpu, squatterHost.hostId)
    const mine = await registerDevice(owner, gpu, ownerHost.hostId)
    expect(mine.deviceId).toBe(squat.deviceId)
    await approve(dep.verifier, {regId: mine.regId, power: 300n, chipId: gpu.chipId})
    expect((await hostDevices(owner, ownerHost.hostId)).map((d) => d.deviceId)).toEqual([gpu.deviceId])

    // the squatter's claim can no longer be approved, nor re-sent while the owner holds the key
    expect(await revertName(approve(dep.verifier, {regId: squat.regId, power: 300n, chipId: gpu.chipId}))).toBe('AlreadyBound')
    expect(await revertName(registerDevice(squatter, gpu, squatterHost.hostId))).toBe('AlreadyBound')
    const before = await dep.verifier.provider.getBalance(dep.verifier.signer!.address)
    const rejected = await reject(dep.verifier, {regId: squat.regId, reason: 'no proof of possession'})
    const after = await dep.verifier.provider.getBalance(dep.verifier.signer!.address)
    expect(after - before + rejected.gasUsed * rejected.receipt.gasPrice).toBe(dep.deployed.registrationDeposit)
    expect((await registrationState(owner, squat.regId)).status).toBe('rejected')
  })
})
