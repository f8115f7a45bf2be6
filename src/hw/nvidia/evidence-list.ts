import {InputError} from '../../errors/index.js'
import {NVIDIA_ARCHITECTURES, type NvidiaArchitectureName} from './architecture.js'
import {verifyNvidiaReport, type NvidiaVerifyOptions, type NvidiaVerifyResult} from './verify.js'

/**
 * A multi-device evidence set as NVIDIA's attestation SDK serialises it (several GPUs of one machine, or
 * its NVSwitches, for PPCIE): a JSON list of {arch, nonce, evidence (base64 report), certificate (base64
 * PEM chain)}; its nonce field is informational, the report's own nonce is checked). Every entry is verified on its own with verifyNvidiaReport; the set adds two checks: the
 * architecture the entry declares is the one its chain names, and no physical chip appears twice (one
 * chip counted as several devices). The PPCIE topology check (every GPU linked to the same 4 switches)
 * is not made: docs/nvidia-attestation.md.
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
  entries: NvidiaVerifyResult[]
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

export function verifyNvidiaEvidenceSet(entries: readonly NvidiaEvidenceEntry[], options: NvidiaVerifyOptions): NvidiaEvidenceSetResult {
  const reasons: string[] = []
  const results = entries.map((e) => verifyNvidiaReport(e.report, e.certChainPem, options))
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
  return {valid: reasons.length === 0, reasons, entries: results}
}
