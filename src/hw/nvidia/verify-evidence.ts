import {X509Certificate} from 'node:crypto'

import type {Evidence, KindResult, VerifyContext} from '../../evidence/index.js'
import {equalBytes} from '../../util/hex.js'
import {verifyNvidiaReport} from './verify.js'

/** report.format of nvidia-cc evidence: body = request ‖ signed response, exactly as NVML returned it. */
export const NVIDIA_REPORT_FORMAT = 'spdm-1.1-measurements'

/** The raw public key of an EC certificate: SEC1 uncompressed point (0x04 ‖ X ‖ Y). */
export function ecRawPublicKey(cert: X509Certificate): Uint8Array {
  const jwk = cert.publicKey.export({format: 'jwk'})
  if (jwk.kty !== 'EC' || !jwk.x || !jwk.y) throw new Error('not an EC key')
  return Uint8Array.from([0x04, ...Buffer.from(jwk.x, 'base64url'), ...Buffer.from(jwk.y, 'base64url')])
}

/** SHA-256 fingerprints of trust roots given as PEM text (one or more certificates) or DER. */
export function rootFingerprints(roots: ReadonlyArray<string | Uint8Array> | undefined): string[] {
  const out: string[] = []
  for (const r of roots ?? []) {
    if (typeof r === 'string') {
      for (const pem of r.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) out.push(new X509Certificate(pem).fingerprint256)
    } else out.push(new X509Certificate(Buffer.from(r)).fingerprint256)
  }
  return out
}

/**
 * KindVerifier for 'nvidia-cc' evidence (registered in src/verifier/verify-evidence.ts): the report must be
 * signed by the leaf of device.certChain (DER, leaf first) chaining to the pinned NVIDIA root (or a
 * context.nvidiaRoots root), over nonce.qualifyingData; device.publicKey must be the leaf key.
 */
export function verifyNvidiaEvidence(evidence: Evidence, context: VerifyContext): KindResult {
  if (evidence.kind !== 'nvidia-cc' || !('report' in evidence)) return {reasons: ['not nvidia-cc evidence']}
  if (evidence.report.format !== NVIDIA_REPORT_FORMAT) return {reasons: [`report format "${evidence.report.format}" is not ${NVIDIA_REPORT_FORMAT}`]}
  try {
    const certs = evidence.device.certChain.map((der) => new X509Certificate(Buffer.from(der)))
    if (certs.length === 0) return {reasons: ['device.certChain is empty']}
    const r = verifyNvidiaReport(evidence.report.body, certs, {
      expectedNonce: evidence.nonce.qualifyingData,
      now: context.now,
      extraRootFingerprints: rootFingerprints(context.nvidiaRoots),
    })
    const reasons = [...r.reasons]
    if (!equalBytes(ecRawPublicKey(certs[0]!), evidence.device.publicKey)) reasons.push('device.publicKey is not the key of the leaf certificate')
    return {reasons, warnings: ['OCSP revocation and RIM golden measurements are online checks, not made here (docs/nvidia-attestation.md)']}
  } catch (error) {
    return {reasons: [(error as Error).message]}
  }
}
