/**
 * Attack (issue 9 #8): admin was immutable and setVerifier instant (a stolen admin key swapped the
 * verifier in one block). v2: the admin role moves in two steps, and a new verifier takes over only
 * verifierDelay blocks after it was proposed, in public.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {acceptAdmin, applyVerifier, proposeVerifier, transferAdmin} from '../../../src/chain/admin.js'
import {approve} from '../../../src/chain/approve.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {anvilUrl} from '../../helpers/env.js'
import {clientFor, deployFresh, emulatorHost, mine, registerHost, reverted, revertName, type Deployment} from '../chain/helpers.js'

const DELAY = 10

describe('attack: taking over the admin and verifier roles', () => {
  const url = anvilUrl()
  let dep: Deployment
  let next: ChainClient
  let stranger: ChainClient
  let newVerifier: ChainClient

  beforeAll(async () => {
    dep = await deployFresh(url, {verifierDelay: DELAY})
    next = await clientFor(url, dep.deployed.poci)
    stranger = await clientFor(url, dep.deployed.poci)
    newVerifier = await clientFor(url, dep.deployed.poci)
  })
  afterAll(() => {
    for (const c of [dep?.verifier, next, stranger, newVerifier]) if (c) disconnect(c)
  })

  it('moves the admin role in two steps; a stranger can neither propose nor accept', async () => {
    const admin = dep.verifier // the deployer
    expect(await revertName(transferAdmin(stranger, stranger.signer!.address))).toBe('NotAdmin')
    await transferAdmin(admin, next.signer!.address)
    expect(await revertName(acceptAdmin(stranger))).toBe('NotAdmin')
    // until accepted, the old admin still is the admin
    expect(await admin.poci!.getFunction('admin').staticCall()).toBe(admin.signer!.address)
    await acceptAdmin(next)
    expect(await admin.poci!.getFunction('admin').staticCall()).toBe(next.signer!.address)
    expect(await revertName(proposeVerifier(admin, stranger.signer!.address))).toBe('NotAdmin')
  })

  it('changes the verifier only verifierDelay blocks after the proposal', async () => {
    expect(await revertName(proposeVerifier(next, '0x0000000000000000000000000000000000000000'))).toBe('ZeroAddress')
    expect(await revertName(applyVerifier(stranger))).toBe('ZeroAddress')
    const proposed = await proposeVerifier(next, newVerifier.signer!.address)
    const readyAt = BigInt(proposed.blockNumber + DELAY)
    expect(await reverted(applyVerifier(stranger))).toEqual({name: 'NotReady', args: {readyAt: readyAt.toString()}})
    await mine(url, DELAY - 3)
    expect(await revertName(applyVerifier(stranger))).toBe('NotReady')
    // meanwhile the old verifier still decides
    const reg = await registerHost(stranger, emulatorHost())
    expect(await revertName(approve(newVerifier, {regId: reg.regId, power: 1n}))).toBe('NotVerifier')
    await mine(url, 2)
    await applyVerifier(stranger) // anyone, once ready
    expect(await next.poci!.getFunction('verifier').staticCall()).toBe(newVerifier.signer!.address)
    expect(await revertName(approve(dep.verifier, {regId: reg.regId, power: 1n}))).toBe('NotVerifier')
    await approve(newVerifier, {regId: reg.regId, power: 1n})
  })
})
