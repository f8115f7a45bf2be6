/**
 * Attack (issue 9 #7): a stolen operator key was stolen rewards (the payout could only change by
 * re-registering, and defaulted to the operator). v2: only the payout key moves the payout.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {approve} from '../../../src/chain/approve.js'
import {setPayout} from '../../../src/chain/admin.js'
import {claim} from '../../../src/chain/claim.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {anvilUrl} from '../../helpers/env.js'
import {
  approveHost,
  buildBeat,
  clientFor,
  deployFresh,
  emulatorHost,
  p256Device,
  registerDevice,
  registerHost,
  reverted,
  revertName,
  type Deployment,
} from '../chain/helpers.js'

describe('attack: redirecting rewards with the operator key', () => {
  const url = anvilUrl()
  let dep: Deployment
  let op: ChainClient
  let payoutKey: ChainClient
  const host = emulatorHost()
  const device = p256Device()
  const newPayout = '0x00000000000000000000000000000000000000cc'

  beforeAll(async () => {
    dep = await deployFresh(url)
    op = await clientFor(url, dep.deployed.poci)
    payoutKey = await clientFor(url, dep.deployed.poci)
    const payout = payoutKey.signer!.address
    await approveHost(dep.verifier, op, await registerHost(op, host, {payout}))
    await approve(dep.verifier, {regId: (await registerDevice(op, device, host.hostId, {payout})).regId, power: 100n})
  })
  afterAll(() => {
    for (const c of [dep?.verifier, op, payoutKey]) if (c) disconnect(c)
  })

  it('only the payout key can setPayout; claims then go to the new payout', async () => {
    await heartbeat(op, await buildBeat(op, host, [{device}]))
    expect(await reverted(setPayout(op, {hostId: host.hostId, payout: op.signer!.address}))).toEqual({
      name: 'NotPayout',
      args: {payout: payoutKey.signer!.address, sender: op.signer!.address},
    })
    expect(await revertName(setPayout(payoutKey, {hostId: device.deviceId, payout: newPayout}))).toBe('NotAHost')
    expect(await revertName(setPayout(payoutKey, {hostId: host.hostId, payout: '0x0000000000000000000000000000000000000000'}))).toBe('ZeroPayout')
    await setPayout(payoutKey, {hostId: host.hostId, payout: newPayout})
    const info = (await op.poci!.getFunction('deviceInfo').staticCall(device.deviceId)) as unknown[]
    expect(String(info[5]).toLowerCase()).toBe(newPayout)
    // the old payout key has no say any more; a claim by anyone pays the new payout
    expect(await revertName(setPayout(payoutKey, {hostId: host.hostId, payout: payoutKey.signer!.address}))).toBe('NotPayout')
    const paid = await claim(op, {id: device.deviceId})
    expect(paid.payout.toLowerCase()).toBe(newPayout)
    expect(paid.amount).toBe(101n * dep.deployed.rewardPerPowerEpoch)
  })
})
