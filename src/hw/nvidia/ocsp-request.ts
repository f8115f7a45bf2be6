import {createHash, randomBytes, type X509Certificate} from 'node:crypto'

import {der} from '../../util/der-encode.js'
import {certificateFields} from '../../util/x509-fields.js'

/**
 * An RFC 6960 OCSPRequest for one certificate: CertID with SHA-384 (NVIDIA's responder answers
 * SHA-384 CertIDs, as NVIDIA's own verifier asks) and a fresh nonce extension (RFC 8954), critical
 * as in NVIDIA's verifier, so a replayed answer is refused.
 */
export const SHA384_OID = '2.16.840.1.101.3.4.2.2'
export const OCSP_NONCE_OID = '1.3.6.1.5.5.7.48.1.2'
const NONCE_BYTES = 32

/** The CertID a responder must answer for. */
export interface CertId {
  issuerNameHash: Uint8Array
  issuerKeyHash: Uint8Array
  serial: Uint8Array
}

export interface OcspRequest {
  der: Uint8Array
  certId: CertId
  nonce: Uint8Array
}

const sha384 = (b: Uint8Array) => new Uint8Array(createHash('sha384').update(b).digest())

/** The issuerKeyHash of a CertID naming `issuer`: SHA-384 of its subjectPublicKey bits. */
export function issuerKeyHash(issuer: X509Certificate): Uint8Array {
  return sha384(certificateFields(new Uint8Array(issuer.raw)).publicKeyBits)
}

/** The CertID of `cert` (SHA-384 hashes of its issuer's name and key, its serial). */
export function certIdFor(cert: X509Certificate, issuer: X509Certificate): CertId {
  return {
    issuerNameHash: sha384(certificateFields(new Uint8Array(cert.raw)).issuerName),
    issuerKeyHash: issuerKeyHash(issuer),
    serial: certificateFields(new Uint8Array(cert.raw)).serial,
  }
}

const NONCE_DOMAIN = Buffer.from('unet/ocsp-nonce/v1\0', 'latin1')
export const NONCE_SALT_BYTES = 16

/**
 * A nonce bound to `binding` (the verifier: a registration's id and block hash): SHA-256(domain ‖
 * binding ‖ salt). A responder's answer that echoes it was asked for that binding, and no earlier than
 * the binding existed; the random salt keeps two requests for the same binding apart.
 */
export function boundNonce(binding: Uint8Array, salt: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NONCE_DOMAIN).update(binding).update(salt).digest())
}

/** The nonce extension's extnValue: an OCTET STRING holding the nonce. */
export function nonceExtensionValue(nonce: Uint8Array): Uint8Array {
  return der.octet(nonce)
}

export function buildOcspRequest(cert: X509Certificate, issuer: X509Certificate, nonce: Uint8Array = randomBytes(NONCE_BYTES)): OcspRequest {
  const certId = certIdFor(cert, issuer)
  const certIdDer = der.seq(der.seq(der.oid(SHA384_OID), der.null()), der.octet(certId.issuerNameHash), der.octet(certId.issuerKeyHash), der.int(certId.serial))
  const nonceExtension = der.seq(der.oid(OCSP_NONCE_OID), der.bool(true), der.octet(nonceExtensionValue(nonce)))
  const tbsRequest = der.seq(der.seq(der.seq(certIdDer)), der.explicit(2, der.seq(nonceExtension)))
  return {der: der.seq(tbsRequest), certId, nonce: Uint8Array.from(nonce)}
}
