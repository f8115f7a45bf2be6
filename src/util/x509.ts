import {X509Certificate} from 'node:crypto'

/**
 * An X.509 certificate (PEM or DER) whose public key parses too. Node decodes the key only when
 * `publicKey` is first read, so a certificate with a broken key (a point off its curve) would throw
 * OpenSSL's error later, in the middle of a check; here it throws where the certificate is parsed.
 */
export function parseCertificate(input: string | Uint8Array): X509Certificate {
  const cert = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input))
  void cert.publicKey
  return cert
}

/** A certificate parsed (parseCertificate) the first time it is asked for, then the same one every time: a pinned root. */
export function lazyCertificate(pem: string): () => X509Certificate {
  let cert: X509Certificate | undefined
  return () => (cert ??= parseCertificate(pem))
}
