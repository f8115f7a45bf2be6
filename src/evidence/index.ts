export * from './format.js'
export * from './nonce.js'
export * from './verify.js'

/** Raw public keys compare byte for byte. */
export function rawKeyMatches(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
