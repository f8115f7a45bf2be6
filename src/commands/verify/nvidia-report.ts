import {Flags} from '@oclif/core'

import {parseAt} from '../../cli/at-flag.js'
import {BaseCommand} from '../../cli/base-command.js'
import {nvidiaCheckFlags, nvidiaCheckPolicyFromFlags} from '../../cli/nvidia-check-flags.js'
import {readFlagFile as read} from '../../cli/flag-file.js'
import {EvidenceInvalidError} from '../../errors/index.js'
import {hexToBytes} from '../../util/hex.js'

export default class VerifyNvidiaReport extends BaseCommand<typeof VerifyNvidiaReport> {
  static override summary = 'verify an NVIDIA confidential-computing attestation report'
  static override description =
    'Strict SPDM 1.1 GET_MEASUREMENTS parsing, ECDSA P-384 signature with the leaf certificate, the 5-certificate chain to the pinned ' +
    'NVIDIA Device Identity CA, the nonce, and the FWID binding between the report and the leaf certificate (offline); with --rim-dir ' +
    "(or the profile's nvidia.rimDir) the driver and VBIOS RIMs named by the report are verified and every golden measurement compared " +
    '(measurements: match | mismatch | not-checked); OCSP revocation of the GPU chain and of the RIM signing chains (online, mode off | ' +
    "warn | enforce from the network profile's nvidia.ocsp or --ocsp) and the CC policy (CC mode on, DevTools off, protected-PCIe mode " +
    'consistent) where the profile requires it (nvidia.requireCc). The same check the verifier runs on p384 registrations. ' +
    'Exit 0 when valid, 10 with the reasons when not (a measurement mismatch included), 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-report --report fixtures/nvtrust/hopper-report.hex --cert-chain fixtures/nvtrust/hopper-cert-chain.pem --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
    '<%= config.bin %> verify nvidia-report --report r.hex --cert-chain c.pem --nonce HEX --ocsp enforce --json',
  ]
  static override flags = {
    report: Flags.string({description: 'attestation report: hex text or raw binary', required: true}),
    'cert-chain': Flags.string({description: 'GPU attestation certificate chain, PEM, leaf first', required: true}),
    nonce: Flags.string({description: 'expected nonce (hex, 32 bytes)', required: true}),
    ...nvidiaCheckFlags,
  }

  async run() {
    const [{decodeReportFile, parseCertChain}, {checkNvidiaReport}] = await Promise.all([
      import('../../hw/nvidia/verify.js'),
      import('../../hw/nvidia/full-check.js'),
    ])
    const f = this.flags
    const policy = await nvidiaCheckPolicyFromFlags(this.resolved.profile, f)
    const input = {
      report: decodeReportFile(Uint8Array.from(read(f.report, '--report'))),
      chain: parseCertChain(read(f['cert-chain'], '--cert-chain').toString('latin1')),
      expectedNonce: hexToBytes(f.nonce, '--nonce', 32),
      now: parseAt(f.at) ?? new Date(),
    }
    const {result} = await checkNvidiaReport(input, policy, {cacheDir: this.resolved.paths.cacheDir})
    const {rim, measurements, ocsp} = result
    const cc = result.policy
    if (!result.valid)
      throw new EvidenceInvalidError(`NVIDIA report is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which check failed',
        details: {
          checks: result.checks,
          nonce: result.nonce,
          measurements,
          mismatched: rim?.comparison?.mismatched ?? [],
          conflicts: rim?.comparison?.conflicts ?? [],
          policy: cc,
          ocsp,
          rims: rim?.rims.map((r) => ({label: r.label, role: r.role, reasons: r.result.reasons, ocsp: r.ocsp})) ?? [],
        },
      })
    for (const w of result.warnings) this.warning(w)
    this.log(
      `valid NVIDIA CC report  driver ${result.opaque.driverVersion ?? '?'}  VBIOS ${result.opaque.vbiosVersion ?? '?'}  ${result.measurementCount} measurements`,
    )
    this.log(`  leaf ${result.chain[0]!.subject}  FWID ${result.opaque.fwid ?? '(none)'}`)
    this.log(`  OCSP (${ocsp.mode}): ${ocsp.certs.map((c) => `${c.index}:${c.status}`).join(' ')}`)
    for (const r of rim?.rims ?? [])
      if (r.ocsp) this.log(`  OCSP of ${r.role ?? ''} RIM ${r.label}: ${r.ocsp.certs.map((c) => `${c.index}:${c.status}`).join(' ')}`)
    this.log(
      `  CC mode ${cc.ccMode.status}, DevTools ${cc.devtools.status}, protected PCIe ${cc.protectedPcie.status}${cc.requireCc ? '' : ' (not required by this profile)'}`,
    )
    this.log(
      `  measurements ${measurements}${rim?.comparison ? ` (${rim.comparison.indices.filter((i) => i.result === 'match').length} golden values matched)` : ''}`,
    )
    for (const n of rim?.notes ?? (policy.rimDir ? [] : ['no --rim-dir: golden measurements not compared'])) this.log(`  note: ${n}`)
    return result
  }
}
