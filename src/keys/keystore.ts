import {readFileSync} from 'node:fs'
import {createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, randomUUID, scryptSync, timingSafeEqual} from 'node:crypto'

import {scrypt as nobleScrypt} from '@noble/hashes/scrypt.js'
import {keccak_256} from '@noble/hashes/sha3.js'

import {InputError, WrongPassphraseError} from '../errors/index.js'
import {bytesToHex, hexToBytes} from '../util/hex.js'
import {parseJsonText} from '../util/json-text.js'
import {addressOfSecretKey, toChecksumAddress} from './address.js'

/**
 * Web3 Secret Storage v3 (the Ethereum keystore format), written with node:crypto so the key
 * module needs no chain library. Reads scrypt and pbkdf2-hmac-sha256 files; writes scrypt.
 */
export interface KeystoreV3 {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    cipherparams: {iv: string}
    ciphertext: string
    kdf: 'scrypt' | 'pbkdf2'
    kdfparams: Record<string, unknown>
    mac: string
  }
}

/** scrypt N=2^17, r=8, p=1: the parameters ethers writes; about 0.3 s here. */
const WRITE_SCRYPT = {n: 131072, r: 8, p: 1, dklen: 32}

export function encryptKeystore(secretKey: Uint8Array, passphrase: string, params = WRITE_SCRYPT): KeystoreV3 {
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const derived = scryptSync(passphrase.normalize('NFKC'), salt, params.dklen, {
    N: params.n,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.n * params.r + 1024 * 1024,
  })
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(secretKey), cipher.final()])
  return {
    version: 3,
    id: randomUUID(),
    address: addressOfSecretKey(secretKey).slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: {iv: iv.toString('hex')},
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams: {...params, salt: salt.toString('hex')},
      mac: macOf(derived, ciphertext),
    },
  }
}

export function decryptKeystore(json: unknown, passphrase: string): {secretKey: Uint8Array; address: string} {
  const ks = asKeystore(json)
  const derived = deriveKey(ks, passphrase.normalize('NFKC'))
  const ciphertext = hexToBytes(ks.crypto.ciphertext, 'keystore ciphertext')
  const expected = hexToBytes(ks.crypto.mac, 'keystore mac', 32)
  if (!timingSafeEqual(expected, hexToBytes(macOf(derived, ciphertext), 'mac', 32))) throw new WrongPassphraseError()
  const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), hexToBytes(ks.crypto.cipherparams.iv, 'keystore iv', 16))
  const secretKey = Uint8Array.from(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  return {secretKey, address: addressOfSecretKey(secretKey)}
}

/** The address a keystore claims (without decrypting it). */
export function keystoreAddress(json: unknown): string | undefined {
  const ks = asKeystore(json)
  return ks.address ? toChecksumAddress('0x' + ks.address.replace(/^0x/, '')) : undefined
}

function macOf(derived: Uint8Array, ciphertext: Uint8Array): string {
  return bytesToHex(keccak_256(Buffer.concat([derived.subarray(16, 32), ciphertext])), false)
}

function deriveKey(ks: KeystoreV3, passphrase: string): Buffer {
  const p = ks.crypto.kdfparams
  const salt = hexToBytes(String(p.salt ?? ''), 'keystore salt')
  const dklen = num(p.dklen, 'dklen')
  if (dklen < 32) throw new InputError('keystore kdfparams.dklen must be at least 32')
  if (ks.crypto.kdf === 'scrypt') {
    const n = num(p.n, 'n'),
      r = num(p.r, 'r'),
      q = num(p.p, 'p')
    if (n > 2 ** 20 || r > 32 || q > 16) throw new InputError('keystore scrypt parameters are too large to be safe to run')
    try {
      return scryptSync(passphrase, salt, dklen, {N: n, r, p: q, maxmem: 256 * n * r * q + 1024 * 1024})
    } catch (error) {
      // OpenSSL enforces RFC 7914's N < 2^(16r); files from other wallets (and the spec's own test
      // vector, r=1 with N=2^18) break it, so those take the slower pure-JS scrypt.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS') throw error
      return Buffer.from(nobleScrypt(passphrase, salt, {N: n, r, p: q, dkLen: dklen, maxmem: 2 ** 31}))
    }
  }
  if (p.prf !== 'hmac-sha256') throw new InputError(`keystore pbkdf2 prf ${String(p.prf)} is not supported`)
  const c = num(p.c, 'c')
  if (c > 10_000_000) throw new InputError('keystore pbkdf2 iteration count is too large')
  return pbkdf2Sync(passphrase, salt, c, dklen, 'sha256')
}

function num(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new InputError(`keystore kdfparams.${name} is invalid`)
  return value
}

function asKeystore(json: unknown): KeystoreV3 {
  const ks = (typeof json === 'string' ? safeParse(json) : json) as Partial<KeystoreV3> | undefined
  const c = ks?.crypto ?? (ks as {Crypto?: KeystoreV3['crypto']} | undefined)?.Crypto
  if (!ks || ks.version !== 3 || !c)
    throw new InputError('not a Web3 Secret Storage v3 keystore', {hint: 'expected a JSON file with "version": 3 and a "crypto" section'})
  if (c.cipher !== 'aes-128-ctr') throw new InputError(`keystore cipher ${String(c.cipher)} is not supported (aes-128-ctr only)`)
  if (c.kdf !== 'scrypt' && c.kdf !== 'pbkdf2') throw new InputError(`keystore kdf ${String(c.kdf)} is not supported`)
  if (typeof c.ciphertext !== 'string' || typeof c.mac !== 'string' || typeof c.cipherparams?.iv !== 'string' || !c.kdfparams)
    throw new InputError('keystore is missing ciphertext, mac, iv or kdfparams')
  return {...ks, crypto: c} as KeystoreV3
}

function safeParse(text: string): unknown {
  const parsed = parseJsonText(text)
  if ('value' in parsed) return parsed.value
  const {line, column, reason} = parsed.problem
  throw new InputError(`keystore is not valid JSON at ${line}:${column} (${reason})`)
}

/**
 * A keystore file, parsed and checked for the v3 shape (not decrypted); every error names the file and,
 * for broken JSON, the line:column: a damaged keystore is found before the passphrase is asked for.
 */
export function readKeystoreFile(path: string): KeystoreV3 {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new InputError(`keystore ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const parsed = parseJsonText(text)
  if ('problem' in parsed) {
    const {line, column, reason} = parsed.problem
    throw new InputError(`keystore ${path}:${line}:${column}: not valid JSON (${reason})`, {hint: DAMAGED_HINT, details: {path, line, column}})
  }
  try {
    return asKeystore(parsed.value)
  } catch (error) {
    throw new InputError(`keystore ${path}: ${(error as Error).message.replace(/^keystore /, '')}`, {hint: DAMAGED_HINT, details: {path}})
  }
}

/** The key cannot be rebuilt from a damaged keystore: only a copy brings it back. */
const DAMAGED_HINT =
  'the file is damaged: restore it from a backup (`unet wallet import --keystore <copy> --force`; earlier ones are kept as keystore.json.bak-*)'
