/**
 * AK↔EK binding by credential activation, both halves. The verifier makes a challenge that only the
 * TPM holding the certified EK *and* the AK can open (MakeCredential to the EK, bound to the AK's
 * name); the agent opens it with ActivateCredential on its real TPM and answers the 32-byte secret on
 * chain, where the verifier's commitment keccak256(ACTIVATION_DOMAIN ‖ regId ‖ secret) checks it.
 * A copied EK certificate does not help an attacker: without the EK's private key in a TPM that also
 * holds the AK, the seed cannot be recovered and the TPM refuses the blob's integrity check.
 */
import {ExitCode, InputError, UnetError} from '../../errors/index.js'
import {activationCommitment} from '../../evidence/nonce.js'
import {makeCredential} from './credential.js'
import type {Tpm2Engine} from './engine.js'
import {objectName, parseTpm2bPublic, type TpmPublic} from './structures.js'
import {akAttributeReasons} from './verify.js'
import {TPM2_ALG, TPM2_ECC, TPMA_OBJECT, missingAttributes} from './wire.js'

const ACTIVATION_SECRET_BYTES = 32

export interface CredentialChallenge {
  /** TPM2B_ID_OBJECT body, posted as `credentialBlob`. */
  credentialBlob: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET body (the encrypted seed), posted as `encryptedSecret`. */
  encryptedSecret: Uint8Array
  /** The AK name the credential is bound to (nameAlg ‖ H(TPMT_PUBLIC)). */
  akName: Uint8Array
  /** The EK type the agent must use (what MakeCredential encrypted to). */
  ekType: 'rsa2048' | 'eccP256'
  /** keccak256(ACTIVATION_DOMAIN ‖ regId ‖ secret), when a regId was given. */
  commitment?: Uint8Array
}

/**
 * The verifier's challenge for a registration: MakeCredential(ekPublic, name(akPublic), secret).
 * Throws InputError when the AK is not a restricted signing key created in a TPM as unet creates it
 * (the binding would mean nothing for any other key), when the EK is not an EK (restricted decrypt
 * key, fixedTPM), or when the secret is not 32 bytes. Pure: the caller draws the secret
 * (crypto.randomBytes(32)) and keeps it until the answer.
 */
export function credentialChallengeFor(ekPublicTpm2b: Uint8Array, akPublicTpm2b: Uint8Array, secret32: Uint8Array, regId?: string): CredentialChallenge {
  if (secret32.length !== ACTIVATION_SECRET_BYTES)
    throw new InputError(`the activation secret must be ${ACTIVATION_SECRET_BYTES} bytes, got ${secret32.length}`)
  const ak = parseTpm2bPublic(akPublicTpm2b)
  const akReasons = akAttributeReasons(ak)
  if (akReasons.length > 0) throw new InputError(`no credential challenge for this AK: ${akReasons.join('; ')}`)
  const ek = parseTpm2bPublic(ekPublicTpm2b)
  const ekReasons = ekAttributeReasons(ek)
  if (ekReasons.length > 0) throw new InputError(`no credential challenge for this EK: ${ekReasons.join('; ')}`)
  const akName = objectName(ak)
  const made = makeCredential(ekPublicTpm2b, akName, secret32)
  return {
    credentialBlob: made.credentialBlob,
    encryptedSecret: made.secret,
    akName,
    ekType: ek.type === 'rsa' ? 'rsa2048' : 'eccP256',
    ...(regId === undefined ? {} : {commitment: activationCommitment(regId, secret32)}),
  }
}

/** Why a public area is not an EK of the TCG templates (restricted decryption key kept in the TPM). */
export function ekAttributeReasons(ek: TpmPublic): string[] {
  const reasons: string[] = []
  const missing = missingAttributes(ek.attributes, ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin', 'restricted', 'decrypt'])
  if (missing.length > 0) reasons.push(`EK lacks attributes ${missing.join(', ')}`)
  if ((ek.attributes & TPMA_OBJECT.sign) !== 0) reasons.push('EK has the sign attribute (an EK is a decryption key)')
  if (ek.type === 'rsa' && ek.keyBits !== 2048) reasons.push(`RSA EK of ${ek.keyBits} bits (the TCG template is RSA 2048)`)
  if (ek.type === 'ecc' && ek.curve !== TPM2_ECC.NIST_P256) reasons.push('ECC EK not on P-256 (the TCG template unet uses)')
  if (ek.symmetric !== TPM2_ALG.AES) reasons.push('EK symmetric algorithm is not AES (TCG template)')
  return reasons
}

/**
 * The agent's answer: ActivateCredential with the persisted AK and the TPM's EK, returning the 32-byte
 * secret to send in `activate(regId, secret)`. The EK type comes from `ekPublic` (the registration's
 * EK, checked against the TPM's before the TPM is asked) or, without it, from the shape of the
 * encrypted secret (ECC: TPM2B x ‖ TPM2B y of an ephemeral P-256 point; RSA: an OAEP ciphertext).
 * Throws a TPM_ERROR UnetError when the TPM refuses the blob (it was not made for this EK and AK).
 */
export async function activateCredential(
  engine: Tpm2Engine,
  credentialBlob: Uint8Array,
  encryptedSecret: Uint8Array,
  ekPublic?: Uint8Array,
): Promise<Uint8Array> {
  const type = ekPublic ? (parseTpm2bPublic(ekPublic).type === 'rsa' ? 'rsa2048' : 'eccP256') : ekTypeOfEncryptedSecret(encryptedSecret)
  const secret = await engine.activateCredential(credentialBlob, encryptedSecret, type, ekPublic)
  if (secret.length !== ACTIVATION_SECRET_BYTES)
    throw new UnetError(`the credential is ${secret.length} bytes, not the ${ACTIVATION_SECRET_BYTES} of a unet activation secret`, ExitCode.TPM_ERROR)
  return secret
}

function ekTypeOfEncryptedSecret(encryptedSecret: Uint8Array): 'rsa2048' | 'eccP256' {
  const b = encryptedSecret
  const eccPoint = b.length === 68 && b[0] === 0 && b[1] === 32 && b[34] === 0 && b[35] === 32
  return eccPoint ? 'eccP256' : 'rsa2048'
}
