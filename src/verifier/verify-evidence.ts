/**
 * verifyEvidence(): the one entry point of a validator's evidence checks, called by `unet verify` and
 * decideRegistration (decide.ts: the verifier service, also the devnet's). Binds each evidence kind to
 * its pure verifier (BUILTIN_VERIFIERS: tpm2 and emulator here, nvidia-cc and sophgo from
 * hw/<vendor>/verify-evidence.ts; a KindVerifier returns {reasons, warnings}). The agent's self-check
 * does not run it: docs/architecture.md says what that runs.
 */
import {isHostEvidence, rawKeyMatches, type Evidence} from '../evidence/index.js'
import {verifyEvidenceWith, type KindVerifier, type VerifyContext, type VerifyResult} from '../evidence/verify.js'
import {emulatorIdentityReasons} from '../hw/emulator/verify.js'
import {verifyNvidiaEvidence} from '../hw/nvidia/verify-evidence.js'
import {verifySophgoEvidence} from '../hw/sophgo/verify-evidence.js'
import {parseTpm2bPublic, rawPublicKey} from '../hw/tpm2/structures.js'
import {verifyEkChain, verifyQuote} from '../hw/tpm2/verify.js'

/** tpm2 and emulator evidence: the quote, the AK, and the identity (EK chain / emulator root). */
const verifyHostEvidence: KindVerifier = (evidence: Evidence, context: VerifyContext) => {
  if (!isHostEvidence(evidence)) return {reasons: ['not host evidence']}
  const reasons: string[] = []
  const warnings: string[] = []
  const ak = evidence.device.akPublic
  if (!ak) return {reasons: ['device.akPublic is missing']}
  try {
    if (!rawKeyMatches(rawPublicKey(parseTpm2bPublic(ak)), evidence.device.publicKey)) reasons.push('device.publicKey is not the AK public key')
    const q = verifyQuote(
      {tpm2bPublic: ak},
      {
        attest: evidence.quote.attest,
        signature: evidence.quote.signature,
        expectedExtraData: evidence.nonce.qualifyingData,
        pcrs: evidence.quote.pcrs.values,
        previous: context.previous,
      },
    )
    reasons.push(...q.reasons)
  } catch (error) {
    reasons.push((error as Error).message)
    return {reasons}
  }
  if (evidence.kind === 'emulator') reasons.push(...emulatorIdentityReasons(evidence.device.certChain, ak, context.now))
  else {
    reasons.push(
      ...verifyEkChain({
        chain: evidence.device.certChain,
        trusted: context.tpmRoots,
        ekPublic: evidence.device.ekPublic,
        now: context.now,
        policy: {allowCloudVtpm: context.allowCloudVtpm},
      }),
    )
    warnings.push('AK↔EK binding is proven by credential activation at registration, not by this evidence')
  }
  return {reasons, warnings}
}

const BUILTIN_VERIFIERS: Partial<Record<Evidence['kind'], KindVerifier>> = {
  tpm2: verifyHostEvidence,
  emulator: verifyHostEvidence,
  'nvidia-cc': verifyNvidiaEvidence,
  sophgo: verifySophgoEvidence,
}

export function verifyEvidence(evidence: Evidence, context: VerifyContext): VerifyResult {
  return verifyEvidenceWith(BUILTIN_VERIFIERS, evidence, context)
}

export type {VerifyContext, VerifyResult} from '../evidence/verify.js'
