import {execFileSync} from 'node:child_process'
import {randomBytes, X509Certificate} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {askRevocation, judgeRevocation, type RevocationOptions} from '../../../src/hw/nvidia/ocsp.js'
import {boundNonce, buildOcspRequest} from '../../../src/hw/nvidia/ocsp-request.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {ocspUrls} from '../../../src/util/x509-fields.js'
import {relay, TestPki, type TestCert, withRelay} from '../../helpers/ocsp-responder.js'

/**
 * OCSP against a real `openssl ocsp` responder on loopback over a P-384 test CA (test/helpers/ocsp-responder.ts):
 * every way an answer can be wrong is produced by a real responder or by a relay playing the attacker.
 */
let pki: TestPki
let ca: TestCert, good: TestCert, revoked: TestCert, unknown: TestCert
let delegatedUrl: string, issuerSignedUrl: string, foreignUrl: string, noEkuUrl: string, staleUrl: string

beforeAll(async () => {
  pki = new TestPki()
  ca = pki.root('Test Device Identity CA')
  good = pki.issue('good device', ca)
  revoked = pki.issue('revoked device', ca)
  unknown = pki.issue('device the responder never heard of', ca)
  const responder = pki.issue('Test OCSP Responder', ca, {eku: 'OCSPSigning'})
  const noEku = pki.issue('Test responder without OCSPSigning', ca)
  const other = pki.root('Some Other CA')
  const foreign = pki.issue('Foreign OCSP Responder', other, {eku: 'OCSPSigning'})
  const index = pki.index('main', {good: [good], revoked: [revoked]})
  ;[delegatedUrl, issuerSignedUrl, foreignUrl, noEkuUrl, staleUrl] = await Promise.all([
    pki.responder({index, ca, signer: responder, nextUpdateMinutes: 60}),
    pki.responder({index, ca, signer: ca, nextUpdateMinutes: 60}),
    pki.responder({index, ca, signer: foreign, nextUpdateMinutes: 60}),
    pki.responder({index, ca, signer: noEku, nextUpdateMinutes: 60}),
    // its clock two hours behind: nextUpdate (+60 min) is an hour in the past
    pki.responder({index, ca, signer: responder, nextUpdateMinutes: 60, clockOffset: '-2h'}),
  ])
})

afterAll(() => pki?.stop())

/** Ask, then judge the answers: the two steps as the full check runs them (full-check.ts). */
const askAndJudge = async (chain: X509Certificate[], options: RevocationOptions) => judgeRevocation(chain, await askRevocation(chain, options), options)
const check = (cert: TestCert, url: string, extra: Partial<RevocationOptions> = {}) =>
  askAndJudge([cert.cert, ca.cert], {mode: 'enforce', responderUrl: url, ...extra})

describe('OCSP request', () => {
  it('carries a SHA-384 CertID that openssl computes the same way, and a nonce', () => {
    const ours = join(pki.dir, 'ours.req')
    writeFileSync(ours, buildOcspRequest(good.cert, ca.cert).der)
    const text = (args: string[]) => execFileSync('openssl', ['ocsp', ...args, '-req_text', '-reqout', '/dev/null'], {cwd: pki.dir}).toString()
    const mine = text(['-reqin', ours])
    const theirs = text(['-issuer', ca.pemPath, '-sha384', '-cert', good.pemPath, '-no_nonce'])
    const id = (t: string) => /Certificate ID:[\s\S]*?Serial Number: \S+/.exec(t)?.[0]
    expect(id(mine)).toContain('Hash Algorithm: sha384')
    expect(id(mine)).toBe(id(theirs))
    expect(mine).toContain('OCSP Nonce')
  })

  it("reads the responder URL from NVIDIA's GPU intermediates (Authority Information Access)", () => {
    const pems = readFileSync(new URL('../../../fixtures/nvtrust/hopper-cert-chain.pem', import.meta.url), 'latin1').match(
      /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
    )!
    expect(pems.map((p) => ocspUrls(new Uint8Array(new X509Certificate(p).raw)))).toEqual([
      [],
      [],
      ['http://ocsp.ndis.nvidia.com'],
      ['http://ocsp.ndis.nvidia.com'],
      [],
    ])
  })
})

describe('OCSP against a real openssl responder', () => {
  it('good: answered by a delegated responder (id-kp-OCSPSigning, issued by the issuer)', async () => {
    const r = await check(good, delegatedUrl)
    expect(r.certs[0]).toMatchObject({status: 'good', source: 'responder'})
    expect(r.certs[1]).toMatchObject({status: 'not-checked', reason: 'trust anchor: pinned, not revocable by OCSP'})
    expect(r).toMatchObject({ok: true, reasons: [], warnings: []})
    expect(new Date(r.certs[0]!.nextUpdate!).getTime()).toBeGreaterThan(Date.now())
  })

  it('good: answered by the issuer itself', async () => {
    expect((await check(good, issuerSignedUrl)).certs[0]!.status).toBe('good')
  })

  it('revoked: fails in enforce mode with the reason, and in warn mode too (a signed revocation is no availability problem)', async () => {
    const r = await check(revoked, delegatedUrl)
    expect(r.certs[0]).toMatchObject({status: 'revoked', revocationReason: 'keyCompromise', revokedAt: '2026-01-01T00:00:00.000Z'})
    expect(r.ok).toBe(false)
    expect(r.reasons[0]).toMatch(/certificate 0 .* OCSP revoked: revoked at 2026-01-01T00:00:00.000Z \(keyCompromise\)/)
    const w = await check(revoked, delegatedUrl, {mode: 'warn'})
    expect(w).toMatchObject({ok: false, reasons: r.reasons, warnings: []})
    // unknown is only a warning in warn mode
    const u = await check(unknown, delegatedUrl, {mode: 'warn'})
    expect(u).toMatchObject({ok: true, reasons: []})
    expect(u.warnings[0]).toMatch(/OCSP unknown/)
  })

  it('unknown: the responder has no record of the certificate', async () => {
    const r = await check(unknown, delegatedUrl)
    expect(r.certs[0]).toMatchObject({status: 'unknown', reason: 'the responder does not know this certificate'})
    expect(r.ok).toBe(false)
  })

  it('bad signature: a responder signing with a key the issuer never certified is refused', async () => {
    const r = await check(good, foreignUrl)
    expect(r.certs[0]!.status).toBe('not-checked')
    expect(r.certs[0]!.reason).toMatch(/responder certificate .*Foreign OCSP Responder.* is not issued by the certificate's issuer/)
    expect(r.ok).toBe(false)
  })

  it('bad signature: a responder certificate from the issuer but without id-kp-OCSPSigning is refused', async () => {
    const r = await check(good, noEkuUrl)
    expect(r.certs[0]).toMatchObject({status: 'not-checked', reason: 'responder certificate lacks id-kp-OCSPSigning'})
  })

  it('bad signature: a byte of a genuine answer changed on the way is refused', async () => {
    // flip a byte of the echoed nonce (inside the signed tbsResponseData)
    const flipNonceByte = (b: Buffer, req: Buffer) => {
      const nonce = req.subarray(req.length - 32)
      const at = b.indexOf(nonce)
      if (at < 0) return b // not found: the answer passes unchanged and the test fails
      const out = Buffer.from(b)
      out[at + 5]! ^= 0x01
      return out
    }
    await withRelay(relay(delegatedUrl, {response: flipNonceByte}), async (r1) => {
      const r = await check(good, r1.url)
      expect(r.certs[0]!.status).toBe('not-checked')
      expect(r.certs[0]!.reason).toMatch(/^signature does not verify with the key of .*Test OCSP Responder/)
    })
  })

  it('stale: nextUpdate in the past (the responder clock two hours behind) is refused', async () => {
    const r = await check(good, staleUrl)
    expect(r.certs[0]!.status).toBe('not-checked')
    expect(r.certs[0]!.reason).toMatch(/^response is stale \(nextUpdate .* has passed\)$/)
  })

  it('stale: also when the verifier clock has passed nextUpdate (skew allowance only)', async () => {
    const later = new Date(Date.now() + 60 * 60_000 + 6 * 60_000)
    expect((await check(good, delegatedUrl, {now: later})).certs[0]!.reason).toMatch(/stale/)
    const withinSkew = new Date(Date.now() + 60 * 60_000 + 60_000)
    expect((await check(good, delegatedUrl, {now: withinSkew})).certs[0]!.status).toBe('good')
  })

  it('nonce mismatch: a genuine earlier answer replayed for a new request is refused', async () => {
    let first: Buffer | undefined
    await withRelay(relay(delegatedUrl, {response: (b) => (first ??= b)}), async (replay) => {
      expect((await check(good, replay.url)).certs[0]!.status).toBe('good')
      const r = await check(good, replay.url)
      expect(r.certs[0]).toMatchObject({status: 'not-checked', reason: 'response nonce differs from the request nonce (a replayed answer)'})
      expect(replay.count()).toBe(2)
    })
  })

  it('cache: a second check until nextUpdate makes no request; an edited or expired entry is asked again', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'unet-ocsp-cache-'))
    await withRelay(relay(delegatedUrl), async (counting) => {
      const first = await check(good, counting.url, {cacheDir})
      expect(first.certs[0]).toMatchObject({status: 'good', source: 'responder'})
      const second = await check(good, counting.url, {cacheDir})
      expect(second.certs[0]).toMatchObject({status: 'good', source: 'cache'})
      expect(counting.count()).toBe(1)
      const [file] = readdirSync(join(cacheDir, 'ocsp'))
      const path = join(cacheDir, 'ocsp', file!)
      expect(statSync(path).mode & 0o777).toBe(0o600)

      // an edited entry (the status byte of the signed answer flipped) does not verify: asked again
      const entry = JSON.parse(readFileSync(path, 'utf8')) as {response: string}
      const bytes = Buffer.from(entry.response, 'base64')
      bytes[bytes.length - 200]! ^= 0xff
      writeFileSync(path, JSON.stringify({...entry, response: bytes.toString('base64')}))
      expect((await check(good, counting.url, {cacheDir})).certs[0]!.source).toBe('responder')
      expect(counting.count()).toBe(2)

      // past nextUpdate the cached answer is not used
      const later = new Date(Date.now() + 2 * 60 * 60_000)
      await check(good, counting.url, {cacheDir, now: later})
      expect(counting.count()).toBe(3)
    })
  })

  it('bound nonces (the verifier): SHA-256(domain, binding, salt) with the salt kept; no cache; judged with another binding: refused in warn mode too', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'unet-ocsp-bound-'))
    await withRelay(relay(delegatedUrl), async (counting) => {
      const binding = Uint8Array.from(randomBytes(64))
      const chain = [good.cert, ca.cert]
      const asked = [
        await askRevocation(chain, {mode: 'warn', responderUrl: counting.url, binding, cacheDir}),
        await askRevocation(chain, {mode: 'warn', responderUrl: counting.url, binding, cacheDir}),
      ]
      // each asked afresh (a cached answer would echo another request's nonce), nothing cached
      expect(counting.count()).toBe(2)
      expect(existsSync(join(cacheDir, 'ocsp'))).toBe(false)
      const [a, b] = asked.map((x) => x[0]!)
      expect(a!.nonce).toBe(bytesToHex(boundNonce(binding, Buffer.from(a!.nonceSalt!, 'hex')), false))
      expect(a!.nonceSalt).not.toBe(b!.nonceSalt)
      expect(judgeRevocation(chain, [a!], {mode: 'enforce', binding}).certs[0]).toMatchObject({status: 'good'})
      const other = judgeRevocation(chain, [a!], {mode: 'warn', binding: Uint8Array.from(randomBytes(64))})
      expect(other).toMatchObject({ok: false, warnings: []})
      expect(other.certs[0]).toMatchObject({status: 'not-checked', refused: true})
      expect(other.reasons).toEqual([expect.stringMatching(/^certificate 0 .* OCSP not-checked: the answer was not asked for this registration/)])
      // an answer without the salt (unbound) is refused the same way
      const {nonceSalt: _dropped, ...unbound} = a!
      expect(judgeRevocation(chain, [unbound], {mode: 'warn', binding}).certs[0]).toMatchObject({status: 'not-checked', refused: true})
    })
  })

  it('off: asks nothing; an unreachable responder is not-checked, never good', async () => {
    await withRelay(relay(delegatedUrl), async (counting) => {
      const off = await check(good, counting.url, {mode: 'off'})
      expect(off.certs.map((c) => c.status)).toEqual(['not-checked', 'not-checked'])
      expect(off.ok).toBe(true)
      expect(counting.count()).toBe(0)
    })
    const dead = await check(good, 'http://127.0.0.1:9/', {timeoutMs: 2000})
    expect(dead.certs[0]!.status).toBe('not-checked')
    expect(dead.certs[0]!.reason).toMatch(/^no answer from the OCSP responder: /)
    expect(dead.ok).toBe(false)
  })

  it('skips certificates before firstIndex with the given reason', async () => {
    const r = await askAndJudge([good.cert, ca.cert], {mode: 'enforce', responderUrl: delegatedUrl, firstIndex: 1, skipReason: 'made on the device'})
    expect(r.certs[0]).toMatchObject({status: 'not-checked', reason: 'made on the device'})
    expect(r.ok).toBe(true)
  })
})
