/**
 * Attack (issue 9 #1, #8): one EK backed any number of TPM hosts, a copied EK certificate with a software
 * AK passed as a TPM host, and the verifier could approve unbounded power. v2: the contract caps power
 * per kind, a host-tpm approval needs the credential activation answered (only the TPM holding the EK
 * and the AK recovers the secret) and an EK id no other bound host holds.
 * Two AKs created in one swtpm share its EK: the real "one EK, many hosts" case.
 */
import {keccak256} from 'ethers'
import {describe, expect, it} from 'vitest'

import {activate, approve, challengeCredential, release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {disconnect} from '../../../src/chain/client.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {swtpm} from '../../helpers/env.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {SwtpmAk, approveHost, clientFor, emulatorHost, p256Device, p384Device, registerDevice, registerHost, reverted, revertName} from '../chain/helpers.js'

const secretOf = (n: number) => Uint8Array.from({length: 32}, (_, i) => (i * 7 + n) & 0xff)

describe('attack: what the verifier may approve', () => {
  const chain = pociSuite(['op', 'stranger'])
  const host = emulatorHost()

  async function commit(regId: string, secret: Uint8Array): Promise<string> {
    const commitment = (await chain.op.poci!.getFunction('activationCommitment').staticCall(regId, bytesToHex(secret))) as string
    await challengeCredential(chain.verifier, {regId, credentialBlob: Uint8Array.of(1), encryptedSecret: Uint8Array.of(2), commitment})
    return commitment
  }

  it('caps power per kind (PowerAboveCap), zero included', async () => {
    const hostReg = await registerHost(chain.op, host)
    const capped = await reverted(approve(chain.verifier, {regId: hostReg.regId, power: 11n}))
    expect(capped).toEqual({name: 'PowerAboveCap', args: {power: '11', cap: '10'}})
    expect(await revertName(approve(chain.verifier, {regId: hostReg.regId, power: 0n}))).toBe('PowerAboveCap')
    await approve(chain.verifier, {regId: hostReg.regId, power: 10n})
    const p256 = await registerDevice(chain.op, p256Device(), host.hostId)
    expect(await reverted(approve(chain.verifier, {regId: p256.regId, power: 1001n}))).toMatchObject({name: 'PowerAboveCap', args: {cap: '1000'}})
    await approve(chain.verifier, {regId: p256.regId, power: 1000n})
    const gpu = p384Device()
    const p384 = await registerDevice(chain.op, gpu, host.hostId)
    expect(await reverted(approve(chain.verifier, {regId: p384.regId, power: 10_001n, chipId: gpu.chipId}))).toMatchObject({
      name: 'PowerAboveCap',
      args: {cap: '10000'},
    })
    await approve(chain.verifier, {regId: p384.regId, power: 10_000n, chipId: gpu.chipId})
  })

  it('a host-tpm approval needs the activation answered by the operator with the committed secret, and an EK id', async () => {
    const ak = new SwtpmAk(swtpm().tcti).create()
    const reg = await registerHost(chain.op, ak, {kind: DeviceKind.HOST_TPM})
    const ekId = keccak256(ak.ekPublic)
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 10n, ekId}))).toBe('NotActivated')
    // no commitment posted yet: nothing to answer
    expect(await revertName(activate(chain.op, {regId: reg.regId, secret: secretOf(1)}))).toBe('BadActivation')
    // only the verifier posts the challenge, and only for host-tpm registrations
    expect(
      await revertName(
        challengeCredential(chain.op, {regId: reg.regId, credentialBlob: Uint8Array.of(1), encryptedSecret: Uint8Array.of(2), commitment: keccak256('0x01')}),
      ),
    ).toBe('NotVerifier')
    const emu = await registerHost(chain.op, emulatorHost())
    expect(
      await revertName(
        challengeCredential(chain.verifier, {
          regId: emu.regId,
          credentialBlob: Uint8Array.of(1),
          encryptedSecret: Uint8Array.of(2),
          commitment: keccak256('0x01'),
        }),
      ),
    ).toBe('NotCredentialKind')

    await commit(reg.regId, secretOf(1))
    expect(await revertName(activate(chain.op, {regId: reg.regId, secret: secretOf(2)}))).toBe('BadActivation')
    expect(await revertName(activate(chain.stranger, {regId: reg.regId, secret: secretOf(1)}))).toBe('NotOperator')
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 10n, ekId}))).toBe('NotActivated')
    await activate(chain.op, {regId: reg.regId, secret: secretOf(1)})
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 10n}))).toBe('MissingEk')
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 101n, ekId}))).toBe('PowerAboveCap')
    await approve(chain.verifier, {regId: reg.regId, power: 100n, ekId})
    expect((await registrationState(chain.op, reg.regId)).status).toBe('approved')
  })

  it('one EK backs at most one bound host (EkInUse), and is free again after a release', async () => {
    const a = new SwtpmAk(swtpm().tcti).create()
    const b = new SwtpmAk(swtpm().tcti).create()
    expect(bytesToHex(b.ekPublic)).toBe(bytesToHex(a.ekPublic))
    expect(bytesToHex(b.publicKey)).not.toBe(bytesToHex(a.publicKey))
    const ekId = keccak256(a.ekPublic)
    // the previous test's host holds this swtpm's EK already: release it first
    const holder = (await chain.op.poci!.getFunction('ekHost').staticCall(ekId)) as string
    if (BigInt(holder) !== 0n) await release(chain.op, {deviceId: holder})

    const regA = await registerHost(chain.op, a, {kind: DeviceKind.HOST_TPM})
    await approveHost(chain.verifier, chain.op, regA, {power: 10n, ekId})
    const other = await clientFor(chain.url, chain.deployed.poci)
    try {
      const regB = await registerHost(other, b, {kind: DeviceKind.HOST_TPM})
      await commit(regB.regId, secretOf(3))
      await activate(other, {regId: regB.regId, secret: secretOf(3)})
      expect(await reverted(approve(chain.verifier, {regId: regB.regId, power: 10n, ekId}))).toEqual({name: 'EkInUse', args: {ekId, hostId: regA.deviceId}})
      await release(chain.op, {deviceId: regA.deviceId})
      expect(BigInt((await chain.op.poci!.getFunction('ekHost').staticCall(ekId)) as string)).toBe(0n)
      await approve(chain.verifier, {regId: regB.regId, power: 10n, ekId})
      expect(await chain.op.poci!.getFunction('ekHost').staticCall(ekId)).toBe(regB.deviceId)
    } finally {
      disconnect(other)
    }
  })
})
