/**
 * Checks the emulator's identity (pure): one self-signed root named "UNET EMULATOR - NOT FOR
 * PRODUCTION" whose key is the AK that signed the quote. The quote itself is checked like a TPM's.
 */
import type {X509Certificate} from 'node:crypto'

import {parseTpm2bPublic, tpmPublicKeyObject} from '../tpm2/structures.js'
import {EMULATOR_ROOT_CN} from './x509.js'
import {parseCertificate} from '../../util/x509.js'

export function emulatorIdentityReasons(certChain: Uint8Array[], akPublic: Uint8Array, now = new Date()): string[] {
  if (certChain.length !== 1) return [`the emulator presents ${certChain.length} certificates, expected its one self-signed root`]
  let cert: X509Certificate
  try {
    cert = parseCertificate(certChain[0]!)
  } catch {
    return ['the emulator root is not an X.509 certificate']
  }
  const reasons: string[] = []
  if (cert.subject !== `CN=${EMULATOR_ROOT_CN}` || cert.issuer !== cert.subject) reasons.push(`the emulator root is not "CN=${EMULATOR_ROOT_CN}" self-issued`)
  if (!cert.verify(cert.publicKey)) reasons.push('the emulator root is not self-signed')
  if (now.getTime() < Date.parse(cert.validFrom) || now.getTime() > Date.parse(cert.validTo)) reasons.push('the emulator root is outside its validity')
  if (!cert.publicKey.equals(tpmPublicKeyObject(parseTpm2bPublic(akPublic)))) reasons.push("the emulator root's key is not the AK")
  return reasons
}
