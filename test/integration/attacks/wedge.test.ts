/**
 * Attack (issue 9 #5): one reverting approve wedged the verifier, and a stale device attached itself to
 * the next owner of its host's key. v2: a device records its host's registration id; approving it after
 * the host was released reverts HostChanged, every other registration is still decided, and the next
 * owner of that host key (a new registration) heartbeats, claims and releases as usual.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {approve, reject, release} from '../../../src/chain/approve.js'
import {hostDevices} from '../../../src/chain/block.js'
import {claim} from '../../../src/chain/claim.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {anvilUrl} from '../../helpers/env.js'
import {
  approveHost,
  buildBeat,
  clientFor,
  deployFresh,
  emulatorHost,
  nextEpoch,
  p256Device,
  registerDevice,
  registerHost,
  revertName,
  type Deployment,
} from '../chain/helpers.js'

describe('attack: a stale device approval after its host was released', () => {
  const url = anvilUrl()
  let dep: Deployment
  let first: ChainClient
  let next: ChainClient

  beforeAll(async () => {
    dep = await deployFresh(url, {epochBlocks: 40})
    first = await clientFor(url, dep.deployed.poci)
    next = await clientFor(url, dep.deployed.poci)
  })
  afterAll(() => {
    for (const c of [dep?.verifier, first, next]) if (c) disconnect(c)
  })

  it('reverts HostChanged, wedges nothing, and leaves the next owner of the host key unaffected', async () => {
    const host = emulatorHost()
    const firstReg = await registerHost(first, host)
    await approveHost(dep.verifier, first, firstReg)
    const stale = await registerDevice(first, p256Device(), host.hostId)
    const honest = await registerDevice(first, p256Device(), host.hostId)
    await heartbeat(first, await buildBeat(first, host, []))
    await release(first, {deviceId: host.hostId})

    // the stale device's approval reverts; the verifier goes on deciding the next registration
    expect(await revertName(approve(dep.verifier, {regId: stale.regId, power: 100n}))).toBe('HostChanged')
    expect(await revertName(approve(dep.verifier, {regId: honest.regId, power: 100n}))).toBe('HostChanged')
    await reject(dep.verifier, {regId: honest.regId, reason: 'host released'})

    // the host key passes to a new owner: a new registration, approved
    const nextReg = await registerHost(next, host)
    expect(nextReg.regId).not.toBe(firstReg.regId)
    await approveHost(dep.verifier, next, nextReg)
    // the old owner's pending device still cannot attach to it
    expect(await revertName(approve(dep.verifier, {regId: stale.regId, power: 100n}))).toBe('HostChanged')
    expect(await hostDevices(next, host.hostId)).toEqual([])
    expect((await registrationState(next, stale.regId)).status).toBe('pending')

    // the new owner heartbeats (the epoch the old owner was credited for stays credited), claims, releases
    expect(await revertName(heartbeat(next, await buildBeat(next, host, [])))).toBe('AlreadyCredited')
    await nextEpoch(url, next)
    const beat = await heartbeat(next, await buildBeat(next, host, []))
    expect(beat.reward).toBe(dep.deployed.rewardPerPowerEpoch)
    const paid = await claim(next, {id: host.hostId})
    expect(paid.payout).toBe(next.signer!.address)
    expect(paid.amount).toBe(beat.reward)
    await release(next, {deviceId: host.hostId})
    expect((await registrationState(next, nextReg.regId)).status).toBe('ended')
  })
})
