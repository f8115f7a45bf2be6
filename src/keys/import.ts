import {readFileSync} from 'node:fs'

import {InputError} from '../errors/index.js'
import {assertPrivateFile} from '../util/files.js'
import {addressOfSecretKey, parseSecretKey} from './address.js'
import {decryptKeystore, readKeystoreFile} from './keystore.js'
import {getPassphrase} from './passphrase.js'
import {storeWallet, walletInfo, type WalletInfo, type WalletLocation} from './wallet.js'

/** Where an imported operator key comes from: a Web3 keystore, or a 0600 file (or `-`, stdin) holding the hex key. */
export interface KeySource {
  keystore?: string
  keyFile?: string
}

export interface ImportOptions {
  /** Replace a different existing wallet (it is kept as a backup). */
  force?: boolean
  /** When the wallet already holds this very key, keep it and report changed: false (`unet init`) instead of refusing without force. */
  keepIfSame?: boolean
  env?: NodeJS.ProcessEnv
}

export interface ImportResult extends WalletInfo {
  /** false when the wallet already held this very key: nothing was written. */
  changed: boolean
}

/**
 * Reads the key to import and its passphrase. A keystore is decrypted with its passphrase (which then
 * protects the stored copy too); a raw key file must be 0600 and gets a new passphrase (asked twice on
 * a TTY). Passphrases come only from UNET_PASSWORD / UNET_PASSWORD_FILE / a prompt, never argv.
 */
async function readKeySource(source: KeySource, env?: NodeJS.ProcessEnv): Promise<{secretKey: Uint8Array; passphrase: string}> {
  if (source.keystore && source.keyFile) throw new InputError('give either a keystore or a key file, not both')
  if (source.keystore) {
    const keystore = readKeystoreFile(source.keystore)
    const passphrase = await getPassphrase({purpose: source.keystore, env})
    return {secretKey: decryptKeystore(keystore, passphrase).secretKey, passphrase}
  }
  if (source.keyFile) {
    if (source.keyFile !== '-') assertPrivateFile(source.keyFile)
    const secretKey = parseSecretKey(readText(source.keyFile === '-' ? 0 : source.keyFile).trim())
    const passphrase = await getPassphrase({confirm: true, purpose: 'the operator keystore', env})
    return {secretKey, passphrase}
  }
  throw new InputError('nothing to import', {hint: 'pass --keystore FILE or --key-file FILE (or --key-file - to read stdin)'})
}

/**
 * Imports the operator key (`unet wallet import`, `unet init --wallet import`). An existing wallet is
 * replaced only with `force` (kept as a backup); with `keepIfSame`, re-importing its own key is a no-op.
 */
export async function importWallet(loc: WalletLocation, source: KeySource, options: ImportOptions = {}): Promise<ImportResult> {
  const {secretKey, passphrase} = await readKeySource(source, options.env)
  const existing = walletInfo(loc.dataDir)
  if (options.keepIfSame && existing && existing.address.toLowerCase() === addressOfSecretKey(secretKey).toLowerCase()) return {...existing, changed: false}
  return {...(await storeWallet(loc, secretKey, passphrase, options.force)), changed: true}
}

function readText(source: string | number): string {
  try {
    return readFileSync(source, 'utf8')
  } catch (error) {
    throw new InputError(`cannot read ${source === 0 ? 'stdin' : source} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}
