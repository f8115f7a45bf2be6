/**
 * The devnet verifier's judgement of one registration, with the same code as `unet verify`
 * (verifyEvidence from src/verifier/verify-evidence.ts): approve with the devnet power of the device
 * kind, or reject with the reasons. A decision is a pure function of chain data (the event, the chain
 * id, the contract address, the registration block's timestamp as "now") plus the policy below and the
 * profile's trust roots, so anyone can recompute it. The polling loop that acts on it is service.ts.
 */
import type {Registration} from '../chain/registrations.js'
import {DEVICE_KIND_NAMES, DeviceKind} from '../evidence/device-kinds.js'
import {decodeEvidence, evidenceDigestHex, registerChallenge, type Evidence, type EvidenceKind} from '../evidence/index.js'
import {verifyEvidence} from './verify-evidence.js'

/** Devnet power per device kind (the production verifier would derive it from the model in the evidence). */
export const DEVNET_POWER: Record<number, bigint> = {
  [DeviceKind.HOST_TPM]: 10n,
  [DeviceKind.HOST_EMULATOR]: 1n,
  [DeviceKind.P256]: 100n,
  [DeviceKind.SECP256K1]: 100n,
  [DeviceKind.RSA2048]: 50n,
  [DeviceKind.P384]: 300n,
  [DeviceKind.EMULATOR]: 5n,
}

/** Which evidence kind a device kind must present (undefined: the on-chain proof of possession is all there is). */
const EVIDENCE_FOR_KIND: Record<number, EvidenceKind | undefined> = {
  [DeviceKind.HOST_TPM]: 'tpm2',
  [DeviceKind.HOST_EMULATOR]: 'emulator',
  [DeviceKind.RSA2048]: 'sophgo',
  [DeviceKind.P384]: 'nvidia-cc',
}

export interface DecideContext {
  chainId: bigint
  contract: string
  allowEmulator: boolean
  tpmRoots: Array<string | Uint8Array>
  nvidiaRoots?: Array<string | Uint8Array>
  /** Timestamp of the registration block (certificate validity is judged at that time). */
  now: Date
}

export interface VerifierDecision {
  deviceId: string
  txHash: string
  kind: string
  approve: boolean
  power: bigint
  reasons: string[]
  warnings: string[]
  evidenceDigest?: string
}

/** Pure: the verdict on one registration. The one place the devnet calls the evidence verifier. */
export function decideRegistration(reg: Registration, ctx: DecideContext): VerifierDecision {
  const base = {deviceId: reg.deviceId, txHash: reg.txHash, kind: DEVICE_KIND_NAMES[reg.kind] ?? String(reg.kind), power: DEVNET_POWER[reg.kind] ?? 0n}
  const reasons: string[] = []
  const warnings: string[] = []
  const wanted = EVIDENCE_FOR_KIND[reg.kind]
  if ((reg.kind === DeviceKind.HOST_EMULATOR || reg.kind === DeviceKind.EMULATOR) && !ctx.allowEmulator) reasons.push('emulator devices are refused on this network')
  if (reg.evidence.length === 0) {
    if (wanted) reasons.push(`a ${base.kind} registration must carry ${wanted} evidence`)
    else warnings.push('no evidence attached: approved on the proof of possession the contract verified')
    return {...base, approve: reasons.length === 0, reasons, warnings}
  }
  let evidence: Evidence
  try {
    evidence = decodeEvidence(reg.evidence)
  } catch (error) {
    return {...base, approve: false, reasons: [`evidence does not decode: ${(error as Error).message}`], warnings}
  }
  const evidenceDigest = evidenceDigestHex(evidence)
  if (wanted && evidence.kind !== wanted) reasons.push(`evidence kind ${evidence.kind} does not fit device kind ${base.kind} (expected ${wanted})`)
  const challenge = registerChallenge({chainId: ctx.chainId, contract: ctx.contract, operator: reg.operator, payout: reg.payout, deviceId: reg.deviceId})
  const result = verifyEvidence(evidence, {
    network: 'devnet',
    allowEmulator: ctx.allowEmulator,
    tpmRoots: ctx.tpmRoots,
    nvidiaRoots: ctx.nvidiaRoots,
    expected: {challenge},
    now: ctx.now,
  })
  if (result.deviceId.toLowerCase() !== reg.deviceId.toLowerCase()) reasons.push(`evidence is about device ${result.deviceId}, not ${reg.deviceId}`)
  reasons.push(...result.reasons)
  warnings.push(...result.warnings)
  return {...base, approve: reasons.length === 0, reasons, warnings, evidenceDigest}
}
