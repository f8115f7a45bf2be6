/**
 * Interchange with tpm2-tools 5.x files (pure): quote.msg is the raw TPMS_ATTEST, quote.sig the
 * TPMT_SIGNATURE, and quote.pcrs the "serialized" PCR layout, which is two C structs written with
 * fwrite on a little-endian 64-bit host:
 *   TPML_PCR_SELECTION  u32 count; 16 x {u16 hash; u8 sizeofSelect; u8 pcrSelect[4]; u8 pad}  = 132 bytes
 *   u32 n (number of TPML_DIGEST that follow)
 *   n x TPML_DIGEST     u32 count; 8 x {u16 size; u8 buffer[64]}                              = 532 bytes
 * (tpm2-tools lib/pcr.c pcr_fwrite_serialized; read back by tpm2_checkquote -f).
 */
import {InputError} from '../../errors/index.js'
import type {PcrSelection} from './wire.js'
import {HASH_SIZE} from './wire.js'

const SEL_SIZE = 4 + 16 * 8
const DIGEST_LIST_SIZE = 4 + 8 * 66

export interface SerializedPcrs {
  selection: PcrSelection[]
  /** Values in selection order (bank by bank, PCR ascending). */
  values: Uint8Array[]
}

export function writeSerializedPcrs(selection: PcrSelection[], values: Map<number, Uint8Array>): Uint8Array {
  if (selection.length > 16) throw new InputError('at most 16 PCR banks')
  const ordered: Uint8Array[] = []
  const sel = Buffer.alloc(SEL_SIZE)
  sel.writeUInt32LE(selection.length, 0)
  selection.forEach((s, i) => {
    const o = 4 + i * 8
    sel.writeUInt16LE(s.hash, o)
    sel.writeUInt8(3, o + 2)
    for (const p of [...new Set(s.pcrs)].sort((a, b) => a - b)) {
      if (p < 0 || p > 23) throw new InputError(`PCR ${p} is out of range 0..23`)
      sel[o + 3 + (p >> 3)]! |= 1 << (p & 7)
      const v = values.get(p)
      if (!v) throw new InputError(`no value for PCR ${p}`)
      ordered.push(v)
    }
  })
  const lists: Buffer[] = []
  for (let i = 0; i < ordered.length; i += 8) {
    const chunk = ordered.slice(i, i + 8)
    const list = Buffer.alloc(DIGEST_LIST_SIZE)
    list.writeUInt32LE(chunk.length, 0)
    chunk.forEach((d, k) => {
      if (d.length > 64) throw new InputError('PCR value longer than 64 bytes')
      list.writeUInt16LE(d.length, 4 + k * 66)
      list.set(d, 4 + k * 66 + 2)
    })
    lists.push(list)
  }
  const count = Buffer.alloc(4)
  count.writeUInt32LE(lists.length, 0)
  return Uint8Array.from(Buffer.concat([sel, count, ...lists]))
}

export function readSerializedPcrs(bytes: Uint8Array): SerializedPcrs {
  const bad = (m: string) =>
    new InputError(`malformed tpm2-tools serialized PCR file: ${m}`, {hint: 'expected the output of tpm2_quote -o / tpm2_pcrread -o (format "serialized")'})
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length < SEL_SIZE + 4) throw bad(`${b.length} bytes is too short`)
  const banks = b.readUInt32LE(0)
  if (banks > 16) throw bad(`${banks} banks`)
  const selection: PcrSelection[] = []
  for (let i = 0; i < banks; i++) {
    const o = 4 + i * 8
    const hash = b.readUInt16LE(o)
    const size = b.readUInt8(o + 2)
    if (size > 4) throw bad(`sizeofSelect ${size}`)
    if (HASH_SIZE[hash] === undefined) throw bad(`unknown bank 0x${hash.toString(16)}`)
    const pcrs: number[] = []
    for (let byte = 0; byte < size; byte++) for (let bit = 0; bit < 8; bit++) if (b[o + 3 + byte]! & (1 << bit)) pcrs.push(byte * 8 + bit)
    selection.push({hash, pcrs})
  }
  const n = b.readUInt32LE(SEL_SIZE)
  if (n > 32) throw bad(`${n} digest lists`)
  if (b.length !== SEL_SIZE + 4 + n * DIGEST_LIST_SIZE) throw bad(`${b.length} bytes, expected ${SEL_SIZE + 4 + n * DIGEST_LIST_SIZE} for ${n} digest lists`)
  const values: Uint8Array[] = []
  for (let j = 0; j < n; j++) {
    const o = SEL_SIZE + 4 + j * DIGEST_LIST_SIZE
    const count = b.readUInt32LE(o)
    if (count > 8) throw bad(`digest list ${j} has ${count} entries`)
    for (let k = 0; k < count; k++) {
      const size = b.readUInt16LE(o + 4 + k * 66)
      if (size > 64) throw bad(`digest of ${size} bytes`)
      values.push(Uint8Array.from(b.subarray(o + 6 + k * 66, o + 6 + k * 66 + size)))
    }
  }
  const expected = selection.reduce((a, s) => a + s.pcrs.length, 0)
  if (values.length !== expected) throw bad(`${values.length} values for ${expected} selected PCRs`)
  return {selection, values}
}

/** The values as PCR index → value for a single-bank selection (what quotes here use). */
export function serializedToMap(p: SerializedPcrs): Map<number, Uint8Array> {
  if (p.selection.length !== 1) throw new InputError(`the PCR file has ${p.selection.length} banks; unet verifies single-bank quotes`)
  const map = new Map<number, Uint8Array>()
  p.selection[0]!.pcrs.forEach((pcr, i) => map.set(pcr, p.values[i]!))
  return map
}
