import type {X509Certificate} from 'node:crypto'

import type {NvidiaPolicy} from '../../config/schema.js'
import {HttpPostError, postBytes} from '../../util/http-post.js'
import {ocspUrls} from '../../util/x509-fields.js'
import {readCachedAnswer, writeCachedAnswer} from './ocsp-cache.js'
import {buildOcspRequest} from './ocsp-request.js'
import {verifyOcspResponse, type OcspVerdict} from './ocsp-response.js'

/**
 * Revocation of a certificate chain by OCSP (RFC 6960): for each certificate (leaf first) that has
 * its issuer next in the chain, one request with a fresh nonce and a SHA-384 CertID, POSTed to the
 * responder, the answer verified by ocsp-response.ts and cached until its nextUpdate (ocsp-cache.ts).
 * Used for the GPU attestation chain and for RIM signing chains.
 *
 * Modes: `off` asks nothing; `warn` asks and reports, but only as warnings; `enforce` makes every
 * status but `good` a reason (ok = false). A responder that cannot be reached, or an answer that
 * does not verify, gives `not-checked` with the reason: never `good`.
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
}

export interface RevocationResult {
  mode: OcspMode
  /** False only in enforce mode, when an asked certificate is not `good`. */
  ok: boolean
  certs: CertRevocation[]
  reasons: string[]
  warnings: string[]
}

export interface RevocationOptions {
  mode: OcspMode
  /** Certificates before this index are not asked about (the GPU leaf: see gpu-revocation.ts). Default 0. */
  firstIndex?: number
  /** Why those are not asked, for the report. */
  skipReason?: string
  /** Ask this responder for every certificate (a network profile's override, tests). */
  responderUrl?: string
  /** Ask this one for a certificate that names none in its Authority Information Access. */
  defaultResponderUrl?: string
  /** Where answers are cached until nextUpdate (<cacheDir>/ocsp); none = no cache. */
  cacheDir?: string
  now?: Date
  /** Per request (default 5000 ms). */
  timeoutMs?: number
  /** Clock skew allowed on thisUpdate / nextUpdate (default 5 minutes). */
  skewMs?: number
  /** Oldest acceptable thisUpdate of an answer without nextUpdate (default 1 hour; such answers are not cached). */
  maxAgeMs?: number
}

const name = (c: X509Certificate) => c.subject.replace(/\n/g, ', ')

function fromVerdict(base: CertRevocation, v: OcspVerdict, source: 'responder' | 'cache'): CertRevocation {
  if (!v.status) return {...base, status: 'not-checked', reason: v.problem, source}
  const out: CertRevocation = {...base, status: v.status, source, thisUpdate: v.thisUpdate?.toISOString(), nextUpdate: v.nextUpdate?.toISOString()}
  if (v.status === 'unknown') out.reason = 'the responder does not know this certificate'
  if (v.status === 'revoked') {
    out.revokedAt = v.revokedAt?.toISOString()
    out.revocationReason = v.revocationReason
    out.reason = `revoked at ${out.revokedAt}${v.revocationReason ? ` (${v.revocationReason})` : ''}`
  }
  return out
}

async function checkOne(
  cert: X509Certificate,
  issuer: X509Certificate,
  base: CertRevocation,
  o: Required<Pick<RevocationOptions, 'now' | 'timeoutMs' | 'skewMs' | 'maxAgeMs'>> & RevocationOptions,
): Promise<CertRevocation> {
  const request = buildOcspRequest(cert, issuer)
  const verify = (response: Uint8Array, nonce: Uint8Array) =>
    verifyOcspResponse({response, certId: request.certId, issuer, nonce, now: o.now, skewMs: o.skewMs, maxAgeMs: o.maxAgeMs})
  if (o.cacheDir) {
    const cached = readCachedAnswer(o.cacheDir, request.certId)
    if (cached) {
      const v = verify(cached.response, cached.nonce)
      if (v.status && v.nextUpdate && o.now < v.nextUpdate) return fromVerdict({...base, url: cached.url}, v, 'cache')
    }
  }
  let urlList: string[]
  try {
    urlList = ocspUrls(new Uint8Array(cert.raw))
  } catch {
    urlList = []
  }
  const url = o.responderUrl ?? urlList.find((u) => /^https?:\/\//.test(u)) ?? o.defaultResponderUrl
  if (!url) return {...base, status: 'not-checked', reason: 'the certificate names no OCSP responder and none is configured'}
  let response: Uint8Array
  try {
    response = await postBytes(url, request.der, {contentType: 'application/ocsp-request', accept: 'application/ocsp-response', timeoutMs: o.timeoutMs})
  } catch (error) {
    if (!(error instanceof HttpPostError)) throw error
    return {...base, url, status: 'not-checked', reason: `no answer from the OCSP responder: ${error.message}`}
  }
  const v = verify(response, request.nonce)
  if (o.cacheDir && v.status && v.nextUpdate) {
    try {
      writeCachedAnswer(o.cacheDir, request.certId, {url, nonce: request.nonce, response})
    } catch {
      // a cache that cannot be written costs a request next time, nothing more
    }
  }
  return fromVerdict({...base, url}, v, 'responder')
}

export async function checkRevocation(chain: X509Certificate[], options: RevocationOptions): Promise<RevocationResult> {
  const o = {now: new Date(), timeoutMs: 5000, skewMs: 5 * 60_000, maxAgeMs: 60 * 60_000, ...options}
  const first = options.firstIndex ?? 0
  const certs = await Promise.all(
    chain.map(async (cert, i): Promise<CertRevocation> => {
      const base: CertRevocation = {index: i, subject: name(cert), serialNumber: cert.serialNumber, status: 'not-checked'}
      const issuer = chain[i + 1]
      if (o.mode === 'off') return {...base, reason: 'OCSP is off (mode off)'}
      if (!issuer) return {...base, reason: cert.checkIssued(cert) ? 'trust anchor: pinned, not revocable by OCSP' : 'its issuer is not in the chain'}
      if (i < first) return {...base, reason: options.skipReason ?? 'not asked'}
      if (!cert.checkIssued(issuer)) return {...base, reason: 'not issued by the next certificate of the chain'}
      return checkOne(cert, issuer, base, o)
    }),
  )
  const problems = certs
    .filter((c, i) => i >= first && i < chain.length - 1 && c.status !== 'good' && o.mode !== 'off')
    .map((c) => `certificate ${c.index} (${c.subject}) OCSP ${c.status}: ${c.reason}`)
  const enforce = o.mode === 'enforce'
  return {mode: o.mode, ok: !enforce || problems.length === 0, certs, reasons: enforce ? problems : [], warnings: enforce ? [] : problems}
}
