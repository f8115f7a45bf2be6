/**
 * What the verifier reads from outside before it decides a registration: for p384 (NVIDIA) the RIMs
 * from the profile's nvidia.rimDir and the OCSP answers for the GPU chain and the RIM chains
 * (src/hw/nvidia/full-check.ts gatherNvidiaFacts). decideRegistration stays pure: it judges from these
 * facts, and the service records them with the decision (the OCSP answers in full, the RIMs by id and
 * digest), so `unet verifier audit` recomputes the decision from the recorded answers instead of asking
 * again. Other kinds need no facts.
 */
import type {Registration} from '../chain/registrations.js'
import {STRICT_NVIDIA_POLICY} from '../config/schema.js'
import {DeviceKind} from '../evidence/device-kinds.js'
import {decodeEvidence} from '../evidence/index.js'
import {
  gatherNvidiaFacts,
  offlineNvidiaCheck,
  recordNvidiaFacts,
  type NvidiaCheckPolicy,
  type NvidiaFacts,
  type RecordedNvidiaFacts,
} from '../hw/nvidia/full-check.js'
import {OCSP_SKEW_MS} from '../hw/nvidia/ocsp.js'
import {nvidiaEvidenceInput, rootFingerprints} from '../hw/nvidia/verify-evidence.js'
import {hexToBytes} from '../util/hex.js'

/** The part of the verifier's policy (decide.ts VerifierPolicy extends it) the NVIDIA check reads. */
export interface NvidiaVerifierPolicy {
  /** Extra NVIDIA roots (the profile's trustRoots.nvidia); the NVIDIA Device Identity CA is built in. */
  nvidiaRoots?: Array<string | Uint8Array>
  /** The NVIDIA full check's policy (OCSP mode and responder, requireCc, rimDir, roots); absent: the strict one. */
  nvidia?: NvidiaCheckPolicy
}

export interface RegistrationFacts {
  nvidia?: NvidiaFacts
}

/** Facts as the decision record keeps them. */
export interface RecordedFacts {
  nvidia?: RecordedNvidiaFacts
}

export interface GatherFactsOptions {
  /** When certificates are judged: the registration block's time. */
  now: Date
  /** Per OCSP request. */
  timeoutMs?: number
  /** The audit: OCSP answers from the decision record instead of the responder (none recorded: none at all). */
  recorded?: RecordedFacts
  /** The audit: the decision's block time; answers asked after it (plus the OCSP skew) are refused. */
  decidedAt?: Date
}

/**
 * What a registration's OCSP nonces are bound to: its id and its block's hash. The hash does not exist
 * before the block, so a responder's answer echoing such a nonce was asked after the registration was
 * made, and for it alone: an older "good" answer, or one asked for another registration, cannot be
 * recorded in its place. No cache is used then (a cached answer echoes another request's nonce).
 */
export function registrationBinding(reg: Pick<Registration, 'regId' | 'blockHash'>): Uint8Array {
  return new Uint8Array([...hexToBytes(reg.regId), ...hexToBytes(reg.blockHash)])
}

/** The profile's NVIDIA full-check policy with its trust roots, as the decision applies it. */
export function nvidiaCheckOf(policy: NvidiaVerifierPolicy): NvidiaCheckPolicy {
  const nvidia: NvidiaCheckPolicy = policy.nvidia ?? STRICT_NVIDIA_POLICY
  return {...nvidia, extraRootFingerprints: [...(nvidia.extraRootFingerprints ?? []), ...rootFingerprints(policy.nvidiaRoots)]}
}

export async function gatherRegistrationFacts(reg: Registration, policy: NvidiaVerifierPolicy, options: GatherFactsOptions): Promise<RegistrationFacts> {
  if (reg.kind !== DeviceKind.P384 || reg.evidence.length === 0) return {}
  let input
  try {
    input = nvidiaEvidenceInput(decodeEvidence(reg.evidence), options.now)
  } catch {
    return {} // evidence that does not decode is rejected by the decision; there is nothing to ask about
  }
  if ('problem' in input) return {}
  const check = nvidiaCheckOf(policy)
  let offline
  try {
    offline = offlineNvidiaCheck(input, check)
  } catch {
    return {} // a report that does not even parse is rejected by the decision (the same check); there is nothing to ask about
  }
  // what fails from here on is the verifier's own (a RIM directory it cannot read): thrown, so the registration is retried
  const nvidia = await gatherNvidiaFacts(
    input,
    check,
    {
      timeoutMs: options.timeoutMs,
      recordedOcsp: options.recorded ? (options.recorded.nvidia?.ocsp ?? {}) : undefined,
      binding: registrationBinding(reg),
      notAfter: options.decidedAt && new Date(options.decidedAt.getTime() + OCSP_SKEW_MS),
    },
    offline,
  )
  return {nvidia}
}

export function recordFacts(facts: RegistrationFacts): RecordedFacts | undefined {
  return facts.nvidia ? {nvidia: recordNvidiaFacts(facts.nvidia)} : undefined
}
