/** devicePolicy for p384 (NVIDIA): the chip id comes from the verified chain's device identity certificate, the same across firmware. */
import {randomBytes} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {evidenceDeviceId} from '../../../src/evidence/index.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {OFFLINE_NVIDIA_CHECK} from '../../../src/hw/nvidia/verify-evidence.js'
import {devicePolicy} from '../../../src/verifier/device-policy.js'
import {testFirmware, testNvidiaChip, testReport, type TestFirmware} from '../../helpers/nvidia-pki.js'

const chip = testNvidiaChip()
const other = testNvidiaChip('GH100', chip.root)

async function judge(fw: TestFirmware, roots = [chip.root.pem]) {
  const c = new Uint8Array(randomBytes(32))
  const ev = await toAcceleratorEvidence({kind: 'nvidia-cc', uuid: 'GPU-x', nonce: c, report: testReport(fw, c), certChainPem: fw.chainPem}, c)
  return devicePolicy(DeviceKind.P384, ev, {
    network: 'testnet',
    allowEmulator: false,
    deviceId: evidenceDeviceId(ev),
    registerChallenge: c,
    nvidiaRoots: roots,
    nvidia: OFFLINE_NVIDIA_CHECK,
  })
}

describe('devicePolicy: the NVIDIA chip id', () => {
  it('two firmwares of one chip give one chip id; another chip another', async () => {
    const [a, b, c] = await Promise.all([judge(testFirmware(chip)), judge(testFirmware(chip)), judge(testFirmware(other))])
    for (const r of [a, b, c]) expect(r.reasons).toEqual([])
    expect(a.chipId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(b.chipId).toBe(a.chipId)
    expect(c.chipId).not.toBe(a.chipId)
  })

  it('possession is judged under the policy that refuses: a root the policy pins, OCSP enforced without answers', async () => {
    const c = new Uint8Array(randomBytes(32))
    const fw = testFirmware(chip)
    const ev = await toAcceleratorEvidence({kind: 'nvidia-cc', uuid: 'GPU-x', nonce: c, report: testReport(fw, c), certChainPem: fw.chainPem}, c)
    const pinned = {ocsp: 'enforce' as const, requireCc: false, extraRootFingerprints: [chip.root.cert.fingerprint256]}
    const ctx = {network: 'testnet', allowEmulator: false, deviceId: evidenceDeviceId(ev), registerChallenge: c, nvidia: pinned}
    // the key proved possession (the chain ends at the pinned root): only OCSP refuses it
    const refused = devicePolicy(DeviceKind.P384, ev, ctx)
    expect(refused.reasons.length).toBeGreaterThan(0)
    for (const reason of refused.reasons) expect(reason).toMatch(/OCSP not-checked: no OCSP answer/)
    // the same sound report about another device key: the binding fails, so possession is not proven
    const other = '0x' + '66'.repeat(32)
    const squatted = devicePolicy(DeviceKind.P384, ev, {...ctx, deviceId: other})
    expect(squatted.reasons[0]).toMatch(/did not prove possession/)
    expect(squatted.reasons).toContain(`evidence is about device ${evidenceDeviceId(ev)}, not ${other}`)
  })

  it("a RIM file of the verifier's own that does not parse refuses the report, but does not deny the key's possession", async () => {
    const c = new Uint8Array(randomBytes(32))
    const fw = testFirmware(chip)
    const ev = await toAcceleratorEvidence({kind: 'nvidia-cc', uuid: 'GPU-x', nonce: c, report: testReport(fw, c), certChainPem: fw.chainPem}, c)
    const r = devicePolicy(DeviceKind.P384, ev, {
      network: 'testnet',
      allowEmulator: false,
      deviceId: evidenceDeviceId(ev),
      registerChallenge: c,
      nvidia: {ocsp: 'off', requireCc: false, extraRootFingerprints: [chip.root.cert.fingerprint256]},
      nvidiaFacts: {ocsp: {}, rims: {ids: {}, inputs: [{label: 'broken-driver-rim', xml: '<broken'}], notes: []}},
    })
    expect(r.reasons).toEqual([expect.stringMatching(/not well-formed XML/)])
    expect(r.chipId).toBeUndefined()
  })

  it('an untrusted chain gives no chip id (and is refused)', async () => {
    const r = await judge(testFirmware(chip), [])
    expect(r.reasons[0]).toMatch(/did not prove possession/)
    expect(r.chipId).toBeUndefined()
  })
})
