import {createPrivateKey, generateKeyPairSync, privateDecrypt, constants, randomBytes} from 'node:crypto'

import {solidityPackedKeccak256, toUtf8Bytes, keccak256} from 'ethers'
import {describe, expect, it} from 'vitest'

import {InputError} from '../../../src/errors/index.js'
import {ACTIVATION_DOMAIN, activationCommitment} from '../../../src/evidence/nonce.js'
import {emulatorAkTpmt} from '../../../src/hw/emulator/engine.js'
import {credentialChallengeFor} from '../../../src/hw/tpm2/activation.js'
import {objectName, parseTpm2bPublic} from '../../../src/hw/tpm2/structures.js'
import {ekTemplateRsa2048, TPM2_ALG, TPMA_OBJECT, tpm2b, Writer} from '../../../src/hw/tpm2/wire.js'
import {bytesToHex} from '../../../src/util/hex.js'

const softAk = () => {
  const jwk = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'jwk'})
  return tpm2b(emulatorAkTpmt(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')))
}

/** An RSA EK public area (TCG template attributes) whose private key the test holds. */
function rsaEk(attributes = 0x000300b2) {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const t = Buffer.from(ekTemplateRsa2048())
  const n = Buffer.from(publicKey.export({format: 'jwk'}).n!, 'base64url')
  n.copy(t, t.length - 256)
  t.writeUInt32BE(attributes, 4)
  return {ekPublic: tpm2b(t), privateKey}
}

describe('activation commitment (nonce.ts)', () => {
  it('is keccak256(ACTIVATION_DOMAIN ‖ regId ‖ secret) as the contract packs it', () => {
    expect(bytesToHex(ACTIVATION_DOMAIN)).toBe(keccak256(toUtf8Bytes('UNET-POCI-ACTIVATION-v2')))
    const regId = bytesToHex(randomBytes(32))
    const secret = randomBytes(32)
    expect(bytesToHex(activationCommitment(regId, secret))).toBe(solidityPackedKeccak256(['bytes32', 'bytes32', 'bytes32'], [ACTIVATION_DOMAIN, regId, secret]))
    expect(() => activationCommitment(regId, randomBytes(31))).toThrow(InputError)
    expect(() => activationCommitment('0x12', secret)).toThrow(InputError)
  })
})

describe('credentialChallengeFor', () => {
  it('binds the secret to the AK name: whoever holds the EK private key recovers the seed (so the EK must be certified)', () => {
    const {ekPublic, privateKey} = rsaEk()
    const ak = softAk()
    const secret = randomBytes(32)
    const c = credentialChallengeFor(ekPublic, ak, secret)
    expect(c.ekType).toBe('rsa2048')
    expect(c.commitment).toBeUndefined()
    expect(c.akName).toEqual(objectName(parseTpm2bPublic(ak)))
    // the encrypted secret is the seed under RSA-OAEP(SHA-256, "IDENTITY\0") to the EK: only the EK's holder opens it
    const seed = privateDecrypt(
      {
        key: createPrivateKey(privateKey.export({type: 'pkcs8', format: 'pem'})),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
        oaepLabel: Buffer.from('IDENTITY\0'),
      },
      c.encryptedSecret,
    )
    expect(seed).toHaveLength(32)
    // fresh randomness each time: two challenges for the same secret differ
    expect(Buffer.from(credentialChallengeFor(ekPublic, ak, secret).encryptedSecret).equals(Buffer.from(c.encryptedSecret))).toBe(false)
  })

  it('refuses an AK that is not a restricted signing key created in a TPM', () => {
    const {ekPublic} = rsaEk()
    const t = Buffer.from(parseTpm2bPublic(softAk()).tpmt)
    for (const bit of [TPMA_OBJECT.fixedTPM, TPMA_OBJECT.fixedParent, TPMA_OBJECT.sensitiveDataOrigin, TPMA_OBJECT.restricted, TPMA_OBJECT.sign]) {
      const weak = Buffer.from(t)
      weak.writeUInt32BE(t.readUInt32BE(4) & ~bit, 4)
      expect(() => credentialChallengeFor(ekPublic, tpm2b(weak), randomBytes(32))).toThrow(/no credential challenge for this AK: AK lacks attributes/)
    }
    // an EK offered as the AK (a decryption key) is refused too
    expect(() => credentialChallengeFor(ekPublic, ekPublic, randomBytes(32))).toThrow(/AK lacks attributes sign/)
  })

  it('refuses an EK that is not an EK (a signing key, not restricted) and secrets that are not 32 bytes', () => {
    const ak = softAk()
    expect(() => credentialChallengeFor(rsaEk(0x00040072).ekPublic, ak, randomBytes(32))).toThrow(
      /no credential challenge for this EK: EK lacks attributes restricted, decrypt/,
    )
    expect(() => credentialChallengeFor(rsaEk(0x000200b2).ekPublic, ak, randomBytes(32))).toThrow(/EK lacks attributes restricted/)
    expect(() => credentialChallengeFor(rsaEk().ekPublic, ak, randomBytes(16))).toThrow(/32 bytes/)
    const notRsa2048 = new Writer().u16(TPM2_ALG.RSA).bytes()
    expect(() => credentialChallengeFor(tpm2b(notRsa2048), ak, randomBytes(32))).toThrow(InputError)
  })
})
