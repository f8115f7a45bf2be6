/**
 * Attack (issue 9 #5): one reverting approve wedged the verifier, and a stale device attached itself to
 * the next owner of its host's key. v2: a device records its host's registration id; approving it after
 * the host was released reverts HostChanged, every other registration is still decided, and the next
 * owner of that host key (a new registration) heartbeats, claims and releases as usual.
 */
import {describe, expect, it} from 'vitest'

import {approve, reject, release} from '../../../src/chain/approve.js'
import {hostDevices} from '../../../src/chain/block.js'
import {claim} from '../../../src/chain/claim.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, buildBeat, emulatorHost, nextEpoch, p256Device, registerDevice, registerHost, revertName} from '../chain/helpers.js'

describe('attack: a stale device approval after its host was released', () => {
  const chain = pociSuite(['first', 'next'], {epochBlocks: 40})

  it('reverts HostChanged, wedges nothing, and leaves the next owner of the host key unaffected', async () => {
    const host = emulatorHost()
    const firstReg = await registerHost(chain.first, host)
    await approveHost(chain.verifier, chain.first, firstReg)
    const stale = await registerDevice(chain.first, p256Device(), host.hostId)
    const honest = await registerDevice(chain.first, p256Device(), host.hostId)
    await heartbeat(chain.first, await buildBeat(chain.first, host, []))
    await release(chain.first, {deviceId: host.hostId})

    // the stale device's approval reverts; the verifier goes on deciding the next registration
    expect(await revertName(approve(chain.verifier, {regId: stale.regId, power: 100n}))).toBe('HostChanged')
    expect(await revertName(approve(chain.verifier, {regId: honest.regId, power: 100n}))).toBe('HostChanged')
    await reject(chain.verifier, {regId: honest.regId, reason: 'host released'})

    // the host key passes to a new owner: a new registration, approved
    const nextReg = await registerHost(chain.next, host)
    expect(nextReg.regId).not.toBe(firstReg.regId)
    await approveHost(chain.verifier, chain.next, nextReg)
    // the old owner's pending device still cannot attach to it
    expect(await revertName(approve(chain.verifier, {regId: stale.regId, power: 100n}))).toBe('HostChanged')
    expect(await hostDevices(chain.next, host.hostId)).toEqual([])
    expect((await registrationState(chain.next, stale.regId)).status).toBe('pending')

    // the new owner heartbeats (the epoch the old owner was credited for stays credited), claims, releases
    expect(await revertName(heartbeat(chain.next, await buildBeat(chain.next, host, [])))).toBe('AlreadyCredited')
    await nextEpoch(chain.url, chain.next)
    const beat = await heartbeat(chain.next, await buildBeat(chain.next, host, []))
    expect(beat.reward).toBe(chain.deployed.rewardPerPowerEpoch)
    const paid = await claim(chain.next, {id: host.hostId})
    expect(paid.payout).toBe(chain.next.signer!.address)
    expect(paid.amount).toBe(beat.reward)
    await release(chain.next, {deviceId: host.hostId})
    expect((await registrationState(chain.next, nextReg.regId)).status).toBe('ended')
  })
})
