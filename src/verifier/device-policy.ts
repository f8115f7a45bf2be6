/**
 * The verifier's policy for accelerator registrations (device kinds 3..7): which keys count as real
 * hardware on a network, and what each kind must prove. Pure: a function of the registration's kind,
 * its evidence, the registration challenge and the profile's trust (docs/devices.md §Device policy).
 * - p256 / secp256k1: no vendor root exists for such keys, so they are software keys: refused unless
 *   allowEmulator (devnet).
 * - rsa2048 (Sophgo): the chip signs the registration challenge, and its key is listed in a chip
 *   catalogue that verifies under a key the profile pins; the model comes from the catalogue.
 * - p384 (NVIDIA CC): an NVIDIA-rooted attestation report over the registration challenge, signed by
 *   the registered key: proof of possession, so nobody registers a GPU key without the GPU; the chain's
 *   device identity certificate gives the chip id Poci binds to one active device, the chain's
 *   architecture and the report's signed CHIP_SKU give the model. Then the rest of the NVIDIA full
 *   check (src/hw/nvidia/full-check.ts) under the profile's policy: RIM golden measurements, OCSP of
 *   the GPU and RIM chains, CC mode on and DevTools off where required — judged from facts (RIM files,
 *   OCSP answers) gathered before the decision (src/verifier/facts.ts), so it stays pure.
 * The model is what the power table rates (src/evidence/power-table.ts, applied in decide.ts).
 * - emulator: refused unless allowEmulator.
 */
import type {KeyObject} from 'node:crypto'

import {STRICT_NVIDIA_POLICY} from '../config/schema.js'
import {DEVICE_KIND_NAMES, DeviceKind} from '../evidence/device-kinds.js'
import {evidenceDeviceId, type AcceleratorEvidence, type Evidence, type EvidenceKind} from '../evidence/format.js'
import {verifyEvidenceWith, type KindVerifier} from '../evidence/verify.js'
import {nvidiaAttestedModel} from '../hw/nvidia/attested-model.js'
import {chipIdentity} from '../hw/nvidia/chip-identity.js'
import type {NvidiaCheckPolicy, NvidiaFacts} from '../hw/nvidia/full-check.js'
import {nvidiaEvidenceVerifier, type NvidiaKindResult} from '../hw/nvidia/verify-evidence.js'
import {lookupChip, verifyCatalogue, type SophgoCatalogue} from '../hw/sophgo/catalogue.js'
import {verifySophgoEvidence} from '../hw/sophgo/verify-evidence.js'
import {parseCertificate} from '../util/x509.js'

export interface DevicePolicyContext {
  /** Network profile name (for messages). */
  network: string
  /** The profile's allowEmulator (devnet): software keys and emulator devices are accepted. */
  allowEmulator: boolean
  /** The registration's deviceId (keccak256 of the registered key, 0x-hex): the evidence must be about it. */
  deviceId: string
  /** The registration challenge (registerChallenge of the registration): what the device must sign. */
  registerChallenge: Uint8Array
  /** The profile's Sophgo chip catalogue (src/hw/sophgo/catalogue-files.ts loadSophgoTrust). */
  sophgoCatalogue?: SophgoCatalogue
  /** The profile's pinned catalogue keys (PEM text or KeyObjects). */
  sophgoCatalogueKeys?: ReadonlyArray<string | KeyObject>
  /** Extra NVIDIA roots (the profile's trustRoots.nvidia); the NVIDIA Device Identity CA is built in. */
  nvidiaRoots?: Array<string | Uint8Array>
  /** When certificates are judged (the registration block's time). */
  now?: Date
  /** The NVIDIA full-check policy (the profile's nvidia.*); absent: the strict one (OCSP enforced, CC required). */
  nvidia?: NvidiaCheckPolicy
  /** RIMs and OCSP answers gathered for this registration (absent: none, so OCSP is not-checked). */
  nvidiaFacts?: NvidiaFacts
}

const POSSESSION = 'the P-384 key did not prove possession (an NVIDIA-rooted report over the registration challenge, signed by the key)'

export interface DevicePolicyResult {
  /** Why the registration is refused (empty: the policy accepts it). */
  reasons: string[]
  warnings: string[]
  /** The model the evidence proves, where the policy accepted it: what the power table rates. */
  model?: AttestedModel
  /** NVIDIA: the physical chip's id (src/hw/nvidia/chip-identity.ts), bound by Poci to one active device. */
  chipId?: string
}

/** NVIDIA: the chain's architecture and the report's signed CHIP_SKU; Sophgo: the signed catalogue's model. */
export type AttestedModel = {vendor: 'nvidia'; architecture: string; chipSku?: string} | {vendor: 'sophgo'; chip: string}

const kindName = (kind: number) => DEVICE_KIND_NAMES[kind] ?? `kind ${kind}`

/** The evidence of `want` kind, about ctx.deviceId, over exactly the registration challenge, verified by `verifier`. */
function possession(kind: number, evidence: Evidence | undefined, want: EvidenceKind, verifier: KindVerifier, ctx: DevicePolicyContext): DevicePolicyResult {
  if (!evidence) return {reasons: [`a ${kindName(kind)} registration must carry ${want} evidence over the registration challenge`], warnings: []}
  if (evidence.kind !== want) return {reasons: [`evidence kind ${evidence.kind} does not fit device kind ${kindName(kind)} (expected ${want})`], warnings: []}
  const reasons: string[] = []
  const about = evidenceDeviceId(evidence)
  if (about !== ctx.deviceId.toLowerCase()) reasons.push(`evidence is about device ${about}, not ${ctx.deviceId}`)
  const r = verifyEvidenceWith({[want]: verifier}, evidence, {
    network: ctx.network,
    allowEmulator: ctx.allowEmulator,
    tpmRoots: [],
    nvidiaRoots: ctx.nvidiaRoots,
    expected: {challenge: ctx.registerChallenge, qualifyingData: ctx.registerChallenge},
    now: ctx.now,
  })
  reasons.push(...r.reasons)
  return {reasons, warnings: r.warnings}
}

function sophgoChip(evidence: Evidence | undefined, ctx: DevicePolicyContext): DevicePolicyResult {
  const signed = possession(DeviceKind.RSA2048, evidence, 'sophgo', verifySophgoEvidence, ctx)
  const reasons = signed.reasons.length > 0 ? ['the chip did not sign the registration challenge', ...signed.reasons] : []
  const catalogue = ctx.sophgoCatalogue
  if (!catalogue)
    return {
      reasons: [...reasons, `no Sophgo chip catalogue is pinned on ${ctx.network} (sophgoCatalogue): Sophgo chips are refused`],
      warnings: signed.warnings,
    }
  const untrusted = verifyCatalogue(catalogue, ctx.sophgoCatalogueKeys ?? [])
  if (untrusted.length > 0)
    return {reasons: [...reasons, `the Sophgo chip catalogue of "${catalogue.issuer}" is not trusted: ${untrusted.join('; ')}`], warnings: signed.warnings}
  const chip = lookupChip(catalogue, ctx.deviceId)
  if (!chip)
    return {reasons: [...reasons, `chip ${ctx.deviceId} is not listed in the Sophgo chip catalogue of "${catalogue.issuer}"`], warnings: signed.warnings}
  return {reasons, warnings: signed.warnings, model: {vendor: 'sophgo', chip: chip.model}}
}

function nvidiaKey(evidence: Evidence | undefined, ctx: DevicePolicyContext): DevicePolicyResult {
  const check = nvidiaEvidenceVerifier(ctx.nvidia ?? STRICT_NVIDIA_POLICY, ctx.nvidiaFacts)
  let checked: NvidiaKindResult | undefined
  const r = possession(DeviceKind.P384, evidence, 'nvidia-cc', (e, c) => (checked = check(e, c)), ctx)
  if (r.reasons.length === 0) {
    // the chain verified to an NVIDIA root, so its device identity certificate names the physical chip
    const certs = evidence!.device.certChain.map((der) => parseCertificate(der))
    const chip = chipIdentity(certs)
    if (!chip) return {reasons: ['the certificate chain has no device identity certificate: the chip cannot be bound'], warnings: r.warnings}
    // and the report it signed says which SKU the chip is (never report.fields: those are unsigned)
    const model = nvidiaAttestedModel((evidence as AcceleratorEvidence).report.body, certs)
    return {...r, chipId: chip.chipId, ...(model ? {model: {vendor: 'nvidia', architecture: model.architecture, chipSku: model.chipSku}} : {})}
  }
  // say whether possession itself failed (the evidence's binding, or the check's offline part), or the
  // key proved it and the rest of the check (OCSP, RIMs, CC policy) refused it
  const possessed = checked !== undefined && checked.possession && r.reasons.length === checked.reasons.length
  return {reasons: possessed ? r.reasons : [POSSESSION, ...r.reasons], warnings: r.warnings}
}

export function devicePolicy(kind: number, evidence: Evidence | undefined, ctx: DevicePolicyContext): DevicePolicyResult {
  switch (kind) {
    case DeviceKind.P256:
    case DeviceKind.SECP256K1:
      if (!ctx.allowEmulator)
        return {reasons: [`software keys are not accelerators on ${ctx.network}: no vendor root exists for ${kindName(kind)} device keys`], warnings: []}
      return {
        reasons: [],
        warnings: [`${kindName(kind)}: a software key, accepted on the contract's proof of possession only because ${ctx.network} allows emulators`],
      }
    case DeviceKind.EMULATOR:
      if (!ctx.allowEmulator) return {reasons: [`emulator devices are refused on ${ctx.network} (allowEmulator is false)`], warnings: []}
      return {reasons: [], warnings: ['emulator device: accepted only because allowEmulator is true']}
    case DeviceKind.RSA2048:
      return sophgoChip(evidence, ctx)
    case DeviceKind.P384:
      return nvidiaKey(evidence, ctx)
    case DeviceKind.HOST_TPM:
    case DeviceKind.HOST_EMULATOR:
      return {reasons: [`${kindName(kind)} is a host kind: the host policy judges it, not devicePolicy`], warnings: []}
    default:
      return {reasons: [`device kind ${kind} is unknown to this version of unet`], warnings: []}
  }
}
