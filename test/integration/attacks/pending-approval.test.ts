/**
 * Attack (issue 9 #4): approval lands on whatever is pending. v1: the verifier judged one Registered event
 * and called approve(deviceId); register K as p256, release, re-register K as a host without evidence →
 * K approved as a host. v2: approve names the registration id the verifier judged; a stale one reverts.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {approve, reject, release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, emulatorHost, p256Device, p256Key, registerDevice, registerHost, revertName} from '../chain/helpers.js'

describe('attack: approval of a registration that is no longer the pending one', () => {
  const chain = pociSuite(['op'])
  const host = emulatorHost()

  beforeAll(async () => {
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host))
  })

  it('after a reject, approving the old regId of key K reverts NotPending; K re-registered as a host is its own registration', async () => {
    const k = p256Key()
    const asDevice = await registerDevice(chain.op, p256Device(k), host.hostId)
    await reject(chain.verifier, {regId: asDevice.regId, reason: 'no evidence'})
    const asHost = await registerHost(chain.op, emulatorHost(k))
    expect(asHost.deviceId).toBe(asDevice.deviceId)
    expect(await revertName(approve(chain.verifier, {regId: asDevice.regId, power: 100n}))).toBe('NotPending')
    // what the verifier approves is the registration it judged: its own kind, its own evidence
    expect(await registrationState(chain.op, asHost.regId)).toMatchObject({status: 'pending', kind: DeviceKind.HOST_EMULATOR})
    expect(await registrationState(chain.op, asDevice.regId)).toMatchObject({status: 'rejected', kind: DeviceKind.P256})
  })

  it('after a release, approving the old (ended) regId reverts NotPending', async () => {
    const k = p256Key()
    const asDevice = await registerDevice(chain.op, p256Device(k), host.hostId)
    await approve(chain.verifier, {regId: asDevice.regId, power: 100n})
    await release(chain.op, {deviceId: asDevice.deviceId})
    expect((await registrationState(chain.op, asDevice.regId)).status).toBe('ended')
    const asHost = await registerHost(chain.op, emulatorHost(k))
    expect(await revertName(approve(chain.verifier, {regId: asDevice.regId, power: 100n}))).toBe('NotPending')
    await approve(chain.verifier, {regId: asHost.regId, power: 1n})
    expect((await registrationState(chain.op, asHost.regId)).status).toBe('approved')
  })

  it('of two pending registrations of one key, the second approval reverts AlreadyBound', async () => {
    const k = p256Key()
    const a = await registerDevice(chain.op, p256Device(k), host.hostId)
    const b = await registerDevice(chain.op, p256Device(k, DeviceKind.EMULATOR), host.hostId)
    await approve(chain.verifier, {regId: a.regId, power: 100n})
    expect(await revertName(approve(chain.verifier, {regId: b.regId, power: 100n}))).toBe('AlreadyBound')
    // the loser can still be decided (rejected), so nothing stays pending forever
    await reject(chain.verifier, {regId: b.regId, reason: 'key bound by another registration'})
  })
})
