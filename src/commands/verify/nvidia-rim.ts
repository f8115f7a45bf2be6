import {basename} from 'node:path'

import {Flags} from '@oclif/core'

import {atFlag, parseAt} from '../../cli/at-flag.js'
import {BaseCommand} from '../../cli/base-command.js'
import {readFlagFile as read} from '../../cli/flag-file.js'
import {nvidiaCheckPolicyFromFlags, ocspFlags} from '../../cli/nvidia-check-flags.js'
import {EvidenceInvalidError} from '../../errors/index.js'
import type {NvidiaCheckPolicy} from '../../hw/nvidia/full-check.js'
import type {RimCheckOptions, RimInput, RimReportCheck} from '../../hw/nvidia/rim-check.js'
import {hexToBytes} from '../../util/hex.js'

export default class VerifyNvidiaRim extends BaseCommand<typeof VerifyNvidiaRim> {
  static override summary = 'verify NVIDIA reference integrity manifests (RIMs), and a report against them (offline)'
  static override description =
    "Verifies each RIM's XML signature (xml-crypto) and its embedded certificate chain to the pinned NVIDIA CoRIM signing Root CA, " +
    'every certificate valid at the time. With --report/--cert-chain/--nonce the report is verified as by `verify nvidia-report`, each ' +
    "RIM must be for the report's driver or VBIOS version, and every active golden measurement must match the report's block " +
    "(an index defined by both RIMs is refused). With --ocsp warn|enforce (default: the profile's nvidia.ocsp) each RIM's signing " +
    'chain is checked for revocation as `verify nvidia-report` checks it (online; asked only for a chain that verifies offline, and ' +
    'with --report only when the report verifies). Exit 0 when valid, 10 with the reasons when not, 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-rim --rim fixtures/nvidia/rim/hopper-2023/NV_GPU_DRIVER_GH100_545.00.swidtag --rim fixtures/nvidia/rim/hopper-2023/NV_GPU_VBIOS_1010_0200_882_96005E0001.swidtag --report fixtures/nvtrust/hopper-2023-report.hex --cert-chain fixtures/nvtrust/hopper-2023-cert-chain.pem --nonce 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e --at 2024-09-01T00:00:00Z',
  ]
  static override flags = {
    rim: Flags.string({description: 'RIM file (SWID XML); give the driver RIM and the VBIOS RIM together', required: true, multiple: true}),
    report: Flags.string({description: 'attestation report to compare (hex text or raw binary)', dependsOn: ['cert-chain', 'nonce']}),
    'cert-chain': Flags.string({description: "the report's GPU certificate chain, PEM, leaf first", dependsOn: ['report']}),
    nonce: Flags.string({description: "the report's expected nonce (hex, 32 bytes)", dependsOn: ['report']}),
    at: atFlag,
    'rim-root': Flags.string({description: 'further accepted RIM root certificate (PEM file); adds to the pinned NVIDIA root', multiple: true}),
    'allow-missing-fwid': Flags.boolean({description: 'accept reports of older firmware without an FWID field', default: false}),
    ...ocspFlags('the RIM signing chains'),
  }

  async run() {
    const f = this.flags
    const now = parseAt(f.at) ?? new Date()
    const inputs = f.rim.map((p) => ({label: basename(p), xml: read(p, '--rim')}))
    // the profile's NVIDIA policy, as `verify nvidia-report` reads it: OCSP mode and responder, GPU roots, RIM roots (+ --rim-root)
    const policy = await nvidiaCheckPolicyFromFlags(this.resolved.profile, f)
    return f.report ? this.againstReport(f.report, inputs, policy, now) : this.rimsAlone(inputs, policy, now)
  }

  /** The RIM chains' OCSP, asked (the same code as the full check) unless off or `ask` is false (the report already failed). */
  private async rimRevocation(inputs: RimInput[], policy: NvidiaCheckPolicy, now: Date, ask: boolean): Promise<RimRevocationAnswers> {
    const {askRimChainsRevocation} = await import('../../hw/nvidia/full-check.js')
    const {ocsp: mode, ocspUrl, rimRootFingerprints: extraRootFingerprints} = policy
    const answers =
      ask && mode !== 'off'
        ? await askRimChainsRevocation(inputs, {mode, responderUrl: ocspUrl, cacheDir: this.resolved.paths.cacheDir}, {now, extraRootFingerprints})
        : {}
    return {scope: {mode}, answers}
  }

  /** Without --report: each RIM verified on its own (signature, chain, OCSP); all their reasons, or a line per RIM. */
  private async rimsAlone(inputs: RimInput[], policy: NvidiaCheckPolicy, now: Date) {
    const {verifyRimWithPath} = await import('../../hw/nvidia/rim.js')
    const {withRimRevocation} = await import('../../hw/nvidia/rim-check.js')
    const ocsp = await this.rimRevocation(inputs, policy, now, true)
    const rims = inputs.map((i) => {
      const judged = withRimRevocation(i, verifyRimWithPath(i.xml, {now, extraRootFingerprints: policy.rimRootFingerprints}), ocsp)
      return {label: i.label, result: judged.result, ocsp: judged.ocsp!}
    })
    const reasons = rims.flatMap((r) => r.result.reasons.map((x) => `${r.label}: ${x}`))
    if (reasons.length > 0)
      throw new EvidenceInvalidError(`NVIDIA RIM is invalid: ${reasons.join('; ')}`, reasons, {hint: 'the reasons say which check failed', details: {rims}})
    for (const r of rims) for (const w of r.ocsp.warnings) this.warning(`${r.label}: ${w}`)
    for (const r of rims)
      this.log(
        `valid NVIDIA RIM ${r.label}  ${r.result.rim!.name} ${r.result.rim!.colloquialVersion}  ${r.result.rim!.measurements.filter((m) => m.active).length} active measurements  OCSP (${r.ocsp.mode}): ${r.ocsp.certs.map((c) => `${c.index}:${c.status}`).join(' ')}`,
      )
    return {valid: true, measurements: 'not-checked' as const, rims}
  }

  /**
   * With --report: the report verified as by `verify nvidia-report` (its reasons first, prefixed), then
   * the RIMs against it; the RIM chains' OCSP is asked only when the report verifies.
   */
  private async againstReport(reportPath: string, inputs: RimInput[], policy: NvidiaCheckPolicy, now: Date) {
    const {decodeReportFile, verifyAndParseNvidiaReport} = await import('../../hw/nvidia/verify.js')
    const {checkRimsAgainstReport} = await import('../../hw/nvidia/rim-check.js')
    const f = this.flags
    const reportBytes = decodeReportFile(Uint8Array.from(read(reportPath, '--report')))
    const {result: report, parsed: measured} = verifyAndParseNvidiaReport(reportBytes, read(f['cert-chain']!, '--cert-chain').toString('latin1'), {
      expectedNonce: hexToBytes(f.nonce!, '--nonce', 32),
      allowMissingFwid: f['allow-missing-fwid'],
      extraRootFingerprints: policy.extraRootFingerprints,
      now,
    })
    const ocsp = await this.rimRevocation(inputs, policy, now, report.valid)
    const check = checkRimsAgainstReport(measured, inputs, {now, extraRootFingerprints: policy.rimRootFingerprints, ocsp})
    const reasons = [...report.reasons.map((r) => `report: ${r}`), ...check.reasons]
    const result = {
      valid: reasons.length === 0,
      reasons,
      measurements: check.measurements,
      notes: check.notes,
      rims: check.rims,
      comparison: check.comparison,
      report,
    }
    if (!result.valid) throw rimCheckFailed(reasons, check)
    this.logComparison(check)
    return result
  }

  /** The comparison of a valid report with its RIMs: how many golden measurements matched, the RIMs used, the notes. */
  private logComparison(check: RimReportCheck): void {
    const compared = check.comparison!.indices
    const count = (r: string) => compared.filter((i) => i.result === r).length
    this.log(
      `measurements ${check.measurements}: ${count('match')} golden measurements match${count('skipped') ? `, ${count('skipped')} skipped (NVDEC0 disabled)` : ''}`,
    )
    for (const r of check.rims) this.log(`  ${r.role} RIM ${r.label}  ${r.result.rim!.colloquialVersion}`)
    for (const n of check.notes) this.log(`note: ${n}`)
  }
}

type RimRevocationAnswers = NonNullable<RimCheckOptions['ocsp']>

function rimCheckFailed(reasons: string[], check: RimReportCheck): EvidenceInvalidError {
  return new EvidenceInvalidError(`NVIDIA RIM check failed: ${reasons.join('; ')}`, reasons, {
    hint: 'the reasons say which check failed',
    details: {
      measurements: check.measurements,
      mismatched: check.comparison?.mismatched ?? [],
      conflicts: check.comparison?.conflicts ?? [],
      notes: check.notes,
    },
  })
}
