import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {MinerCommand} from '../cli/miner-command.js'
import {encodeEvidence, evidenceDigestHex} from '../evidence/format.js'
import {InputError} from '../errors/index.js'
import {buildHostEvidence, engineOptionsFrom, openEngine} from '../hw/engine.js'
import {derToPem} from '../hw/tpm2/pem.js'
import {parseTpm2bPublic, tpmPublicKeyObject} from '../hw/tpm2/structures.js'
import {writeSerializedPcrs} from '../hw/tpm2/tpm2-tools.js'
import {TPM2_ALG} from '../hw/tpm2/wire.js'
import {writeFileAtomic} from '../util/files.js'
import {hexToBytes} from '../util/hex.js'

/** Takes the engine flags (--engine, --tcti) of the miner commands; needs no wallet or chain. */
export default class Attest extends MinerCommand<typeof Attest> {
  static override summary = 'produce attestation evidence for a nonce with the host security engine'
  static override description =
    'Quotes the configured PCRs with the nonce as qualifying data. --format unet writes evidence v1 (docs/evidence.md) to PATH; ' +
    '--format tpm2-tools writes quote.msg, quote.sig, quote.pcrs and ak.pem into the directory PATH, for tpm2_checkquote.'
  static override examples = [
    '<%= config.bin %> attest --nonce 0x9009 --out evidence.json',
    '<%= config.bin %> attest --engine tpm2 --tcti swtpm:host=127.0.0.1,port=2321 --nonce 0x01020304 --format tpm2-tools --out ./quote',
  ]
  static override flags = {
    nonce: Flags.string({description: 'qualifying data, hex (at most 64 bytes)', required: true}),
    format: Flags.string({description: 'output format', options: ['unet', 'tpm2-tools'], default: 'unet'}),
    out: Flags.string({description: 'output file (unet) or directory (tpm2-tools)', required: true}),
  }

  async run() {
    const nonce = hexToBytes(this.flags.nonce, '--nonce')
    if (nonce.length === 0 || nonce.length > 64) throw new InputError(`--nonce must be 1 to 64 bytes, got ${nonce.length}`)
    const logger = await this.logger()
    const engine = await openEngine(engineOptionsFrom(this.resolved, (message) => logger.warn(message)))
    try {
      const evidence = await buildHostEvidence(engine, {qualifyingData: nonce})
      const digest = evidenceDigestHex(evidence)
      const deviceId = (await engine.identity()).deviceId
      const out = this.flags.out
      let files: string[]
      if (this.flags.format === 'tpm2-tools') {
        const akPem = tpmPublicKeyObject(parseTpm2bPublic(evidence.device.akPublic!)).export({type: 'spki', format: 'pem'}) as string
        const pcrs = evidence.quote.pcrs.values
        files = [join(out, 'quote.msg'), join(out, 'quote.sig'), join(out, 'quote.pcrs'), join(out, 'ak.pem'), join(out, 'ak.pub')]
        writeFileAtomic(files[0]!, evidence.quote.attest)
        writeFileAtomic(files[1]!, evidence.quote.signature)
        writeFileAtomic(files[2]!, writeSerializedPcrs([{hash: TPM2_ALG.SHA256, pcrs: [...pcrs.keys()]}], pcrs))
        writeFileAtomic(files[3]!, akPem)
        writeFileAtomic(files[4]!, evidence.device.akPublic!)
        evidence.device.certChain.forEach((der, i) => {
          const f = join(out, i === 0 && engine.kind === 'tpm2' ? 'ek-cert.pem' : `cert-${i}.pem`)
          writeFileAtomic(f, derToPem(der))
          files.push(f)
        })
      } else {
        writeFileAtomic(out, encodeEvidence(evidence))
        files = [out]
      }
      this.log(`${engine.kind} quote over sha256 PCRs ${[...evidence.quote.pcrs.values.keys()].join(',')} → ${files.join(', ')}`)
      this.log(`deviceId ${deviceId}  evidenceDigest ${digest}`)
      return {kind: engine.kind, deviceId, format: this.flags.format, files, evidenceDigest: digest}
    } finally {
      engine.close()
    }
  }
}
