import {createHash, verify as cryptoVerify, X509Certificate} from 'node:crypto'

import {children, decodeOid, readOne, type Tlv} from '../../util/der.js'
import {equalBytes} from '../../util/hex.js'
import {certificateFields} from '../../util/x509-fields.js'
import {nonceExtensionValue, OCSP_NONCE_OID, SHA384_OID, type CertId} from './ocsp-request.js'
import {parseCertificate} from '../../util/x509.js'

/**
 * Parses and verifies an RFC 6960 OCSPResponse for one certificate. Pure (no I/O): the caller gives
 * the certificate's issuer, the nonce it sent and the time. Accepted only when
 *  - responseStatus is successful and the type is id-pkix-ocsp-basic;
 *  - the signature verifies with the key of the issuer itself, or of a delegated responder whose
 *    certificate is in the response, issued (and signed) by the same issuer, carries
 *    id-kp-OCSPSigning and is valid now (RFC 6960 4.2.2.2); the ResponderID names that signer;
 *  - the response echoes our nonce exactly (a replayed answer has another or none);
 *  - one SingleResponse answers for our CertID (SHA-384, name hash, key hash, serial);
 *  - thisUpdate is not in the future and nextUpdate not in the past (both with `skewMs`); without a
 *    nextUpdate, thisUpdate must be within `maxAgeMs`.
 * Anything else is a `problem`: the answer cannot be trusted, whatever it says.
 */
const BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1'
const KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9'
const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(4)', 'sigRequired', 'unauthorized']
const CRL_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  '(7)',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
]
/** Signature algorithms a responder may use, with the hash and the key type they need. */
const SIGNATURE_ALGORITHMS: Record<string, {hash: string; key: 'ec' | 'rsa'}> = {
  '1.2.840.10045.4.3.2': {hash: 'sha256', key: 'ec'},
  '1.2.840.10045.4.3.3': {hash: 'sha384', key: 'ec'},
  '1.2.840.10045.4.3.4': {hash: 'sha512', key: 'ec'},
  '1.2.840.113549.1.1.11': {hash: 'sha256', key: 'rsa'},
  '1.2.840.113549.1.1.12': {hash: 'sha384', key: 'rsa'},
  '1.2.840.113549.1.1.13': {hash: 'sha512', key: 'rsa'},
}

export type CertStatus = 'good' | 'revoked' | 'unknown'

export interface OcspVerdict {
  /** Set when the answer is trustworthy. */
  status?: CertStatus
  /** Why the answer cannot be trusted (then `status` is absent). */
  problem?: string
  thisUpdate?: Date
  nextUpdate?: Date
  revokedAt?: Date
  revocationReason?: string
  /** Subject of the certificate that signed the answer (the issuer or its delegated responder). */
  signer?: string
}

export interface OcspVerifyInput {
  response: Uint8Array
  certId: CertId
  issuer: X509Certificate
  nonce: Uint8Array
  now: Date
  skewMs: number
  maxAgeMs: number
}

class OcspProblem extends Error {}
const fail = (message: string): never => {
  throw new OcspProblem(message)
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) fail(`${what} missing or of the wrong type`)
  return t!
}

function generalizedTime(t: Tlv | undefined, what: string): Date {
  const s = Buffer.from(expect(t, 0x18, what).content).toString('latin1')
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s)
  if (!m) fail(`${what} "${s}" is not a GeneralizedTime in UTC`)
  const [, y, mo, d, h, mi, sec, frac] = m!
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +sec!, frac ? Math.floor(Number(frac) * 1000) : 0)
  return new Date(ms)
}

function sameCertId(t: Tlv, id: CertId): boolean {
  const [alg, nameHash, keyHash, serial] = children(t)
  const oid = alg?.tag === 0x30 ? children(alg)[0] : undefined
  return (
    oid?.tag === 0x06 &&
    decodeOid(oid.content) === SHA384_OID &&
    nameHash?.tag === 0x04 &&
    equalBytes(nameHash.content, id.issuerNameHash) &&
    keyHash?.tag === 0x04 &&
    equalBytes(keyHash.content, id.issuerKeyHash) &&
    serial?.tag === 0x02 &&
    equalBytes(serial.content, id.serial)
  )
}

function extensions(t: Tlv | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  if (!t) return out
  for (const e of children(expect(children(t)[0], 0x30, 'extensions'))) {
    const parts = children(e)
    const oid = expect(parts[0], 0x06, 'extension id')
    const value = expect(parts[parts.length - 1], 0x04, 'extension value')
    out.set(decodeOid(oid.content), value.content)
  }
  return out
}

/** Does ResponderID (byName [1] or byKey [2]) name this certificate? */
function responderIs(id: Tlv, cert: X509Certificate): boolean {
  const fields = certificateFields(new Uint8Array(cert.raw))
  const inner = children(id)[0]
  if (id.tag === 0xa1 && inner?.tag === 0x30) return equalBytes(id.content, fields.subjectName)
  if (id.tag === 0xa2 && inner?.tag === 0x04) return equalBytes(inner.content, createHash('sha1').update(fields.publicKeyBits).digest())
  return false
}

function delegatedProblem(signer: X509Certificate, issuer: X509Certificate, now: Date): string | undefined {
  if (!signer.checkIssued(issuer) || !signer.verify(issuer.publicKey))
    return `responder certificate ${signer.subject.replace(/\n/g, ', ')} is not issued by the certificate's issuer`
  // node reports extended key usage as `keyUsage` (OIDs)
  if (!(signer.keyUsage ?? []).includes(KP_OCSP_SIGNING)) return 'responder certificate lacks id-kp-OCSPSigning'
  if (now < new Date(signer.validFrom) || now > new Date(signer.validTo)) return 'responder certificate is not valid now'
  return undefined
}

/** The parts of a successful id-pkix-ocsp-basic response that the checks read. */
interface BasicResponse {
  tbs: Tlv
  /** tbsResponseData as signed (DER). */
  tbsDer: Uint8Array
  algId: string
  /** The signature, without the BIT STRING's unused-bits octet. */
  signature: Uint8Array
  /** The certificates the response carries (a delegated responder's). */
  carried: X509Certificate[]
}

/** Unwraps OCSPResponse to its BasicOCSPResponse; a responder error or another response type is a problem. */
function basicResponse(response: Uint8Array): BasicResponse {
  const top = children(readOne(response, 0x30, 'OCSPResponse'))
  const status = expect(top[0], 0x0a, 'responseStatus').content[0] ?? 255
  if (status !== 0) fail(`responder answered ${RESPONSE_STATUS[status] ?? `status ${status}`}`)
  const bytes = children(expect(children(expect(top[1], 0xa0, 'responseBytes'))[0], 0x30, 'ResponseBytes'))
  if (decodeOid(expect(bytes[0], 0x06, 'responseType').content) !== BASIC_RESPONSE) fail('response is not an id-pkix-ocsp-basic response')
  const basicDer = expect(bytes[1], 0x04, 'response').content
  const basicTlv = readOne(basicDer, 0x30, 'BasicOCSPResponse')
  const basic = children(basicTlv)
  const tbs = expect(basic[0], 0x30, 'tbsResponseData')
  const algId = decodeOid(expect(children(expect(basic[1], 0x30, 'signatureAlgorithm'))[0], 0x06, 'signature algorithm').content)
  const sigBits = expect(basic[2], 0x03, 'signature').content
  if (sigBits[0] !== 0) fail('signature BIT STRING has unused bits')
  const certSeq = basic[3] ? expect(children(expect(basic[3], 0xa0, 'certs'))[0], 0x30, 'certs') : undefined
  const carried = certSeq ? children(certSeq).map((c) => parseCertificate(certSeq.content.subarray(c.start, c.end))) : []
  return {tbs, tbsDer: basicTlv.content.subarray(tbs.start, tbs.end), algId, signature: sigBits.subarray(1), carried}
}

/**
 * The certificate the ResponderID names, once the response's signature verifies with its key: the issuer,
 * or a carried responder certificate the issuer delegated to (delegatedProblem). The verdict's signer
 * comes from here alone, so there is no signer without a verified signature.
 */
function verifiedSigner(basic: BasicResponse, responderId: Tlv | undefined, input: OcspVerifyInput): X509Certificate {
  if (!responderId || (responderId.tag !== 0xa1 && responderId.tag !== 0xa2)) fail('responderID missing')
  const signer = [input.issuer, ...basic.carried].find((c) => responderIs(responderId!, c))
  if (!signer) fail('the responder is neither the issuer nor a certificate carried in the response')
  if (signer !== input.issuer) {
    const problem = delegatedProblem(signer!, input.issuer, input.now)
    if (problem) fail(problem)
  }
  const alg = SIGNATURE_ALGORITHMS[basic.algId]
  if (!alg) fail(`unsupported signature algorithm ${basic.algId}`)
  if (signer!.publicKey.asymmetricKeyType !== alg!.key)
    fail(`signature algorithm ${basic.algId} does not fit the responder's ${signer!.publicKey.asymmetricKeyType} key`)
  if (!cryptoVerify(alg!.hash, basic.tbsDer, signer!.publicKey, basic.signature))
    fail(`signature does not verify with the key of ${signer!.subject.replace(/\n/g, ', ')}`)
  return signer!
}

/** Freshness against replay: the response echoes our nonce exactly (a replayed answer has another or none). */
function requireOurNonce(responseExtensions: Tlv | undefined, nonce: Uint8Array): void {
  const ext = extensions(responseExtensions?.tag === 0xa1 ? responseExtensions : undefined)
  const echoed = ext.get(OCSP_NONCE_OID)
  if (!echoed) fail('response carries no nonce (a replayed or pre-produced answer)')
  if (!equalBytes(echoed!, nonceExtensionValue(nonce))) fail('response nonce differs from the request nonce (a replayed answer)')
}

/** The SingleResponse for our CertID: its certStatus and its update times. */
function singleResponseFor(responses: Tlv | undefined, certId: CertId): {certStatus: Tlv | undefined; thisUpdate: Date; nextUpdate?: Date} {
  const single = children(expect(responses, 0x30, 'responses')).find((r) => sameCertId(expect(children(r)[0], 0x30, 'certID'), certId))
  if (!single) fail('response does not answer for this certificate (no SingleResponse with its SHA-384 CertID)')
  const [, certStatus, thisUpdateTlv, ...rest] = children(single!)
  const thisUpdate = generalizedTime(thisUpdateTlv, 'thisUpdate')
  const nextTlv = rest.find((t) => t.tag === 0xa0)
  const nextUpdate = nextTlv ? generalizedTime(children(nextTlv)[0], 'nextUpdate') : undefined
  return {certStatus, thisUpdate, nextUpdate}
}

/** Neither thisUpdate nor producedAt in the future, nextUpdate not past (both within skewMs); without nextUpdate, no older than maxAgeMs. */
function requireCurrent(input: OcspVerifyInput, produced: Date, thisUpdate: Date, nextUpdate: Date | undefined): void {
  const now = input.now.getTime()
  if (thisUpdate.getTime() > now + input.skewMs || produced.getTime() > now + input.skewMs)
    fail(`response is from the future (thisUpdate ${thisUpdate.toISOString()}, now ${input.now.toISOString()})`)
  if (nextUpdate && nextUpdate.getTime() < now - input.skewMs) fail(`response is stale (nextUpdate ${nextUpdate.toISOString()} has passed)`)
  if (!nextUpdate && thisUpdate.getTime() < now - input.maxAgeMs) fail(`response without nextUpdate is older than ${input.maxAgeMs / 1000} s`)
}

/** What a trusted answer says: good, unknown, or revoked (when, and why if it says). */
function statusVerdict(certStatus: Tlv | undefined, verdict: OcspVerdict): OcspVerdict {
  if (certStatus?.tag === 0x80) return {...verdict, status: 'good'}
  if (certStatus?.tag === 0x82) return {...verdict, status: 'unknown'}
  if (certStatus?.tag !== 0xa1) fail('certStatus is none of good, revoked, unknown')
  const [time, reason] = children(certStatus!)
  const revokedAt = generalizedTime(time, 'revocationTime')
  const code = reason?.tag === 0xa0 ? expect(children(reason)[0], 0x0a, 'revocationReason').content[0] : undefined
  return {...verdict, status: 'revoked', revokedAt, revocationReason: code === undefined ? undefined : (CRL_REASONS[code] ?? `reason ${code}`)}
}

/** The checks in the order the module comment lists them; each step throws (fail) on the first problem. */
function verifyUnsafe(input: OcspVerifyInput): OcspVerdict {
  const basic = basicResponse(input.response)
  // tbsResponseData: an optional version [0], then the fields read here
  const data = children(basic.tbs)
  const fields = data[0]?.tag === 0xa0 ? data.slice(1) : data
  const [responderId, producedAt, responses, responseExtensions] = fields
  // who signed: the issuer, or a delegated responder certificate carried in the response
  const signer = verifiedSigner(basic, responderId, input)
  requireOurNonce(responseExtensions, input.nonce)
  const produced = generalizedTime(producedAt, 'producedAt')
  const {certStatus, thisUpdate, nextUpdate} = singleResponseFor(responses, input.certId)
  requireCurrent(input, produced, thisUpdate, nextUpdate)
  return statusVerdict(certStatus, {thisUpdate, nextUpdate, signer: signer.subject.replace(/\n/g, ', ')})
}

export function verifyOcspResponse(input: OcspVerifyInput): OcspVerdict {
  try {
    return verifyUnsafe(input)
  } catch (error) {
    if (error instanceof OcspProblem) return {problem: error.message}
    return {problem: `malformed OCSP response (${(error as Error).message.replace(/^malformed certificate: /, '')})`}
  }
}
