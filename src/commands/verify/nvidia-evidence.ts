import {Flags} from '@oclif/core'

import {parseAt} from '../../cli/at-flag.js'
import {BaseCommand} from '../../cli/base-command.js'
import {readFlagFile} from '../../cli/flag-file.js'
import {nvidiaCheckFlags, nvidiaCheckPolicyFromFlags} from '../../cli/nvidia-check-flags.js'
import {EvidenceInvalidError} from '../../errors/index.js'
import {hexToBytes} from '../../util/hex.js'

export default class VerifyNvidiaEvidence extends BaseCommand<typeof VerifyNvidiaEvidence> {
  static override summary = "verify a multi-GPU / NVSwitch evidence set as NVIDIA's attestation SDK serialises it"
  static override description =
    'The file is a JSON list of {arch, nonce, evidence, certificate} (base64 report and PEM chain). Each report gets the check ' +
    '`unet verify nvidia-report` makes (offline checks, RIMs from --rim-dir, OCSP of the GPU and RIM chains, the CC policy for GPUs, ' +
    'all from the profile unless a flag says otherwise); the declared arch must be the one its chain names, one chip may appear once, ' +
    "all GPUs must be in one mode (SPT, MPT or PPCIE), and a PPCIE set must have NVIDIA's topology: 8 GPUs each linked to the same 4 NVSwitches, " +
    'each switch listing the same 8 GPUs (docs/nvidia-attestation.md). ' +
    'Exit 0 when valid, 10 with the reasons when not, 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-evidence --evidence set.json --nonce HEX',
    '<%= config.bin %> verify nvidia-evidence --evidence set.json --nonce HEX --ocsp enforce --rim-dir ./rims --json',
  ]
  static override flags = {
    evidence: Flags.string({description: "evidence list (JSON, NVIDIA's serialised form)", required: true}),
    nonce: Flags.string({description: 'expected nonce of every report (hex, 32 bytes)', required: true}),
    ...nvidiaCheckFlags,
  }

  async run() {
    const {parseNvidiaEvidenceList, checkNvidiaEvidenceSet} = await import('../../hw/nvidia/evidence-list.js')
    const f = this.flags
    const nonce = hexToBytes(f.nonce, '--nonce', 32)
    const text = readFlagFile(f.evidence, '--evidence').toString('utf8')
    const policy = await nvidiaCheckPolicyFromFlags(this.resolved.profile, f)
    const result = await checkNvidiaEvidenceSet(parseNvidiaEvidenceList(text), nonce, policy, {
      cacheDir: this.resolved.paths.cacheDir,
      now: parseAt(f.at),
    })
    const entries = result.entries.map((e) => ({
      architecture: e.architecture,
      chip: e.chip,
      opaque: e.opaque,
      checks: e.checks,
      measurements: e.measurements,
      policy: e.policy,
      ocsp: e.ocsp,
      rims: e.rim?.rims.map((r) => ({label: r.label, role: r.role, reasons: r.result.reasons, ocsp: r.ocsp})) ?? [],
      warnings: e.warnings,
    }))
    if (!result.valid)
      throw new EvidenceInvalidError(`NVIDIA evidence set is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which entry failed',
        details: {entries},
      })
    for (const [i, e] of result.entries.entries()) for (const w of e.warnings) this.warning(`entry ${i}: ${w}`)
    for (const [i, e] of result.entries.entries())
      this.log(
        `entry ${i}: valid ${e.architecture}  chip ${e.chip?.serialNumber}  driver ${e.opaque.driverVersion ?? '-'}  VBIOS ${e.opaque.vbiosVersion ?? '?'}  measurements ${e.measurements}  OCSP (${e.ocsp.mode}) ${e.ocsp.certs.map((c) => `${c.index}:${c.status}`).join(' ')}`,
      )
    return {valid: true, entries}
  }
}
