import {certificateExtensions, children, decodeOid, DerError, readOne} from './der.js'

/**
 * The raw DER pieces of an X.509 certificate that revocation checks need (RFC 6960 CertID, the
 * responder's identity, the OCSP URL), read with the shared DER reader (src/util/der.ts).
 */
export interface CertificateFields {
  /** Content octets of the serialNumber INTEGER. */
  serial: Uint8Array
  /** DER of the issuer Name. */
  issuerName: Uint8Array
  /** DER of the subject Name. */
  subjectName: Uint8Array
  /** The subjectPublicKey BIT STRING's bits (without the unused-bits octet): what CertID's issuerKeyHash hashes. */
  publicKeyBits: Uint8Array
}

export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readOne(der, 0x30, 'certificate')
  const [tbs] = children(cert)
  if (!tbs || tbs.tag !== 0x30) throw new DerError('missing tbsCertificate')
  const parts = children(tbs)
  const fields = parts[0]?.tag === 0xa0 ? parts.slice(1) : parts
  const [serial, , issuer, , subject, spki] = fields
  if (serial?.tag !== 0x02 || issuer?.tag !== 0x30 || subject?.tag !== 0x30 || spki?.tag !== 0x30) throw new DerError('tbsCertificate fields out of order')
  const key = children(spki)[1]
  if (key?.tag !== 0x03 || key.content.length < 1 || key.content[0] !== 0) throw new DerError('subjectPublicKey is not a whole BIT STRING')
  return {
    serial: serial.content.slice(),
    issuerName: tbs.content.slice(issuer.start, issuer.end),
    subjectName: tbs.content.slice(subject.start, subject.end),
    publicKeyBits: key.content.slice(1),
  }
}

const AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1'
const AD_OCSP = '1.3.6.1.5.5.7.48.1'

/** The OCSP responder URLs a certificate names in its Authority Information Access extension (RFC 5280 4.2.2.1). */
export function ocspUrls(der: Uint8Array): string[] {
  const aia = certificateExtensions(der).find((e) => e.oid === AUTHORITY_INFO_ACCESS)
  if (!aia) return []
  const urls: string[] = []
  for (const desc of children(readOne(aia.value, 0x30, 'authorityInfoAccess'))) {
    const [method, location] = children(desc)
    // accessLocation uniformResourceIdentifier: [6] IMPLICIT IA5String
    if (method?.tag === 0x06 && decodeOid(method.content) === AD_OCSP && location?.tag === 0x86) urls.push(Buffer.from(location.content).toString('latin1'))
  }
  return urls
}
