import {judgeRevocation, type OcspAnswer, type RevocationResult, type RevocationScope} from './ocsp.js'
import {parseOpaqueData, type DecodedOpaque} from './opaque.js'
import {compareGoldenMeasurements, NVDEC0_DISABLED, type MeasurementComparison, type RimRole} from './rim-measurements.js'
import {verifyRimWithPath, withVersionCheck, type RimVerifyOptions, type RimVerifyResult, type VerifiedRim} from './rim.js'
import {parseSpdmExchange, REQUEST_LENGTH, type MeasurementBlock} from './spdm.js'

/**
 * A report's golden-measurement verdict from its RIMs: each RIM is verified for the version the
 * report names for its role (driver or VBIOS), and only when every RIM holds are the measurements
 * compared. `measurements` is `not-checked` when no RIM could be used, never a guess. With `ocsp`, each
 * RIM's signing chain is judged from its OCSP answers (ocsp.ts, from index 0: NVIDIA's verifier asks
 * about the RIM signer too); a RIM whose revocation check fails is not used.
 */

export interface RimInput {
  /** File name or RIM id, for messages. */
  label: string
  xml: string | Uint8Array
  /** Known role (a RIM found by its id); otherwise inferred from the version it states. */
  role?: RimRole
}

export interface CheckedRim {
  label: string
  role?: RimRole
  result: RimVerifyResult
  /** OCSP of the RIM's signing chain, per certificate (when asked for). */
  ocsp?: RevocationResult
}

export interface RimReportCheck {
  valid: boolean
  reasons: string[]
  /** OCSP warnings of the RIM chains (warn mode). */
  warnings: string[]
  measurements: 'match' | 'mismatch' | 'not-checked'
  /** Why something was not checked (no RIM for a role, ...): not failures. */
  notes: string[]
  rims: CheckedRim[]
  comparison?: MeasurementComparison
}

export interface ReportMeasurements {
  blocks: MeasurementBlock[]
  opaque: Pick<DecodedOpaque, 'fields' | 'driverVersion' | 'vbiosVersion'>
}

const NVDEC0_STATUS_FIELD = 11

/** The measurement blocks and opaque data of a report (parsed strictly; verify the report itself first). */
export function reportMeasurements(report: Uint8Array): ReportMeasurements {
  const {response} = parseSpdmExchange(report)
  return {blocks: response.blocks, opaque: parseOpaqueData(response.opaque, REQUEST_LENGTH)}
}

function versionFor(role: RimRole, report: ReportMeasurements): string | undefined {
  return role === 'driver' ? report.opaque.driverVersion : report.opaque.vbiosVersion
}

function inferRole(claimed: string | undefined, report: ReportMeasurements): RimRole | undefined {
  const v = claimed?.toLowerCase()
  if (v && v === report.opaque.driverVersion?.toLowerCase()) return 'driver'
  if (v && v === report.opaque.vbiosVersion?.toLowerCase()) return 'vbios'
  return undefined
}

export interface RimCheckOptions extends Omit<RimVerifyOptions, 'expectedVersion'> {
  /** Judge each RIM's signing chain from these OCSP answers (by RIM label) under this scope. */
  ocsp?: {scope: Omit<RevocationScope, 'firstIndex' | 'skipReason'>; answers: Readonly<Record<string, readonly OcspAnswer[]>>}
}

/** A verified RIM with its signing chain's OCSP verdict (when asked for): a failed revocation check makes it invalid. */
export function withRimRevocation(
  input: RimInput,
  {result, signingPath}: VerifiedRim,
  ocsp: RimCheckOptions['ocsp'],
): {result: RimVerifyResult; ocsp?: RevocationResult} {
  if (!ocsp) return {result}
  const verdict = judgeRevocation(signingPath, ocsp.answers[input.label] ?? [], ocsp.scope)
  return {result: verdict.ok ? result : {...result, valid: false, reasons: [...result.reasons, ...verdict.reasons]}, ocsp: verdict}
}

export function checkRimsAgainstReport(report: ReportMeasurements, inputs: RimInput[], options: RimCheckOptions = {}): RimReportCheck {
  const reasons: string[] = []
  const warnings: string[] = []
  const notes: string[] = []
  const rims: CheckedRim[] = []
  for (const input of inputs) {
    const {result: plain, signingPath} = verifyRimWithPath(input.xml, options)
    const role = input.role ?? inferRole(plain.claimedVersion, report)
    const expected = role && versionFor(role, report)
    let result: RimVerifyResult
    if (!role) {
      const why = `RIM version ${plain.claimedVersion ?? '(none)'} is neither the report's driver version ${report.opaque.driverVersion ?? '(none)'} nor its VBIOS version ${report.opaque.vbiosVersion ?? '(none)'}`
      result = {...plain, valid: false, checks: {...plain.checks, version: false}, reasons: [...plain.reasons, why]}
    } else if (expected === undefined)
      result = {...plain, valid: false, checks: {...plain.checks, version: false}, reasons: [...plain.reasons, `the report names no ${role} version`]}
    else result = withVersionCheck(plain, expected)
    if (role && rims.some((r) => r.role === role)) result = {...result, valid: false, reasons: [...result.reasons, `a second ${role} RIM was given`]}
    const judged = withRimRevocation(input, {result, signingPath}, options.ocsp)
    result = judged.result
    const ocsp = judged.ocsp
    rims.push({label: input.label, role, result, ...(ocsp ? {ocsp} : {})})
    const named = (r: string) => `${input.label}${role ? ` (${role} RIM)` : ''}: ${r}`
    reasons.push(...result.reasons.map(named))
    warnings.push(...(ocsp?.warnings ?? []).map(named))
  }
  for (const role of ['driver', 'vbios'] as const) if (!rims.some((r) => r.role === role)) notes.push(`no ${role} RIM: its golden measurements are not checked`)

  if (rims.length === 0 || rims.some((r) => !r.result.valid || !r.result.rim))
    return {valid: reasons.length === 0, reasons, warnings, measurements: 'not-checked', notes, rims}
  const nvdec = report.opaque.fields.find((f) => f.type === NVDEC0_STATUS_FIELD)?.value
  const comparison = compareGoldenMeasurements(
    rims.map((r) => ({role: r.role!, measurements: r.result.rim!.measurements})),
    report.blocks,
    {nvdec0Disabled: nvdec?.[0] === NVDEC0_DISABLED},
  )
  reasons.push(...comparison.reasons)
  return {valid: reasons.length === 0, reasons, warnings, measurements: comparison.status, notes, rims, comparison}
}
