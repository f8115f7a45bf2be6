/**
 * Attack (issue 9 #7): a stolen operator key was stolen rewards (the payout could only change by
 * re-registering, and defaulted to the operator). v2: only the payout key moves the payout.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {approve} from '../../../src/chain/approve.js'
import {setPayout} from '../../../src/chain/admin.js'
import {claim} from '../../../src/chain/claim.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, buildBeat, emulatorHost, p256Device, registerDevice, registerHost, reverted, revertName} from '../chain/helpers.js'

describe('attack: redirecting rewards with the operator key', () => {
  const chain = pociSuite(['op', 'payoutKey'])
  const host = emulatorHost()
  const device = p256Device()
  const newPayout = '0x00000000000000000000000000000000000000cc'

  beforeAll(async () => {
    const payout = chain.payoutKey.signer!.address
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host, {payout}))
    await approve(chain.verifier, {regId: (await registerDevice(chain.op, device, host.hostId, {payout})).regId, power: 100n})
  })

  it('only the payout key can setPayout; claims then go to the new payout', async () => {
    await heartbeat(chain.op, await buildBeat(chain.op, host, [{device}]))
    expect(await reverted(setPayout(chain.op, {hostId: host.hostId, payout: chain.op.signer!.address}))).toEqual({
      name: 'NotPayout',
      args: {payout: chain.payoutKey.signer!.address, sender: chain.op.signer!.address},
    })
    expect(await revertName(setPayout(chain.payoutKey, {hostId: device.deviceId, payout: newPayout}))).toBe('NotAHost')
    expect(await revertName(setPayout(chain.payoutKey, {hostId: host.hostId, payout: '0x0000000000000000000000000000000000000000'}))).toBe('ZeroPayout')
    await setPayout(chain.payoutKey, {hostId: host.hostId, payout: newPayout})
    const info = (await chain.op.poci!.getFunction('deviceInfo').staticCall(device.deviceId)) as unknown[]
    expect(String(info[5]).toLowerCase()).toBe(newPayout)
    // the old payout key has no say any more; a claim by anyone pays the new payout
    expect(await revertName(setPayout(chain.payoutKey, {hostId: host.hostId, payout: chain.payoutKey.signer!.address}))).toBe('NotPayout')
    const paid = await claim(chain.op, {id: device.deviceId})
    expect(paid.payout.toLowerCase()).toBe(newPayout)
    expect(paid.amount).toBe(101n * chain.deployed.rewardPerPowerEpoch)
  })
})
