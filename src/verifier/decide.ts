/**
 * The verifier's judgement of one registration: approve with the power the power table gives the model
 * the evidence proves (src/evidence/power-table.ts: hosts and devnet kinds by kind), or reject with the
 * reasons. A decision is a pure function of chain data (the Registered event, the chain id, the contract
 * address, the registration block's timestamp as "now") plus the profile's policy and trust roots, so
 * anyone can recompute it (`unet verifier audit`). What the decision needs from outside the chain — for
 * p384 the RIM files and the OCSP answers — is gathered before (facts.ts) and passed in, and recorded with
 * the decision, so the audit recomputes from the recorded answers. Hosts are judged by verifyEvidence (the
 * code `unet verify` runs), accelerators by devicePolicy. The loop that acts on decisions is service.ts.
 */
import type {KeyObject} from 'node:crypto'

import {keccak_256} from '@noble/hashes/sha3.js'

import type {Registration} from '../chain/registrations.js'
import {DEVICE_KIND_NAMES, DeviceKind} from '../evidence/device-kinds.js'
import {decodeEvidence, evidenceDigestHex, isHostEvidence, registerChallenge, type Evidence} from '../evidence/index.js'
import {CONTRACT_MAX_POWER, kindPower, nvidiaPower, sophgoPower, type PowerRating} from '../evidence/power-table.js'
import {ekAttributeReasons} from '../hw/tpm2/activation.js'
import type {SophgoCatalogue} from '../hw/sophgo/catalogue.js'
import {parseTpm2bPublic} from '../hw/tpm2/structures.js'
import {bytesToHex} from '../util/hex.js'
import {devicePolicy, type AttestedModel} from './device-policy.js'
import {nvidiaCheckOf, recordFacts, type NvidiaVerifierPolicy, type RecordedFacts, type RegistrationFacts} from './facts.js'
import {verifyEvidence} from './verify-evidence.js'

/** The profile's part of a decision: what is genuine on this network. */
export interface VerifierPolicy extends NvidiaVerifierPolicy {
  network: string
  allowEmulator: boolean
  /** Trusted TPM EK roots and vendor intermediates (PEM text or DER). */
  tpmRoots: Array<string | Uint8Array>
  /** The profile's EK policy switch: cloud vTPM chains accepted (by default the devnet alone). */
  allowCloudVtpm?: boolean
  sophgoCatalogue?: SophgoCatalogue
  sophgoCatalogueKeys?: ReadonlyArray<string | KeyObject>
}

export interface DecideContext extends VerifierPolicy {
  chainId: bigint
  contract: string
  /** Timestamp of the registration block (certificate validity is judged at that time). */
  now: Date
}

export interface VerifierDecision {
  regId: string
  deviceId: string
  /** The registration's transaction. */
  txHash: string
  kind: string
  approve: boolean
  power: bigint
  /** The model the power was read for (e.g. "NVIDIA H100 SXM5", "host-tpm"); absent when nothing was proven. */
  model?: string
  /** Why this power: the table row, the family floor, or the kind (power-table.ts PowerRating.note). */
  powerNote?: string
  reasons: string[]
  warnings: string[]
  evidenceDigest?: string
  /** host-tpm: keccak256 of the EK's TPM2B_PUBLIC as the evidence carries it (Poci's identityId for hosts). */
  ekId?: string
  /** p384 (NVIDIA): the chip id from the device identity certificate (Poci's identityId for NVIDIA devices). */
  chipId?: string
  /** host-tpm approvals: the credential challenge must be answered first; MakeCredential's inputs (0x-hex TPM2B_PUBLIC). */
  needsActivation?: {ekPublic: string; akPublic: string}
  /** The facts judged (p384: OCSP answers, RIM digests), to be recorded so the audit can recompute. */
  facts?: RecordedFacts
}

const kindName = (kind: number) => DEVICE_KIND_NAMES[kind] ?? String(kind)
const isHostKind = (kind: number) => kind === DeviceKind.HOST_TPM || kind === DeviceKind.HOST_EMULATOR

/** The power table's rating of what a device policy proved (p384 and rsa2048 by model, the other kinds by kind). */
function ratingOf(kind: number, model: AttestedModel | undefined): PowerRating | undefined {
  if (model?.vendor === 'nvidia' && kind === DeviceKind.P384) return nvidiaPower(model.architecture, model.chipSku)
  if (model?.vendor === 'sophgo' && kind === DeviceKind.RSA2048) return sophgoPower(model.chip)
  return kindPower(kind)
}

/**
 * The decision on these reasons and warnings: the rating's power (by kind unless a model was proven), refused
 * without power or above the contract's cap; approved only when no reason is left.
 */
function decision(
  reg: Registration,
  reasons: string[],
  warnings: string[],
  extra: Partial<VerifierDecision> = {},
  rating: PowerRating | undefined = kindPower(reg.kind),
): VerifierDecision {
  const base = {regId: reg.regId, deviceId: reg.deviceId, txHash: reg.txHash, kind: kindName(reg.kind)}
  const power = rating?.power ?? 0n
  if (reasons.length === 0 && power === 0n)
    reasons = [rating ? `no power: ${rating.note}` : `no power is defined for device kind ${base.kind} without a proven model`]
  if (power > (CONTRACT_MAX_POWER[reg.kind] ?? 0n)) reasons = [...reasons, `power ${power} (${rating!.model}) is above the contract's cap for ${base.kind}`]
  // a floor under-credits a part the table cannot name: say so, so the table learns the SKU
  if (reasons.length === 0 && rating?.basis === 'floor') warnings = [...warnings, rating.note]
  const approve = reasons.length === 0
  // a refused registration has no credential challenge to answer
  if (!approve) delete extra.needsActivation
  const named = rating ? {model: rating.model, powerNote: rating.note} : {}
  return {...base, power, ...named, ...extra, approve, reasons, warnings}
}

/** Pure: the verdict on one registration, from chain data, the policy and the facts gathered for it. */
export function decideRegistration(reg: Registration, ctx: DecideContext, facts: RegistrationFacts = {}): VerifierDecision {
  const decoded = decodedEvidence(reg)
  if ('reason' in decoded) return decision(reg, [decoded.reason], [])
  const {evidence} = decoded
  const evidenceDigest = evidence ? evidenceDigestHex(evidence) : undefined
  const challenge = challengeOf(reg, ctx)
  if (!isHostKind(reg.kind)) return acceleratorDecision(reg, evidence, challenge, ctx, facts, evidenceDigest)
  return hostDecision(reg, evidence, challenge, ctx, evidenceDigest)
}

/** The registration's evidence (none when it carries none), or why it does not decode. */
function decodedEvidence(reg: Registration): {evidence: Evidence | undefined} | {reason: string} {
  if (reg.evidence.length === 0) return {evidence: undefined}
  try {
    return {evidence: decodeEvidence(reg.evidence)}
  } catch (error) {
    return {reason: `evidence does not decode: ${(error as Error).message}`}
  }
}

/** The challenge the evidence must answer: it binds the registration's chain, contract, parties, device and nonce. */
function challengeOf(reg: Registration, ctx: DecideContext): Uint8Array {
  return registerChallenge({
    chainId: ctx.chainId,
    contract: ctx.contract,
    operator: reg.operator,
    payout: reg.payout,
    deviceId: reg.deviceId,
    hostId: reg.hostId,
    nonce: reg.nonce,
  })
}

/** An accelerator is judged by its kind's device policy and rated by the model that policy proved. */
function acceleratorDecision(
  reg: Registration,
  evidence: Evidence | undefined,
  challenge: Uint8Array,
  ctx: DecideContext,
  facts: RegistrationFacts,
  evidenceDigest: string | undefined,
): VerifierDecision {
  const r = devicePolicy(reg.kind, evidence, {
    network: ctx.network,
    allowEmulator: ctx.allowEmulator,
    deviceId: reg.deviceId,
    registerChallenge: challenge,
    sophgoCatalogue: ctx.sophgoCatalogue,
    sophgoCatalogueKeys: ctx.sophgoCatalogueKeys,
    // the roots as fingerprints, merged once into the check's policy
    nvidia: nvidiaCheckOf(ctx),
    nvidiaFacts: facts.nvidia,
    now: ctx.now,
  })
  const recorded = recordFacts(facts)
  const extra = {evidenceDigest, ...(r.chipId ? {chipId: r.chipId} : {}), ...(recorded ? {facts: recorded} : {})}
  return decision(reg, r.reasons, r.warnings, extra, ratingOf(reg.kind, r.model))
}

function hostDecision(
  reg: Registration,
  evidence: Evidence | undefined,
  challenge: Uint8Array,
  ctx: DecideContext,
  evidenceDigest: string | undefined,
): VerifierDecision {
  const wanted = reg.kind === DeviceKind.HOST_TPM ? 'tpm2' : 'emulator'
  if (reg.kind === DeviceKind.HOST_EMULATOR && !ctx.allowEmulator)
    return decision(reg, [`emulator hosts are refused on ${ctx.network} (allowEmulator is false)`], [])
  if (!evidence) return decision(reg, [`a ${kindName(reg.kind)} registration must carry ${wanted} evidence`], [])
  if (evidence.kind !== wanted)
    return decision(reg, [`evidence kind ${evidence.kind} does not fit device kind ${kindName(reg.kind)} (expected ${wanted})`], [], {evidenceDigest})
  const reasons: string[] = []
  const result = verifyEvidence(evidence, {
    network: ctx.network,
    allowEmulator: ctx.allowEmulator,
    tpmRoots: ctx.tpmRoots,
    allowCloudVtpm: ctx.allowCloudVtpm,
    expected: {challenge},
    now: ctx.now,
  })
  if (result.deviceId.toLowerCase() !== reg.deviceId.toLowerCase()) reasons.push(`evidence is about device ${result.deviceId}, not ${reg.deviceId}`)
  reasons.push(...result.reasons)
  const warnings = [...result.warnings]
  if (reg.kind !== DeviceKind.HOST_TPM || !isHostEvidence(evidence)) return decision(reg, reasons, warnings, {evidenceDigest})

  // host-tpm: the AK↔EK binding is proven by credential activation, which needs the EK and AK publics
  const {ekPublic, akPublic} = evidence.device
  if (!ekPublic || !akPublic) {
    const missing = 'tpm2 evidence must carry device.ekPublic and device.akPublic: credential activation is impossible without them'
    return decision(reg, [...reasons, missing], warnings, {evidenceDigest})
  }
  try {
    reasons.push(...ekAttributeReasons(parseTpm2bPublic(ekPublic)))
  } catch (error) {
    reasons.push(`device.ekPublic does not parse: ${(error as Error).message}`)
  }
  const ekId = bytesToHex(keccak_256(ekPublic))
  return decision(reg, reasons, warnings, {evidenceDigest, ekId, needsActivation: {ekPublic: bytesToHex(ekPublic), akPublic: bytesToHex(akPublic)}})
}
