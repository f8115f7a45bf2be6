/**
 * Strict parsers of the TPM 2.0 structures a quote is made of: TPMS_ATTEST (quote), TPMT_SIGNATURE,
 * TPMT_PUBLIC / TPM2B_PUBLIC. Every length is checked, unknown algorithms are refused and trailing
 * bytes are an error. Malformed input always throws WireError (an InputError), never anything else.
 */
import {createHash, createPublicKey, type KeyObject} from 'node:crypto'

import {
  HASH_SIZE,
  Reader,
  TPM2_ALG,
  TPM2_ECC,
  TPM_GENERATED_VALUE,
  TPM2_ST_ATTEST_QUOTE,
  WireError,
  Writer,
  readPcrSelection,
  type PcrSelection,
} from './wire.js'

export interface ClockInfo {
  clock: bigint
  resetCount: number
  restartCount: number
  safe: boolean
}

export interface QuoteAttest {
  qualifiedSigner: Uint8Array
  extraData: Uint8Array
  clockInfo: ClockInfo
  firmwareVersion: bigint
  pcrSelect: PcrSelection[]
  pcrDigest: Uint8Array
}

/** TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. */
export function parseQuoteAttest(bytes: Uint8Array): QuoteAttest {
  const r = new Reader(bytes, 'TPMS_ATTEST')
  const magic = r.u32('magic')
  if (magic !== TPM_GENERATED_VALUE) throw new WireError('TPMS_ATTEST', `magic is 0x${magic.toString(16)}, not 0xff544347 (TPM_GENERATED_VALUE)`)
  const type = r.u16('type')
  if (type !== TPM2_ST_ATTEST_QUOTE) throw new WireError('TPMS_ATTEST', `type is 0x${type.toString(16)}, not 0x8018 (TPM_ST_ATTEST_QUOTE)`)
  const qualifiedSigner = r.tpm2b('qualifiedSigner', 2 + 64)
  const extraData = r.tpm2b('extraData', 64)
  const clock = r.u64('clock')
  const resetCount = r.u32('resetCount')
  const restartCount = r.u32('restartCount')
  const safe = r.u8('safe')
  if (safe > 1) throw new WireError('TPMS_ATTEST', `clockInfo.safe is ${safe}, not 0 or 1`)
  const firmwareVersion = r.u64('firmwareVersion')
  const pcrSelect = readPcrSelection(r)
  const pcrDigest = r.tpm2b('pcrDigest', 64)
  r.end()
  return {qualifiedSigner, extraData, clockInfo: {clock, resetCount, restartCount, safe: safe === 1}, firmwareVersion, pcrSelect, pcrDigest}
}

export type TpmSignature = {alg: 'ecdsa'; hash: number; r: Uint8Array; s: Uint8Array} | {alg: 'rsassa' | 'rsapss'; hash: number; sig: Uint8Array}

export function parseSignature(bytes: Uint8Array): TpmSignature {
  const r = new Reader(bytes, 'TPMT_SIGNATURE')
  const alg = r.u16('sigAlg')
  let out: TpmSignature
  if (alg === TPM2_ALG.ECDSA) {
    const hash = hashAlg(r.u16('hash'), 'TPMT_SIGNATURE')
    out = {alg: 'ecdsa', hash, r: r.tpm2b('signatureR', 66), s: r.tpm2b('signatureS', 66)}
  } else if (alg === TPM2_ALG.RSASSA || alg === TPM2_ALG.RSAPSS) {
    const hash = hashAlg(r.u16('hash'), 'TPMT_SIGNATURE')
    out = {alg: alg === TPM2_ALG.RSASSA ? 'rsassa' : 'rsapss', hash, sig: r.tpm2b('sig', 512)}
  } else throw new WireError('TPMT_SIGNATURE', `signature algorithm 0x${alg.toString(16)} is not supported (ECDSA, RSASSA, RSAPSS)`)
  r.end()
  return out
}

export function encodeEcdsaSignature(hash: number, rBytes: Uint8Array, sBytes: Uint8Array): Uint8Array {
  return new Writer().u16(TPM2_ALG.ECDSA).u16(hash).tpm2b(rBytes).tpm2b(sBytes).bytes()
}

function hashAlg(alg: number, structure: string): number {
  if (HASH_SIZE[alg] === undefined) throw new WireError(structure, `hash algorithm 0x${alg.toString(16)} is not supported`)
  return alg
}

export interface TpmPublic {
  type: 'ecc' | 'rsa'
  nameAlg: number
  attributes: number
  authPolicy: Uint8Array
  /** Signing scheme (0x0010 = NULL) and its hash. */
  scheme: number
  schemeHash?: number
  symmetric: number
  curve?: number
  x?: Uint8Array
  y?: Uint8Array
  keyBits?: number
  exponent?: number
  n?: Uint8Array
  /** The TPMT_PUBLIC bytes (what the object's name hashes). */
  tpmt: Uint8Array
}

const CURVE_SIZE: Record<number, number> = {[TPM2_ECC.NIST_P256]: 32, [TPM2_ECC.NIST_P384]: 48, [TPM2_ECC.NIST_P521]: 66}
const CURVE_JWK: Record<number, string> = {[TPM2_ECC.NIST_P256]: 'P-256', [TPM2_ECC.NIST_P384]: 'P-384', [TPM2_ECC.NIST_P521]: 'P-521'}

/** TPM2B_PUBLIC (with its u16 size) → parsed key. */
export function parseTpm2bPublic(bytes: Uint8Array): TpmPublic {
  const r = new Reader(bytes, 'TPM2B_PUBLIC')
  const inner = r.tpm2b('publicArea')
  r.end()
  if (inner.length === 0) throw new WireError('TPM2B_PUBLIC', 'empty publicArea')
  return parseTpmtPublic(inner)
}

export function parseTpmtPublic(bytes: Uint8Array): TpmPublic {
  const S = 'TPMT_PUBLIC'
  const r = new Reader(bytes, S)
  const type = r.u16('type')
  const nameAlg = hashAlg(r.u16('nameAlg'), S)
  const attributes = r.u32('objectAttributes')
  const authPolicy = r.tpm2b('authPolicy', 64)
  const symmetric = r.u16('symmetric.algorithm')
  if (symmetric !== TPM2_ALG.NULL) {
    r.u16('symmetric.keyBits')
    r.u16('symmetric.mode')
  }
  const scheme = r.u16('scheme')
  let schemeHash: number | undefined
  if (scheme !== TPM2_ALG.NULL) {
    schemeHash = r.u16('scheme.hashAlg')
    if (scheme === TPM2_ALG.ECDAA) r.u16('scheme.count')
  }
  let out: TpmPublic
  if (type === TPM2_ALG.ECC) {
    const curve = r.u16('curveID')
    const size = CURVE_SIZE[curve]
    if (size === undefined) throw new WireError(S, `curve 0x${curve.toString(16)} is not supported`)
    const kdf = r.u16('kdf.scheme')
    if (kdf !== TPM2_ALG.NULL) r.u16('kdf.hashAlg')
    const x = r.tpm2b('unique.x', size)
    const y = r.tpm2b('unique.y', size)
    out = {type: 'ecc', nameAlg, attributes, authPolicy, scheme, schemeHash, symmetric, curve, x, y, tpmt: bytes}
  } else if (type === TPM2_ALG.RSA) {
    const keyBits = r.u16('keyBits')
    if (keyBits !== 1024 && keyBits !== 2048 && keyBits !== 3072 && keyBits !== 4096) throw new WireError(S, `RSA key size ${keyBits} is not supported`)
    const exponent = r.u32('exponent')
    const n = r.tpm2b('unique.rsa', 512)
    out = {type: 'rsa', nameAlg, attributes, authPolicy, scheme, schemeHash, symmetric, keyBits, exponent, n, tpmt: bytes}
  } else throw new WireError(S, `key type 0x${type.toString(16)} is not supported (RSA, ECC)`)
  r.end()
  return out
}

/** The TPM object name: nameAlg || H_nameAlg(TPMT_PUBLIC). */
export function objectName(pub: TpmPublic): Uint8Array {
  const digest = createHash(hashName(pub.nameAlg)).update(pub.tpmt).digest()
  return Uint8Array.from(Buffer.concat([Buffer.from([pub.nameAlg >> 8, pub.nameAlg & 0xff]), digest]))
}

/** Hierarchy handles (TPM_RH_*): the qualified name of a hierarchy is its handle. */
export const TPM_RH = {OWNER: 0x40000001, NULL: 0x40000007, ENDORSEMENT: 0x4000000b, PLATFORM: 0x4000000c} as const

/** Qualified name of a primary object: nameAlg || H(handle of its hierarchy || name). */
export function primaryQualifiedName(name: Uint8Array, nameAlg: number, hierarchy: number): Uint8Array {
  const h = Buffer.alloc(4)
  h.writeUInt32BE(hierarchy >>> 0)
  const digest = createHash(hashName(nameAlg)).update(h).update(name).digest()
  return Uint8Array.from(Buffer.concat([Buffer.from([nameAlg >> 8, nameAlg & 0xff]), digest]))
}

export function hashName(alg: number): string {
  switch (alg) {
    case TPM2_ALG.SHA1:
      return 'sha1'
    case TPM2_ALG.SHA256:
      return 'sha256'
    case TPM2_ALG.SHA384:
      return 'sha384'
    case TPM2_ALG.SHA512:
      return 'sha512'
    default:
      throw new WireError('hash', `algorithm 0x${alg.toString(16)} is not supported`)
  }
}

/** A node:crypto public KeyObject for a TPM public key (create once, reuse: it is the hot path). */
export function tpmPublicKeyObject(pub: TpmPublic): KeyObject {
  try {
    if (pub.type === 'ecc') {
      const size = CURVE_SIZE[pub.curve!]!
      if (pub.x!.length === 0 || pub.y!.length === 0) throw new WireError('TPMT_PUBLIC', 'ECC point is empty')
      return createPublicKey({key: {kty: 'EC', crv: CURVE_JWK[pub.curve!]!, x: b64u(leftPad(pub.x!, size)), y: b64u(leftPad(pub.y!, size))}, format: 'jwk'})
    }
    if (pub.n!.length === 0) throw new WireError('TPMT_PUBLIC', 'RSA modulus is empty')
    const e = pub.exponent === 0 ? 65537 : pub.exponent!
    const eBytes = Buffer.from(e.toString(16).padStart(8, '0'), 'hex')
    let i = 0
    while (i < eBytes.length - 1 && eBytes[i] === 0) i++
    return createPublicKey({key: {kty: 'RSA', n: b64u(pub.n!), e: b64u(eBytes.subarray(i))}, format: 'jwk'})
  } catch (error) {
    if (error instanceof WireError) throw error
    throw new WireError('TPMT_PUBLIC', `not a valid public key (${(error as Error).message})`)
  }
}

/** Raw public key bytes: SEC1 uncompressed point for ECC, the modulus for RSA (deviceId preimage). */
export function rawPublicKey(pub: TpmPublic): Uint8Array {
  if (pub.type === 'ecc') {
    const size = CURVE_SIZE[pub.curve!]!
    return Uint8Array.from(Buffer.concat([Buffer.from([4]), leftPad(pub.x!, size), leftPad(pub.y!, size)]))
  }
  return Uint8Array.from(pub.n!)
}

export function leftPad(bytes: Uint8Array, size: number): Buffer {
  if (bytes.length >= size) return Buffer.from(bytes)
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes])
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}
