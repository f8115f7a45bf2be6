import {InputError} from '../errors/index.js'

const HEX = /^(0x)?([0-9a-fA-F]{2})*$/

/** Parses hex (with or without 0x) into bytes; a clear error names the field on bad input. */
export function hexToBytes(hex: string, field = 'hex value', expectedLength?: number): Uint8Array {
  const trimmed = hex.trim()
  if (!HEX.test(trimmed)) throw new InputError(`${field} is not valid hex`, {hint: 'use an even number of 0-9a-f digits, optionally prefixed with 0x'})
  const body = trimmed.startsWith('0x') || trimmed.startsWith('0X') ? trimmed.slice(2) : trimmed
  const bytes = Uint8Array.from(Buffer.from(body, 'hex'))
  if (expectedLength !== undefined && bytes.length !== expectedLength) throw new InputError(`${field} must be ${expectedLength} bytes, got ${bytes.length}`)
  return bytes
}

export function bytesToHex(bytes: Uint8Array, prefix = true): string {
  return (prefix ? '0x' : '') + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts))
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/** Left-pads a big-endian integer's bytes to `size` (ECDSA r/s may come shorter than the curve size). */
export function leftPadBytes(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length > size) throw new InputError(`value of ${bytes.length} bytes does not fit in ${size}`)
  if (bytes.length === size) return bytes
  const out = new Uint8Array(size)
  out.set(bytes, size - bytes.length)
  return out
}
