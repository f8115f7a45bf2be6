/**
 * Attack (issue 9 #6): P-384 (NVIDIA) keys could be squatted: a stranger bound a GPU's public key under
 * a pending host, so the owner's register reverted AlreadyBound. v2: a pending registration binds
 * nothing; the verifier approves the owner's (its report over the owner's register challenge proves
 * possession, checked off chain: here the test is the verifier) and the squatter's deposit pays the
 * verifier on rejection.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {approve, reject} from '../../../src/chain/approve.js'
import {hostDevices} from '../../../src/chain/block.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, emulatorHost, p384Device, registerDevice, registerHost, revertName} from '../chain/helpers.js'

describe('attack: squatting a P-384 device key', () => {
  const chain = pociSuite(['owner', 'squatter'])
  const ownerHost = emulatorHost()
  const squatterHost = emulatorHost()

  beforeAll(async () => {
    await approveHost(chain.verifier, chain.owner, await registerHost(chain.owner, ownerHost))
    await approveHost(chain.verifier, chain.squatter, await registerHost(chain.squatter, squatterHost))
  })

  it("a stranger's pending claim does not stop the owner's registration and approval, and costs the stranger", async () => {
    const gpu = p384Device()
    const squat = await registerDevice(chain.squatter, gpu, squatterHost.hostId)
    const mine = await registerDevice(chain.owner, gpu, ownerHost.hostId)
    expect(mine.deviceId).toBe(squat.deviceId)
    await approve(chain.verifier, {regId: mine.regId, power: 300n, chipId: gpu.chipId})
    expect((await hostDevices(chain.owner, ownerHost.hostId)).map((d) => d.deviceId)).toEqual([gpu.deviceId])

    // the squatter's claim can no longer be approved, nor re-sent while the owner holds the key
    expect(await revertName(approve(chain.verifier, {regId: squat.regId, power: 300n, chipId: gpu.chipId}))).toBe('AlreadyBound')
    expect(await revertName(registerDevice(chain.squatter, gpu, squatterHost.hostId))).toBe('AlreadyBound')
    const before = await chain.verifier.provider.getBalance(chain.verifier.signer!.address)
    const rejected = await reject(chain.verifier, {regId: squat.regId, reason: 'no proof of possession'})
    const after = await chain.verifier.provider.getBalance(chain.verifier.signer!.address)
    expect(after - before + rejected.gasUsed * rejected.receipt.gasPrice).toBe(chain.deployed.registrationDeposit)
    expect((await registrationState(chain.owner, squat.regId)).status).toBe('rejected')
  })
})
