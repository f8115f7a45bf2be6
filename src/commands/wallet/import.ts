import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {importWallet} from '../../keys/import.js'

export default class WalletImport extends BaseCommand<typeof WalletImport> {
  static override summary = 'import the operator key from a keystore file or a private-key file / stdin'
  static override description =
    'A private key is never taken from the command line. --key-file must be mode 0600; `--key-file -` reads stdin. ' +
    'A --keystore is decrypted with the passphrase (UNET_PASSWORD, UNET_PASSWORD_FILE or a prompt) and stored under it.'
  static override flags = {
    keystore: Flags.string({description: 'Web3 Secret Storage v3 keystore file', exclusive: ['key-file']}),
    'key-file': Flags.string({description: 'file holding the hex private key, or - for stdin', exclusive: ['keystore']}),
    force: Flags.boolean({description: 'replace an existing wallet (it is kept as a backup)'}),
  }

  async run() {
    const {config, paths} = this.resolved
    const {keystore, 'key-file': keyFile, force} = this.flags
    const {changed: _changed, ...info} = await importWallet({dataDir: paths.dataDir, backend: config.wallet.backend}, {keystore, keyFile}, {force})
    this.log(`imported operator address: ${info.address}`)
    return info
  }
}
