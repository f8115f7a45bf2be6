import {keccak_256} from '@noble/hashes/sha3.js'
import {secp256k1} from '@noble/curves/secp256k1.js'

import {InputError} from '../errors/index.js'
import {bytesToHex, hexToBytes} from '../util/hex.js'

/** EIP-55 checksummed address of a secp256k1 secret key. */
export function addressOfSecretKey(secretKey: Uint8Array): string {
  const pub = secp256k1.getPublicKey(secretKey, false)
  return toChecksumAddress(bytesToHex(keccak_256(pub.subarray(1)).subarray(12)))
}

export function toChecksumAddress(address: string): string {
  const lower = address.toLowerCase().replace(/^0x/, '')
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(lower))).toString('hex')
  let out = '0x'
  for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]
  return out
}

/** Validates an address (any case; a mixed-case one must carry a correct checksum). */
export function parseAddress(input: string, field = 'address'): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(input))
    throw new InputError(`${field} is not an address: ${JSON.stringify(input)}`, {hint: 'expected 0x followed by 40 hex digits'})
  const checksummed = toChecksumAddress(input)
  const mixed = input.slice(2) !== input.slice(2).toLowerCase() && input.slice(2) !== input.slice(2).toUpperCase()
  if (mixed && checksummed !== input)
    throw new InputError(`${field} has a bad EIP-55 checksum: ${input}`, {hint: 'copy the address again, or write it all lower-case'})
  return checksummed
}

/** Parses a 32-byte secp256k1 secret key in hex, refusing out-of-range values. */
export function parseSecretKey(hex: string): Uint8Array {
  const key = hexToBytes(hex, 'private key', 32)
  if (!secp256k1.utils.isValidSecretKey(key)) throw new InputError('private key is out of range for secp256k1')
  return key
}

export function randomSecretKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey()
}
