import {SpdmParseError} from './spdm.js'

/**
 * NVIDIA's opaque data in the SPDM MEASUREMENTS response: a list of TLVs, each
 * type(2, LE) size(2, LE) value(size). Field ids as published in NVIDIA's attestation SDK.
 */
const OPAQUE_FIELD = {
  CERT_ISSUER_NAME: 1,
  CERT_AUTHORITY_KEY_IDENTIFIER: 2,
  DRIVER_VERSION: 3,
  GPU_INFO: 4,
  SKU: 5,
  VBIOS_VERSION: 6,
  MANUFACTURER_ID: 7,
  TAMPER_DETECTION: 8,
  SMC: 9,
  VPR: 10,
  NVDEC0_STATUS: 11,
  MSRSCNT: 12,
  CPRINFO: 13,
  BOARD_ID: 14,
  CHIP_SKU: 15,
  CHIP_SKU_MOD: 16,
  PROJECT: 17,
  PROJECT_SKU: 18,
  PROJECT_SKU_MOD: 19,
  FWID: 20,
  PROTECTED_PCIE_STATUS: 21,
  SWITCH_PDI: 22,
  FLOORSWEPT_PORTS: 23,
  POSITION_ID: 24,
  LOCK_SWITCH_STATUS: 25,
  GPU_LINK_CONN: 32,
  SYS_ENABLE_STATUS: 33,
  OPAQUE_DATA_VERSION: 34,
  CHIP_INFO: 35,
  FEATURE_FLAG: 36,
} as const

export interface OpaqueField {
  type: number
  value: Uint8Array
}

export interface DecodedOpaque {
  fields: OpaqueField[]
  driverVersion?: string
  vbiosVersion?: string
  /** Hex of the 48-byte SHA-384 firmware id. */
  fwid?: string
  project?: string
  chipSku?: string
}

export function parseOpaqueData(opaque: Uint8Array, base = 0): DecodedOpaque {
  const fields: OpaqueField[] = []
  let o = 0
  while (o < opaque.length) {
    if (o + 4 > opaque.length) throw new SpdmParseError(`opaque data truncated inside a field header (${opaque.length - o} byte(s) left)`, base + o)
    const type = opaque[o]! | (opaque[o + 1]! << 8)
    const size = opaque[o + 2]! | (opaque[o + 3]! << 8)
    o += 4
    if (o + size > opaque.length) throw new SpdmParseError(`opaque field ${type} claims ${size} bytes, only ${opaque.length - o} left`, base + o - 2)
    fields.push({type, value: opaque.slice(o, o + size)})
    o += size
  }
  const get = (t: number) => fields.find((f) => f.type === t)?.value
  const text = (v?: Uint8Array) => (v ? Buffer.from(v).toString('latin1').replace(/\0+$/, '').replace(/\0/g, '') : undefined)
  const driver = get(OPAQUE_FIELD.DRIVER_VERSION)
  const vbios = get(OPAQUE_FIELD.VBIOS_VERSION)
  const fwid = get(OPAQUE_FIELD.FWID)
  return {
    fields,
    driverVersion: text(driver),
    vbiosVersion: vbios ? formatVbios(vbios) : undefined,
    fwid: fwid ? Buffer.from(fwid).toString('hex') : undefined,
    project: text(get(OPAQUE_FIELD.PROJECT)),
    chipSku: text(get(OPAQUE_FIELD.CHIP_SKU)),
  }
}

/**
 * The VBIOS field is a little-endian integer; NVIDIA prints it as the low 4 bytes (most significant
 * first) followed by byte 4, e.g. 96.00.9F.00.01.
 */
function formatVbios(v: Uint8Array): string {
  if (v.length < 5) return Buffer.from(v).toString('hex')
  const parts = [v[3]!, v[2]!, v[1]!, v[0]!, v[4]!]
  return parts.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('.')
}
