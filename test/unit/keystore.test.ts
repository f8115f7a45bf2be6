import {readFileSync} from 'node:fs'

import {Wallet, encryptKeystoreJsonSync} from 'ethers'
import {describe, expect, it} from 'vitest'

import {ExitCode, UnetError} from '../../src/errors/index.js'
import {parseAddress, parseSecretKey} from '../../src/keys/address.js'
import {decryptKeystore, encryptKeystore} from '../../src/keys/keystore.js'

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/web3-secret-storage/${name}`, import.meta.url), 'utf8')
const SPEC_SECRET = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const SPEC_ADDRESS = '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b'

describe('Web3 Secret Storage v3', () => {
  it.each(['pbkdf2.json', 'scrypt.json'])('decrypts the spec test vector %s', (name) => {
    const {secretKey, address} = decryptKeystore(fixture(name), 'testpassword')
    expect(Buffer.from(secretKey).toString('hex')).toBe(SPEC_SECRET)
    expect(address).toBe(SPEC_ADDRESS)
  })

  it('a wrong passphrase is WRONG_PASSPHRASE, not a crash', () => {
    try {
      decryptKeystore(fixture('pbkdf2.json'), 'nope')
      expect.unreachable()
    } catch (error) {
      expect((error as UnetError).exitCode).toBe(ExitCode.WRONG_PASSPHRASE)
    }
  })

  it('what unet writes, ethers decrypts (and the reverse)', async () => {
    const key = parseSecretKey(SPEC_SECRET)
    const ks = encryptKeystore(key, 'pässwörd')
    const wallet = await Wallet.fromEncryptedJson(JSON.stringify(ks), 'pässwörd')
    expect(wallet.address).toBe(SPEC_ADDRESS)
    const random = Wallet.createRandom()
    const fromEthers = encryptKeystoreJsonSync({address: random.address, privateKey: random.privateKey}, 'abc', {scrypt: {N: 1024}})
    const back = decryptKeystore(fromEthers, 'abc')
    expect(back.address).toBe(random.address)
  })

  it.each([
    ['not json', '{'],
    ['wrong version', JSON.stringify({version: 1, crypto: {}})],
    ['unsupported cipher', JSON.stringify({version: 3, crypto: {cipher: 'aes-128-cbc'}})],
    [
      'absurd scrypt n',
      JSON.stringify({
        version: 3,
        crypto: {
          cipher: 'aes-128-ctr',
          cipherparams: {iv: '00'.repeat(16)},
          ciphertext: '00',
          mac: '00'.repeat(32),
          kdf: 'scrypt',
          kdfparams: {n: 2 ** 30, r: 8, p: 1, dklen: 32, salt: '00'},
        },
      }),
    ],
  ])('rejects %s with INPUT_INVALID', (_name, text) => {
    try {
      decryptKeystore(text, 'x')
      expect.unreachable()
    } catch (error) {
      expect((error as UnetError).exitCode).toBe(ExitCode.INPUT_INVALID)
    }
  })

  it('addresses: EIP-55 checksum enforced for mixed case', () => {
    expect(parseAddress(SPEC_ADDRESS.toLowerCase())).toBe(SPEC_ADDRESS)
    expect(() => parseAddress(SPEC_ADDRESS.replace('A', 'a'))).toThrow(/checksum/)
    expect(() => parseSecretKey('00'.repeat(32))).toThrow(/out of range/)
  })
})
