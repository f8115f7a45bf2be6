/**
 * Attack: one NVIDIA GPU counted as several devices. Its attestation key is derived by DICE from the
 * firmware, so each firmware update gives the same chip a new key, a new deviceId, and so a fresh
 * registration. Defence: the verifier reads the chip's id from the device identity certificate (the same
 * for every firmware) and Poci's approve binds one chip to at most one active device (ChipInUse), freed
 * on release. The chip here is a test PKI's (test/helpers/nvidia-pki.ts), trusted as an extra NVIDIA root.
 */
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {approve, release} from '../../../src/chain/approve.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {nvidiaPower} from '../../../src/evidence/power-table.js'
import {chipIdentity} from '../../../src/hw/nvidia/chip-identity.js'
import {auditDecisions} from '../../../src/verifier/audit.js'
import type {DecisionRecord} from '../../../src/verifier/service.js'
import {testFirmware, testNvidiaChip, type TestFirmware} from '../../helpers/nvidia-pki.js'
import {registerNvidiaGpu} from '../../helpers/nvidia-registration.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, emulatorHost, registerHost, reverted} from '../chain/helpers.js'
import {devnetPolicy, tempDir, verifierPass} from '../verifier/helpers.js'

describe('attack: one NVIDIA chip registered again under a new firmware key', () => {
  const chain = pociSuite(['op'])
  const host = emulatorHost()
  const chip = testNvidiaChip()
  const other = testNvidiaChip('GH100', chip.root)
  const policy = devnetPolicy({nvidiaRoots: [chip.root.pem]})
  let options: {policy: typeof policy; cursorFile: string; fromBlock: number}

  beforeAll(async () => {
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host))
    options = {policy, cursorFile: join(tempDir(), 'cursor.json'), fromBlock: (await chain.op.provider.getBlockNumber()) + 1}
  })

  /** The chip SKU of an H100 SXM5 (src/evidence/power-table.ts): what the verifier approves with, so the approvals by hand use the same power. */
  const H100_SXM5_SKU = '885'
  const power = nvidiaPower('hopper', H100_SXM5_SKU).power

  /** Registers the firmware's key as the agent would, with the report of an H100 SXM5. */
  const registerGpu = (fw: TestFirmware) => registerNvidiaGpu(chain.op, fw, host.hostId, {report: {fields: {15: H100_SXM5_SKU}}})
  const decisions = async () => (await verifierPass(chain.verifier, options)) as DecisionRecord[]

  it('the second firmware key of an active chip is refused (ChipInUse); after a release it is approved', async () => {
    const chipId = chipIdentity([testFirmware(chip).leaf.cert, chip.identity.cert])!.chipId
    const first = testFirmware(chip)
    const updated = testFirmware(chip) // same chip, new firmware: new FWID, new DICE key
    expect(updated.key.publicKey).not.toEqual(first.key.publicKey)

    const a = await registerGpu(first)
    const [approved] = await decisions()
    expect(approved).toMatchObject({regId: a.regId, outcome: 'approved', chipId, power: '1979', model: 'NVIDIA H100 SXM5'})
    expect(await chain.op.poci!.getFunction('chipDevice').staticCall(chipId)).toBe(a.deviceId)

    // the verifier finds the evidence genuine (it is) and approves with the same chip id: the contract refuses
    const b = await registerGpu(updated)
    const [refused] = await decisions()
    expect(refused).toMatchObject({regId: b.regId, outcome: 'reverted', revert: 'ChipInUse', chipId})
    expect((await registrationState(chain.op, b.regId)).status).toBe('pending')
    // nor can the verifier key approve it by hand without a chip id
    expect(await reverted(approve(chain.verifier, {regId: b.regId, power}))).toMatchObject({name: 'MissingChipId'})

    // another chip's GPU on the same host is not affected
    const c = await registerGpu(testFirmware(other))
    expect((await decisions()).map((d) => [d.regId, d.outcome])).toEqual([[c.regId, 'approved']])

    // released, the chip is free: the registration of the updated firmware is approved
    await release(chain.op, {deviceId: a.deviceId})
    expect(BigInt((await chain.op.poci!.getFunction('chipDevice').staticCall(chipId)) as string)).toBe(0n)
    await approve(chain.verifier, {regId: b.regId, power, chipId})
    expect((await registrationState(chain.op, b.regId)).status).toBe('approved')
    expect(await chain.op.poci!.getFunction('chipDevice').staticCall(chipId)).toBe(b.deviceId)

    // a verifier that approves under a made-up chip id (so the chip could be bound twice) is caught by the audit
    const d = await registerGpu(testFirmware(testNvidiaChip('GH100', chip.root)))
    await approve(chain.verifier, {regId: d.regId, power, chipId: '0x' + '11'.repeat(32)})
    const audit = await auditDecisions(chain.op, policy, {fromBlock: options.fromBlock})
    expect(audit.mismatches.map((m) => [m.regId, m.problem.replace(/:.*/, '')])).toEqual([[d.regId, 'chip id differs']])
  })
})
