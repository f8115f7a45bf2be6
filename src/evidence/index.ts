import {canonicalPublicKey} from './nonce.js'

export * from './format.js'
export * from './nonce.js'
export * from './verify.js'

/** Raw public keys compare in their canonical form (x‖y for EC whether or not SEC1-prefixed; RSA modulus). */
export function rawKeyMatches(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length === 0 || b.length === 0) return false
  const x = canonicalPublicKey(a)
  const y = canonicalPublicKey(b)
  return x.length === y.length && Buffer.compare(x, y) === 0
}
