/**
 * A tiny X.509 v3 certificate builder for tests (DER by hand, signed with node:crypto): every field
 * the EK policy reads can be set or left out, which no CA tool lets a test do as directly.
 */
import {generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject} from 'node:crypto'

const tlv = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}
export const der = {
  seq: (...p: Uint8Array[]) => tlv(0x30, ...p),
  set: (...p: Uint8Array[]) => tlv(0x31, ...p),
  explicit: (n: number, ...p: Uint8Array[]) => tlv(0xa0 + n, ...p),
  bool: (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0)),
  int: (v: number | Uint8Array) => {
    let b =
      typeof v === 'number'
        ? Buffer.from(
            v
              .toString(16)
              .padStart(2, '0')
              .replace(/^(.(..)*)$/, '0$1'),
            'hex',
          )
        : Buffer.from(v)
    // DER integers are minimal: a random serial starting 00 0x (x < 8) is refused by OpenSSL
    while (b.length > 1 && b[0] === 0 && !(b[1]! & 0x80)) b = b.subarray(1)
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b])
    return tlv(0x02, b)
  },
  oid: (s: string) => {
    const [a, b, ...rest] = s.split('.').map(Number)
    const out = [a! * 40 + b!]
    for (const v of rest) {
      const bytes = [v & 0x7f]
      for (let x = v >>> 7; x > 0; x >>>= 7) bytes.unshift((x & 0x7f) | 0x80)
      out.push(...bytes)
    }
    return tlv(0x06, Uint8Array.from(out))
  },
  octet: (b: Uint8Array) => tlv(0x04, b),
  bits: (b: Uint8Array, unused = 0) => tlv(0x03, Uint8Array.of(unused), b),
  utf8: (s: string) => tlv(0x0c, Buffer.from(s, 'utf8')),
  null: () => Uint8Array.of(0x05, 0),
  time: (d: Date) => {
    const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
    return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso))
  },
}

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
