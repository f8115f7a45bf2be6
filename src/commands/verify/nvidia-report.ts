import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
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
  static override summary = 'verify an NVIDIA confidential-computing attestation report (offline)'
  static override description =
    'Strict SPDM 1.1 GET_MEASUREMENTS parsing, ECDSA P-384 signature with the leaf certificate, the 5-certificate chain to the pinned ' +
    'NVIDIA Device Identity CA, the nonce, and the FWID binding between the report and the leaf certificate. OCSP and RIM are online ' +
    'steps not done here (docs/nvidia-attestation.md). Exit 0 when valid, 10 with the reasons when not, 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-report --report fixtures/nvtrust/hopper-report.hex --cert-chain fixtures/nvtrust/hopper-cert-chain.pem --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
  ]
  static override flags = {
    report: Flags.string({description: 'attestation report: hex text or raw binary', required: true}),
    'cert-chain': Flags.string({description: 'GPU attestation certificate chain, PEM, leaf first', required: true}),
    nonce: Flags.string({description: 'expected nonce (hex, 32 bytes)', required: true}),
    'allow-missing-fwid': Flags.boolean({description: 'accept reports of older firmware without an FWID field', default: false}),
    'nvidia-root': Flags.string({description: 'further accepted root certificate (PEM file); adds to the pinned NVIDIA root', multiple: true}),
  }

  async run() {
    const {decodeReportFile, parseCertChain, verifyNvidiaReport} = await import('../../hw/nvidia/verify.js')
    const f = this.flags
    const nonce = hexToBytes(f.nonce, '--nonce', 32)
    const report = decodeReportFile(Uint8Array.from(read(f.report, '--report')))
    const chain = read(f['cert-chain'], '--cert-chain').toString('latin1')
    const extraRoots = [...this.resolved.profile.trustRoots.nvidia, ...(f['nvidia-root'] ?? [])].flatMap((p) =>
      parseCertChain(read(p, '--nvidia-root').toString('latin1')).map((c) => c.fingerprint256),
    )
    const result = verifyNvidiaReport(report, chain, {expectedNonce: nonce, allowMissingFwid: f['allow-missing-fwid'], extraRootFingerprints: extraRoots})
    if (!result.valid)
      throw new EvidenceInvalidError(`NVIDIA report is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which check failed',
        details: {checks: result.checks, nonce: result.nonce},
      })
    this.log(
      `valid NVIDIA CC report  driver ${result.opaque.driverVersion ?? '?'}  VBIOS ${result.opaque.vbiosVersion ?? '?'}  ${result.measurementCount} measurements`,
    )
    this.log(`  leaf ${result.chain[0]!.subject}  FWID ${result.opaque.fwid ?? '(none)'}`)
    this.log('  not checked offline: OCSP revocation, RIM golden measurements (see docs/nvidia-attestation.md)')
    return result
  }
}
