/**
 * The evidence dispatcher: common checks (nonce binding, emulator policy) and one verifier per
 * evidence kind. Pure. The verifiers themselves live with their hardware (src/hw/<vendor>/verify.ts)
 * and are bound in src/verifier/verify-evidence.ts, whose verifyEvidence() is what validators, the devnet
 * verifier and `unet verify` call (the agent's self-check runs only the host quote's verifyQuote).
 */
import {bytesToHex, equalBytes} from '../util/hex.js'
import {evidenceDeviceId, type Evidence, type EvidenceKind} from './format.js'
import {quoteQualifyingData} from './nonce.js'

export interface PreviousQuote {
  clock: bigint
  resetCount: number
  restartCount: number
}

export interface VerifyContext {
  /** Network profile name (for messages). */
  network: string
  /** The profile's allowEmulator: emulator evidence is refused when false. */
  allowEmulator: boolean
  /** Trusted TPM EK roots and vendor intermediates (PEM text or DER). */
  tpmRoots: Array<string | Uint8Array>
  /** Accept the EK chains of cloud vTPMs (the profile's trustRoots.allowCloudVtpm; default false). */
  allowCloudVtpm?: boolean
  /** Trusted NVIDIA roots (PEM text or DER), for nvidia-cc evidence. */
  nvidiaRoots?: Array<string | Uint8Array>
  /** What the evidence must be bound to (the verifier's own challenge). */
  expected?: {qualifyingData?: Uint8Array; challenge?: Uint8Array}
  /** Clock info of this device's previous accepted quote (reset/restart counters must not go back). */
  previous?: PreviousQuote
  now?: Date
}

export interface VerifyResult {
  valid: boolean
  /** Why it is invalid (empty when valid). */
  reasons: string[]
  /** Checks that could not be made from the evidence and context alone. */
  warnings: string[]
  kind: EvidenceKind
  deviceId: string
  /** Set when the evidence is refused by policy rather than broken (emulator on a production network). */
  refused?: 'emulator'
}

export interface KindResult {
  reasons: string[]
  warnings?: string[]
}

export type KindVerifier = (evidence: Evidence, context: VerifyContext) => KindResult

export function verifyEvidenceWith(verifiers: Partial<Record<EvidenceKind, KindVerifier>>, evidence: Evidence, context: VerifyContext): VerifyResult {
  const reasons: string[] = []
  const warnings: string[] = []
  const deviceId = evidenceDeviceId(evidence)
  const base = {kind: evidence.kind, deviceId}
  if (evidence.kind === 'emulator' && !context.allowEmulator)
    return {
      ...base,
      valid: false,
      reasons: [`emulator evidence is refused on network "${context.network}" (allowEmulator is false)`],
      warnings,
      refused: 'emulator',
    }

  const n = evidence.nonce
  if (n.challenge && n.challenge.length !== 32) reasons.push('nonce.challenge must be 32 bytes')
  else if (n.challenge && n.devices) {
    if (!equalBytes(quoteQualifyingData(n.challenge, n.devices), n.qualifyingData))
      reasons.push('nonce.qualifyingData is not keccak256(challenge || devicesDigest(devices))')
  } else if (n.challenge && !n.devices && !equalBytes(n.challenge, n.qualifyingData)) reasons.push('nonce.qualifyingData differs from nonce.challenge')
  if (context.expected?.qualifyingData && !equalBytes(context.expected.qualifyingData, n.qualifyingData))
    reasons.push(`nonce ${bytesToHex(n.qualifyingData)} is not the expected ${bytesToHex(context.expected.qualifyingData)}`)
  if (context.expected?.challenge && !(n.challenge && equalBytes(context.expected.challenge, n.challenge)))
    reasons.push(`the evidence is not bound to the expected challenge ${bytesToHex(context.expected.challenge)}`)
  if (!context.expected) warnings.push('no expected nonce given: freshness not checked')

  const verifier = verifiers[evidence.kind]
  if (!verifier) reasons.push(`no verifier for evidence kind "${evidence.kind}" in this version of unet`)
  else {
    const r = verifier(evidence, context)
    reasons.push(...r.reasons)
    warnings.push(...(r.warnings ?? []))
  }
  return {...base, valid: reasons.length === 0, reasons, warnings}
}
