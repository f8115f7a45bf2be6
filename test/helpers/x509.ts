/**
 * A tiny X.509 v3 certificate builder for tests (DER by hand, signed with node:crypto): every field
 * the EK policy reads can be set or left out, which no CA tool lets a test do as directly.
 */
import {generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject} from 'node:crypto'

import {der} from '../../src/util/der-encode.js'

export {der}

const KU_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'] as const
export type KeyUsageName = (typeof KU_BITS)[number]

export interface CertSpec {
  subject?: string
  /** Defaults to a new P-256 key. */
  key?: {publicKey: KeyObject; privateKey: KeyObject}
  issuer?: Issued
  notBefore?: Date
  notAfter?: Date
  /** basicConstraints: undefined = absent. */
  ca?: {ca: boolean; pathLen?: number}
  keyUsage?: KeyUsageName[]
  eku?: string[]
  /** subjectAltName directoryName with the TCG TPM attributes. */
  tpm?: {manufacturer: string; model: string; version: string}
  /** Extra extensions: [oid, critical, DER value]. */
  extra?: Array<[string, boolean, Uint8Array]>
}

export interface Issued {
  cert: X509Certificate
  der: Uint8Array
  pem: string
  subject: string
  key: {publicKey: KeyObject; privateKey: KeyObject}
}

const name = (cn: string) => (cn === '' ? der.seq() : der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.utf8(cn)))))
const ext = (oid: string, critical: boolean, value: Uint8Array) => der.seq(der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octet(value))

export function p256() {
  return generateKeyPairSync('ec', {namedCurve: 'P-256'})
}

/** Issues a certificate (self-signed when no issuer). */
export function issue(spec: CertSpec): Issued {
  const key = spec.key ?? p256()
  const subject = spec.subject ?? 'test'
  const signer = spec.issuer?.key ?? key
  const rsaSigner = signer.privateKey.asymmetricKeyType === 'rsa'
  const alg = rsaSigner ? der.seq(der.oid('1.2.840.113549.1.1.11'), der.null()) : der.seq(der.oid('1.2.840.10045.4.3.2'))
  const exts: Uint8Array[] = []
  if (spec.ca)
    exts.push(ext('2.5.29.19', true, der.seq(...(spec.ca.ca ? [der.bool(true)] : []), ...(spec.ca.pathLen === undefined ? [] : [der.int(spec.ca.pathLen)]))))
  if (spec.keyUsage) {
    let bits = 0
    for (const u of spec.keyUsage) bits |= 0x80 >> KU_BITS.indexOf(u)
    exts.push(ext('2.5.29.15', true, der.bits(Uint8Array.of(bits))))
  }
  if (spec.eku) exts.push(ext('2.5.29.37', false, der.seq(...spec.eku.map(der.oid))))
  if (spec.tpm) {
    const atv = (oid: string, v: string) => der.set(der.seq(der.oid(oid), der.utf8(v)))
    const dirName = der.seq(atv('2.23.133.2.1', spec.tpm.manufacturer), atv('2.23.133.2.2', spec.tpm.model), atv('2.23.133.2.3', spec.tpm.version))
    exts.push(ext('2.5.29.17', subject === '', der.seq(der.explicit(4, dirName))))
  }
  for (const [oid, critical, value] of spec.extra ?? []) exts.push(ext(oid, critical, value))
  const now = Date.now()
  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.int(Uint8Array.from(randomBytes(8))),
    alg,
    name(spec.issuer?.subject ?? subject),
    der.seq(der.time(spec.notBefore ?? new Date(now - 86_400_000)), der.time(spec.notAfter ?? new Date(now + 10 * 365 * 86_400_000))),
    name(subject),
    key.publicKey.export({type: 'spki', format: 'der'}),
    ...(exts.length > 0 ? [der.explicit(3, der.seq(...exts))] : []),
  )
  const signature = sign('sha256', tbs, signer.privateKey)
  const certDer = der.seq(tbs, alg, der.bits(signature))
  const cert = new X509Certificate(Buffer.from(certDer))
  return {cert, der: certDer, pem: cert.toString(), subject, key}
}

/** A CA as vendors issue them: cA=TRUE (optional pathLen), keyCertSign + cRLSign. */
export function ca(subject: string, issuer?: Issued, more: Partial<CertSpec> = {}): Issued {
  return issue({subject, issuer, ca: {ca: true}, keyUsage: ['keyCertSign', 'cRLSign'], ...more})
}
