/**
 * Pure verifier of TPM 2.0 quotes (no FFI, no I/O): anyone can run it on evidence alone.
 * Checks: strict TPMS_ATTEST / TPMT_SIGNATURE / TPM2B_PUBLIC parsing, extraData = expected nonce,
 * pcrDigest recomputed from the PCR values, the signature (node:crypto: ECDSA P-256/P-384, RSASSA,
 * RSAPSS), AK attributes (fixedTPM, fixedParent, restricted, sign, sensitiveDataOrigin), the quote's
 * signer name = the AK's name, clockInfo.safe, and monotonic reset/restart counters against a
 * previous quote. The EK certificate chain and its policy: ek-policy.ts (verifyEkChain / checkEkChain).
 */
import {constants, createHash, createPublicKey, verify as cryptoVerify, type KeyObject} from 'node:crypto'

import {InputError} from '../../errors/index.js'
import {checkEkChain, type EkChainCheck} from './ek-policy.js'
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
import {AK_REQUIRED_ATTRIBUTES, HASH_SIZE, TPM2_ALG, TPMA_OBJECT, missingAttributes} from './wire.js'

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

/**
 * Why a public area is not an AK as unet creates them: a restricted signing key born in the TPM
 * (fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign; not decrypt; a fixed scheme). The
 * TPM refuses to load or import a key with fixedTPM and a sensitive area from outside, so these bits
 * in the AK's name mean the key was created inside a TPM.
 */
export function akAttributeReasons(pub: TpmPublic): string[] {
  const reasons: string[] = []
  const missing = missingAttributes(pub.attributes, ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin', 'restricted', 'sign'])
  if (missing.length > 0) reasons.push(`AK lacks attributes ${missing.join(', ')}`)
  if ((pub.attributes & TPMA_OBJECT.decrypt) !== 0) reasons.push('AK has the decrypt attribute (a restricted signing key must not)')
  if ((pub.attributes & AK_REQUIRED_ATTRIBUTES) === AK_REQUIRED_ATTRIBUTES && pub.scheme === TPM2_ALG.NULL) reasons.push('AK has no fixed signing scheme')
  return reasons
}

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
      this.akReasons.push(...akAttributeReasons(pub))
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
    else if (now.restartCount === prev.restartCount && now.clock < prev.clock)
      reasons.push(`clock went back (${now.clock} < ${prev.clock}) without a reset or restart`)
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
// EK certificate chain: the policy lives in ek-policy.ts

export {checkEkChain, verifyCertPath} from './ek-policy.js'

/** Reasons the EK chain fails the EK policy (empty when accepted); checkEkChain() also says what the TPM is. */
export function verifyEkChain(check: EkChainCheck): string[] {
  return checkEkChain(check).reasons
}
