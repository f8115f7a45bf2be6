import {X509Certificate} from 'node:crypto'

import type {Evidence, KindResult, KindVerifier, VerifyContext} from '../../evidence/index.js'
import {equalBytes} from '../../util/hex.js'
import {judgeNvidiaReport, offlineNvidiaCheck, type NvidiaCheckInput, type NvidiaCheckPolicy, type NvidiaFacts} from './full-check.js'
import {parseCertificate} from '../../util/x509.js'

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

/** The full check's input from nvidia-cc evidence, or why there is none. */
export function nvidiaEvidenceInput(evidence: Evidence, now: Date): NvidiaCheckInput | {problem: string} {
  if (evidence.kind !== 'nvidia-cc' || !('report' in evidence)) return {problem: 'not nvidia-cc evidence'}
  if (evidence.report.format !== NVIDIA_REPORT_FORMAT) return {problem: `report format "${evidence.report.format}" is not ${NVIDIA_REPORT_FORMAT}`}
  let chain: X509Certificate[]
  try {
    chain = evidence.device.certChain.map((der) => parseCertificate(der))
  } catch (error) {
    return {problem: `device.certChain: ${(error as Error).message}`}
  }
  if (chain.length === 0) return {problem: 'device.certChain is empty'}
  return {report: evidence.report.body, chain, expectedNonce: evidence.nonce.qualifyingData, now}
}

/** Offline only: what `unet verify` runs on an evidence file (no RIM directory, no responder asked). */
export const OFFLINE_NVIDIA_CHECK: NvidiaCheckPolicy = {ocsp: 'off', requireCc: false}

/** A KindResult that also says whether the key proved possession, whatever the rest of the check found. */
export interface NvidiaKindResult extends KindResult {
  /** The offline part held: the chain to a trusted root, the leaf's signature over the nonce, the FWID, device.publicKey = the leaf key. */
  possession: boolean
}

/**
 * KindVerifier for 'nvidia-cc' evidence: the NVIDIA full check (full-check.ts) under `policy`, judged
 * from `facts` gathered before (the verifier service) — the report signed by the leaf of device.certChain
 * (DER, leaf first) chaining to the pinned NVIDIA root (or a context.nvidiaRoots root), over
 * nonce.qualifyingData — and device.publicKey must be the leaf key.
 */
export function nvidiaEvidenceVerifier(
  policy: NvidiaCheckPolicy,
  facts: NvidiaFacts = {ocsp: {}},
): (evidence: Evidence, context: VerifyContext) => NvidiaKindResult {
  return (evidence, context) => {
    const input = nvidiaEvidenceInput(evidence, context.now ?? new Date())
    if ('problem' in input) return {reasons: [input.problem], possession: false}
    let possession = false
    try {
      const extraRootFingerprints = [...(policy.extraRootFingerprints ?? []), ...rootFingerprints(context.nvidiaRoots)]
      const check = {...policy, extraRootFingerprints}
      const offline = offlineNvidiaCheck(input, check)
      const leafKey = equalBytes(ecRawPublicKey(input.chain[0]!), evidence.device.publicKey)
      // known before the rest of the check runs: a throw there (a broken RIM file of the verifier's own) does not undo it
      possession = offline.result.valid && leafKey
      const r = judgeNvidiaReport(input, facts, check, offline)
      const reasons = [...r.reasons]
      if (!leafKey) reasons.push('device.publicKey is not the key of the leaf certificate')
      const warnings = [...r.warnings]
      if (policy.ocsp === 'off') warnings.push('OCSP revocation not checked (mode off; docs/nvidia-attestation.md)')
      if (r.measurements === 'not-checked') warnings.push('RIM golden measurements not compared (no RIM directory, or it lacks the RIMs)')
      return {reasons, warnings, possession}
    } catch (error) {
      return {reasons: [(error as Error).message], possession}
    }
  }
}

/** The offline KindVerifier (src/verifier/verify-evidence.ts binds it for `unet verify`). */
export const verifyNvidiaEvidence: KindVerifier = nvidiaEvidenceVerifier(OFFLINE_NVIDIA_CHECK)
