import {readFileSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {decodeEvidence, evidenceDigestHex} from '../../evidence/format.js'
import {EmulatorRefusedError, EvidenceInvalidError, InputError} from '../../errors/index.js'
import {cloudVtpmAllowed, loadTrustRoots} from '../../hw/tpm2/roots.js'
import {verifyEvidence} from '../../verifier/verify-evidence.js'
import {hexToBytes} from '../../util/hex.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'verify unet evidence (anyone can: no hardware needed)'
  static override description =
    'Checks evidence v1 (docs/evidence.md) with the same verifier the chain verifier uses. Exit 0 when valid, 10 with the reasons when not, ' +
    '11 for emulator evidence on a network that refuses it, 19 for a malformed file. Subcommands verify other formats (tpm-quote, ...).'
  static override examples = ['<%= config.bin %> verify evidence.json --nonce 0x9009 --tpm-root /etc/unet/ek-roots/']
  static override args = {file: Args.string({description: 'evidence file (unet evidence v1)', required: true})}
  static override flags = {
    nonce: Flags.string({description: 'expected qualifying data (hex); without it freshness is not checked'}),
    challenge: Flags.string({description: 'expected chain challenge (hex, 32 bytes)'}),
    'tpm-root': Flags.string({
      description: "trusted TPM EK root or intermediate (PEM/DER file or directory); adds to the profile's trustRoots.tpm",
      multiple: true,
    }),
  }

  async run() {
    const {profile} = this.resolved
    let bytes: Uint8Array
    try {
      bytes = Uint8Array.from(readFileSync(this.args.file))
    } catch {
      throw new InputError(`cannot read ${this.args.file}`)
    }
    const evidence = decodeEvidence(bytes)
    const expected: {qualifyingData?: Uint8Array; challenge?: Uint8Array} = {}
    if (this.flags.nonce) expected.qualifyingData = hexToBytes(this.flags.nonce, '--nonce')
    if (this.flags.challenge) expected.challenge = hexToBytes(this.flags.challenge, '--challenge', 32)
    const result = verifyEvidence(evidence, {
      network: profile.name,
      allowEmulator: profile.allowEmulator,
      tpmRoots: loadTrustRoots([...profile.trustRoots.tpm, ...(this.flags['tpm-root'] ?? [])]),
      allowCloudVtpm: cloudVtpmAllowed(profile),
      nvidiaRoots: loadTrustRoots(profile.trustRoots.nvidia),
      ...(Object.keys(expected).length > 0 ? {expected} : {}),
    })
    const evidenceDigest = evidenceDigestHex(evidence)
    if (result.refused === 'emulator') throw new EmulatorRefusedError(profile.name)
    if (!result.valid)
      throw new EvidenceInvalidError(`${result.kind} evidence is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which check failed',
        details: {kind: result.kind, deviceId: result.deviceId, evidenceDigest, warnings: result.warnings},
      })
    this.log(`valid ${result.kind} evidence  deviceId ${result.deviceId}  evidenceDigest ${evidenceDigest}`)
    for (const w of result.warnings) this.log(`note: ${w}`)
    return {...result, evidenceDigest}
  }
}
