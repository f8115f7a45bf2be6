import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {InputError} from '../../errors/index.js'
import {parseSecretKey} from '../../keys/address.js'
import {decryptKeystore} from '../../keys/keystore.js'
import {getPassphrase} from '../../keys/passphrase.js'
import {storeWallet} from '../../keys/wallet.js'
import {assertPrivateFile} from '../../util/files.js'

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
    if (!keystore && !keyFile) throw new InputError('nothing to import', {hint: 'pass --keystore FILE or --key-file FILE (or --key-file - to read stdin)'})
    let secretKey: Uint8Array
    let passphrase: string
    if (keystore) {
      passphrase = await getPassphrase({purpose: keystore})
      secretKey = decryptKeystore(readText(keystore), passphrase).secretKey
    } else {
      if (keyFile !== '-') assertPrivateFile(keyFile!)
      secretKey = parseSecretKey(readText(keyFile === '-' ? 0 : keyFile!).trim())
      passphrase = await getPassphrase({confirm: true, purpose: 'the operator keystore'})
    }
    const info = await storeWallet({dataDir: paths.dataDir, backend: config.wallet.backend}, secretKey, passphrase, force)
    this.log(`imported operator address: ${info.address}`)
    return info
  }
}

function readText(source: string | number): string {
  try {
    return readFileSync(source, 'utf8')
  } catch (error) {
    throw new InputError(`cannot read ${source === 0 ? 'stdin' : source} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}
