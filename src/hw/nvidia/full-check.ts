import {createHash, type X509Certificate} from 'node:crypto'

import {NVIDIA_ARCHITECTURES} from './architecture.js'
import {checkCcPolicy, type CcPolicyResult} from './cc-policy.js'
import {askGpuChainRevocation, judgeGpuChainRevocation} from './gpu-revocation.js'
import {askRevocation, NVIDIA_OCSP_URL, type OcspAnswer, type OcspMode, type RevocationOptions, type RevocationResult} from './ocsp.js'
import type {RimInput} from './rim-check.js'
import {checkLoadedRims, loadReportRims, type LoadedRims, type RimDirCheck} from './rim-dir.js'
import {verifyRimWithPath} from './rim.js'
import {verifyAndParseNvidiaReport, type NvidiaVerifyResult, type ParsedNvidiaReport, type VerifiedNvidiaReport} from './verify.js'

/**
 * The NVIDIA full check: one function for `verify nvidia-report`, `verify nvidia-evidence` (each GPU and
 * NVSwitch of a set) and the verifier's device policy (p384 registrations). It is
 *  - the offline report check (verify.ts: SPDM, signature, chain to the pinned root, nonce, FWID);
 *  - the RIM golden measurements from an offline directory of RIMs (rim-dir.ts), RIM chains included;
 *  - OCSP of the GPU chain and of each RIM's signing chain (ocsp.ts), mode off | warn | enforce;
 *  - the CC policy (cc-policy.ts): CC mode on, DevTools proven off, where required (GPUs only: an
 *    NVSwitch carries no CC mode of its own and has no RIMs here).
 * in two steps: gatherNvidiaFacts reads the RIM files and asks the OCSP responders (I/O), then
 * judgeNvidiaReport (pure) decides from those facts. The verifier records the facts with its decision,
 * so `unet verifier audit` recomputes the same verdict from them.
 *
 * Nothing is read or asked about a report that fails the offline check (chain to a pinned root, report
 * signature under the leaf, nonce, FWID): a forged certificate cannot make the verifier POST to an address
 * of the forger's choosing (its Authority Information Access), and a public NVIDIA chain replayed with a
 * junk report (any signature, any nonce) cannot make it ask NVIDIA's responder at all. Such a report is
 * rejected by the offline check alone; its OCSP result says why nothing was asked.
 */
export interface NvidiaCheckPolicy {
  ocsp: OcspMode
  /** Ask this responder for every certificate (else each certificate's own, else NVIDIA's). */
  ocspUrl?: string
  requireCc: boolean
  /** Directory of RIMs named by RIM id; none: golden measurements not-checked. */
  rimDir?: string
  /** Further accepted device-identity roots (SHA-256 fingerprints). */
  extraRootFingerprints?: string[]
  /** Further accepted RIM roots (SHA-256 fingerprints). */
  rimRootFingerprints?: string[]
  allowMissingFwid?: boolean
}

export interface NvidiaCheckInput {
  /** SPDM request ‖ signed response, as NVML returns it. */
  report: Uint8Array
  /** The GPU chain, leaf first. */
  chain: X509Certificate[]
  expectedNonce: Uint8Array
  /** When certificates must be valid (the registration block's time for the verifier). */
  now: Date
}

/** The chain label of the GPU attestation chain in NvidiaFacts.ocsp (RIM chains go under their RIM id). */
export const GPU_CHAIN = 'gpu'

/** What the check reads from outside before it judges. */
export interface NvidiaFacts {
  rims?: LoadedRims
  /** OCSP answers per chain: GPU_CHAIN, or a RIM's id. */
  ocsp: Record<string, OcspAnswer[]>
  /** What the answers must be bound to, and not be after (ocsp.ts RevocationScope): the verifier's and the audit's. */
  binding?: Uint8Array
  notAfter?: Date
}

/** The facts as the verifier records them: the OCSP answers in full, the RIMs by id and digest. */
export interface RecordedNvidiaFacts {
  ocsp: Record<string, OcspAnswer[]>
  rims: Array<{id: string; role?: string; sha256: string}>
}

export interface NvidiaCheckResult extends NvidiaVerifyResult {
  warnings: string[]
  measurements: 'match' | 'mismatch' | 'not-checked'
  rim?: RimDirCheck
  policy: CcPolicyResult
  ocsp: RevocationResult
}

export interface GatherOptions {
  /** OCSP cache (<cacheDir>/ocsp). */
  cacheDir?: string
  timeoutMs?: number
  /** The time of asking (default: the clock). */
  askedAt?: Date
  /** Recorded answers to use instead of asking (the audit). */
  recordedOcsp?: Record<string, OcspAnswer[]>
  /** Ask with nonces bound to this, and judge so (the verifier: the registration; no cache then). */
  binding?: Uint8Array
  /** Refuse answers asked after this (the audit: the decision's block time plus the skew). */
  notAfter?: Date
}

/**
 * The offline report check the full check starts from (throws on a report that does not parse): its
 * verdict, and the report as it parsed it, which the RIM lookup, the RIM comparison and the CC policy
 * read instead of parsing the report again.
 */
export function offlineNvidiaCheck(input: NvidiaCheckInput, policy: NvidiaCheckPolicy): VerifiedNvidiaReport {
  return verifyAndParseNvidiaReport(input.report, input.chain, {
    expectedNonce: input.expectedNonce,
    now: input.now,
    allowMissingFwid: policy.allowMissingFwid,
    extraRootFingerprints: policy.extraRootFingerprints,
  })
}

/** The OCSP result's reason for every certificate of a report that failed the offline check. */
export const NOT_ASKED_OFFLINE = 'not asked: the report fails the offline check (chain, signature, nonce or FWID)'

/** `offline`: offlineNvidiaCheck's result when the caller has it already (it is the same for gather and judge). */
export async function gatherNvidiaFacts(
  input: NvidiaCheckInput,
  policy: NvidiaCheckPolicy,
  options: GatherOptions = {},
  offline = offlineNvidiaCheck(input, policy),
): Promise<NvidiaFacts> {
  const bound = {...(options.binding ? {binding: options.binding} : {}), ...(options.notAfter ? {notAfter: options.notAfter} : {})}
  // only evidence that passed the whole offline check costs a file read or a request
  const {result: verified, parsed} = offline
  if (!verified.valid) return {ocsp: {}, ...bound}
  const rims = policy.rimDir && verified.architecture ? loadReportRims(parsed, verified.architecture, policy.rimDir) : undefined
  if (options.recordedOcsp) return {rims, ocsp: options.recordedOcsp, ...bound}
  if (policy.ocsp === 'off') return {rims, ocsp: {}, ...bound}
  const ask = {mode: policy.ocsp, responderUrl: policy.ocspUrl, cacheDir: options.cacheDir, timeoutMs: options.timeoutMs, now: options.askedAt, ...bound}
  const [gpu, rimAnswers] = await Promise.all([
    askGpuChainRevocation(input.chain, ask),
    askRimChainsRevocation(rims?.inputs ?? [], ask, {now: input.now, extraRootFingerprints: policy.rimRootFingerprints}),
  ])
  return {rims, ocsp: {[GPU_CHAIN]: gpu, ...rimAnswers}, ...bound}
}

/**
 * OCSP answers for each RIM's signing chain (by RIM label), asked only for a RIM whose chain verifies
 * offline to a pinned or configured RIM root; certificates naming no responder go to NVIDIA's. I/O only:
 * rim-check.ts judges them. Shared by the full check and `verify nvidia-rim`.
 */
export async function askRimChainsRevocation(
  rims: readonly RimInput[],
  ask: Omit<RevocationOptions, 'defaultResponderUrl'>,
  verify: {now: Date; extraRootFingerprints?: string[]},
): Promise<Record<string, OcspAnswer[]>> {
  const trusted = rims.flatMap((rim) => {
    const {result, signingPath} = verifyRimWithPath(rim.xml, verify)
    return result.checks.chain && result.checks.root ? [{label: rim.label, signingPath}] : []
  })
  const answers = await Promise.all(trusted.map((rim) => askRevocation(rim.signingPath, {...ask, defaultResponderUrl: NVIDIA_OCSP_URL})))
  return Object.fromEntries(trusted.map((rim, i) => [rim.label, answers[i]!]))
}

/** Pure: the verdict from the report and the gathered (or recorded) facts. */
export function judgeNvidiaReport(
  input: NvidiaCheckInput,
  facts: NvidiaFacts,
  policy: NvidiaCheckPolicy,
  offline = offlineNvidiaCheck(input, policy),
): NvidiaCheckResult {
  const {result: verified, parsed} = offline
  const scope = {mode: policy.ocsp, binding: facts.binding, notAfter: facts.notAfter, ...(verified.valid ? {} : {withheld: NOT_ASKED_OFFLINE})}
  const rim =
    verified.valid && verified.architecture && facts.rims
      ? checkLoadedRims(parsed, facts.rims, {now: input.now, extraRootFingerprints: policy.rimRootFingerprints, ocsp: {scope, answers: facts.ocsp}})
      : undefined
  const measurements = rim?.measurements ?? 'not-checked'
  const gpu = NVIDIA_ARCHITECTURES.find((a) => a.name === verified.architecture)?.device !== 'nvswitch'
  const cc = checkCcPolicy({opaque: parsed.opaque, requireCc: policy.requireCc && gpu, measurements})
  const ocsp = judgeGpuChainRevocation(input.chain, facts.ocsp[GPU_CHAIN] ?? [], scope)
  const reasons = [...verified.reasons, ...(rim?.reasons ?? []), ...cc.reasons, ...ocsp.reasons]
  const warnings = [...ocsp.warnings, ...(rim?.warnings ?? [])]
  return {...verified, valid: reasons.length === 0, reasons, warnings, measurements, rim, policy: cc, ocsp}
}

/** Gather, then judge: what a command runs (`parsed`: the report as the offline check parsed it). */
export async function checkNvidiaReport(
  input: NvidiaCheckInput,
  policy: NvidiaCheckPolicy,
  options: GatherOptions = {},
): Promise<{result: NvidiaCheckResult; facts: NvidiaFacts; parsed: ParsedNvidiaReport}> {
  const offline = offlineNvidiaCheck(input, policy)
  const facts = await gatherNvidiaFacts(input, policy, options, offline)
  return {result: judgeNvidiaReport(input, facts, policy, offline), facts, parsed: offline.parsed}
}

export function recordNvidiaFacts(facts: NvidiaFacts): RecordedNvidiaFacts {
  return {
    ocsp: facts.ocsp,
    rims: (facts.rims?.inputs ?? []).map((r) => ({id: r.label, role: r.role, sha256: createHash('sha256').update(r.xml).digest('hex')})),
  }
}

/**
 * Where the RIMs read now differ from the ones a decision recorded (by id and SHA-256): one line per RIM
 * id, what `unet verifier audit` reports. The record holds digests, not the files, so the audit can only
 * recompute from RIMs it reads itself; these lines say when those are not the ones the verifier judged.
 */
export function rimDifferences(recorded: RecordedNvidiaFacts['rims'] = [], read: RecordedNvidiaFacts['rims'], rimDir: string | undefined): string[] {
  const where = rimDir ? `the audit's RIM directory ${rimDir}` : "the audit's profile (no nvidia.rimDir)"
  const out: string[] = []
  for (const was of recorded) {
    const now = read.find((r) => r.id === was.id)
    if (!now) out.push(`RIM ${was.id} the verifier judged (SHA-256 ${was.sha256}) was not read from ${where}: it or the report's other RIM is missing there`)
    else if (now.sha256 !== was.sha256)
      out.push(`RIM ${was.id} differs from the one the verifier judged: SHA-256 ${now.sha256} in ${where}, ${was.sha256} recorded`)
  }
  for (const now of read)
    if (!recorded.some((r) => r.id === now.id))
      out.push(`RIM ${now.id} (SHA-256 ${now.sha256}) in ${where} was not judged by the verifier: its decision record names no such RIM`)
  return out
}
