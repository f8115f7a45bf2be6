/**
 * Attack (issue 9 #8): admin was immutable and setVerifier instant (a stolen admin key swapped the
 * verifier in one block). v2: the admin role moves in two steps, and a new verifier takes over only
 * verifierDelay blocks after it was proposed, in public.
 */
import {describe, expect, it} from 'vitest'

import {acceptAdmin, applyVerifier, proposeVerifier, transferAdmin} from '../../../src/chain/admin.js'
import {approve} from '../../../src/chain/approve.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {emulatorHost, mine, registerHost, reverted, revertName} from '../chain/helpers.js'

const DELAY = 10

describe('attack: taking over the admin and verifier roles', () => {
  const chain = pociSuite(['next', 'stranger', 'newVerifier'], {verifierDelay: DELAY})

  it('moves the admin role in two steps; a stranger can neither propose nor accept', async () => {
    const admin = chain.verifier // the deployer
    expect(await revertName(transferAdmin(chain.stranger, chain.stranger.signer!.address))).toBe('NotAdmin')
    await transferAdmin(admin, chain.next.signer!.address)
    expect(await revertName(acceptAdmin(chain.stranger))).toBe('NotAdmin')
    // until accepted, the old admin still is the admin
    expect(await admin.poci!.getFunction('admin').staticCall()).toBe(admin.signer!.address)
    await acceptAdmin(chain.next)
    expect(await admin.poci!.getFunction('admin').staticCall()).toBe(chain.next.signer!.address)
    expect(await revertName(proposeVerifier(admin, chain.stranger.signer!.address))).toBe('NotAdmin')
  })

  it('changes the verifier only verifierDelay blocks after the proposal', async () => {
    expect(await revertName(proposeVerifier(chain.next, '0x0000000000000000000000000000000000000000'))).toBe('ZeroAddress')
    expect(await revertName(applyVerifier(chain.stranger))).toBe('ZeroAddress')
    const proposed = await proposeVerifier(chain.next, chain.newVerifier.signer!.address)
    const readyAt = BigInt(proposed.blockNumber + DELAY)
    expect(await reverted(applyVerifier(chain.stranger))).toEqual({name: 'NotReady', args: {readyAt: readyAt.toString()}})
    await mine(chain.url, DELAY - 3)
    expect(await revertName(applyVerifier(chain.stranger))).toBe('NotReady')
    // meanwhile the old verifier still decides
    const reg = await registerHost(chain.stranger, emulatorHost())
    expect(await revertName(approve(chain.newVerifier, {regId: reg.regId, power: 1n}))).toBe('NotVerifier')
    await mine(chain.url, 2)
    await applyVerifier(chain.stranger) // anyone, once ready
    expect(await chain.next.poci!.getFunction('verifier').staticCall()).toBe(chain.newVerifier.signer!.address)
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 1n}))).toBe('NotVerifier')
    await approve(chain.newVerifier, {regId: reg.regId, power: 1n})
  })
})
