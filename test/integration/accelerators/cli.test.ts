import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../../helpers/cli.js'
import {nvidiaReportArgs} from '../../helpers/nvidia-cli.js'
import {buildStubs, fixture, rigNvml, tempDir, writeConfig} from './stubs.js'

interface Listed {
  devices: {
    kind: string
    family: string
    pciAddress?: string
    stableId: string
    reasons: string[]
    attestation: {support: string; ccMode?: string}
    expectedPower?: {power: string; model: string; basis: string; note: string}
  }[]
}

let nvml: string
beforeAll(() => {
  nvml = buildStubs().nvml
})

const RIG_ACCELERATORS = [
  '0000:17:00.0',
  '0000:3b:00.0',
  '0000:3b:00.1',
  '0000:3b:00.2',
  '0000:51:00.0',
  '0000:5e:00.0',
  '0000:65:00.0',
  '0000:81:00.0',
  '0000:83:00.0',
  '0000:c1:00.0',
]
const NVT = (f: string) => fixture(`nvtrust/${f}`)
const NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb'
/** NVIDIA's nvtrust Hopper sample: a valid report, the chain that signed it, the nonce it carries. */
const HOPPER = {report: NVT('hopper-report.hex'), chain: NVT('hopper-cert-chain.pem'), nonce: NONCE}

describe('unet devices (subprocess) on sysfs fixture trees', () => {
  it('gpu-asic-rig: exactly the accelerators and the host TPM; no NIC, NVMe, bridge, BMC VGA or GPU audio', async () => {
    const r = await runCli(['devices', '--sysfs-root', fixture('sysfs/gpu-asic-rig'), '--json'], {
      env: {UNET_NVML_PATH: '/nonexistent/libnvidia-ml.so.1', UNET_BMLIB_PATH: '/nonexistent/libbmlib.so'},
    })
    expect(r.code, r.stderr).toBe(0)
    const {devices} = r.json<Listed>()
    expect(
      devices
        .filter((d) => d.kind !== 'tpm')
        .map((d) => d.pciAddress)
        .sort(),
    ).toEqual(RIG_ACCELERATORS)
    expect(devices.filter((d) => d.kind === 'tpm')).toHaveLength(1)
    const nv = devices.find((d) => d.pciAddress === '0000:17:00.0')!
    expect(nv.reasons[0]).toMatch(/NVML library not loadable/)
    expect(devices.find((d) => d.pciAddress === '0000:c1:00.0')!.stableId).toBe('amd:3f4a71c2a0e6d1b8')
  })

  it('with the NVML stub: the H100 attests with its own key (CC on), the RTX 4090 is busy', async () => {
    const cfg = writeConfig(tempDir(), 'nvml.conf', rigNvml())
    const r = await runCli(['devices', '--sysfs-root', fixture('sysfs/gpu-asic-rig'), '--nvml-path', nvml, '--json'], {
      env: {UNET_NVML_STUB_CONFIG: cfg, UNET_BMLIB_PATH: '/nonexistent/libbmlib.so'},
    })
    expect(r.code, r.stderr).toBe(0)
    const {devices} = r.json<Listed>()
    expect(devices.find((d) => d.pciAddress === '0000:17:00.0')!.attestation).toEqual({support: 'own-key', ccMode: 'on'})
    // the power table's power for each probed model (docs/protocol.md §Power): by PCI id, the TPM its host baseline, no row no power
    const power = (address?: string) => devices.find((d) => d.pciAddress === address)?.expectedPower
    expect(power('0000:17:00.0')).toEqual({
      power: '1979',
      model: 'NVIDIA H100 SXM5',
      basis: 'model',
      note: 'NVIDIA H100 SXM5 (PCI id 0x2330): 1979 dense INT8 TOPS',
    })
    expect([power('0000:3b:00.0')?.power, power('0000:5e:00.0')?.power, devices.find((d) => d.kind === 'tpm')!.expectedPower?.power]).toEqual([
      '17',
      '32',
      '10',
    ])
    for (const address of ['0000:65:00.0', '0000:c1:00.0', '0000:51:00.0']) expect(power(address), address).toBeUndefined()
    const human = await runCli(['devices', '--sysfs-root', fixture('sysfs/gpu-asic-rig'), '--nvml-path', nvml], {
      env: {UNET_NVML_STUB_CONFIG: cfg, UNET_BMLIB_PATH: '/nonexistent/libbmlib.so'},
    })
    expect(human.stdout).toMatch(/NVIDIA GeForce RTX 4090 .* busy 87% 2 proc/)
    expect(human.stdout).toMatch(/own-key \(CC on\) +1979$/m)
    expect(human.stdout).toMatch(/ATTESTATION +POWER$/m)
  })

  it('no-accelerators: an empty list; no-driver: every accelerator listed with "driver not loaded"', async () => {
    const none = await runCli(['devices', '--sysfs-root', fixture('sysfs/no-accelerators'), '--json'])
    expect(none.code, none.stderr).toBe(0)
    expect(none.json<Listed>().devices).toEqual([])
    const nod = await runCli(['devices', '--sysfs-root', fixture('sysfs/no-driver'), '--json'], {
      env: {UNET_NVML_PATH: '/nonexistent/x.so', UNET_BMLIB_PATH: '/nonexistent/y.so'},
    })
    expect(nod.code, nod.stderr).toBe(0)
    const devices = nod.json<Listed>().devices
    expect(devices.map((d) => d.pciAddress)).toEqual(['0000:17:00.0', '0000:c1:00.0', '0000:3b:00.0'])
    for (const d of devices) expect(d.reasons).toContain('driver not loaded')
  })

  it('a sysfs root that does not exist lists nothing and does not crash', async () => {
    const r = await runCli(['devices', '--sysfs-root', join(tempDir(), 'missing'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<Listed>().devices).toEqual([])
  })
})

describe('unet verify nvidia-report / sophgo-signature (subprocess)', () => {
  it('valid NVIDIA sample: exit 0 with the decoded opaque data', async () => {
    const r = await runCli(nvidiaReportArgs(HOPPER, '--json'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({valid: true, opaque: {driverVersion: '550.90.07', vbiosVersion: '96.00.9F.00.01'}})
  })

  it('binary report file works like hex', async () => {
    const bin = join(tempDir(), 'report.bin')
    const {readFileSync} = await import('node:fs')
    writeFileSync(bin, Buffer.from(readFileSync(HOPPER.report, 'latin1').trim(), 'hex'))
    const r = await runCli(nvidiaReportArgs({...HOPPER, report: bin}))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^valid NVIDIA CC report/)
  })

  it.each([
    ['invalid-signature sample', NVT('hopper-report-invalid-signature.hex'), NVT('hopper-cert-chain.pem'), NONCE, /signature does not verify/],
    ["another GPU's chain", NVT('hopper-report.hex'), NVT('sdk-hopper-cert-chain.pem'), NONCE, /signature does not verify/],
    ['a flipped nonce byte', NVT('hopper-report.hex'), NVT('hopper-cert-chain.pem'), NONCE.slice(0, -2) + '00', /differs from the expected/],
  ])('%s: exit 10 (EVIDENCE_INVALID) with reasons', async (_n, report, chain, nonce, reason) => {
    const r = await runCli(nvidiaReportArgs({report, chain, nonce}, '--json'))
    expect(r.code).toBe(10)
    const {error} = r.json<{error: {code: string; details: {reasons: string[]}}}>()
    expect(error.code).toBe('EVIDENCE_INVALID')
    expect(error.details.reasons.join('\n')).toMatch(reason)
  })

  it('malformed input: truncated report, wrong hex nonce, not a PEM, missing file: exit 19 with one line', async () => {
    const dir = tempDir()
    const {readFileSync} = await import('node:fs')
    const truncated = join(dir, 'trunc.hex')
    writeFileSync(truncated, readFileSync(HOPPER.report, 'latin1').slice(0, 4000))
    const junk = join(dir, 'junk.pem')
    writeFileSync(junk, 'hello')
    const cases = [
      {...HOPPER, report: truncated},
      {...HOPPER, nonce: 'xyz'},
      {...HOPPER, chain: junk},
      {...HOPPER, report: join(dir, 'absent')},
    ]
    for (const parts of cases) {
      const args = nvidiaReportArgs(parts)
      const r = await runCli(args)
      expect(r.code, args.join(' ') + '\n' + r.stderr).toBe(19)
      expect(r.stderr).toMatch(/^Error: /)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('Sophgo: the uminer vector verifies (exit 0); another message exits 10; bad hex exits 19', async () => {
    const {readFileSync} = await import('node:fs')
    const sig = readFileSync(fixture('uminer/utility.sig.hex'), 'latin1').trim()
    const ok = await runCli(['verify', 'sophgo-signature', '--pubkey', fixture('uminer/pubkey_6.pem'), '--message', 'utility', '--signature', sig])
    expect(ok.code, ok.stderr).toBe(0)
    const file = await runCli([
      'verify',
      'sophgo-signature',
      '--pubkey',
      fixture('uminer/pubkey_6.pem'),
      '--message-file',
      fixture('uminer/utility.msg'),
      '--signature',
      sig,
      '--json',
    ])
    expect(file.json()).toMatchObject({valid: true, modulusBits: 2048})
    const bad = await runCli(['verify', 'sophgo-signature', '--pubkey', fixture('uminer/pubkey_6.pem'), '--message', 'utilities', '--signature', sig])
    expect(bad.code).toBe(10)
    const hex = await runCli(['verify', 'sophgo-signature', '--pubkey', fixture('uminer/pubkey_6.pem'), '--message', 'utility', '--signature', 'nothex'])
    expect(hex.code).toBe(19)
  })
})
