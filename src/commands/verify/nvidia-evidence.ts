import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {hexToBytes} from '../../util/hex.js'

export default class VerifyNvidiaEvidence extends BaseCommand<typeof VerifyNvidiaEvidence> {
  static override summary = "verify a multi-GPU / NVSwitch evidence set as NVIDIA's attestation SDK serialises it (offline)"
  static override description =
    'The file is a JSON list of {arch, nonce, evidence, certificate} (base64 report and PEM chain). Each report is verified as ' +
    '`unet verify nvidia-report` does; the declared arch must be the one its chain names, and one chip may appear once. The PPCIE ' +
    'topology check is not made (docs/nvidia-attestation.md). Exit 0 when valid, 10 with the reasons when not, 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify nvidia-evidence --evidence fixtures/nvidia/multi-gpu-hopper.json --nonce e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576',
  ]
  static override flags = {
    evidence: Flags.string({description: "evidence list (JSON, NVIDIA's serialised form)", required: true}),
    nonce: Flags.string({description: 'expected nonce of every report (hex, 32 bytes)', required: true}),
    'allow-missing-fwid': Flags.boolean({description: 'accept reports without an FWID field (older GPU firmware, LS10 switches)', default: false}),
  }

  async run() {
    const {parseNvidiaEvidenceList, verifyNvidiaEvidenceSet} = await import('../../hw/nvidia/evidence-list.js')
    const f = this.flags
    const nonce = hexToBytes(f.nonce, '--nonce', 32)
    let text: string
    try {
      text = readFileSync(f.evidence, 'utf8')
    } catch {
      throw new InputError(`cannot read --evidence ${f.evidence}`)
    }
    const {loadTrustRoots} = await import('../../hw/tpm2/roots.js')
    const {rootFingerprints} = await import('../../hw/nvidia/verify-evidence.js')
    const result = verifyNvidiaEvidenceSet(parseNvidiaEvidenceList(text), {
      expectedNonce: nonce,
      allowMissingFwid: f['allow-missing-fwid'],
      extraRootFingerprints: rootFingerprints(loadTrustRoots(this.resolved.profile.trustRoots.nvidia)),
    })
    if (!result.valid)
      throw new EvidenceInvalidError(`NVIDIA evidence set is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which entry failed',
      })
    for (const [i, e] of result.entries.entries())
      this.log(
        `entry ${i}: valid ${e.architecture}  chip ${e.chip?.serialNumber}  driver ${e.opaque.driverVersion ?? '-'}  VBIOS ${e.opaque.vbiosVersion ?? '?'}`,
      )
    return {valid: true, entries: result.entries.map((e) => ({architecture: e.architecture, chip: e.chip, opaque: e.opaque, checks: e.checks}))}
  }
}
