/**
 * EK certificate policy and certificate path checks (pure: no I/O). An EK certificate proves that a
 * TPM vendor made the EK; the verifier then binds the AK to that EK by credential activation
 * (activation.ts). What is checked (TCG EK Credential Profile for TPM 2.0, RFC 5280 §4.2 / §6.1):
 *  - the path leaf → intermediates (from the device) → a trusted certificate, every signature, every
 *    certificate valid at `now`, no unrecognised critical extension;
 *  - every certificate above the leaf is a CA: basicConstraints cA=TRUE, keyCertSign in its key
 *    usage, and its pathLenConstraint not exceeded by the intermediates below it;
 *  - the leaf is an EK certificate: not a CA; key usage keyEncipherment (RSA EK) / keyAgreement (ECC
 *    EK); its extended key usage, when it has one, holds tcg-kp-EKCertificate (2.23.133.8.1) — with
 *    `requireEkEku` it must have one; its key is the given EK (TPM2B_PUBLIC);
 *  - the TCG TPM attributes of its subjectAltName (tpmManufacturer/tpmModel/tpmVersion) are reported,
 *    and with the path they classify the EK: discrete TPM, firmware TPM, cloud vTPM. Cloud vTPM EKs
 *    are refused unless the policy allows them (a cloud vTPM proves a VM, not a chip anyone owns).
 * Malformed certificates give reasons, never exceptions.
 */
import {createHash, X509Certificate} from 'node:crypto'

import {certificateExtensions, children, decodeOid, DerError, readOne, type Extension} from '../../util/der.js'
import {parseTpm2bPublic, tpmPublicKeyObject} from './structures.js'
import {parseCertificate} from '../../util/x509.js'

export const OID = {
  subjectDirectoryAttributes: '2.5.29.9',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  anyExtendedKeyUsage: '2.5.29.37.0',
  /** tcg-kp-EKCertificate: the EKU of an EK certificate. */
  tcgKpEkCertificate: '2.23.133.8.1',
  tpmManufacturer: '2.23.133.2.1',
  tpmModel: '2.23.133.2.2',
  tpmVersion: '2.23.133.2.3',
} as const

/** Extensions whose meaning we process (or that carry no constraint), so they may be critical. */
const UNDERSTOOD = new Set<string>([
  OID.subjectDirectoryAttributes,
  OID.subjectKeyIdentifier,
  OID.keyUsage,
  OID.subjectAltName,
  OID.basicConstraints,
  OID.crlDistributionPoints,
  OID.certificatePolicies,
  OID.authorityKeyIdentifier,
  OID.extKeyUsage,
])

const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const
export type KeyUsage = (typeof KEY_USAGE_BITS)[number]

export interface TpmAttributes {
  /** As the certificate writes it, e.g. "id:49465800". */
  manufacturer?: string
  /** The TCG vendor id in ASCII, e.g. "IFX" (TCG Vendor ID Registry). */
  vendorId?: string
  model?: string
  version?: string
}

/** The extensions of one certificate that the policy reads. */
export interface CertFacts {
  basicConstraints?: {ca: boolean; pathLen?: number}
  keyUsage?: Set<KeyUsage>
  extKeyUsage?: string[]
  tpm?: TpmAttributes
  unknownCritical: string[]
}

export type EkClass = 'dtpm' | 'ftpm' | 'cloud-vtpm' | 'unclassified'

/**
 * TCG vendor ids (tpmManufacturer, TPM_PT_MANUFACTURER) of the vendors whose EK roots a profile may
 * list; ids as in tpm2-tools' tpm2_getekcertificate.c `tpm_manufacturer`. Firmware TPMs run in the
 * CPU/SoC (AMD fTPM and Pluton, Intel PTT in the CSME, Microsoft Pluton, Qualcomm); see docs/evidence.md.
 */
const TPM_VENDORS_BY_CLASS: Record<Exclude<EkClass, 'unclassified'>, Record<string, string>> = {
  dtpm: {IFX: 'Infineon', STM: 'STMicroelectronics', NTC: 'Nuvoton', NTZ: 'Nationz', ATML: 'Atmel', SNS: 'Sinosun', WEC: 'Winbond'},
  ftpm: {AMD: 'AMD fTPM', INTC: 'Intel PTT', MSFT: 'Microsoft Pluton', QCOM: 'Qualcomm fTPM'},
  'cloud-vtpm': {GOOG: 'Google Cloud vTPM'},
}
/** The same table by vendor id. */
const TPM_VENDORS = new Map<string, {name: string; class: EkClass}>(
  Object.entries(TPM_VENDORS_BY_CLASS).flatMap(([cls, vendors]) => Object.entries(vendors).map(([id, name]) => [id, {name, class: cls as EkClass}])),
)

/**
 * Cloud vTPM CAs known by the SHA-256 of their SubjectPublicKeyInfo, so that a cloud chain is
 * recognised whichever trust list its roots were put in (fixtures/go-tpm-tools/PROVENANCE.md:
 * google/go-tpm-tools server/ca-certs).
 */
const CLOUD_VTPM_CAS: Record<string, string> = {
  f23057f4f97d1d90e4cae0ce91d5a0fc99069f0a1bc147021dca33b1e9c4d0d9: 'Google Cloud vTPM (tpm_ek_root_1)',
  ea74a128fd274552c4f5904cb3c830cbf3d99035a2ac7bab7ce9d59f5997b12f: 'Google Cloud vTPM (tpm_ek_intermediate_2)',
  '407ae79abb34c19a272509aa2fc73455161857f712d6ee9e4dc24fd9dff0acca': 'Google Cloud vTPM (tpm_ek_intermediate_3)',
  '56a613f57126a385dd6949294e93b0b566f96ab0573be0c2368e6f5ca779831f': 'Google Cloud (EK/AK CA Root)',
  dd65674415e79258bbaedb6844b5962bc7d24e90ba7d978da5242f29c1633c8e: 'Google Cloud (EK/AK CA Intermediate)',
}

export interface EkPolicy {
  /** Accept EKs of cloud vTPMs (default false; a profile's trustRoots.allowCloudVtpm, see roots.ts). */
  allowCloudVtpm?: boolean
  /** Refuse a leaf without an extended key usage (default false: see docs/evidence.md §EK certificate policy). */
  requireEkEku?: boolean
}

export type CertInput = Uint8Array | string | X509Certificate

export interface EkChainCheck {
  /** Certificates from the device, leaf (EK certificate) first, DER or PEM. */
  chain: Array<CertInput>
  /** Trusted certificates (roots and vendor intermediates), PEM, DER or parsed. */
  trusted: Array<CertInput>
  /** TPM2B_PUBLIC of the EK: the leaf's key must be this key. */
  ekPublic?: Uint8Array
  now?: Date
  policy?: EkPolicy
}

export interface EkChainResult {
  valid: boolean
  reasons: string[]
  /** What the chain says about the TPM (reported, e.g. in the verifier's decision log). */
  info: {
    class: EkClass
    /** Vendor name from the TCG vendor id or the known cloud CA. */
    vendor?: string
    tpm?: TpmAttributes
    /** Subjects from the leaf to the trusted certificate. */
    path: string[]
  }
}

const certCache = new Map<string, X509Certificate>()

/** Parses a certificate (PEM, DER or already parsed); trust stores are parsed once and cached. */
function toX509(c: CertInput): X509Certificate {
  if (c instanceof X509Certificate) return c
  const key = typeof c === 'string' ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64')
  let cert = certCache.get(key)
  if (!cert) {
    cert = parseCertificate(c)
    if (certCache.size >= 1024) certCache.delete(certCache.keys().next().value!)
    certCache.set(key, cert)
  }
  return cert
}

/** The EK certificate chain under the EK policy: reasons (empty when accepted) and what it says. */
export function checkEkChain(check: EkChainCheck): EkChainResult {
  try {
    return checkEkChainParsed(check)
  } catch (error) {
    // toX509 reads the key of a certificate it parses from text or bytes (parseCertificate); one handed
    // in as an X509Certificate is used as is, its key read when a check needs it, and node:crypto throws
    // untyped errors: whatever throws makes the chain a reason here, not a throw
    return {valid: false, reasons: [`the EK certificate chain does not parse: ${(error as Error).message}`], info: {class: 'unclassified', path: []}}
  }
}

function checkEkChainParsed(check: EkChainCheck): EkChainResult {
  const policy = check.policy ?? {}
  const built = buildPath(check)
  const info: EkChainResult['info'] = {class: 'unclassified', path: built.path.map(label)}
  const reasons = built.reasons
  const leaf = built.path[0]
  if (!leaf) return {valid: false, reasons, info}
  const leafFacts = factsOrReason(leaf, reasons)
  if (leafFacts) {
    reasons.push(...ekLeafReasons(leaf, leafFacts, policy))
    if (leafFacts.tpm) info.tpm = leafFacts.tpm
  }
  if (check.ekPublic) {
    try {
      if (!tpmPublicKeyObject(parseTpm2bPublic(check.ekPublic)).equals(leaf.publicKey)) reasons.push('the EK certificate is not for this EK')
    } catch (error) {
      reasons.push(`EK public area: ${(error as Error).message}`)
    }
  }
  const vendor = leafFacts?.tpm?.vendorId ? TPM_VENDORS.get(leafFacts.tpm.vendorId) : undefined
  const cloudCa = built.path
    .map(spkiDigest)
    .map((d) => CLOUD_VTPM_CAS[d])
    .find((n) => n !== undefined)
  if (cloudCa) Object.assign(info, {class: 'cloud-vtpm', vendor: cloudCa})
  else if (vendor) Object.assign(info, {class: vendor.class, vendor: vendor.name})
  if (info.class === 'cloud-vtpm' && !policy.allowCloudVtpm)
    reasons.push(`the EK is a cloud vTPM's (${info.vendor}): cloud vTPMs are not accepted on this network (networks.<name>.trustRoots.allowCloudVtpm is false)`)
  return {valid: reasons.length === 0, reasons, info}
}

/**
 * Only the path (signatures, validity, CA constraints of every certificate above the first), for
 * checking vendor intermediates themselves; EK certificates go through checkEkChain.
 */
export function verifyCertPath(check: Pick<EkChainCheck, 'chain' | 'trusted' | 'now'>): string[] {
  return buildPath(check).reasons
}

interface BuiltPath {
  /** Leaf first; the last one is the trusted certificate when the path reached one. */
  path: X509Certificate[]
  reasons: string[]
}

function buildPath(check: Pick<EkChainCheck, 'chain' | 'trusted' | 'now'>): BuiltPath {
  const reasons: string[] = []
  const now = check.now ?? new Date()
  const parse = (c: CertInput, what: string): X509Certificate | undefined => {
    try {
      return toX509(c)
    } catch {
      reasons.push(`${what} is not an X.509 certificate`)
      return undefined
    }
  }
  if (check.chain.length === 0) return {path: [], reasons: ['no EK certificate in the evidence']}
  const leaf = parse(check.chain[0]!, 'EK certificate')
  const untrusted = check.chain
    .slice(1)
    .map((c, i) => parse(c, `chain certificate ${i + 1}`))
    .filter((c): c is X509Certificate => c !== undefined)
  const trusted = check.trusted.map((c, i) => parse(c, `trusted certificate ${i + 1}`)).filter((c): c is X509Certificate => c !== undefined)
  if (!leaf) return {path: [], reasons}
  if (trusted.length === 0) return {path: [leaf], reasons: [...reasons, 'no trusted TPM EK roots are configured (networks.<name>.trustRoots.tpm)']}
  const path = [leaf]
  let anchored = false
  for (let current = leaf; path.length <= 8;) {
    const trustedIssuer = trusted.find((t) => issuedBy(current, t))
    if (trustedIssuer) {
      path.push(trustedIssuer)
      anchored = true
      break
    }
    const next = untrusted.find((u) => !path.includes(u) && issuedBy(current, u))
    if (!next) break
    path.push(next)
    current = next
  }
  if (!anchored) reasons.push(`the EK certificate does not chain to a trusted root (issuer "${oneLine(path.at(-1)!.issuer)}")`)
  path.forEach((cert, i) => {
    if (!validAt(cert, now))
      reasons.push(`${i === path.length - 1 && anchored ? 'trusted certificate' : 'certificate'} ${label(cert)} is not valid at ${now.toISOString()}`)
    if (i === 0) return
    const facts = factsOrReason(cert, reasons)
    if (facts) reasons.push(...caReasons(cert, facts, i - 1))
  })
  return {path, reasons}
}

/** A CA certificate with `below` intermediate CAs under it in the path (RFC 5280 §4.2.1.9, §6.1.4). */
function caReasons(cert: X509Certificate, facts: CertFacts, below: number): string[] {
  const out: string[] = []
  const name = label(cert)
  if (!facts.basicConstraints?.ca) out.push(`certificate ${name} issues certificates but is not a CA (basicConstraints cA is not TRUE)`)
  else if (facts.basicConstraints.pathLen !== undefined && below > facts.basicConstraints.pathLen)
    out.push(`certificate ${name} allows ${facts.basicConstraints.pathLen} intermediate CA(s) below it (pathLenConstraint), the path has ${below}`)
  if (!facts.keyUsage?.has('keyCertSign')) out.push(`certificate ${name} issues certificates but its key usage lacks keyCertSign`)
  for (const oid of facts.unknownCritical) out.push(`certificate ${name} has an unrecognised critical extension ${oid}`)
  return out
}

/** The leaf as an EK certificate (TCG EK Credential Profile). */
function ekLeafReasons(leaf: X509Certificate, facts: CertFacts, policy: EkPolicy): string[] {
  const out: string[] = []
  if (facts.basicConstraints?.ca) out.push('the EK certificate is a CA certificate (basicConstraints cA=TRUE)')
  const keyType = leaf.publicKey.asymmetricKeyType
  const usage: KeyUsage | undefined = keyType === 'rsa' ? 'keyEncipherment' : keyType === 'ec' ? 'keyAgreement' : undefined
  if (!usage) out.push(`the EK certificate holds a ${keyType ?? 'unknown'} key, not an RSA or ECC EK`)
  else if (!facts.keyUsage) out.push(`the EK certificate has no key usage (an ${keyType === 'rsa' ? 'RSA' : 'ECC'} EK certificate has ${usage})`)
  else if (!facts.keyUsage.has(usage))
    out.push(`the EK certificate's key usage (${[...facts.keyUsage].join(', ') || 'none'}) lacks ${usage}: it is not an EK certificate`)
  if (facts.extKeyUsage) {
    if (!facts.extKeyUsage.includes(OID.tcgKpEkCertificate) && !facts.extKeyUsage.includes(OID.anyExtendedKeyUsage))
      out.push(`the EK certificate's extended key usage (${facts.extKeyUsage.join(', ')}) lacks tcg-kp-EKCertificate ${OID.tcgKpEkCertificate}`)
  } else if (policy.requireEkEku) out.push(`the EK certificate has no extended key usage (tcg-kp-EKCertificate ${OID.tcgKpEkCertificate} is required)`)
  for (const oid of facts.unknownCritical) out.push(`the EK certificate has an unrecognised critical extension ${oid}`)
  return out
}

function factsOrReason(cert: X509Certificate, reasons: string[]): CertFacts | undefined {
  try {
    return certFacts(cert)
  } catch (error) {
    reasons.push(`certificate ${label(cert)}: ${(error as Error).message}`)
    return undefined
  }
}

/** The policy-relevant extensions of a certificate; throws DerError on malformed ones. */
export function certFacts(cert: X509Certificate): CertFacts {
  const facts: CertFacts = {unknownCritical: []}
  for (const ext of certificateExtensions(Uint8Array.from(cert.raw))) {
    if (ext.critical && !UNDERSTOOD.has(ext.oid)) facts.unknownCritical.push(ext.oid)
    if (ext.oid === OID.basicConstraints) facts.basicConstraints = basicConstraints(ext)
    else if (ext.oid === OID.keyUsage) facts.keyUsage = keyUsage(ext)
    else if (ext.oid === OID.extKeyUsage) facts.extKeyUsage = children(readOne(ext.value, 0x30, 'extKeyUsage')).map((o) => oid(o.tag, o.content))
    else if (ext.oid === OID.subjectAltName) facts.tpm = tpmAttributes(ext)
  }
  return facts
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
function basicConstraints(ext: Extension): CertFacts['basicConstraints'] {
  const out: {ca: boolean; pathLen?: number} = {ca: false}
  for (const part of children(readOne(ext.value, 0x30, 'basicConstraints'))) {
    if (part.tag === 0x01 && part.content.length === 1) out.ca = part.content[0] !== 0
    else if (part.tag === 0x02 && part.content.length >= 1 && part.content.length <= 4 && (part.content[0]! & 0x80) === 0)
      out.pathLen = part.content.reduce((n, b) => n * 256 + b, 0)
    else throw new DerError('basicConstraints holds an unexpected element')
  }
  return out
}

/** KeyUsage ::= BIT STRING (bit 0 = the most significant bit of the first byte after the unused-bits count). */
function keyUsage(ext: Extension): Set<KeyUsage> {
  const bits = readOne(ext.value, 0x03, 'keyUsage').content
  if (bits.length < 1 || bits[0]! > 7) throw new DerError('keyUsage is not a BIT STRING')
  const out = new Set<KeyUsage>()
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bits[1 + (i >> 3)]
    if (byte !== undefined && ((byte >> (7 - (i & 7))) & 1) === 1) out.add(name)
  })
  return out
}

/**
 * The TCG TPM attributes of subjectAltName's directoryName ([4] EXPLICIT Name):
 * SET { SEQUENCE { tcg-at-tpmManufacturer, UTF8String/PrintableString "id:XXXXXXXX" } }, model, version.
 */
function tpmAttributes(ext: Extension): TpmAttributes | undefined {
  const out: TpmAttributes = {}
  for (const name of children(readOne(ext.value, 0x30, 'subjectAltName'))) {
    if (name.tag !== 0xa4) continue
    for (const rdnSeq of children(name)) {
      if (rdnSeq.tag !== 0x30) throw new DerError('subjectAltName directoryName is not a Name')
      for (const rdn of children(rdnSeq))
        for (const atv of children(rdn)) {
          const [type, value] = children(atv)
          if (!type || !value) throw new DerError('subjectAltName attribute without type or value')
          const text = Buffer.from(value.content).toString(value.tag === 0x0c ? 'utf8' : 'latin1')
          const at = oid(type.tag, type.content)
          if (at === OID.tpmManufacturer) out.manufacturer = text
          else if (at === OID.tpmModel) out.model = text
          else if (at === OID.tpmVersion) out.version = text
        }
    }
  }
  if (out.manufacturer === undefined && out.model === undefined && out.version === undefined) return undefined
  const id = /^id:([0-9a-f]{8})$/i.exec(out.manufacturer ?? '')
  if (id) {
    const ascii = Buffer.from(id[1]!, 'hex')
      .toString('latin1')
      .replace(/[\0 ]+$/, '')
    if (/^[A-Z]{2,4}$/.test(ascii)) out.vendorId = ascii
  }
  return out
}

function oid(tag: number, content: Uint8Array): string {
  if (tag !== 0x06) throw new DerError('expected an OBJECT IDENTIFIER')
  return decodeOid(content)
}

function spkiDigest(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({type: 'spki', format: 'der'}))
    .digest('hex')
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom)
  const to = Date.parse(cert.validTo)
  return !(Number.isFinite(from) && now.getTime() < from) && !(Number.isFinite(to) && now.getTime() > to)
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ', ')
}

/** A readable name for reasons; EK certificates often have an empty subject. */
function label(cert: X509Certificate): string {
  return cert.subject ? `"${oneLine(cert.subject)}"` : `serial ${cert.serialNumber} of "${oneLine(cert.issuer)}"`
}
