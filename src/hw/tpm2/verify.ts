/**
 * Pure verifier of TPM 2.0 quotes (no FFI, no I/O): anyone can run it on evidence alone.
 * Checks: strict TPMS_ATTEST / TPMT_SIGNATURE / TPM2B_PUBLIC parsing, extraData = expected nonce,
 * pcrDigest recomputed from the PCR values, the signature (node:crypto: ECDSA P-256/P-384, RSASSA,
 * RSAPSS), AK attributes (fixedTPM, fixedParent, restricted, sign, sensitiveDataOrigin), the quote's
 * signer name = the AK's name, clockInfo.safe, and monotonic reset/restart counters against a
 * previous quote. The EK certificate chain is checked against trusted roots by verifyEkChain().
 */
import {constants, createHash, createPublicKey, verify as cryptoVerify, X509Certificate, type KeyObject} from 'node:crypto'

import {InputError} from '../../errors/index.js'
import {
  hashName,
  leftPad,
  objectName,
  parseQuoteAttest,
  parseSignature,
  parseTpm2bPublic,
  primaryQualifiedName,
  TPM_RH,
  tpmPublicKeyObject,
  type ClockInfo,
  type QuoteAttest,
  type TpmPublic,
  type TpmSignature,
} from './structures.js'
import {AK_REQUIRED_ATTRIBUTES, HASH_SIZE, TPM2_ALG, TPMA_OBJECT} from './wire.js'

export interface QuoteCheck {
  attest: Uint8Array
  signature: Uint8Array
  /** What TPMS_ATTEST.extraData must equal. */
  expectedExtraData: Uint8Array
  /** PCR index → value of the quoted bank; when given, pcrDigest is recomputed and compared. */
  pcrs?: Map<number, Uint8Array>
  /** Clock info of the previous accepted quote of this AK: counters must not go back. */
  previous?: Pick<ClockInfo, 'clock' | 'resetCount' | 'restartCount'>
  /** Refuse quotes with clockInfo.safe = 0 (default true). */
  requireSafe?: boolean
}

export interface QuoteResult {
  valid: boolean
  reasons: string[]
  attest: QuoteAttest
}

const ATTR_NAMES: Array<[number, string]> = [
  [TPMA_OBJECT.fixedTPM, 'fixedTPM'],
  [TPMA_OBJECT.fixedParent, 'fixedParent'],
  [TPMA_OBJECT.sensitiveDataOrigin, 'sensitiveDataOrigin'],
  [TPMA_OBJECT.restricted, 'restricted'],
  [TPMA_OBJECT.sign, 'sign'],
]

/**
 * A verifier bound to one AK: the KeyObject and name are computed once (the hot path then costs one
 * node:crypto verify, one parse and one PCR hash). Construct with the AK's TPM2B_PUBLIC for the full
 * checks, or with just a public key (PEM/KeyObject) for outside vectors (attributes then unchecked).
 */
export class QuoteVerifier {
  readonly key: KeyObject
  readonly akPublic?: TpmPublic
  readonly name?: Uint8Array
  /** Signer names a quote by this AK may carry: its name, or its qualified name as a primary key of a hierarchy. */
  private readonly signerNames: Buffer[] = []
  /** Problems with the AK itself (attributes), reported with every quote. */
  readonly akReasons: string[] = []

  constructor(ak: {tpm2bPublic: Uint8Array} | {key: KeyObject | string}) {
    if ('tpm2bPublic' in ak) {
      const pub = parseTpm2bPublic(ak.tpm2bPublic)
      this.akPublic = pub
      this.key = tpmPublicKeyObject(pub)
      this.name = objectName(pub)
      this.signerNames = [this.name, ...Object.values(TPM_RH).map((h) => primaryQualifiedName(this.name!, pub.nameAlg, h))].map((n) => Buffer.from(n))
      const missing = ATTR_NAMES.filter(([bit]) => (pub.attributes & bit) === 0).map(([, n]) => n)
      if (missing.length > 0) this.akReasons.push(`AK lacks attributes ${missing.join(', ')}`)
      if ((pub.attributes & TPMA_OBJECT.decrypt) !== 0) this.akReasons.push('AK has the decrypt attribute (a restricted signing key must not)')
      if ((pub.attributes & AK_REQUIRED_ATTRIBUTES) === AK_REQUIRED_ATTRIBUTES && pub.scheme === TPM2_ALG.NULL) this.akReasons.push('AK has no fixed signing scheme')
    } else {
      try {
        this.key = typeof ak.key === 'string' ? createPublicKey(ak.key) : ak.key
      } catch (error) {
        throw new InputError(`the AK public key is not a valid PEM/DER key (${(error as Error).message})`)
      }
      if (this.key.type !== 'public') throw new InputError('the AK key must be a public key')
    }
  }

  verify(check: QuoteCheck): QuoteResult {
    const attest = parseQuoteAttest(check.attest)
    const sig = parseSignature(check.signature)
    const reasons = [...this.akReasons]
    if (!eq(attest.extraData, check.expectedExtraData))
      reasons.push(`extraData ${hex(attest.extraData)} does not equal the expected nonce ${hex(check.expectedExtraData)}`)
    if (!this.signatureValid(sig, check.attest, reasons)) reasons.push('signature does not verify with the AK public key')
    if (this.name && !this.signerNames.some((n) => eq(n, attest.qualifiedSigner))) reasons.push("qualifiedSigner is not the AK's (primary key) qualified name")
    if (check.pcrs) pcrDigestReasons(attest, sig.hash, check.pcrs, reasons)
    if ((check.requireSafe ?? true) && !attest.clockInfo.safe) reasons.push('clockInfo.safe is 0 (the TPM clock may have gone back)')
    if (check.previous) counterReasons(attest.clockInfo, check.previous, reasons)
    return {valid: reasons.length === 0, reasons, attest}
  }

  private signatureValid(sig: TpmSignature, message: Uint8Array, reasons: string[]): boolean {
    const pub = this.akPublic
    const keyType = this.key.asymmetricKeyType
    if (pub && pub.scheme !== TPM2_ALG.NULL) {
      const expected = sig.alg === 'ecdsa' ? TPM2_ALG.ECDSA : sig.alg === 'rsassa' ? TPM2_ALG.RSASSA : TPM2_ALG.RSAPSS
      if (pub.scheme !== expected || pub.schemeHash !== sig.hash) {
        reasons.push("signature scheme differs from the AK's scheme")
        return true
      }
    }
    const algorithm = hashName(sig.hash)
    try {
      if (sig.alg === 'ecdsa') {
        if (keyType !== 'ec') return false
        const size = curveSize(this.key)
        let rs: Uint8Array
        if (sig.r.length === size && sig.s.length === size) {
          rs = new Uint8Array(2 * size)
          rs.set(sig.r)
          rs.set(sig.s, size)
        } else {
          const r = stripZeros(sig.r)
          const s = stripZeros(sig.s)
          if (r.length > size || s.length > size) return false
          rs = Buffer.concat([leftPad(r, size), leftPad(s, size)])
        }
        return cryptoVerify(algorithm, message, {key: this.key, dsaEncoding: 'ieee-p1363'}, rs)
      }
      if (keyType !== 'rsa') return false
      if (sig.alg === 'rsassa') return cryptoVerify(algorithm, message, {key: this.key, padding: constants.RSA_PKCS1_PADDING}, sig.sig)
      return cryptoVerify(algorithm, message, {key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO}, sig.sig)
    } catch {
      return false
    }
  }
}

const verifierCache = new Map<string, QuoteVerifier>()

/** One-shot check with a small cache of verifiers by AK public area. */
export function verifyQuote(ak: {tpm2bPublic: Uint8Array} | {key: KeyObject | string}, check: QuoteCheck): QuoteResult {
  if (!('tpm2bPublic' in ak)) return new QuoteVerifier(ak).verify(check)
  const id = Buffer.from(ak.tpm2bPublic).toString('base64')
  let v = verifierCache.get(id)
  if (!v) {
    v = new QuoteVerifier(ak)
    if (verifierCache.size >= 256) verifierCache.delete(verifierCache.keys().next().value!)
    verifierCache.set(id, v)
  }
  return v.verify(check)
}

function pcrDigestReasons(attest: QuoteAttest, sigHash: number, pcrs: Map<number, Uint8Array>, reasons: string[]): void {
  const h = createHash(hashName(sigHash))
  let count = 0
  for (const sel of attest.pcrSelect) {
    const size = HASH_SIZE[sel.hash]
    if (size === undefined) {
      reasons.push(`PCR bank 0x${sel.hash.toString(16)} is not supported`)
      return
    }
    for (const pcr of sel.pcrs) {
      const value = pcrs.get(pcr)
      if (!value) {
        reasons.push(`PCR ${pcr} is quoted but its value is missing`)
        return
      }
      if (value.length !== size) {
        reasons.push(`PCR ${pcr} value is ${value.length} bytes, the bank's digest is ${size}`)
        return
      }
      h.update(value)
      count++
    }
  }
  if (pcrs.size !== count) {
    const quoted = new Set(attest.pcrSelect.flatMap((s) => s.pcrs))
    const extra = [...pcrs.keys()].filter((p) => !quoted.has(p))
    if (extra.length > 0) reasons.push(`PCR values given for ${extra.join(',')} that the quote does not select`)
  }
  if (!eq(h.digest(), attest.pcrDigest)) reasons.push('pcrDigest does not match the PCR values')
}

function counterReasons(now: ClockInfo, prev: Pick<ClockInfo, 'clock' | 'resetCount' | 'restartCount'>, reasons: string[]): void {
  if (now.resetCount < prev.resetCount) reasons.push(`resetCount went back (${now.resetCount} < ${prev.resetCount})`)
  else if (now.resetCount === prev.resetCount) {
    if (now.restartCount < prev.restartCount) reasons.push(`restartCount went back (${now.restartCount} < ${prev.restartCount})`)
    else if (now.restartCount === prev.restartCount && now.clock < prev.clock) reasons.push(`clock went back (${now.clock} < ${prev.clock}) without a reset or restart`)
  }
}

function curveSize(key: KeyObject): number {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return curve === 'secp384r1' ? 48 : curve === 'secp521r1' ? 66 : 32
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  return b.subarray(i)
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

function hex(b: Uint8Array): string {
  return '0x' + Buffer.from(b).toString('hex')
}

// -----------------------------------------------------------------------------------------------
// EK certificate chain

export interface EkChainCheck {
  /** Certificates from the device, leaf (EK certificate) first, DER or PEM. */
  chain: Array<CertInput>
  /** Trusted certificates (roots and vendor intermediates), PEM, DER or parsed. */
  trusted: Array<CertInput>
  /** TPM2B_PUBLIC of the EK: the leaf's key must be this key. */
  ekPublic?: Uint8Array
  now?: Date
}

export type CertInput = Uint8Array | string | X509Certificate

const certCache = new Map<string, X509Certificate>()

/** Parses a certificate (PEM, DER or already parsed); trust stores are parsed once and cached. */
export function toX509(c: CertInput): X509Certificate {
  if (c instanceof X509Certificate) return c
  const key = typeof c === 'string' ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('base64')
  let cert = certCache.get(key)
  if (!cert) {
    cert = new X509Certificate(typeof c === 'string' ? c : Buffer.from(c))
    if (certCache.size >= 1024) certCache.delete(certCache.keys().next().value!)
    certCache.set(key, cert)
  }
  return cert
}

/** Reasons the EK chain fails (empty when it chains to a trusted certificate). */
export function verifyEkChain(check: EkChainCheck): string[] {
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
  if (check.chain.length === 0) return ['no EK certificate in the evidence']
  const leaf = parse(check.chain[0]!, 'EK certificate')
  const untrusted = check.chain.slice(1).map((c, i) => parse(c, `chain certificate ${i + 1}`)).filter((c): c is X509Certificate => c !== undefined)
  const trusted = check.trusted.map((c, i) => parse(c, `trusted certificate ${i + 1}`)).filter((c): c is X509Certificate => c !== undefined)
  if (!leaf) return reasons
  if (trusted.length === 0) return [...reasons, 'no trusted TPM EK roots are configured (networks.<name>.trustRoots.tpm)']
  if (check.ekPublic) {
    try {
      const ek = tpmPublicKeyObject(parseTpm2bPublic(check.ekPublic))
      if (!ek.equals(leaf.publicKey)) reasons.push('the EK certificate is not for this EK')
    } catch (error) {
      reasons.push(`EK public area: ${(error as Error).message}`)
    }
  }
  let current = leaf
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(current, now)) reasons.push(`certificate "${current.subject.replace(/\n/g, ', ')}" is not valid at ${now.toISOString()}`)
    const trustedIssuer = trusted.find((t) => issuedBy(current, t))
    if (trustedIssuer) {
      if (!validAt(trustedIssuer, now)) reasons.push(`trusted certificate "${trustedIssuer.subject.replace(/\n/g, ', ')}" is not valid at ${now.toISOString()}`)
      return reasons
    }
    const next = untrusted.find((u) => u !== current && issuedBy(current, u))
    if (!next) break
    current = next
  }
  reasons.push(`the EK certificate does not chain to a trusted root (issuer "${current.issuer.replace(/\n/g, ', ')}")`)
  return reasons
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
