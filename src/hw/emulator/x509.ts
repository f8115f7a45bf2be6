/**
 * Just enough DER to issue the emulator's self-signed root (node:crypto parses X.509 but cannot
 * issue it): ECDSA P-256 / SHA-256, CN only, basicConstraints CA, keyUsage. Pure; no I/O.
 */
import {sign, type KeyObject} from 'node:crypto'

export const EMULATOR_ROOT_CN = 'UNET EMULATOR - NOT FOR PRODUCTION'

function tlv(tag: number, body: Uint8Array): Buffer {
  const len = body.length
  let header: number[]
  if (len < 0x80) header = [tag, len]
  else if (len < 0x100) header = [tag, 0x81, len]
  else header = [tag, 0x82, len >> 8, len & 0xff]
  return Buffer.concat([Buffer.from(header), body])
}

const seq = (...parts: Uint8Array[]) => tlv(0x30, Buffer.concat(parts))
const set = (...parts: Uint8Array[]) => tlv(0x31, Buffer.concat(parts))
const OID_ECDSA_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex')
const OID_CN = Buffer.from('0603550403', 'hex')
const OID_BASIC_CONSTRAINTS = Buffer.from('0603551d13', 'hex')
const OID_KEY_USAGE = Buffer.from('0603551d0f', 'hex')
const TRUE = Buffer.from('0101ff', 'hex')

function utcTime(date: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0')
  const s = `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`
  return tlv(0x17, Buffer.from(s, 'ascii'))
}

function name(cn: string): Buffer {
  return seq(set(seq(OID_CN, tlv(0x0c, Buffer.from(cn, 'utf8')))))
}

function integer(bytes: Uint8Array): Buffer {
  let b = Buffer.from(bytes)
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1)
  if (b[0]! >= 0x80) b = Buffer.concat([Buffer.from([0]), b])
  return tlv(0x02, b)
}

/** A self-signed CA certificate (DER) for an EC P-256 key pair. Valid from notBefore for `years`. */
export function selfSignedRoot(
  privateKey: KeyObject,
  publicKey: KeyObject,
  serial: Uint8Array,
  notBefore: Date,
  years = 20,
  cn = EMULATOR_ROOT_CN,
): Uint8Array {
  const notAfter = new Date(notBefore)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years)
  const spki = publicKey.export({type: 'spki', format: 'der'})
  const extensions = tlv(0xa3, seq(seq(OID_BASIC_CONSTRAINTS, TRUE, tlv(0x04, seq(TRUE))), seq(OID_KEY_USAGE, TRUE, tlv(0x04, Buffer.from('03020186', 'hex')))))
  const tbs = seq(
    tlv(0xa0, integer(Uint8Array.of(2))),
    integer(serial),
    seq(OID_ECDSA_SHA256),
    name(cn),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(cn),
    spki,
    extensions,
  )
  const signature = sign('sha256', tbs, privateKey)
  return Uint8Array.from(seq(tbs, seq(OID_ECDSA_SHA256), tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))))
}
