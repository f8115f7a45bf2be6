import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {atFlag, parseAt} from '../../cli/at-flag.js'
import {BaseCommand} from '../../cli/base-command.js'
import {nvidiaPolicy, type NvidiaPolicy} from '../../config/index.js'
import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {hexToBytes} from '../../util/hex.js'

function read(path: string, flag: string): Buffer {
  try {
    return readFileSync(path)
  } catch {
    throw new InputError(`cannot read ${flag} ${path}`)
  }
}

export default class VerifyNvidiaReport extends BaseCommand<typeof VerifyNvidiaReport> {
  static override summary = 'verify an NVIDIA confidential-computing attestation report'
  static override description =
    'Strict SPDM 1.1 GET_MEASUREMENTS parsing, ECDSA P-384 signature with the leaf certificate, the 5-certificate chain to the pinned ' +
    'NVIDIA Device Identity CA, the nonce, and the FWID binding between the report and the leaf certificate (offline); OCSP revocation ' +
    "of the chain (online, mode off | warn | enforce from the network profile's nvidia.ocsp or --ocsp) and the CC policy (CC mode on, " +
    'DevTools off, protected-PCIe mode consistent) where the profile requires it (nvidia.requireCc). With --rim-dir, the driver and VBIOS ' +
    'RIMs named by the report are verified and every golden measurement compared (measurements: match | mismatch | not-checked). ' +
    'Exit 0 when valid, 10 with the reasons when not (a measurement mismatch included), 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-report --report fixtures/nvtrust/hopper-report.hex --cert-chain fixtures/nvtrust/hopper-cert-chain.pem --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
    '<%= config.bin %> verify nvidia-report --report r.hex --cert-chain c.pem --nonce HEX --ocsp enforce --json',
  ]
  static override flags = {
    report: Flags.string({description: 'attestation report: hex text or raw binary', required: true}),
    'cert-chain': Flags.string({description: 'GPU attestation certificate chain, PEM, leaf first', required: true}),
    nonce: Flags.string({description: 'expected nonce (hex, 32 bytes)', required: true}),
    'allow-missing-fwid': Flags.boolean({description: 'accept reports of older firmware without an FWID field', default: false}),
    'nvidia-root': Flags.string({description: 'further accepted root certificate (PEM file); adds to the pinned NVIDIA root', multiple: true}),
    ocsp: Flags.string({
      description: "OCSP revocation check: off, warn (report only) or enforce (default: the profile's nvidia.ocsp)",
      options: ['off', 'warn', 'enforce'],
    }),
    'ocsp-url': Flags.string({
      description: "ask this OCSP responder for every certificate (default: the profile's nvidia.ocspUrl, else each certificate's own)",
    }),
    'require-cc': Flags.boolean({description: "require CC mode on and DevTools off (default: the profile's nvidia.requireCc)", allowNo: true}),
    'rim-dir': Flags.string({description: 'directory of NVIDIA RIMs named by RIM id (NV_GPU_DRIVER_..., NV_GPU_VBIOS_...) to compare the measurements with'}),
    'rim-root': Flags.string({description: 'further accepted RIM root certificate (PEM file); adds to the pinned NVIDIA CoRIM root', multiple: true}),
    at: atFlag,
  }

  async run() {
    const [{decodeReportFile, parseCertChain, verifyNvidiaReport}, {checkReportPolicy}, {checkGpuChainRevocation}] = await Promise.all([
      import('../../hw/nvidia/verify.js'),
      import('../../hw/nvidia/cc-policy.js'),
      import('../../hw/nvidia/gpu-revocation.js'),
    ])
    const f = this.flags
    const profilePolicy = nvidiaPolicy(this.resolved.profile)
    const nonce = hexToBytes(f.nonce, '--nonce', 32)
    const report = decodeReportFile(Uint8Array.from(read(f.report, '--report')))
    const chain = read(f['cert-chain'], '--cert-chain').toString('latin1')
    const extraRoots = [...this.resolved.profile.trustRoots.nvidia, ...(f['nvidia-root'] ?? [])].flatMap((p) =>
      parseCertChain(read(p, '--nvidia-root').toString('latin1')).map((c) => c.fingerprint256),
    )
    const now = parseAt(f.at) ?? new Date()
    const offline = verifyNvidiaReport(report, chain, {expectedNonce: nonce, allowMissingFwid: f['allow-missing-fwid'], extraRootFingerprints: extraRoots, now})
    // golden measurements only from a report whose signature and chain hold
    const rim =
      offline.valid && offline.architecture && f['rim-dir']
        ? (await import('../../hw/nvidia/rim-dir.js')).checkReportWithRimDir(report, offline.architecture, f['rim-dir'], {
            now,
            extraRootFingerprints: (f['rim-root'] ?? []).flatMap((p) => parseCertChain(read(p, '--rim-root').toString('latin1')).map((c) => c.fingerprint256)),
          })
        : undefined
    const measurements = rim?.measurements ?? 'not-checked'
    const policy = checkReportPolicy(report, {requireCc: f['require-cc'] ?? profilePolicy.requireCc, measurements})
    const ocsp = await checkGpuChainRevocation(parseCertChain(chain), {
      mode: (f.ocsp as NvidiaPolicy['ocsp'] | undefined) ?? profilePolicy.ocsp,
      responderUrl: f['ocsp-url'] ?? profilePolicy.ocspUrl,
      cacheDir: this.resolved.paths.cacheDir,
    })
    const reasons = [...offline.reasons, ...(rim?.reasons ?? []), ...policy.reasons, ...ocsp.reasons]
    const result = {...offline, valid: reasons.length === 0, reasons, warnings: ocsp.warnings, measurements, rim, policy, ocsp}
    if (!result.valid)
      throw new EvidenceInvalidError(`NVIDIA report is invalid: ${reasons.join('; ')}`, reasons, {
        hint: 'the reasons say which check failed',
        details: {
          checks: offline.checks,
          nonce: offline.nonce,
          measurements,
          mismatched: rim?.comparison?.mismatched ?? [],
          conflicts: rim?.comparison?.conflicts ?? [],
          policy,
          ocsp,
        },
      })
    for (const w of ocsp.warnings) this.warning(w)
    this.log(
      `valid NVIDIA CC report  driver ${offline.opaque.driverVersion ?? '?'}  VBIOS ${offline.opaque.vbiosVersion ?? '?'}  ${offline.measurementCount} measurements`,
    )
    this.log(`  leaf ${offline.chain[0]!.subject}  FWID ${offline.opaque.fwid ?? '(none)'}`)
    this.log(`  OCSP (${ocsp.mode}): ${ocsp.certs.map((c) => `${c.index}:${c.status}`).join(' ')}`)
    this.log(
      `  CC mode ${policy.ccMode.status}, DevTools ${policy.devtools.status}, protected PCIe ${policy.protectedPcie.status}${policy.requireCc ? '' : ' (not required by this profile)'}`,
    )
    this.log(
      `  measurements ${measurements}${rim?.comparison ? ` (${rim.comparison.indices.filter((i) => i.result === 'match').length} golden values matched)` : ''}`,
    )
    for (const n of rim?.notes ?? (f['rim-dir'] ? [] : ['no --rim-dir: golden measurements not compared'])) this.log(`  note: ${n}`)
    return result
  }
}
