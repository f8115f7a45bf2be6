import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {readFlagFile} from '../../cli/flag-file.js'
import {EvidenceInvalidError} from '../../errors/index.js'

export default class VerifySophgoSignature extends BaseCommand<typeof VerifySophgoSignature> {
  static override summary = 'verify a Sophgo BM1684/BM1684X chip signature (RSA-2048 PKCS#1 v1.5, SHA-256)'
  static override description =
    'The public key is the chip pubkey PEM ("RSA PUBLIC KEY", as the UtilityNet miner stores it) or an SPKI PEM. The chip signs SHA-256 of ' +
    'the whole message. Exit 0 when valid, 10 when not, 19 for malformed input.'
  static override examples = [
    '<%= config.bin %> verify sophgo-signature --pubkey fixtures/uminer/pubkey_6.pem --message utility --signature $(cat fixtures/uminer/utility.sig.hex)',
  ]
  static override flags = {
    pubkey: Flags.string({description: 'public key PEM file (PKCS#1 or SPKI)', required: true}),
    message: Flags.string({description: 'signed message (UTF-8 text)', exactlyOne: ['message', 'message-file']}),
    'message-file': Flags.string({description: 'file holding the signed message (raw bytes)', exactlyOne: ['message', 'message-file']}),
    signature: Flags.string({description: 'signature (hex)', required: true}),
  }

  async run() {
    const {verifySophgoSignature} = await import('../../hw/sophgo/verify.js')
    const f = this.flags
    const message = f['message-file'] ? Uint8Array.from(readFlagFile(f['message-file'], '--message-file')) : new Uint8Array(Buffer.from(f.message!, 'utf8'))
    const result = verifySophgoSignature(readFlagFile(f.pubkey, '--pubkey').toString('latin1'), message, f.signature)
    if (!result.valid)
      throw new EvidenceInvalidError(`Sophgo signature is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        details: {digest: result.digest, keyId: result.keyId},
      })
    this.log(`valid Sophgo chip signature  RSA-${result.modulusBits}  key ${result.keyId}  SHA-256(message) ${result.digest}`)
    return result
  }
}
