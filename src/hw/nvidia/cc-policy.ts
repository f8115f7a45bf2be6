import type {DecodedOpaque} from './opaque.js'

/**
 * Policy on an NVIDIA report's signed opaque data: CC mode on, DevTools off, and the multi-GPU mode
 * (SPT / MPT / PPCIE) consistent. What the signed report says, as NVIDIA's verifiers read it
 * (nvtrust local_gpu_verifier spdm_msrt_resp_msg.py and cc_admin.py; attestation-sdk gpu/evidence.cpp
 * and verify.cpp), and what it does not:
 *  - FEATURE_FLAG (opaque field 36, little-endian, present from OPAQUE_DATA_VERSION 1): 2 = PPCIE
 *    (protected PCIe: CC mode is off, the two are exclusive); 0 and 1 are the single- and multi-GPU
 *    passthrough CC modes, SPT and MPT. NVIDIA's Python verifier reads 0 = SPT, 1 = MPT, its C++ SDK
 *    0 = MPT, 1 = SPT: unet reports the number and only compares numbers.
 *  - PROTECTED_PCIE_STATUS (field 21, one byte): NVIDIA's verifiers parse it but check nothing; unet
 *    reads it with NVIDIA's convention for such status bytes (0xAA enabled, 0x55 disabled, as for
 *    NVDEC0_STATUS, field 11) and requires it to agree with FEATURE_FLAG.
 *  - DevTools mode is in no field: NVIDIA's verifiers read it from NVML (nvmlSystemGetConfComputeSettings,
 *    unsigned, host-reported). NVIDIA's verifier expects attestation to fail in DevTools mode (it then
 *    sets the GPU ready anyway) and its SDK claims dbgstat "disabled" only when every golden
 *    measurement matches the RIMs: so DevTools off is proven only by a RIM measurement match.
 * Pure; no I/O.
 */
const FIELD = {NVDEC0_STATUS: 11, PROTECTED_PCIE_STATUS: 21, OPAQUE_DATA_VERSION: 34, FEATURE_FLAG: 36} as const
const STATUS_ENABLED = 0xaa
const STATUS_DISABLED = 0x55
const FEATURE_FLAG_PPCIE = 2

export type PolicyStatus = 'pass' | 'fail' | 'not-checked'
export interface PolicyCheck {
  status: PolicyStatus
  detail: string
}

export interface CcPolicyResult {
  /** False when requireCc is set and a check is not `pass`. */
  ok: boolean
  requireCc: boolean
  reasons: string[]
  /** Signed mode fields as read (absent when the report has no such field). */
  featureFlag?: number
  opaqueDataVersion?: number
  protectedPcieStatus?: number
  ccMode: PolicyCheck
  devtools: PolicyCheck
  protectedPcie: PolicyCheck
}

export interface CcPolicyInput {
  opaque: DecodedOpaque
  requireCc: boolean
  /** The RIM golden-measurement comparison, when one was made. */
  measurements?: 'match' | 'mismatch' | 'not-checked'
}

/** A little-endian field of up to 8 bytes (NVIDIA's SDK takes at most 8); an empty or longer one reads as -1, which no check accepts. */
function littleEndian(v: Uint8Array | undefined): number | undefined {
  if (!v) return undefined
  if (v.length === 0 || v.length > 8) return -1
  let n = 0n
  for (let i = v.length - 1; i >= 0; i--) n = n * 256n + BigInt(v[i]!)
  return Number(n)
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, '0')}`

/** The signed mode fields of one report. */
function reportMode(opaque: DecodedOpaque): {featureFlag?: number; opaqueDataVersion?: number; protectedPcieStatus?: number} {
  const get = (t: number) => opaque.fields.find((f) => f.type === t)?.value
  const pcie = get(FIELD.PROTECTED_PCIE_STATUS)
  return {
    featureFlag: littleEndian(get(FIELD.FEATURE_FLAG)),
    opaqueDataVersion: littleEndian(get(FIELD.OPAQUE_DATA_VERSION)),
    protectedPcieStatus: pcie && pcie.length >= 1 ? pcie[0] : undefined,
  }
}

/** The report is in protected-PCIe mode: FEATURE_FLAG 2, or (older firmware, no FEATURE_FLAG) PROTECTED_PCIE_STATUS 0xAA. */
export function isPpcieMode(opaque: DecodedOpaque): boolean {
  const mode = reportMode(opaque)
  return mode.featureFlag === undefined ? mode.protectedPcieStatus === STATUS_ENABLED : mode.featureFlag === FEATURE_FLAG_PPCIE
}

function ccModeCheck(flag: number | undefined, pcie: number | undefined): PolicyCheck {
  if (flag === FEATURE_FLAG_PPCIE) return {status: 'fail', detail: 'FEATURE_FLAG 2 (PPCIE): protected-PCIe mode, CC mode off'}
  if (flag === 0 || flag === 1) return {status: 'pass', detail: `FEATURE_FLAG ${flag} (SPT/MPT): CC mode on`}
  if (flag !== undefined) return {status: 'fail', detail: `FEATURE_FLAG ${flag} is no mode NVIDIA defines`}
  if (pcie === STATUS_ENABLED) return {status: 'fail', detail: 'PROTECTED_PCIE_STATUS 0xAA (enabled): protected-PCIe mode, CC mode off'}
  if (pcie === STATUS_DISABLED)
    return {
      status: 'pass',
      detail: 'no FEATURE_FLAG (older firmware), PROTECTED_PCIE_STATUS 0x55 (disabled): the GPU signs reports only in CC or PPCIE mode, so CC',
    }
  return {status: 'not-checked', detail: 'the report carries neither FEATURE_FLAG nor PROTECTED_PCIE_STATUS: the mode is not attested'}
}

function protectedPcieCheck(flag: number | undefined, pcie: number | undefined): PolicyCheck {
  if (pcie === undefined) return {status: flag === undefined ? 'not-checked' : 'pass', detail: 'no PROTECTED_PCIE_STATUS field'}
  if (pcie !== STATUS_ENABLED && pcie !== STATUS_DISABLED) return {status: 'fail', detail: `PROTECTED_PCIE_STATUS ${hex(pcie)} is neither 0xAA nor 0x55`}
  if (flag === undefined) return {status: 'pass', detail: `PROTECTED_PCIE_STATUS ${hex(pcie)}, no FEATURE_FLAG to compare`}
  const ppcie = flag === FEATURE_FLAG_PPCIE
  if (ppcie !== (pcie === STATUS_ENABLED))
    return {
      status: 'fail',
      detail: `FEATURE_FLAG ${flag} and PROTECTED_PCIE_STATUS ${hex(pcie)} disagree (protected PCIe ${ppcie ? 'mode without status' : 'status without mode'})`,
    }
  return {status: 'pass', detail: `FEATURE_FLAG ${flag} agrees with PROTECTED_PCIE_STATUS ${hex(pcie)}`}
}

function devtoolsCheck(measurements: CcPolicyInput['measurements']): PolicyCheck {
  if (measurements === 'match') return {status: 'pass', detail: 'every golden measurement matches the RIMs, which DevTools mode does not'}
  if (measurements === 'mismatch') return {status: 'fail', detail: 'measurements differ from the RIMs (DevTools mode or other firmware)'}
  return {status: 'not-checked', detail: 'DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off'}
}

export function checkCcPolicy(input: CcPolicyInput): CcPolicyResult {
  const mode = reportMode(input.opaque)
  const ccMode = ccModeCheck(mode.featureFlag, mode.protectedPcieStatus)
  const protectedPcie = protectedPcieCheck(mode.featureFlag, mode.protectedPcieStatus)
  const devtools = devtoolsCheck(input.measurements)
  const checks = {'CC mode': ccMode, DevTools: devtools, 'protected PCIe': protectedPcie}
  const reasons = input.requireCc
    ? Object.entries(checks)
        .filter(([, c]) => c.status !== 'pass')
        .map(([name, c]) => `policy: ${name} ${c.status === 'fail' ? 'fails' : 'not proven'}: ${c.detail}`)
    : []
  return {ok: reasons.length === 0, requireCc: input.requireCc, reasons, ...mode, ccMode, devtools, protectedPcie}
}

/**
 * NVIDIA's multi-GPU rule (cc_admin.py: "Detected GPUs in both MPT and SPT modes. This configuration
 * is not allowed."): the GPUs of one machine attested together are all in the same mode. Reports
 * without FEATURE_FLAG are left out (NVIDIA's verifier does the same). Returns the reasons.
 */
export function checkModeConsistency(opaques: DecodedOpaque[]): string[] {
  const flags = opaques.map((o, i) => ({i, flag: reportMode(o).featureFlag})).filter((x) => x.flag !== undefined)
  const distinct = [...new Set(flags.map((x) => x.flag))]
  if (distinct.length <= 1) return []
  return [
    `GPUs report different FEATURE_FLAG modes (${flags.map((x) => `GPU ${x.i}: ${x.flag}`).join(', ')}); all GPUs of a machine must be in one mode (SPT, MPT or PPCIE)`,
  ]
}
