/**
 * Accelerator PCI ids. Every id below was checked against a source, never typed from memory:
 *  - pci.ids (Debian package pci.ids 0.0~2023.04.11-1, file "Version: 2023.04.10"): NVIDIA, AMD,
 *    Habana, Graphcore, Groq, Enflame, Hailo, FuriosaAI, Untether, Blaize, Baidu Kunlun, Moore Threads,
 *    Intel Data Center GPU Max/Flex;
 *  - vendor driver sources, where that pci.ids is older than the vendor: Tenstorrent tt-kmd
 *    (PCI_VENDOR_ID_TENSTORRENT 0x1E52; Grayskull 0xFACA, Wormhole 0x401E, Blackhole 0xB140),
 *    Linux drivers/accel/qaic (Qualcomm 0x17cb: AIC100 0xa100, AIC080 0xa080), Sophgo's PCIe driver
 *    pci_table ({0x1E30, 0x1684} BM1684, {0x1f1C, 0x1686} BM1684X, {0x1f1C, 0x1690} BM1690).
 * Huawei Ascend and Cambricon ids could not be confirmed from a source here: they fall to the
 * generic PCI class 0x12 (processing accelerator) rule, which is how those cards enumerate.
 */
import type {DeviceFamily} from './device.js'

export interface VendorEntry {
  vendorId: number
  vendor: string
  family: DeviceFamily
  kind: 'gpu' | 'asic'
  /** Known device ids → model. When `onlyListed`, other device ids of this vendor are not accelerators. */
  devices: Record<number, string>
  onlyListed?: boolean
  /** For GPU vendors: which PCI base classes count (0x03 display, 0x12 accelerator). */
  classes?: number[]
  source: string
}

const PCI_IDS = 'pci.ids 2023.04.10'

/** A vendor whose listed device ids are its accelerators (and nothing else it makes), handled by the generic family. */
function genericAsic(vendorId: number, vendor: string, devices: Record<number, string>, source = PCI_IDS): VendorEntry {
  return {vendorId, vendor, family: 'generic', kind: 'asic', devices, onlyListed: true, source}
}

export const ACCELERATOR_VENDORS: VendorEntry[] = [
  {
    vendorId: 0x10de,
    vendor: 'NVIDIA',
    family: 'nvidia',
    kind: 'gpu',
    devices: {
      0x2330: 'H100 SXM5 80GB',
      0x2331: 'H100 PCIe',
      0x20b0: 'A100 SXM4 40GB',
      0x20b2: 'A100 SXM4 80GB',
      0x20b5: 'A100 PCIe 80GB',
      0x20f1: 'A100 PCIe 40GB',
      0x2684: 'GeForce RTX 4090',
    },
    classes: [0x03, 0x12],
    source: PCI_IDS,
  },
  {
    vendorId: 0x1002,
    vendor: 'AMD',
    family: 'amd',
    kind: 'gpu',
    devices: {
      0x7408: 'Instinct MI250X',
      0x740c: 'Instinct MI250X/MI250',
      0x740f: 'Instinct MI210',
      0x738c: 'Instinct MI100',
      0x744c: 'Radeon RX 7900 XT/7900 XTX',
    },
    classes: [0x03, 0x12],
    source: PCI_IDS,
  },
  {
    vendorId: 0x1e30,
    vendor: 'Sophgo (Bitmain)',
    family: 'sophgo',
    kind: 'asic',
    devices: {0x1684: 'BM1684'},
    onlyListed: true,
    source: 'Sophgo PCIe driver pci_table',
  },
  {
    vendorId: 0x1f1c,
    vendor: 'Sophgo',
    family: 'sophgo',
    kind: 'asic',
    devices: {0x1686: 'BM1684X', 0x1690: 'BM1690'},
    onlyListed: true,
    source: 'Sophgo PCIe driver pci_table',
  },
  genericAsic(0x1da3, 'Habana Labs', {
    0x0001: 'HL-1000 [Goya]',
    0x0030: 'Greco',
    0x1000: 'HL-2000 [Gaudi]',
    0x1010: 'HL-2000 [Gaudi secured]',
    0x1020: 'Gaudi2',
  }),
  genericAsic(0x1e52, 'Tenstorrent', {0xfaca: 'Grayskull', 0x401e: 'Wormhole', 0xb140: 'Blackhole'}, 'tenstorrent tt-kmd'),
  genericAsic(0x1d95, 'Graphcore', {0x0001: 'Colossus GC2 [C2]', 0x0002: 'Colossus GC1 [S1]'}),
  genericAsic(0x1de0, 'Groq', {0x0000: 'TSP [GroqChip]'}),
  genericAsic(0x17cb, 'Qualcomm', {0xa100: 'Cloud AI 100', 0xa080: 'Cloud AI 080'}, 'Linux drivers/accel/qaic'),
  genericAsic(0x1e36, 'Enflame', {
    0x0001: 'T10 [CloudBlazer]',
    0x0002: 'T11 [CloudBlazer]',
    0x0003: 'T10(QSFP-DD) [CloudBlazer]',
    0x0021: 'T20(32GB) [CloudBlazer]',
    0x0022: 'T20(64GB) [CloudBlazer]',
    0x0023: 'T21(32GB) [CloudBlazer]',
    0x0024: 'T21(64GB) [CloudBlazer]',
    0x8001: 'I20 [CloudBlazer]',
    0x8011: 'I10 [CloudBlazer]',
    0x8012: 'I10L [CloudBlazer]',
  }),
  genericAsic(0x1e60, 'Hailo', {0x2864: 'Hailo-8 AI Processor'}),
  genericAsic(0x1ed2, 'FuriosaAI', {0x0000: 'Warboy'}),
  genericAsic(0x1d22, 'Baidu', {0x3684: 'Kunlun AI Accelerator', 0x3685: 'Kunlun2 AI Accelerator [VF]'}),
  {
    vendorId: 0x1ed5,
    vendor: 'Moore Threads',
    family: 'generic',
    kind: 'gpu',
    devices: {
      0x0100: 'MTT S10',
      0x0101: 'MTT S10',
      0x0102: 'MTT S30',
      0x0105: 'MTT S50',
      0x0106: 'MTT S60',
      0x0111: 'MTT S100',
      0x0121: 'MTT S1000M',
      0x0122: 'MTT S1000',
      0x0123: 'MTT S2000',
    },
    onlyListed: true,
    source: PCI_IDS,
  },
  {
    vendorId: 0x8086,
    vendor: 'Intel',
    family: 'generic',
    kind: 'gpu',
    devices: {
      0x0bd0: 'Ponte Vecchio XL (2 Tile)',
      0x0bd5: 'Data Center GPU Max 1550',
      0x0bd6: 'Data Center GPU Max 1550',
      0x0bd7: 'Data Center GPU Max 1350',
      0x0bd8: 'Data Center GPU Max 1350',
      0x0bd9: 'Data Center GPU Max 1100',
      0x0bda: 'Data Center GPU Max 1100',
      0x0bdb: 'Data Center GPU Max 1100',
      0x56c0: 'Data Center GPU Flex 170',
      0x56c1: 'Data Center GPU Flex 140',
    },
    onlyListed: true,
    source: PCI_IDS,
  },
]

/** PCI base classes never listed, whatever the vendor: storage, network, bridge. */
export const NEVER_LISTED_CLASSES = new Set([0x01, 0x02, 0x06])
export const CLASS_DISPLAY = 0x03
export const CLASS_PROCESSING_ACCELERATOR = 0x12

export function vendorEntry(vendorId: number): VendorEntry | undefined {
  return ACCELERATOR_VENDORS.find((v) => v.vendorId === vendorId)
}
