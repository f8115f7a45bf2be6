import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {exportKeystore} from '../../keys/wallet.js'
import {writeFileAtomic} from '../../util/files.js'

export default class WalletExportKeystore extends BaseCommand<typeof WalletExportKeystore> {
  static override summary = 'write the operator key as a Web3 Secret Storage v3 keystore (0600)'
  static override flags = {out: Flags.string({description: 'file to write (mode 0600)', required: true})}

  async run() {
    const keystore = await exportKeystore(this.resolved.paths.dataDir, () => this.operatorPassphrase())
    writeFileAtomic(this.flags.out, JSON.stringify(keystore) + '\n', 0o600)
    this.log(`keystore written to ${this.flags.out}`)
    return {path: this.flags.out, address: '0x' + keystore.address}
  }
}
