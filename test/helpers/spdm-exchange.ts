/**
 * SPDM 1.1 GET_MEASUREMENTS exchanges signed by a P-384 key the test controls. A recorded NVIDIA report
 * cannot be re-signed by the GPU's key, so the challenge game is exercised with our own key in the P-384
 * kind, over bytes laid out exactly as src/hw/nvidia/spdm.ts parses them (the contract checks the same
 * request header, the nonce at [4, 36) and the signature over SHA-384 of everything before the last 96 bytes).
 */
import {createHash, generateKeyPairSync, randomBytes, sign, type KeyObject} from 'node:crypto'

import {concatBytes} from '../../src/util/hex.js'

export interface P384Key {
  privateKey: KeyObject
  /** x‖y, 96 bytes (deviceId = keccak256 of it). */
  publicKey: Uint8Array
}

const N384 = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n

export function p384Key(): P384Key {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-384'})
  const jwk = publicKey.export({format: 'jwk'})
  return {privateKey, publicKey: concatBytes(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'))}
}

const toBig = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'))
const to48 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(96, '0'), 'hex'))

/** ECDSA P-384 over SHA-384(message), r‖s (96 bytes), s normalised to the lower half (either verifies). */
export function p384Sign(key: P384Key, message: Uint8Array): Uint8Array {
  const rs = Uint8Array.from(sign('sha384', message, {key: key.privateKey, dsaEncoding: 'ieee-p1363'}))
  const s = toBig(rs.subarray(48))
  return s > N384 / 2n ? concatBytes(rs.subarray(0, 48), to48(N384 - s)) : rs
}

/** `n` little-endian in `bytes` bytes, as SPDM lays out its lengths. */
export const le = (n: number, bytes: number) => Uint8Array.from({length: bytes}, (_, i) => (n >> (8 * i)) & 0xff)

/** request(37) = 0x11 0xE0 param1=0x01 (signature) param2=0xFF (all blocks, as real reports) ‖ nonce ‖ slot 0. */
function spdmRequest(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== 32) throw new Error('the SPDM nonce is 32 bytes')
  return concatBytes(Uint8Array.of(0x11, 0xe0, 0x01, 0xff), nonce, Uint8Array.of(0))
}

/**
 * request ‖ MEASUREMENTS response (DMTF blocks 1, 2, ... of digests, responder nonce, opaque data) ‖
 * signature. `blocks`: the digests, or how many random 48-byte ones. `opaque`: the opaque data, or how
 * many random bytes of it. The default is small; 64 blocks + 400 opaque bytes is about the 4 KB of a
 * Hopper report.
 */
export function spdmExchange(
  key: P384Key,
  nonce: Uint8Array,
  options: {blocks?: number | readonly Uint8Array[]; opaque?: number | Uint8Array} = {},
): Uint8Array {
  const digests = typeof options.blocks === 'object' ? options.blocks : Array.from({length: options.blocks ?? 2}, () => Uint8Array.from(randomBytes(48)))
  const record = concatBytes(...digests.map((d, i) => concatBytes(Uint8Array.of(i + 1, 0x01), le(d.length + 3, 2), Uint8Array.of(0x01), le(d.length, 2), d)))
  const opaque = options.opaque instanceof Uint8Array ? options.opaque : Uint8Array.from(randomBytes(options.opaque ?? 16))
  const response = concatBytes(
    Uint8Array.of(0x11, 0x60, 0x00, 0x00, digests.length),
    le(record.length, 3),
    record,
    Uint8Array.from(randomBytes(32)),
    le(opaque.length, 2),
    opaque,
  )
  const signed = concatBytes(spdmRequest(nonce), response)
  return concatBytes(signed, p384Sign(key, signed))
}

/** The same exchange signed by another key (same length and nonce: only the signature is wrong). */
export function resign(report: Uint8Array, key: P384Key): Uint8Array {
  const signed = report.subarray(0, report.length - 96)
  return concatBytes(signed, p384Sign(key, signed))
}

export function sha384(b: Uint8Array): Uint8Array {
  return Uint8Array.from(createHash('sha384').update(b).digest())
}
