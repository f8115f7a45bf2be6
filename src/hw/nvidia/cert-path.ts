import type {X509Certificate} from 'node:crypto'

/** One problem of a certificate path, by kind so a caller can report "expired" apart from "forged". */
export interface CertPathIssue {
  kind: 'signature' | 'ca' | 'validity'
  message: string
}

export function certName(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ')
}

/**
 * Checks a certificate path ordered leaf first, root last: each certificate is issued and signed by
 * the next (the last by itself), every issuer is a CA, and each one is valid at `now`. Which root is
 * trusted is the caller's decision (a pinned fingerprint); this only says whether the path holds.
 */
export function checkCertPath(chain: X509Certificate[], now: Date): CertPathIssue[] {
  const issues: CertPathIssue[] = []
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!
    const issuer = chain[i + 1] ?? cert
    const name = `certificate ${i} (${certName(cert)})`
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
      issues.push({kind: 'signature', message: `${name} is not signed by ${i + 1 < chain.length ? `certificate ${i + 1}` : 'itself'}`})
    if (i > 0 && !cert.ca) issues.push({kind: 'ca', message: `${name} issues certificates but is not a CA`})
    const from = new Date(cert.validFrom)
    const to = new Date(cert.validTo)
    if (now > to) issues.push({kind: 'validity', message: `${name} expired ${to.toISOString()} (checked at ${now.toISOString()})`})
    else if (now < from) issues.push({kind: 'validity', message: `${name} is not valid at ${now.toISOString()} (valid from ${from.toISOString()})`})
  }
  return issues
}
