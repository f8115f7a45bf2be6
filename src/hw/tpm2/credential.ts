/**
 * TPM2_MakeCredential done by the verifier in software (node:crypto), TCG TPM 2.0 Part 1 §24:
 * binds a secret to (EK, AK name) so that only the TPM holding both can run ActivateCredential.
 * RSA EKs: seed encrypted with RSA-OAEP(SHA-256, label "IDENTITY\0"); ECC EKs: seed from ephemeral
 * ECDH + KDFe. Then symKey = KDFa(seed, "STORAGE", name), encIdentity = AES-CFB(symKey, 0-IV,
 * TPM2B_DIGEST(credential)), HMAC key = KDFa(seed, "INTEGRITY"), outer HMAC over encIdentity || name.
 * Pure: no I/O, no FFI.
 */
import {constants, createCipheriv, createECDH, createHash, createHmac, publicEncrypt, randomBytes} from 'node:crypto'

import {InputError} from '../../errors/index.js'
import {hashName, leftPad, parseTpm2bPublic, tpmPublicKeyObject} from './structures.js'
import {HASH_SIZE, TPM2_ALG, TPM2_ECC, Writer} from './wire.js'

export interface MadeCredential {
  /** TPM2B_ID_OBJECT body: TPM2B(integrityHMAC) || encIdentity. */
  credentialBlob: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET body. */
  secret: Uint8Array
}

/** KDFa (SP 800-108 counter mode with HMAC), TPM 2.0 Part 1 §11.4.10.2. */
export function kdfa(hash: number, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Buffer {
  const alg = hashName(hash)
  const out: Buffer[] = []
  const labelBytes = Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0])])
  const bitsBytes = Buffer.alloc(4)
  bitsBytes.writeUInt32BE(bits)
  for (let i = 1, got = 0; got < bits / 8; i++) {
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(i)
    const block = createHmac(alg, key).update(counter).update(labelBytes).update(contextU).update(contextV).update(bitsBytes).digest()
    out.push(block)
    got += block.length
  }
  return Buffer.concat(out).subarray(0, bits / 8)
}

/** KDFe (SP 800-56A concatenation KDF), TPM 2.0 Part 1 §11.4.10.3. */
function kdfe(hash: number, z: Uint8Array, label: string, partyU: Uint8Array, partyV: Uint8Array, bits: number): Buffer {
  const alg = hashName(hash)
  const out: Buffer[] = []
  const labelBytes = Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0])])
  for (let i = 1, got = 0; got < bits / 8; i++) {
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(i)
    const block = createHash(alg).update(counter).update(z).update(labelBytes).update(partyU).update(partyV).digest()
    out.push(block)
    got += block.length
  }
  return Buffer.concat(out).subarray(0, bits / 8)
}

/**
 * MakeCredential for an EK (TPM2B_PUBLIC; RSA 2048 or ECC P-256 with AES-128-CFB, the TCG EK
 * templates) and the AK's name. `credential` is at most the EK nameAlg's digest size.
 */
export function makeCredential(ekTpm2bPublic: Uint8Array, akName: Uint8Array, credential: Uint8Array): MadeCredential {
  const ek = parseTpm2bPublic(ekTpm2bPublic)
  const nameAlg = ek.nameAlg
  const digestSize = HASH_SIZE[nameAlg]!
  if (credential.length === 0 || credential.length > digestSize) throw new InputError(`the credential must be 1..${digestSize} bytes`)
  if (ek.symmetric !== TPM2_ALG.AES) throw new InputError('the EK must use AES-CFB as its symmetric algorithm (TCG EK template)')
  let seed: Buffer
  let secret: Uint8Array
  if (ek.type === 'rsa') {
    seed = randomBytes(digestSize)
    const key = tpmPublicKeyObject(ek)
    secret = publicEncrypt({key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName(nameAlg), oaepLabel: Buffer.from('IDENTITY\0', 'ascii')}, seed)
  } else {
    if (ek.curve !== TPM2_ECC.NIST_P256) throw new InputError('only ECC P-256 EKs are supported for MakeCredential')
    const ecdh = createECDH('prime256v1')
    const ephemeral = ecdh.generateKeys()
    const ekPoint = Buffer.concat([Buffer.from([4]), leftPad(ek.x!, 32), leftPad(ek.y!, 32)])
    const z = ecdh.computeSecret(ekPoint)
    const ephX = ephemeral.subarray(1, 33)
    const ephY = ephemeral.subarray(33, 65)
    seed = kdfe(nameAlg, z, 'IDENTITY', ephX, leftPad(ek.x!, 32), digestSize * 8)
    secret = new Writer().tpm2b(ephX).tpm2b(ephY).bytes()
  }
  const symKey = kdfa(nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), 128)
  const plain = new Writer().tpm2b(credential).bytes()
  const cipher = createCipheriv('aes-128-cfb', symKey, Buffer.alloc(16))
  const encIdentity = Buffer.concat([cipher.update(plain), cipher.final()])
  const hmacKey = kdfa(nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), digestSize * 8)
  const integrity = createHmac(hashName(nameAlg), hmacKey).update(encIdentity).update(akName).digest()
  return {credentialBlob: new Writer().tpm2b(integrity).raw(encIdentity).bytes(), secret}
}
