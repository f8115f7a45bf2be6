import {createPublicKey, createHash, verify as cryptoVerify, type KeyObject} from 'node:crypto'

import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {bytesToHex, hexToBytes} from '../../util/hex.js'

/**
 * Pure verifier of Sophgo BM1684/BM1684X chip signatures: RSA-2048 PKCS#1 v1.5 with SHA-256 over
 * the whole message (the chip's bmcpu_gen_sign signs a SHA-256 digest wrapped in a DigestInfo).
 * Public keys as the official UtilityNet miner stores them (PKCS#1 "RSA PUBLIC KEY" PEM) or SPKI PEM.
 */

export interface SophgoVerifyResult {
  valid: boolean
  reasons: string[]
  /** SHA-256 of the message: what the chip actually signs. */
  digest: string
  modulusBits: number
  /** SHA-256 of the SPKI DER of the key: a stable device key id. */
  keyId: string
}

export function parseSophgoPublicKey(pem: string | Uint8Array): KeyObject {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1')
  const kind = /-----BEGIN (RSA PUBLIC KEY|PUBLIC KEY)-----/.exec(text)?.[1]
  if (!kind) throw new InputError('public key is not a PEM "RSA PUBLIC KEY" or "PUBLIC KEY"', {hint: 'use the chip pubkey file (PKCS#1 PEM) or an SPKI PEM'})
  let key: KeyObject
  try {
    key = createPublicKey({key: text, format: 'pem', ...(kind === 'RSA PUBLIC KEY' ? {type: 'pkcs1' as const} : {type: 'spki' as const})})
  } catch (error) {
    throw new InputError('public key PEM could not be parsed', {cause: error, hint: 'the PEM is truncated or corrupted'})
  }
  if (key.asymmetricKeyType !== 'rsa') throw new InputError(`public key is ${key.asymmetricKeyType}, not RSA`)
  return key
}

function isKeyObject(k: string | Uint8Array | KeyObject): k is KeyObject {
  return typeof k === 'object' && !(k instanceof Uint8Array)
}

function sophgoKeyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({type: 'spki', format: 'der'}))
    .digest('hex')
}

export function verifySophgoSignature(publicKey: string | Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array | string): SophgoVerifyResult {
  const key = isKeyObject(publicKey) ? publicKey : parseSophgoPublicKey(publicKey)
  const sig = typeof signature === 'string' ? hexToBytes(signature, 'signature') : signature
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  const reasons: string[] = []
  if (bits !== 2048) reasons.push(`key is RSA-${bits}, Sophgo chip keys are RSA-2048`)
  if (sig.length !== bits / 8) reasons.push(`signature is ${sig.length} bytes, expected ${bits / 8}`)
  else if (!cryptoVerify('sha256', message, key, sig)) reasons.push('signature does not verify (RSA PKCS#1 v1.5, SHA-256 of the message)')
  return {
    valid: reasons.length === 0,
    reasons,
    digest: bytesToHex(createHash('sha256').update(message).digest(), false),
    modulusBits: bits,
    keyId: sophgoKeyId(key),
  }
}

export function assertSophgoSignature(publicKey: string | Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array | string): SophgoVerifyResult {
  const r = verifySophgoSignature(publicKey, message, signature)
  if (!r.valid) throw new EvidenceInvalidError(`Sophgo chip signature is invalid: ${r.reasons[0]}`, r.reasons)
  return r
}
