import {randomBytes, type X509Certificate} from 'node:crypto'

import type {NvidiaPolicy} from '../../config/schema.js'
import {equalBytes} from '../../util/hex.js'
import {HttpPostError, postBytes} from '../../util/http-post.js'
import {ocspUrls} from '../../util/x509-fields.js'
import {readCachedAnswer, writeCachedAnswer} from './ocsp-cache.js'
import {boundNonce, buildOcspRequest, certIdFor, NONCE_SALT_BYTES} from './ocsp-request.js'
import {verifyOcspResponse, type OcspVerdict} from './ocsp-response.js'

/**
 * Revocation of a certificate chain by OCSP (RFC 6960): for each certificate (leaf first) that has
 * its issuer next in the chain, one request with a fresh nonce and a SHA-384 CertID, POSTed to the
 * responder, the answer verified by ocsp-response.ts and cached until its nextUpdate (ocsp-cache.ts).
 * Used for the GPU attestation chain and for RIM signing chains.
 *
 * Two steps, so a decision can be recomputed from recorded answers (the verifier's audit):
 *  - askRevocation (I/O): the cache or the responder; returns the answers as bytes (OcspAnswer), the
 *    time each was asked, or why there is none;
 *  - judgeRevocation (pure): verifies each answer at the time it was asked and applies the mode.
 *
 * Modes: `off` asks nothing; `warn` asks and reports; `enforce` makes every status but `good` a
 * reason (ok = false). A verified `revoked` is a reason in warn mode too: it is a signed fact about the
 * certificate, not a problem of availability; `unknown` and answers that cannot be had or trusted are
 * warnings in warn mode. A responder that cannot be reached, or an answer that does not verify, gives
 * `not-checked` with the reason: never `good`.
 *
 * Bound answers (the verifier): with a `binding` (a registration's id and block hash) each request's
 * nonce is SHA-256(domain ‖ binding ‖ salt) (ocsp-request.ts boundNonce), the salt recorded with the
 * answer, and the cache is not used (a cached answer echoes another request's nonce). Judged with the
 * binding, an answer whose nonce is not bound to it was asked for something else or before the
 * registration's block existed; with `notAfter` (the audit: the decision's block time plus the skew), an
 * answer asked after it came after the decision (and one produced after its askedAt does not verify). Either is `not-checked` and `refused`: a
 * reason in every mode, since it says the record is not what the verifier was given, not that a responder
 * was down.
 */
export type OcspMode = NvidiaPolicy['ocsp']
export type RevocationStatus = 'good' | 'revoked' | 'unknown' | 'not-checked'

/** NVIDIA's OCSP responder (the URL in the GPU intermediates' Authority Information Access, and NVIDIA's verifier's default). */
export const NVIDIA_OCSP_URL = 'https://ocsp.ndis.nvidia.com/'

export interface CertRevocation {
  index: number
  subject: string
  serialNumber: string
  status: RevocationStatus
  /** Why the status is what it is (always set unless good). */
  reason?: string
  source?: 'responder' | 'cache'
  url?: string
  thisUpdate?: string
  nextUpdate?: string
  revokedAt?: string
  revocationReason?: string
  /** The answer is not one this judgement may use (not bound to the registration, or after the decision): a reason in every mode. */
  refused?: true
}

export interface RevocationResult {
  mode: OcspMode
  /**
   * False when an asked certificate is revoked or its answer is `refused` (either in every mode), or in
   * enforce mode when an asked certificate is not `good`. A certificate not asked about (mode off,
   * `withheld`, skipped) never makes it false.
   */
  ok: boolean
  certs: CertRevocation[]
  reasons: string[]
  warnings: string[]
}

/**
 * One certificate's OCSP exchange as data: what a judgement is made from, and what the verifier records
 * so its decision can be recomputed. `response` and `nonce` are the signed answer and the nonce it must
 * echo; without them, `error` says why there is no answer.
 */
export interface OcspAnswer {
  /** Index of the certificate in the chain. */
  index: number
  /** When it was asked (ISO 8601): the answer's freshness is judged at this time. */
  askedAt: string
  url?: string
  source?: 'responder' | 'cache'
  /** Hex of the request nonce. */
  nonce?: string
  /** Hex of the salt of a bound nonce (nonce = SHA-256(domain ‖ binding ‖ salt)). */
  nonceSalt?: string
  /** Base64 of the DER OCSPResponse. */
  response?: string
  error?: string
}

/** Which certificates are asked about, and how an answer is judged: shared by ask and judge. */
export interface RevocationScope {
  mode: OcspMode
  /** Certificates before this index are not asked about (the GPU leaf: see gpu-revocation.ts). Default 0. */
  firstIndex?: number
  /** Why those are not asked, for the report. */
  skipReason?: string
  /** Why nothing is asked at all (the evidence failed an earlier check): each certificate not-checked with it, no reason or warning. */
  withheld?: string
  /** Clock skew allowed on thisUpdate / nextUpdate (default 5 minutes). */
  skewMs?: number
  /** Oldest acceptable thisUpdate of an answer without nextUpdate (default 1 hour; such answers are not cached). */
  maxAgeMs?: number
  /** Nonces bound to this (a registration): asked so, and an answer not bound to it is refused. */
  binding?: Uint8Array
  /** An answer asked after this (the audit: the decision's block time plus the skew) is refused. */
  notAfter?: Date
}

export interface RevocationOptions extends RevocationScope {
  /** Ask this responder for every certificate (a network profile's override, tests). */
  responderUrl?: string
  /** Ask this one for a certificate that names none in its Authority Information Access. */
  defaultResponderUrl?: string
  /** Where answers are cached until nextUpdate (<cacheDir>/ocsp); none = no cache. */
  cacheDir?: string
  /** The time of asking (default: the clock). */
  now?: Date
  /** Per request (default 5000 ms). */
  timeoutMs?: number
}

/** Clock skew allowed between responder, verifier and chain (thisUpdate, nextUpdate, the audit's notAfter). */
export const OCSP_SKEW_MS = 5 * 60_000
const SKEW_MS = OCSP_SKEW_MS
const MAX_AGE_MS = 60 * 60_000
const name = (c: X509Certificate) => c.subject.replace(/\n/g, ', ')
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** Why certificate i is not asked about, or undefined when it is. */
function skipped(chain: X509Certificate[], i: number, scope: RevocationScope): string | undefined {
  const cert = chain[i]!
  const issuer = chain[i + 1]
  if (scope.mode === 'off') return 'OCSP is off (mode off)'
  if (scope.withheld) return scope.withheld
  if (!issuer) return cert.checkIssued(cert) ? 'trust anchor: pinned, not revocable by OCSP' : 'its issuer is not in the chain'
  if (i < (scope.firstIndex ?? 0)) return scope.skipReason ?? 'not asked'
  if (!cert.checkIssued(issuer)) return 'not issued by the next certificate of the chain'
  return undefined
}

function verifyAnswer(cert: X509Certificate, issuer: X509Certificate, response: Uint8Array, nonce: Uint8Array, at: Date, scope: RevocationScope): OcspVerdict {
  return verifyOcspResponse({
    response,
    certId: certIdFor(cert, issuer),
    issuer,
    nonce,
    now: at,
    skewMs: scope.skewMs ?? SKEW_MS,
    maxAgeMs: scope.maxAgeMs ?? MAX_AGE_MS,
  })
}

async function askOne(cert: X509Certificate, issuer: X509Certificate, index: number, o: RevocationOptions, now: Date): Promise<OcspAnswer> {
  const askedAt = now.toISOString()
  const salt = o.binding && randomBytes(NONCE_SALT_BYTES)
  const request = buildOcspRequest(cert, issuer, salt && boundNonce(o.binding!, salt))
  const bound = salt ? {nonceSalt: hex(salt)} : {}
  const cacheDir = o.binding ? undefined : o.cacheDir
  if (cacheDir) {
    const cached = readCachedAnswer(cacheDir, request.certId)
    if (cached) {
      // used only while it verifies and is before its nextUpdate: an edited or expired entry is asked again
      const v = verifyAnswer(cert, issuer, cached.response, cached.nonce, now, o)
      if (v.status && v.nextUpdate && now < v.nextUpdate)
        return {index, askedAt, url: cached.url, source: 'cache', nonce: hex(cached.nonce), response: b64(cached.response)}
    }
  }
  let urlList: string[]
  try {
    urlList = ocspUrls(new Uint8Array(cert.raw))
  } catch {
    urlList = []
  }
  const url = o.responderUrl ?? urlList.find((u) => /^https?:\/\//.test(u)) ?? o.defaultResponderUrl
  if (!url) return {index, askedAt, ...bound, error: 'the certificate names no OCSP responder and none is configured'}
  let response: Uint8Array
  try {
    response = await postBytes(url, request.der, {contentType: 'application/ocsp-request', accept: 'application/ocsp-response', timeoutMs: o.timeoutMs ?? 5000})
  } catch (error) {
    if (!(error instanceof HttpPostError)) throw error
    return {index, askedAt, url, ...bound, error: `no answer from the OCSP responder: ${error.message}`}
  }
  if (cacheDir) {
    // cached only when it verifies and has a nextUpdate; the verdict is judgeRevocation's, which verifies it again
    const v = verifyAnswer(cert, issuer, response, request.nonce, now, o)
    if (v.status && v.nextUpdate) {
      try {
        writeCachedAnswer(cacheDir, request.certId, {url, nonce: request.nonce, response})
      } catch {
        // a cache that cannot be written costs a request next time, nothing more
      }
    }
  }
  return {index, askedAt, url, source: 'responder', nonce: hex(request.nonce), ...bound, response: b64(response)}
}

/** Asks (cache, then responder) about every certificate the scope covers; I/O only, no verdict. */
export async function askRevocation(chain: X509Certificate[], options: RevocationOptions): Promise<OcspAnswer[]> {
  const now = options.now ?? new Date()
  const asked = chain.map((_, i) => i).filter((i) => skipped(chain, i, options) === undefined)
  return Promise.all(asked.map((i) => askOne(chain[i]!, chain[i + 1]!, i, options, now)))
}

function fromVerdict(base: CertRevocation, v: OcspVerdict): CertRevocation {
  if (!v.status) return {...base, status: 'not-checked', reason: v.problem}
  const out: CertRevocation = {...base, status: v.status, thisUpdate: v.thisUpdate?.toISOString(), nextUpdate: v.nextUpdate?.toISOString()}
  if (v.status === 'unknown') out.reason = 'the responder does not know this certificate'
  if (v.status === 'revoked') {
    out.revokedAt = v.revokedAt?.toISOString()
    out.revocationReason = v.revocationReason
    out.reason = `revoked at ${out.revokedAt}${v.revocationReason ? ` (${v.revocationReason})` : ''}`
  }
  return out
}

function judgeOne(chain: X509Certificate[], i: number, answer: OcspAnswer | undefined, scope: RevocationScope): CertRevocation {
  const cert = chain[i]!
  const base: CertRevocation = {index: i, subject: name(cert), serialNumber: cert.serialNumber, status: 'not-checked'}
  const skip = skipped(chain, i, scope)
  if (skip) return {...base, reason: skip}
  if (!answer) return {...base, reason: 'no OCSP answer was asked for or recorded'}
  const at = new Date(answer.askedAt)
  const located = {...base, url: answer.url, source: answer.source}
  if (answer.error || !answer.response || !answer.nonce || Number.isNaN(at.getTime()))
    return {...located, reason: answer.error ?? 'the recorded answer lacks its response, nonce or time'}
  const nonce = Buffer.from(answer.nonce, 'hex')
  const refuse = (reason: string): CertRevocation => ({...located, reason, refused: true})
  if (scope.binding && !(answer.nonceSalt && equalBytes(nonce, boundNonce(scope.binding, Buffer.from(answer.nonceSalt, 'hex')))))
    return refuse('the answer was not asked for this registration (its nonce is not bound to the registration id and block): asked for another, or before it')
  if (scope.notAfter && at > scope.notAfter)
    return refuse(`the answer was asked at ${answer.askedAt}, after the decision (${scope.notAfter.toISOString()} with the skew)`)
  // an answer produced after askedAt (plus the skew) does not verify ("from the future"): producedAt is bounded too
  return fromVerdict(located, verifyAnswer(cert, chain[i + 1]!, Buffer.from(answer.response, 'base64'), nonce, at, scope))
}

/** Pure: the verdict on a chain from its answers (as askRevocation returned them, or as recorded). */
export function judgeRevocation(chain: X509Certificate[], answers: readonly OcspAnswer[], scope: RevocationScope): RevocationResult {
  const certs = chain.map((_, i) =>
    judgeOne(
      chain,
      i,
      answers.find((a) => a.index === i),
      scope,
    ),
  )
  const line = (c: CertRevocation) => `certificate ${c.index} (${c.subject}) OCSP ${c.status}: ${c.reason}`
  const asked = certs.filter((_, i) => skipped(chain, i, scope) === undefined)
  // in every mode: a signed revocation, or an answer this judgement may not use
  const always = asked.filter((c) => c.status === 'revoked' || c.refused).map(line)
  const doubtful = asked.filter((c) => c.status !== 'good' && c.status !== 'revoked' && !c.refused).map(line)
  const enforce = scope.mode === 'enforce'
  const reasons = enforce ? asked.filter((c) => c.status !== 'good').map(line) : always
  return {mode: scope.mode, ok: reasons.length === 0, certs, reasons, warnings: enforce ? [] : doubtful}
}
