/**
 * The power table: the one place that says how much power a device earns, used by the verifier
 * (decide.ts: the power it approves), `unet verifier audit` (the same recomputation), `unet devices`
 * (the power a probed device would get) and `unet status` (the power this version of unet expects
 * beside the power on chain). Pure data and lookups (docs/protocol.md §Power).
 *
 * The unit: dense INT8 tensor TOPS, the peak the vendor publishes for its matrix engine without
 * structured sparsity (NVIDIA prints "with sparsity" figures: half of them) and without Winograd
 * (Sophgo prints BM1684 both ways), rounded down to whole TOPS. INT8 is the one precision every
 * vendor here rates (the BM1684 has no FP16/BF16 engine), so it compares a GPU with an ASIC.
 *
 * What the evidence proves, and so what the verifier may look up:
 *  - NVIDIA: the architecture, from the chip's device identity certificate (chain certificate 1,
 *    src/hw/nvidia/architecture.ts), and the chip SKU, the report's CHIP_SKU opaque field (type 15),
 *    which the GPU signs with its attestation key together with the measurements. The chip SKU is the
 *    middle part of NVIDIA's "GPU part number" (PCI device id - chip SKU - revision, as `nvidia-smi -q`
 *    prints it, e.g. 2330-885-A1 for an H100 SXM5) and of the VBIOS RIM id NVIDIA's verifiers build
 *    (NV_GPU_VBIOS_<project>_<project SKU>_<chip SKU>_<version>). Chip SKUs repeat across
 *    architectures (886 is an H100 NVL on Hopper, a B200 on Blackwell): the key is both.
 *  - Sophgo: the model the signed chip catalogue lists for the chip key (src/hw/sophgo/catalogue.ts).
 *    The chip id bmlib reports is the driver's word, never evidence.
 *  - Hosts: a TPM attests a platform, not its CPU: a host earns a fixed baseline, not a rating.
 *
 * Fallbacks. A known architecture with a chip SKU the table does not list (or a report without the
 * field) gets the lowest power of that architecture: a SKU the table cannot name must not earn more
 * than the weakest part it could be (rows without a chip SKU, such as the H20, exist for that floor).
 * An architecture without rows gets no power and is refused: unet cannot even verify a report of an
 * architecture it does not know (src/hw/nvidia/architecture.ts refuses the chain), and the LS10
 * NVSwitch is a switch, not a compute device. A row without a sourced rating gets the floor of its
 * family too.
 *
 * Sources (figures as the vendors publish them; "sparse" = NVIDIA's "with sparsity" footnote):
 *  - H100 SXM5 / PCIe / NVL: NVIDIA H100 Tensor Core GPU datasheet
 *    (https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet): INT8 Tensor
 *    Core 3,958 / 3,026 / 3,341 TOPS sparse.
 *  - H200 SXM / NVL: NVIDIA H200 product page (https://www.nvidia.com/en-us/data-center/h200/): 3,958 / 3,341 TOPS sparse.
 *  - H800 SXM5 / PCIe: NVIDIA H800 datasheets (the H100 compute with a narrower NVLink): 3,958 / 3,026 TOPS sparse.
 *  - GH200: NVIDIA GH200 Grace Hopper Superchip page (https://www.nvidia.com/en-us/data-center/grace-hopper-superchip/): 3,958 TOPS sparse.
 *  - H20: NVIDIA's H20 specification as published by its resellers: INT8 296 TOPS dense (to verify against an NVIDIA document).
 *  - B200 / B100: NVIDIA HGX page (https://www.nvidia.com/en-us/data-center/hgx/): HGX B200 72 POPS, HGX B100
 *    56 POPS INT8 sparse for 8 GPUs.
 *  - GB200: NVIDIA GB200 NVL72 page (https://www.nvidia.com/en-us/data-center/gb200-nvl72/): 720 POPS INT8 sparse for 72 GPUs.
 *  - BM1684: SOPHGO BM1684 product page (https://www.sophgo.com/): INT8 17.6 TOPS (35.2 with Winograd).
 *  - BM1684X: SOPHGO BM1684X product page (https://www.sophgo.com/): INT8 32 TOPS.
 *  - Chip SKUs and PCI ids: fixtures/nvtrust + fixtures/nvidia (the signed samples: H100 PCIe 1010/0200/882,
 *    H100 SXM5 G520/0200/885, B200 G525/0220/886), pci.ids 2023.04.10 (fixtures/pci-ids: 0x2321, 0x2322,
 *    0x2324, 0x2330, 0x2331), NVIDIA GPU part numbers as nvidia-smi prints them (2321-886 H100 NVL, 2324-865
 *    H800, 2335-895 H200, 2342-888 GH200, 2901-886 B200) and the VBIOS file names of NVIDIA's PCIe boards
 *    (1010_0210_886 H100 NVL, 1010_0230_894 H200 NVL). docs/protocol.md §Power has the table.
 */
import {DEVICE_KIND_NAMES, DeviceKind} from './device-kinds.js'

/** A family of the table: an NVIDIA architecture as the chain names it (architecture.ts), or Sophgo. */
export type PowerFamily = 'hopper' | 'blackwell' | 'sophgo'

export interface PowerRow {
  family: PowerFamily
  /** Vendor and product, e.g. "NVIDIA H100 SXM5". */
  product: string
  /**
   * What signed evidence names: NVIDIA the report's CHIP_SKU; Sophgo the catalogue model. Absent: no
   * evidence identifies it (the row only sets its family's floor).
   */
  evidenceKey?: string
  /** PCI device ids a probe identifies it by (`unet devices`); the vendor is the family's. */
  pciDeviceIds: readonly number[]
  /** Dense INT8 TOPS; absent: no sourced rating (the family floor applies). */
  power?: bigint
}

const nvidia = (family: 'hopper' | 'blackwell', product: string, evidenceKey: string | undefined, pci: number[], power: bigint): PowerRow => ({
  family,
  product: `NVIDIA ${product}`,
  ...(evidenceKey ? {evidenceKey} : {}),
  pciDeviceIds: pci,
  power,
})

export const POWER_TABLE: readonly PowerRow[] = [
  nvidia('hopper', 'H100 SXM5', '885', [0x2330], 1979n),
  nvidia('hopper', 'H100 PCIe', '882', [0x2331], 1513n),
  nvidia('hopper', 'H100 NVL', '886', [0x2321], 1670n),
  nvidia('hopper', 'H800 SXM5', '865', [0x2324], 1979n),
  nvidia('hopper', 'H800 PCIe', undefined, [0x2322], 1513n),
  nvidia('hopper', 'H200 SXM', '895', [0x2335], 1979n),
  nvidia('hopper', 'H200 NVL', '894', [], 1670n),
  nvidia('hopper', 'GH200 (Hopper GPU)', '888', [0x2342], 1979n),
  nvidia('hopper', 'H20', undefined, [], 296n),
  nvidia('blackwell', 'B200', '886', [0x2901], 4500n),
  nvidia('blackwell', 'B100', undefined, [], 3500n),
  nvidia('blackwell', 'GB200 (Blackwell GPU)', undefined, [], 5000n),
  {family: 'sophgo', product: 'Sophgo BM1684', evidenceKey: 'BM1684', pciDeviceIds: [0x1684], power: 17n},
  {family: 'sophgo', product: 'Sophgo BM1684X', evidenceKey: 'BM1684X', pciDeviceIds: [0x1686], power: 32n},
  {family: 'sophgo', product: 'Sophgo BM1690', evidenceKey: 'BM1690', pciDeviceIds: [0x1690]},
]

/** PCI vendor ids of each family (src/hw/pci/ids.ts: NVIDIA 0x10de; Sophgo 0x1e30 for the BM1684, 0x1f1c after). */
const FAMILY_VENDORS: Record<PowerFamily, readonly number[]> = {hopper: [0x10de], blackwell: [0x10de], sophgo: [0x1e30, 0x1f1c]}

const FAMILY_NAMES: Record<PowerFamily, string> = {hopper: 'Hopper', blackwell: 'Blackwell', sophgo: 'Sophgo'}

/**
 * Kinds whose power is the kind's alone: the TPM host baseline, and what only a devnet (allowEmulator)
 * approves, as before there was a table (software keys, emulators). rsa2048 and p384 are rated by model.
 */
export const KIND_POWER: Readonly<Partial<Record<number, bigint>>> = {
  [DeviceKind.HOST_TPM]: 10n,
  [DeviceKind.HOST_EMULATOR]: 1n,
  [DeviceKind.P256]: 100n,
  [DeviceKind.SECP256K1]: 100n,
  [DeviceKind.EMULATOR]: 5n,
}

/** Poci.maxPower(kind): the contract's cap (approve reverts PowerAboveCap above it). Kept equal by a chain test. */
export const CONTRACT_MAX_POWER: Readonly<Record<number, bigint>> = {
  [DeviceKind.HOST_TPM]: 100n,
  [DeviceKind.HOST_EMULATOR]: 10n,
  [DeviceKind.P256]: 1000n,
  [DeviceKind.SECP256K1]: 1000n,
  [DeviceKind.RSA2048]: 1000n,
  [DeviceKind.P384]: 10_000n,
  [DeviceKind.EMULATOR]: 100n,
}

/** The device kind a family registers as (its key type). */
export const FAMILY_KIND: Record<PowerFamily, number> = {hopper: DeviceKind.P384, blackwell: DeviceKind.P384, sophgo: DeviceKind.RSA2048}

export interface PowerRating {
  /** 0: no power, the registration is refused. */
  power: bigint
  /** What was rated, e.g. "NVIDIA H100 SXM5". */
  model: string
  /** model: the row of the model; floor: its family's lowest (unknown SKU, unrated row); kind: by kind alone; none: no power. */
  basis: 'model' | 'floor' | 'kind' | 'none'
  /** One sentence: the power and why (decisions and `unet devices` print it). */
  note: string
}

/** The lowest rated row of a family: what an unidentified member of it earns. */
export function familyFloor(family: PowerFamily): PowerRow {
  const rated = POWER_TABLE.filter((r) => r.family === family && r.power !== undefined)
  return rated.reduce((low, r) => (r.power! < low.power! ? r : low))
}

function rowRating(row: PowerRow, how: string): PowerRating {
  if (row.power !== undefined) return {power: row.power, model: row.product, basis: 'model', note: `${row.product} (${how}): ${row.power} dense INT8 TOPS`}
  const floor = familyFloor(row.family)
  return {
    power: floor.power!,
    model: row.product,
    basis: 'floor',
    note: `${row.product} (${how}) has no sourced rating in the power table: the ${FAMILY_NAMES[row.family]} floor ${floor.power} (${floor.product}) applies`,
  }
}

function floorRating(family: PowerFamily, model: string, why: string): PowerRating {
  const floor = familyFloor(family)
  return {
    power: floor.power!,
    model,
    basis: 'floor',
    note: `${why}: the ${FAMILY_NAMES[family]} floor ${floor.power} (${floor.product}) applies`,
  }
}

const isFamily = (name: string): name is 'hopper' | 'blackwell' => name === 'hopper' || name === 'blackwell'

/** An NVIDIA GPU by what its verified evidence proves: the chain's architecture and the signed CHIP_SKU (absent when the report has none). */
export function nvidiaPower(architecture: string, chipSku: string | undefined): PowerRating {
  if (!isFamily(architecture)) {
    const model = architecture === 'ls10' ? 'NVIDIA LS10 NVSwitch' : `NVIDIA ${architecture}`
    const why = architecture === 'ls10' ? 'an NVSwitch is a switch, not a compute device' : 'the power table has no row for this architecture'
    return {power: 0n, model, basis: 'none', note: `${model}: no power (${why})`}
  }
  const name = FAMILY_NAMES[architecture]
  const row = chipSku === undefined ? undefined : POWER_TABLE.find((r) => r.family === architecture && r.evidenceKey === chipSku)
  if (row) return rowRating(row, `${name} chip SKU ${chipSku}`)
  const model = `NVIDIA ${name} chip SKU ${chipSku ?? '(none)'}`
  return floorRating(
    architecture,
    model,
    chipSku === undefined ? `the report names no chip SKU (${name})` : `${name} chip SKU ${chipSku} is not in the power table`,
  )
}

/** A Sophgo chip by the model its signed catalogue entry names (`source`: where the model came from, for the note). */
export function sophgoPower(model: string, source = 'chip catalogue'): PowerRating {
  const row = POWER_TABLE.find((r) => r.family === 'sophgo' && r.evidenceKey === model)
  if (row) return rowRating(row, source)
  return floorRating('sophgo', `Sophgo ${model}`, `${source} model ${model} is not in the power table`)
}

/** A kind rated by kind alone (hosts, software keys, emulators); undefined for the kinds rated by model. */
export function kindPower(kind: number): PowerRating | undefined {
  const power = KIND_POWER[kind]
  if (power === undefined) return undefined
  const name = DEVICE_KIND_NAMES[kind] ?? String(kind)
  const what = kind === DeviceKind.HOST_TPM ? 'the TPM host baseline' : 'by kind (devnet-only kinds)'
  return {power, model: name, basis: 'kind', note: `${name}: ${power}, ${what}`}
}

/**
 * A probed device (`unet devices`) by PCI vendor and device id: the power the verifier would approve
 * for it. A row evidence cannot identify (no evidenceKey) earns its family's floor at the verifier, so
 * that is what is expected. Undefined: the table has no row (the device earns no power of its own).
 */
export function probedPower(vendorId: number, deviceId: number): PowerRating | undefined {
  const row = POWER_TABLE.find((r) => FAMILY_VENDORS[r.family].includes(vendorId) && r.pciDeviceIds.includes(deviceId))
  if (!row) return undefined
  const how = `PCI id 0x${deviceId.toString(16).padStart(4, '0')}`
  if (row.evidenceKey !== undefined) return rowRating(row, how)
  return floorRating(row.family, row.product, `${row.product} (${how}): its signed evidence names no SKU the table knows`)
}
