import {CLASS_DISPLAY, CLASS_PROCESSING_ACCELERATOR, NEVER_LISTED_CLASSES, vendorEntry, type VendorEntry} from './ids.js'
import type {PciDevice} from './sysfs.js'

export interface Classified {
  pci: PciDevice
  vendor: string
  model: string
  family: VendorEntry['family']
  kind: 'gpu' | 'asic'
  /** Why it counts: the vendor table or the generic class rule. */
  rule: 'vendor-table' | 'class-0x12'
}

function hex4(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0')
}

/**
 * Decides whether a PCI function is an accelerator. Network, storage and bridge functions never are
 * (a GPU's audio function neither: only display and processing-accelerator classes count for GPU
 * vendors). Known ASIC vendors count by device id; anything else of class 0x12 counts generically.
 */
export function classifyPci(pci: PciDevice): Classified | undefined {
  const base = pci.classCode >>> 16
  if (NEVER_LISTED_CLASSES.has(base)) return undefined
  const entry = vendorEntry(pci.vendorId)
  if (entry) {
    const known = entry.devices[pci.deviceId]
    if (entry.onlyListed) {
      if (known) return {pci, vendor: entry.vendor, model: known, family: entry.family, kind: entry.kind, rule: 'vendor-table'}
    } else if ((entry.classes ?? [CLASS_DISPLAY, CLASS_PROCESSING_ACCELERATOR]).includes(base)) {
      return {
        pci,
        vendor: entry.vendor,
        model: known ?? `${entry.vendor} device ${hex4(pci.deviceId)}`,
        family: entry.family,
        kind: entry.kind,
        rule: 'vendor-table',
      }
    }
  }
  if (base === CLASS_PROCESSING_ACCELERATOR)
    return {
      pci,
      vendor: entry?.vendor ?? `PCI vendor ${hex4(pci.vendorId)}`,
      model: `processing accelerator ${hex4(pci.vendorId)}:${hex4(pci.deviceId)}`,
      family: 'generic',
      kind: 'asic',
      rule: 'class-0x12',
    }
  return undefined
}
