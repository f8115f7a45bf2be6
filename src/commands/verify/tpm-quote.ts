import {createPublicKey, type KeyObject} from 'node:crypto'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {readFlagFile} from '../../cli/flag-file.js'
import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {readSerializedPcrs, serializedToMap} from '../../hw/tpm2/tpm2-tools.js'
import {QuoteVerifier} from '../../hw/tpm2/verify.js'
import {tpm2b} from '../../hw/tpm2/wire.js'
import {hexToBytes} from '../../util/hex.js'

export default class VerifyTpmQuote extends BaseCommand<typeof VerifyTpmQuote> {
  static override summary = 'verify a raw TPM quote (tpm2-tools files or outside vectors)'
  static override description =
    'The AK is a PEM/DER public key, or a TPM2B_PUBLIC (--ak-public) for the full attribute and signer-name checks. Exit 0 when valid, 10 with reasons when not, 19 for malformed input.'
  static override examples = ['<%= config.bin %> verify tpm-quote --ak ak.pem --msg quote.msg --sig quote.sig --pcrs quote.pcrs --nonce 0x9009']
  static override flags = {
    ak: Flags.string({description: 'AK public key, PEM or DER (SubjectPublicKeyInfo)', exactlyOne: ['ak', 'ak-public']}),
    'ak-public': Flags.string({description: 'AK as TPM2B_PUBLIC (tpm2_createak -u / unet ak.pub) or bare TPMT_PUBLIC', exactlyOne: ['ak', 'ak-public']}),
    msg: Flags.string({description: 'TPMS_ATTEST (tpm2_quote -m)', required: true}),
    sig: Flags.string({description: 'TPMT_SIGNATURE (tpm2_quote -s)', required: true}),
    pcrs: Flags.string({description: 'PCR values, tpm2-tools "serialized" layout (tpm2_quote -o)'}),
    nonce: Flags.string({description: 'expected qualifying data (hex)', required: true}),
    'allow-unsafe-clock': Flags.boolean({description: 'accept clockInfo.safe = 0', default: false}),
  }

  async run() {
    const f = this.flags
    const verifier = f['ak-public']
      ? new QuoteVerifier({tpm2bPublic: asTpm2b(readFlagFile(f['ak-public'], '--ak-public'))})
      : new QuoteVerifier({key: keyText(readFlagFile(f.ak!, '--ak'))})
    const pcrs = f.pcrs ? serializedToMap(readSerializedPcrs(Uint8Array.from(readFlagFile(f.pcrs, '--pcrs')))) : undefined
    const result = verifier.verify({
      attest: Uint8Array.from(readFlagFile(f.msg, '--msg')),
      signature: Uint8Array.from(readFlagFile(f.sig, '--sig')),
      expectedExtraData: hexToBytes(f.nonce, '--nonce'),
      ...(pcrs ? {pcrs} : {}),
      requireSafe: !f['allow-unsafe-clock'],
    })
    const warnings: string[] = []
    if (!pcrs) warnings.push('no --pcrs: the PCR values were not checked against pcrDigest')
    if (!f['ak-public']) warnings.push('AK given as a bare key: its TPM attributes and the quote signer name were not checked')
    const a = result.attest
    const summary = {
      extraData: '0x' + Buffer.from(a.extraData).toString('hex'),
      clock: a.clockInfo.clock.toString(),
      resetCount: a.clockInfo.resetCount,
      restartCount: a.clockInfo.restartCount,
      safe: a.clockInfo.safe,
      pcrSelect: a.pcrSelect,
      pcrDigest: '0x' + Buffer.from(a.pcrDigest).toString('hex'),
    }
    if (!result.valid)
      throw new EvidenceInvalidError(`TPM quote is invalid: ${result.reasons.join('; ')}`, result.reasons, {
        hint: 'the reasons say which check failed',
        details: {quote: summary},
      })
    this.log(`valid TPM quote  extraData ${summary.extraData}  pcrDigest ${summary.pcrDigest}`)
    for (const w of warnings) this.log(`note: ${w}`)
    return {valid: true, reasons: [], warnings, quote: summary}
  }
}

/** TPM2B_PUBLIC as is; a bare TPMT_PUBLIC (go-tpm-tools ak_pub) gets its size prefix. */
function asTpm2b(data: Buffer): Uint8Array {
  if (data.length >= 2 && data.readUInt16BE(0) === data.length - 2) return Uint8Array.from(data)
  return tpm2b(Uint8Array.from(data))
}

function keyText(data: Buffer): string | KeyObject {
  const text = data.toString('latin1')
  if (text.includes('-----BEGIN')) return text
  // DER SubjectPublicKeyInfo
  return createSpki(data)
}

function createSpki(der: Buffer): KeyObject {
  try {
    return createPublicKey({key: der, format: 'der', type: 'spki'})
  } catch {
    throw new InputError('--ak is neither a PEM nor a DER public key')
  }
}
