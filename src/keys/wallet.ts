import {existsSync, readFileSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {UnetError, WalletMissingError, ExitCode} from '../errors/index.js'
import {assertPrivateFile, writeFileAtomic} from '../util/files.js'
import {addressOfSecretKey} from './address.js'
import {decryptKeystore, encryptKeystore, keystoreAddress, readKeystoreFile, type KeystoreV3} from './keystore.js'

export type WalletBackend = 'keychain' | 'keystore'

export interface WalletLocation {
  dataDir: string
  backend: 'auto' | WalletBackend
}

export interface WalletInfo {
  address: string
  backend: WalletBackend
  /** The keystore file, for the keystore backend. */
  path?: string
}

const KEYCHAIN_SERVICE = 'unet'

function keysDir(dataDir: string): string {
  return join(dataDir, 'keys')
}
export function keystorePath(dataDir: string): string {
  return join(keysDir(dataDir), 'operator.json')
}
/** Public facts about the wallet (address, backend): readable without the passphrase. */
function metaPath(dataDir: string): string {
  return join(keysDir(dataDir), 'operator.meta.json')
}

/**
 * Picks the backend. Headless Linux (no D-Bus session, the common miner) has no usable Secret
 * Service, so "auto" goes straight to the keystore there instead of failing later.
 */
async function chooseBackend(loc: WalletLocation): Promise<WalletBackend> {
  if (loc.backend !== 'auto') return loc.backend
  if (process.platform === 'linux' && !process.env.DBUS_SESSION_BUS_ADDRESS) return 'keystore'
  return (await keychainWorks()) ? 'keychain' : 'keystore'
}

async function keychainEntry(address: string) {
  const {Entry} = await import('@napi-rs/keyring')
  return new Entry(KEYCHAIN_SERVICE, `operator:${address}`)
}

async function keychainWorks(): Promise<boolean> {
  try {
    const entry = await keychainEntry('probe')
    entry.setPassword('probe')
    entry.deletePassword()
    return true
  } catch {
    return false
  }
}

export function walletInfo(dataDir: string): WalletInfo | undefined {
  const meta = metaPath(dataDir)
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as WalletInfo
  const path = keystorePath(dataDir)
  if (existsSync(path)) {
    const address = keystoreAddress(readKeystoreFile(path))
    if (address) return {address, backend: 'keystore', path}
  }
  return undefined
}

export function requireWallet(dataDir: string): WalletInfo {
  const info = walletInfo(dataDir)
  if (!info) throw new WalletMissingError(`no operator wallet in ${keysDir(dataDir)}`)
  return info
}

/**
 * Stores a secret key as the operator wallet. An existing wallet is only replaced with `force`, and
 * even then its keystore is kept as a timestamped backup: a key is never silently lost.
 */
export async function storeWallet(loc: WalletLocation, secretKey: Uint8Array, passphrase: string, force = false): Promise<WalletInfo> {
  const existing = walletInfo(loc.dataDir)
  if (existing && !force)
    throw new UnetError(`an operator wallet already exists (${existing.address})`, ExitCode.INPUT_INVALID, {
      hint: 'pass --force to replace it (the old keystore is kept as a backup)',
    })
  if (existing?.path && existsSync(existing.path)) renameSync(existing.path, `${existing.path}.bak-${Date.now()}`)
  const address = addressOfSecretKey(secretKey)
  const backend = await chooseBackend(loc)
  let info: WalletInfo
  if (backend === 'keychain') {
    ;(await keychainEntry(address)).setPassword(Buffer.from(secretKey).toString('hex'))
    info = {address, backend}
  } else {
    const path = keystorePath(loc.dataDir)
    writeFileAtomic(path, JSON.stringify(encryptKeystore(secretKey, passphrase)) + '\n', 0o600)
    info = {address, backend, path}
  }
  writeFileAtomic(metaPath(loc.dataDir), JSON.stringify(info) + '\n', 0o600)
  return info
}

/** Reads the operator's secret key. The keystore must be 0600 and the passphrase right. */
export async function unlockWallet(dataDir: string, passphrase: () => Promise<string>): Promise<{secretKey: Uint8Array; info: WalletInfo}> {
  const info = requireWallet(dataDir)
  if (info.backend === 'keychain') {
    const hex = (await keychainEntry(info.address)).getPassword()
    if (!hex) throw new WalletMissingError(`the OS keychain has no key for ${info.address}`)
    return {secretKey: Uint8Array.from(Buffer.from(hex, 'hex')), info}
  }
  const path = info.path ?? keystorePath(dataDir)
  if (!existsSync(path)) throw new WalletMissingError(`keystore ${path} is missing`)
  assertPrivateFile(path)
  const {secretKey, address} = decryptKeystore(readKeystoreFile(path), await passphrase())
  if (address !== info.address) throw new UnetError(`keystore ${path} holds ${address}, not ${info.address}`, ExitCode.CONFIG_INVALID)
  return {secretKey, info}
}

/** A keystore of the operator key under the given passphrase (for backups and other wallets). */
export async function exportKeystore(dataDir: string, passphrase: () => Promise<string>): Promise<KeystoreV3> {
  const info = requireWallet(dataDir)
  if (info.backend === 'keystore') {
    const path = info.path ?? keystorePath(dataDir)
    await unlockWallet(dataDir, passphrase) // proves the passphrase before handing the file out
    return JSON.parse(readFileSync(path, 'utf8')) as KeystoreV3
  }
  const {secretKey} = await unlockWallet(dataDir, passphrase)
  return encryptKeystore(secretKey, await passphrase())
}
