/** policyFromProfile: a profile's trustRoots.nvidia reach the NVIDIA check (read once, as its root fingerprints). */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import type {NetworkProfile} from '../../../src/config/schema.js'
import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {evidenceDeviceId} from '../../../src/evidence/index.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {devicePolicy} from '../../../src/verifier/device-policy.js'
import {policyFromProfile} from '../../../src/verifier/policy.js'
import {testFirmware, testNvidiaChip, testReport} from '../../helpers/nvidia-pki.js'

const chip = testNvidiaChip()

/** A testnet-like profile (no emulators, OCSP off, CC not required) pinning `nvidiaRoots` (PEM files). */
const profile = (nvidiaRoots: string[]): NetworkProfile => ({
  name: 'testnet',
  rpcUrls: [],
  contracts: {},
  trustRoots: {tpm: [], nvidia: nvidiaRoots},
  allowEmulator: false,
  nvidia: {ocsp: 'off', requireCc: false},
})

async function judgeUnder(p: NetworkProfile) {
  const c = new Uint8Array(randomBytes(32))
  const fw = testFirmware(chip)
  const ev = await toAcceleratorEvidence({kind: 'nvidia-cc', uuid: 'GPU-x', nonce: c, report: testReport(fw, c), certChainPem: fw.chainPem}, c)
  const policy = policyFromProfile(p)
  return devicePolicy(DeviceKind.P384, ev, {network: p.name, allowEmulator: false, deviceId: evidenceDeviceId(ev), registerChallenge: c, nvidia: policy.nvidia})
}

describe('policyFromProfile: trustRoots.nvidia', () => {
  it('a chain to a root the profile pins is accepted; the same chain on a profile that pins none is refused', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'unet-roots-')), 'test-root.pem')
    writeFileSync(file, chip.root.pem)
    expect((await judgeUnder(profile([file]))).reasons).toEqual([])
    const unpinned = await judgeUnder(profile([]))
    expect(unpinned.reasons[0]).toMatch(/did not prove possession/)
    expect(unpinned.chipId).toBeUndefined()
  })
})
