import {InputError} from '../../errors/index.js'
import {NVIDIA_ARCHITECTURES, type NvidiaArchitectureName} from './architecture.js'
import {checkModeConsistency, isPpcieMode} from './cc-policy.js'
import {checkNvidiaReport, type GatherOptions, type NvidiaCheckPolicy, type NvidiaCheckResult} from './full-check.js'
import {parseCertChain, type ParsedNvidiaReport} from './verify.js'
import {checkPpcieTopology, type PpcieDevice} from './ppcie-topology.js'

/**
 * A multi-device evidence set as NVIDIA's attestation SDK serialises it (several GPUs of one machine, or
 * its NVSwitches, for PPCIE): a JSON list of {arch, nonce, evidence (base64 report), certificate (base64
 * PEM chain)}; its nonce field is informational, the report's own nonce is checked). Every entry gets the
 * NVIDIA full check (full-check.ts: offline, RIMs, OCSP, CC policy); the set adds three checks: the
 * architecture the entry declares is the one its chain names, no physical chip appears twice (one chip
 * counted as several devices), all GPUs are in one mode (SPT, MPT or PPCIE: checkModeConsistency), and,
 * for a PPCIE set (a GPU signs FEATURE_FLAG 2 / protected PCIe, or the set holds NVSwitches), NVIDIA's
 * PPCIE topology (ppcie-topology.ts: 8 GPUs each linked to the same 4 switches, which are the 4 switch
 * reports, each listing the same 8 GPUs). Set checks read only the signed opaque data of each report.
 */
export interface NvidiaEvidenceEntry {
  /** The architecture the entry declares ("HOPPER", "BLACKWELL", "LS10"), checked against the chain. */
  declaredArch: string
  report: Uint8Array
  certChainPem: string
}

export interface NvidiaEvidenceSetResult {
  valid: boolean
  /** Set-level reasons, then each entry's as "entry N: ...". */
  reasons: string[]
  entries: NvidiaCheckResult[]
}

const HINT = "pass NVIDIA's serialised evidence list: [{arch, nonce, evidence, certificate}, ...]"

function base64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(value)) throw new InputError(`${what} is not base64`, {hint: HINT})
  return Buffer.from(value, 'base64')
}

export function parseNvidiaEvidenceList(text: string): NvidiaEvidenceEntry[] {
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch (error) {
    throw new InputError('evidence file is not JSON', {cause: error, hint: HINT})
  }
  if (!Array.isArray(list) || list.length === 0) throw new InputError('evidence file is not a non-empty JSON list', {hint: HINT})
  return list.map((e: Record<string, unknown>, i) => {
    if (typeof e !== 'object' || e === null) throw new InputError(`evidence entry ${i} is not an object`, {hint: HINT})
    if (typeof e.arch !== 'string') throw new InputError(`evidence entry ${i} has no arch`, {hint: HINT})
    return {
      declaredArch: e.arch,
      report: new Uint8Array(base64(e.evidence, `evidence entry ${i}: evidence`)),
      certChainPem: base64(e.certificate, `evidence entry ${i}: certificate`).toString('latin1'),
    }
  })
}

const declared = (arch: string): NvidiaArchitectureName | undefined => NVIDIA_ARCHITECTURES.find((a) => a.name === arch.toLowerCase())?.name

/** One entry's full-check result, with its report as the offline check parsed it (the set checks read its signed opaque data). */
export interface CheckedEvidenceEntry {
  result: NvidiaCheckResult
  parsed: ParsedNvidiaReport
}

/** Pure: the set's verdict from each entry's full-check result. */
export function judgeNvidiaEvidenceSet(entries: readonly NvidiaEvidenceEntry[], checked: readonly CheckedEvidenceEntry[]): NvidiaEvidenceSetResult {
  const results = checked.map((c) => c.result)
  const reasons: string[] = []
  const seen = new Map<string, number>()
  results.forEach((r, i) => {
    for (const why of r.reasons) reasons.push(`entry ${i}: ${why}`)
    if (r.architecture && declared(entries[i]!.declaredArch) !== r.architecture)
      reasons.push(`entry ${i}: declares architecture ${entries[i]!.declaredArch}, its chain names ${r.architecture}`)
    if (!r.chip) return
    const first = seen.get(r.chip.chipId)
    if (first === undefined) seen.set(r.chip.chipId, i)
    else reasons.push(`entry ${i}: chip ${r.chip.serialNumber} is entry ${first}'s chip: one chip counts once`)
  })
  const devices = (kind: 'gpu' | 'nvswitch'): PpcieDevice[] =>
    results.flatMap((r, i) =>
      NVIDIA_ARCHITECTURES.find((a) => a.name === r.architecture)?.device === kind ? [{entry: i, opaque: checked[i]!.parsed.opaque}] : [],
    )
  const gpus = devices('gpu')
  const switches = devices('nvswitch')
  reasons.push(...checkModeConsistency(gpus.map((g) => g.opaque)))
  // A PPCIE set: a GPU signs protected-PCIe mode, or NVSwitches are attested (only PPCIE hands them to the guest).
  if (switches.length > 0 || gpus.some((g) => isPpcieMode(g.opaque))) reasons.push(...checkPpcieTopology(gpus, switches))
  return {valid: reasons.length === 0, reasons, entries: results}
}

const inputOf = (e: NvidiaEvidenceEntry, expectedNonce: Uint8Array, now: Date) => ({
  report: e.report,
  chain: parseCertChain(e.certChainPem),
  expectedNonce,
  now,
})

/** Every entry's full check (RIMs, OCSP as the policy says), then the set's. */
export async function checkNvidiaEvidenceSet(
  entries: readonly NvidiaEvidenceEntry[],
  expectedNonce: Uint8Array,
  policy: NvidiaCheckPolicy,
  options: GatherOptions & {now?: Date} = {},
): Promise<NvidiaEvidenceSetResult> {
  const now = options.now ?? new Date()
  const checked = await Promise.all(entries.map((e) => checkNvidiaReport(inputOf(e, expectedNonce, now), policy, options)))
  return judgeNvidiaEvidenceSet(entries, checked)
}
