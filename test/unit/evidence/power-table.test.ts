/** The power table (src/evidence/power-table.ts): every row, the fallbacks, the contract's caps, and NVIDIA's signed samples. */
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {
  CONTRACT_MAX_POWER,
  FAMILY_KIND,
  KIND_POWER,
  POWER_TABLE,
  familyFloor,
  kindPower,
  nvidiaPower,
  probedPower,
  sophgoPower,
  type PowerFamily,
} from '../../../src/evidence/power-table.js'
import {NVIDIA_ARCHITECTURES} from '../../../src/hw/nvidia/architecture.js'
import {nvidiaAttestedModel} from '../../../src/hw/nvidia/attested-model.js'
import {decodeReportFile, parseCertChain, verifyNvidiaReport} from '../../../src/hw/nvidia/verify.js'
import {ACCELERATOR_VENDORS} from '../../../src/hw/pci/ids.js'

const fx = (path: string) => readFileSync(new URL(`../../../fixtures/${path}`, import.meta.url))
const NVIDIA = 0x10de

/** The rating the verifier's lookup gives a row through its evidence key. */
function evidenceRating(row: (typeof POWER_TABLE)[number]) {
  return row.family === 'sophgo' ? sophgoPower(row.evidenceKey!) : nvidiaPower(row.family, row.evidenceKey)
}

describe('power table rows', () => {
  it.each(POWER_TABLE.map((r) => [r.product, r] as const))('%s: within the cap of its kind, reachable as listed', (_name, row) => {
    const cap = CONTRACT_MAX_POWER[FAMILY_KIND[row.family]]!
    if (row.power !== undefined) {
      expect(row.power).toBeGreaterThan(0n)
      expect(row.power).toBeLessThanOrEqual(cap)
    }
    if (row.evidenceKey === undefined) return
    const r = evidenceRating(row)
    expect(r.model).toBe(row.product)
    expect(r.power).toBe(row.power ?? familyFloor(row.family).power)
    expect(r.basis).toBe(row.power === undefined ? 'floor' : 'model')
  })

  it('evidence keys are unique within a family (886 is both an H100 NVL and a B200: the architecture tells them apart) and PCI ids within a vendor', () => {
    const families = [...new Set(POWER_TABLE.map((r) => r.family))]
    for (const f of families) {
      const keys = POWER_TABLE.filter((r) => r.family === f && r.evidenceKey).map((r) => r.evidenceKey)
      expect(new Set(keys).size, f).toBe(keys.length)
    }
    const nvidiaIds = POWER_TABLE.filter((r) => r.family !== 'sophgo').flatMap((r) => r.pciDeviceIds)
    expect(new Set(nvidiaIds).size).toBe(nvidiaIds.length)
    expect([nvidiaPower('hopper', '886').model, nvidiaPower('blackwell', '886').model]).toEqual(['NVIDIA H100 NVL', 'NVIDIA B200'])
  })

  it("the table's PCI ids agree with the PCI id table where it names them (src/hw/pci/ids.ts, from pci.ids)", () => {
    for (const vendor of ACCELERATOR_VENDORS.filter((v) => v.family === 'nvidia' || v.family === 'sophgo'))
      for (const [id, name] of Object.entries(vendor.devices)) {
        const r = probedPower(vendor.vendorId, Number(id))
        if (!r) continue
        expect(r.model, `0x${Number(id).toString(16)}`).toContain(name.split(' ').slice(0, 2).join(' '))
      }
  })

  it('every kind is rated: by kind (hosts, devnet kinds) or by model (rsa2048 Sophgo, p384 NVIDIA), each within its cap', () => {
    for (const kind of Object.values(DeviceKind)) {
      const byKind = KIND_POWER[kind]
      const byModel = (Object.entries(FAMILY_KIND) as Array<[PowerFamily, number]>).filter(([, k]) => k === kind).map(([f]) => f)
      expect(byKind !== undefined || byModel.length > 0, `kind ${kind}`).toBe(true)
      if (byKind !== undefined) expect(byKind).toBeLessThanOrEqual(CONTRACT_MAX_POWER[kind]!)
      for (const f of byModel) expect(familyFloor(f).power!).toBeLessThanOrEqual(CONTRACT_MAX_POWER[kind]!)
    }
    expect(kindPower(DeviceKind.HOST_TPM)).toMatchObject({power: 10n, basis: 'kind', note: 'host-tpm: 10, the TPM host baseline'})
    expect(kindPower(DeviceKind.P384)).toBeUndefined()
    expect(kindPower(DeviceKind.RSA2048)).toBeUndefined()
  })
})

describe('power table fallbacks', () => {
  it('an unknown SKU of a known architecture, or a report without one, gets the lowest of that architecture', () => {
    expect(familyFloor('hopper')).toMatchObject({product: 'NVIDIA H20', power: 296n})
    expect(familyFloor('blackwell')).toMatchObject({product: 'NVIDIA B100', power: 3500n})
    expect(familyFloor('sophgo')).toMatchObject({product: 'Sophgo BM1684', power: 17n})
    expect(nvidiaPower('hopper', '999')).toMatchObject({power: 296n, basis: 'floor', model: 'NVIDIA Hopper chip SKU 999'})
    expect(nvidiaPower('blackwell', undefined)).toMatchObject({power: 3500n, basis: 'floor', model: 'NVIDIA Blackwell chip SKU (none)'})
    // a chip SKU of Blackwell's table is no Hopper SKU and the other way round
    expect(nvidiaPower('hopper', '895').power).toBe(1979n)
    expect(nvidiaPower('blackwell', '895')).toMatchObject({basis: 'floor', power: 3500n})
    // the floor is the lowest rated row, rows evidence cannot name included (H20): an unnamed SKU never earns more than the weakest part
    for (const f of ['hopper', 'blackwell', 'sophgo'] as const)
      for (const r of POWER_TABLE.filter((x) => x.family === f && x.power !== undefined)) expect(r.power!).toBeGreaterThanOrEqual(familyFloor(f).power!)
  })

  it('a Sophgo model without a sourced rating (BM1690) or unknown to the table gets the Sophgo floor', () => {
    expect(sophgoPower('BM1690')).toMatchObject({power: 17n, basis: 'floor', model: 'Sophgo BM1690'})
    expect(sophgoPower('BM1690').note).toMatch(/no sourced rating in the power table: the Sophgo floor 17 \(Sophgo BM1684\) applies/)
    expect(sophgoPower('BM1688')).toMatchObject({power: 17n, basis: 'floor'})
  })

  it('no power for the LS10 NVSwitch (a switch) or an architecture the table does not know', () => {
    expect(nvidiaPower('ls10', undefined)).toMatchObject({power: 0n, basis: 'none', model: 'NVIDIA LS10 NVSwitch'})
    expect(nvidiaPower('rubin', '900')).toMatchObject({power: 0n, basis: 'none'})
    // every architecture unet verifies is either rated (a GPU) or refused (the NVSwitch)
    for (const a of NVIDIA_ARCHITECTURES) expect(nvidiaPower(a.name, undefined).power > 0n, a.name).toBe(a.device === 'gpu')
  })
})

describe('power table: probes (`unet devices`)', () => {
  it('by PCI vendor and device id; a row the evidence cannot name expects its family floor; other devices have no row', () => {
    expect(probedPower(NVIDIA, 0x2330)).toMatchObject({power: 1979n, basis: 'model', model: 'NVIDIA H100 SXM5'})
    expect(probedPower(NVIDIA, 0x2901)).toMatchObject({power: 4500n, model: 'NVIDIA B200'})
    expect(probedPower(NVIDIA, 0x2322)).toMatchObject({power: 296n, basis: 'floor', model: 'NVIDIA H800 PCIe'})
    expect(probedPower(0x1e30, 0x1684)).toMatchObject({power: 17n, model: 'Sophgo BM1684'})
    expect(probedPower(0x1f1c, 0x1686)).toMatchObject({power: 32n, model: 'Sophgo BM1684X'})
    expect(probedPower(0x1f1c, 0x1690)).toMatchObject({power: 17n, basis: 'floor'})
    expect(probedPower(NVIDIA, 0x2684)).toBeUndefined()
    expect(probedPower(0x1002, 0x2330)).toBeUndefined()
  })
})

describe("power table: NVIDIA's signed samples", () => {
  const rate = (reportPath: string, chainPath: string, allowMissingFwid = false) => {
    const report = decodeReportFile(new Uint8Array(fx(reportPath)))
    const chain = parseCertChain(fx(chainPath).toString('latin1'))
    expect(verifyNvidiaReport(report, chain, {expectedNonce: report.slice(4, 36), allowMissingFwid}).reasons).toEqual([])
    const model = nvidiaAttestedModel(report, chain)!
    return {model, rating: nvidiaPower(model.architecture, model.chipSku)}
  }

  it('the Hopper sample is an H100 PCIe (1010/882), the Blackwell one a B200 (G525/886), the LS10 switch earns nothing', () => {
    expect(rate('nvtrust/hopper-report.hex', 'nvtrust/hopper-cert-chain.pem')).toMatchObject({
      model: {architecture: 'hopper', chipSku: '882', project: '1010'},
      rating: {power: 1513n, model: 'NVIDIA H100 PCIe'},
    })
    expect(rate('nvidia/blackwell-report.hex', 'nvidia/blackwell-cert-chain.pem')).toMatchObject({
      model: {architecture: 'blackwell', chipSku: '886', project: 'G525'},
      rating: {power: 4500n, model: 'NVIDIA B200'},
    })
    expect(rate('nvtrust/sdk-hopper-report.hex', 'nvtrust/sdk-hopper-cert-chain.pem', true).rating.model).toBe('NVIDIA H100 PCIe')
    expect(rate('nvidia/ls10-switch-report.hex', 'nvidia/ls10-switch-cert-chain.pem', true)).toMatchObject({
      model: {architecture: 'ls10'},
      rating: {power: 0n, basis: 'none'},
    })
  })
})
