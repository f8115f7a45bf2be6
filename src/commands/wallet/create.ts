import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {randomSecretKey} from '../../keys/address.js'
import {getPassphrase} from '../../keys/passphrase.js'
import {storeWallet} from '../../keys/wallet.js'

export default class WalletCreate extends BaseCommand<typeof WalletCreate> {
  static override summary = 'create the operator wallet (hot key that sends heartbeats and pays gas)'
  static override description = 'The passphrase comes from UNET_PASSWORD, UNET_PASSWORD_FILE or a prompt, never from the command line.'
  static override flags = {force: Flags.boolean({description: 'replace an existing wallet (it is kept as a backup)'})}

  async run() {
    const {config, paths} = this.resolved
    const passphrase = await getPassphrase({confirm: true, purpose: 'the new operator keystore'})
    const info = await storeWallet({dataDir: paths.dataDir, backend: config.wallet.backend}, randomSecretKey(), passphrase, this.flags.force)
    this.log(`operator address: ${info.address}`)
    if (info.path) this.log(`keystore: ${info.path} (mode 0600; back it up)`)
    return info
  }
}
