/**
 * TPM 2.0 wire format (TCG TPM 2.0 Part 2), pure: a bounded reader and a writer, the constants we use,
 * and the object templates unet creates. Big-endian, sized buffers, no trailing bytes allowed by the
 * strict parsers. Used by the FFI engine (which marshals here and lets Tss2_MU_* unmarshal into opaque
 * structs), the emulator and the pure verifier.
 */
import {InputError} from '../../errors/index.js'

export const TPM_GENERATED_VALUE = 0xff544347
export const TPM2_ST_ATTEST_QUOTE = 0x8018

export const TPM2_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  SYMCIPHER: 0x0025,
  ECC: 0x0023,
  CFB: 0x0043,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  MGF1: 0x0007,
  XOR: 0x000a,
} as const

export const TPM2_ECC = {NIST_P256: 0x0003, NIST_P384: 0x0004, NIST_P521: 0x0005} as const

export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const

/** The names of the TPMA_OBJECT bits in `required` that `attributes` lacks, in the order given. */
export function missingAttributes(attributes: number, required: ReadonlyArray<keyof typeof TPMA_OBJECT>): string[] {
  return required.filter((name) => (attributes & TPMA_OBJECT[name]) === 0)
}

/** Digest sizes of the hash algorithms we accept. */
export const HASH_SIZE: Record<number, number> = {[TPM2_ALG.SHA1]: 20, [TPM2_ALG.SHA256]: 32, [TPM2_ALG.SHA384]: 48, [TPM2_ALG.SHA512]: 64}

/** A wire-format error: always an InputError (malformed input), never a crash. */
export class WireError extends InputError {
  constructor(structure: string, message: string) {
    super(`malformed ${structure}: ${message}`, {hint: 'the file is not a TPM 2.0 structure of the expected type, or it was truncated'})
  }
}

export class Reader {
  private offset = 0
  constructor(
    private readonly bytes: Uint8Array,
    readonly structure: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  get position(): number {
    return this.offset
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw new WireError(this.structure, `${what} needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`)
  }

  u8(what = 'u8'): number {
    this.need(1, what)
    return this.bytes[this.offset++]!
  }

  u16(what = 'u16'): number {
    this.need(2, what)
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!
    this.offset += 2
    return v
  }

  u32(what = 'u32'): number {
    this.need(4, what)
    const b = this.bytes
    const o = this.offset
    this.offset += 4
    return ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!
  }

  u64(what = 'u64'): bigint {
    const hi = BigInt(this.u32(what))
    const lo = BigInt(this.u32(what))
    return (hi << 32n) | lo
  }

  raw(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what)
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  /** A TPM2B: u16 size then that many bytes; max bounds the size. */
  tpm2b(what: string, max = 0xffff): Uint8Array {
    const size = this.u16(`${what}.size`)
    if (size > max) throw new WireError(this.structure, `${what} is ${size} bytes, at most ${max} allowed`)
    return this.raw(size, what)
  }

  end(): void {
    if (this.remaining !== 0) throw new WireError(this.structure, `${this.remaining} trailing bytes`)
  }
}

export class Writer {
  private readonly parts: number[] = []

  u8(v: number): this {
    this.parts.push(v & 0xff)
    return this
  }

  u16(v: number): this {
    this.parts.push((v >>> 8) & 0xff, v & 0xff)
    return this
  }

  u32(v: number): this {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff)
    return this
  }

  u64(v: bigint): this {
    return this.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn))
  }

  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b)
    return this
  }

  tpm2b(bytes: Uint8Array): this {
    if (bytes.length > 0xffff) throw new InputError(`TPM2B of ${bytes.length} bytes is too large`)
    return this.u16(bytes.length).raw(bytes)
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

// ---------------------------------------------------------------------------------------------
// PCR selections

export interface PcrSelection {
  hash: number
  pcrs: number[]
}

/** TPML_PCR_SELECTION with sizeofSelect 3 (PCRs 0..23). */
export function encodePcrSelection(selections: readonly PcrSelection[]): Uint8Array {
  const w = new Writer().u32(selections.length)
  for (const s of selections) {
    const bitmap = new Uint8Array(3)
    for (const pcr of s.pcrs) {
      if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23) throw new InputError(`PCR index ${pcr} is out of range 0..23`)
      bitmap[pcr >> 3]! |= 1 << (pcr & 7)
    }
    w.u16(s.hash).u8(3).raw(bitmap)
  }
  return w.bytes()
}

export function readPcrSelection(r: Reader): PcrSelection[] {
  const count = r.u32('TPML_PCR_SELECTION.count')
  if (count > 16) throw new WireError(r.structure, `TPML_PCR_SELECTION has ${count} banks, at most 16`)
  const out: PcrSelection[] = []
  for (let i = 0; i < count; i++) {
    const hash = r.u16('TPMS_PCR_SELECTION.hash')
    const size = r.u8('sizeofSelect')
    if (size > 4) throw new WireError(r.structure, `sizeofSelect ${size} is larger than 4`)
    const bitmap = r.raw(size, 'pcrSelect')
    const pcrs: number[] = []
    for (let byte = 0; byte < size; byte++) for (let bit = 0; bit < 8; bit++) if (bitmap[byte]! & (1 << bit)) pcrs.push(byte * 8 + bit)
    out.push({hash, pcrs})
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Templates

/** TCG EK Credential Profile 2.x, default policy PolicySecret(TPM_RH_ENDORSEMENT) for SHA-256 templates. */
const EK_POLICY_SHA256 = Uint8Array.from(Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex'))
const EK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.adminWithPolicy | TPMA_OBJECT.restricted | TPMA_OBJECT.decrypt

/** What TCG's EK templates L-1 and L-2 share: SHA-256 names, the EK attributes and policy, AES-128-CFB, no scheme. */
function ekTemplateStart(type: number): Writer {
  return new Writer().u16(type).u16(TPM2_ALG.SHA256).u32(EK_ATTRIBUTES).tpm2b(EK_POLICY_SHA256).u16(TPM2_ALG.AES).u16(128).u16(TPM2_ALG.CFB).u16(TPM2_ALG.NULL)
}

/** TPMT_PUBLIC of the TCG EK template L-1 (RSA 2048, AES-128-CFB); index 0x01c00002. */
export function ekTemplateRsa2048(): Uint8Array {
  return ekTemplateStart(TPM2_ALG.RSA).u16(2048).u32(0).tpm2b(new Uint8Array(256)).bytes()
}

/** TPMT_PUBLIC of the TCG EK template L-2 (ECC NIST P-256, AES-128-CFB); index 0x01c0000a. */
export function ekTemplateEccP256(): Uint8Array {
  return ekTemplateStart(TPM2_ALG.ECC).u16(TPM2_ECC.NIST_P256).u16(TPM2_ALG.NULL).tpm2b(new Uint8Array(32)).tpm2b(new Uint8Array(32)).bytes()
}

/** The attributes an attestation key must have (and unet's AK template sets, plus userWithAuth). */
export const AK_REQUIRED_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.restricted | TPMA_OBJECT.sign

/**
 * TPMT_PUBLIC of unet's AK: restricted ECC P-256 ECDSA-SHA256 signing key. As a creation template the
 * unique point is empty; with (x, y) it is the AK's public area (what the emulator presents).
 */
export function akTemplateEccP256(x: Uint8Array = new Uint8Array(0), y: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new Writer()
    .u16(TPM2_ALG.ECC)
    .u16(TPM2_ALG.SHA256)
    .u32(AK_REQUIRED_ATTRIBUTES | TPMA_OBJECT.userWithAuth)
    .tpm2b(new Uint8Array(0))
    .u16(TPM2_ALG.NULL)
    .u16(TPM2_ALG.ECDSA)
    .u16(TPM2_ALG.SHA256)
    .u16(TPM2_ECC.NIST_P256)
    .u16(TPM2_ALG.NULL)
    .tpm2b(x)
    .tpm2b(y)
    .bytes()
}

export function tpm2b(bytes: Uint8Array): Uint8Array {
  return new Writer().tpm2b(bytes).bytes()
}
