import {createPublicKey} from 'node:crypto'

import type {Evidence, KindResult} from '../../evidence/index.js'
import {equalBytes} from '../../util/hex.js'
import {verifySophgoSignature} from './verify.js'

/** report.format of sophgo evidence: body = the signed message, signature = RSA PKCS#1 v1.5 SHA-256. */
export const SOPHGO_REPORT_FORMAT = 'sophgo-rsa-pkcs1v15-sha256'
/** Sophgo chip keys use e = 65537 (uminer's published keys: AQAB); the evidence carries the modulus. */
const SOPHGO_PUBLIC_EXPONENT = 'AQAB'

export function rsaModulus(pem: string): Uint8Array {
  const type = pem.includes('BEGIN RSA PUBLIC KEY') ? 'pkcs1' : 'spki'
  const jwk = createPublicKey({key: pem, format: 'pem', type}).export({format: 'jwk'})
  if (jwk.kty !== 'RSA' || !jwk.n) throw new Error('not an RSA key')
  if (jwk.e !== SOPHGO_PUBLIC_EXPONENT) throw new Error(`RSA exponent ${jwk.e} is not 65537`)
  return new Uint8Array(Buffer.from(jwk.n, 'base64url'))
}

/** KindVerifier for 'sophgo' evidence: the chip key (device.publicKey = modulus) signed nonce.qualifyingData. */
export function verifySophgoEvidence(evidence: Evidence): KindResult {
  if (evidence.kind !== 'sophgo' || !('report' in evidence)) return {reasons: ['not sophgo evidence']}
  if (evidence.report.format !== SOPHGO_REPORT_FORMAT) return {reasons: [`report format "${evidence.report.format}" is not ${SOPHGO_REPORT_FORMAT}`]}
  if (!evidence.report.signature) return {reasons: ['report.signature is missing']}
  const reasons: string[] = []
  if (!equalBytes(evidence.report.body, evidence.nonce.qualifyingData)) reasons.push('report.body (the signed message) is not nonce.qualifyingData')
  try {
    const key = createPublicKey({key: {kty: 'RSA', n: Buffer.from(evidence.device.publicKey).toString('base64url'), e: SOPHGO_PUBLIC_EXPONENT}, format: 'jwk'})
    reasons.push(...verifySophgoSignature(key, evidence.report.body, evidence.report.signature).reasons)
  } catch (error) {
    reasons.push(`device.publicKey is not an RSA modulus: ${(error as Error).message}`)
  }
  return {reasons, warnings: ['a Sophgo chip key has no vendor certificate: genuineness comes from the registration approval, not from this evidence']}
}
