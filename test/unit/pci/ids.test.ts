import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {classifyPci} from '../../../src/hw/pci/classify.js'
import {ACCELERATOR_VENDORS} from '../../../src/hw/pci/ids.js'
import type {PciDevice} from '../../../src/hw/pci/sysfs.js'

const PCI_IDS = readFileSync(new URL('../../../fixtures/pci-ids/pci.ids.excerpt', import.meta.url), 'utf8')

/** vendor → {name, devices} from the pci.ids excerpt. */
function parsePciIds(text: string): Map<number, {name: string; devices: Map<number, string>}> {
  const out = new Map<number, {name: string; devices: Map<number, string>}>()
  let cur: {name: string; devices: Map<number, string>} | undefined
  for (const line of text.split('\n')) {
    const v = /^([0-9a-f]{4}) {2}(.*)$/.exec(line)
    if (v) {
      cur = {name: v[2]!, devices: new Map()}
      out.set(Number.parseInt(v[1]!, 16), cur)
      continue
    }
    if (line.startsWith('C ')) cur = undefined
    const d = /^\t([0-9a-f]{4}) {2}(.*)$/.exec(line)
    if (d && cur) cur.devices.set(Number.parseInt(d[1]!, 16), d[2]!)
  }
  return out
}

const pci = (vendorId: number, deviceId: number, classCode: number): PciDevice => ({
  address: '0000:01:00.0',
  vendorId,
  deviceId,
  classCode,
  path: '/nonexistent',
})

describe('accelerator PCI id table', () => {
  const ids = parsePciIds(PCI_IDS)

  it('every id sourced from pci.ids is in pci.ids 2023.04.10 under that vendor, with a matching name', () => {
    expect(PCI_IDS).toContain('Version: 2023.04.10')
    let checked = 0
    for (const entry of ACCELERATOR_VENDORS.filter((e) => e.source === 'pci.ids 2023.04.10')) {
      const vendor = ids.get(entry.vendorId)
      expect(vendor, `vendor 0x${entry.vendorId.toString(16)}`).toBeDefined()
      for (const [id, model] of Object.entries(entry.devices)) {
        const name = vendor!.devices.get(Number(id))
        expect(name, `${entry.vendor} 0x${Number(id).toString(16)}`).toBeDefined()
        // every word of our (short) model name is a word of the pci.ids name
        const words = (s: string) =>
          s
            .toLowerCase()
            .split(/[^a-z0-9-]+/)
            .filter(Boolean)
        const have = new Set(words(name!))
        for (const w of words(model)) expect(have.has(w), `${entry.vendor} "${model}" vs "${name}"`).toBe(true)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(50)
  })

  it('ids from vendor driver sources are documented and are absent from this pci.ids', () => {
    for (const entry of ACCELERATOR_VENDORS.filter((e) => e.source !== 'pci.ids 2023.04.10')) {
      expect(entry.source.length).toBeGreaterThan(5)
      expect(ids.has(entry.vendorId) && [...Object.keys(entry.devices)].every((d) => ids.get(entry.vendorId)!.devices.has(Number(d)))).toBe(false)
    }
    expect(ACCELERATOR_VENDORS.find((e) => e.vendorId === 0x1e30)!.devices[0x1684]).toBe('BM1684')
    expect(ACCELERATOR_VENDORS.find((e) => e.vendorId === 0x1f1c)!.devices[0x1686]).toBe('BM1684X')
  })

  it('classifies: GPU display/accelerator functions, table ASICs, class 0x12; never network, storage, bridge, GPU audio, BMC VGA', () => {
    expect(classifyPci(pci(0x10de, 0x2330, 0x030200))?.model).toBe('H100 SXM5 80GB')
    expect(classifyPci(pci(0x10de, 0x22ba, 0x040300))).toBeUndefined() // GPU HD audio
    expect(classifyPci(pci(0x1002, 0x740f, 0x038000))?.family).toBe('amd')
    expect(classifyPci(pci(0x1a03, 0x2000, 0x030000))).toBeUndefined() // ASPEED BMC VGA
    expect(classifyPci(pci(0x1e30, 0x1684, 0x120000))?.family).toBe('sophgo')
    expect(classifyPci(pci(0x1f1c, 0x1686, 0x0b4000))?.model).toBe('BM1684X') // by id, whatever the class
    expect(classifyPci(pci(0x1da3, 0x1020, 0x120000))?.vendor).toBe('Habana Labs')
    expect(classifyPci(pci(0x1bad, 0x0001, 0x120000))?.rule).toBe('class-0x12')
    expect(classifyPci(pci(0x15b3, 0x101b, 0x020700))).toBeUndefined() // network
    expect(classifyPci(pci(0x144d, 0xa80a, 0x010802))).toBeUndefined() // storage
    expect(classifyPci(pci(0x8086, 0x09a2, 0x060000))).toBeUndefined() // bridge
    expect(classifyPci(pci(0x19e5, 0x0200, 0x020000))).toBeUndefined() // Huawei NIC
    expect(classifyPci(pci(0x1da3, 0x1020, 0x020000))).toBeUndefined() // even a table vendor's network function
    expect(classifyPci(pci(0x8086, 0x4511, 0x088000))).toBeUndefined() // Intel GNA, not in the table
  })
})
