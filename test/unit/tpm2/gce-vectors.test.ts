import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {InputError} from '../../../src/errors/index.js'
import {loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {parseQuoteAttest} from '../../../src/hw/tpm2/structures.js'
import {QuoteVerifier, verifyCertPath, verifyEkChain} from '../../../src/hw/tpm2/verify.js'
import {tpm2b} from '../../../src/hw/tpm2/wire.js'
import {parseAttestation} from './gce-pb.js'

/** Outside vectors: real GCE vTPM quotes captured by google/go-tpm-tools (fixtures/go-tpm-tools/PROVENANCE.md). */
const dir = fileURLToPath(new URL('../../../fixtures/go-tpm-tools/', import.meta.url))
const nonce9009 = parseAttestation(readFileSync(dir + 'gce-cos-85-nonce9009.pb'))
const noNonce = parseAttestation(readFileSync(dir + 'gce-cos-85-no-nonce.pb'))
const NONCE = Uint8Array.of(0x90, 0x09)

function check(v: QuoteVerifier, q: (typeof nonce9009.quotes)[number], attest = q.attest, signature = q.signature, expected = NONCE) {
  try {
    return v.verify({attest, signature, expectedExtraData: expected, pcrs: q.pcrs}).valid
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return false
  }
}

describe('go-tpm-tools GCE quotes (RSASSA-SHA256, nonce 0x9009)', () => {
  const v = new QuoteVerifier({tpm2bPublic: tpm2b(nonce9009.akPub)})

  it('the AK is a restricted RSA signing key and all three quotes (sha1, sha256, sha384 banks) verify', () => {
    expect(v.akReasons).toEqual([])
    expect(nonce9009.quotes.map((q) => q.hash)).toEqual([4, 11, 12])
    for (const q of nonce9009.quotes) {
      const r = v.verify({attest: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrs: q.pcrs})
      expect(r.reasons).toEqual([])
      expect(r.attest.clockInfo.resetCount).toBe(10)
    }
  })

  it('fails with another nonce, and the no-nonce capture fails for 0x9009 but verifies for the empty nonce', () => {
    const q = nonce9009.quotes[1]!
    expect(v.verify({attest: q.attest, signature: q.signature, expectedExtraData: Uint8Array.of(0x90, 0x08), pcrs: q.pcrs}).reasons.join()).toMatch(/extraData/)
    const v2 = new QuoteVerifier({tpm2bPublic: tpm2b(noNonce.akPub)})
    for (const q2 of noNonce.quotes) {
      expect(check(v2, q2)).toBe(false)
      expect(check(v2, q2, q2.attest, q2.signature, new Uint8Array(0))).toBe(true)
    }
  })

  it('every single flipped byte of TPMS_ATTEST or TPMT_SIGNATURE fails (typed error or invalid)', () => {
    for (const q of nonce9009.quotes) {
      for (let i = 0; i < q.attest.length; i++) {
        const a = Uint8Array.from(q.attest)
        a[i]! ^= 0x01
        expect(check(v, q, a), `attest byte ${i}`).toBe(false)
      }
      for (let i = 0; i < q.signature.length; i++) {
        const s = Uint8Array.from(q.signature)
        s[i]! ^= 0x80
        expect(check(v, q, q.attest, s), `signature byte ${i}`).toBe(false)
      }
    }
  })

  it('a flipped bit in any PCR value fails the pcrDigest check', () => {
    const q = nonce9009.quotes[1]!
    for (const [pcr, value] of q.pcrs) {
      const pcrs = new Map(q.pcrs)
      const changed = Uint8Array.from(value)
      changed[0]! ^= 1
      pcrs.set(pcr, changed)
      expect(v.verify({attest: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrs}).reasons).toContain('pcrDigest does not match the PCR values')
    }
  })

  it('a previous quote with a higher resetCount is refused (monotonic counters)', () => {
    const q = nonce9009.quotes[1]!
    const clock = parseQuoteAttest(q.attest).clockInfo
    expect(
      v.verify({attest: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrs: q.pcrs, previous: {...clock, resetCount: 11}}).reasons.join(),
    ).toMatch(/resetCount went back/)
    expect(
      v
        .verify({attest: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrs: q.pcrs, previous: {...clock, clock: clock.clock + 1n}})
        .reasons.join(),
    ).toMatch(/clock went back/)
    expect(
      v.verify({attest: q.attest, signature: q.signature, expectedExtraData: NONCE, pcrs: q.pcrs, previous: {...clock, resetCount: 9, clock: clock.clock + 5n}})
        .valid,
    ).toBe(true)
  })

  it('vendor roots mechanism: the AK certificate chains to the Google vTPM EK root via its intermediates', () => {
    expect(nonce9009.akCert).toBeDefined()
    const trusted = loadTrustRoots([dir])
    const at = new Date('2021-12-22T00:00:00Z')
    expect(verifyCertPath({chain: [nonce9009.akCert!], trusted, now: at})).toEqual([])
    // it certifies the AK of the capture, but it is no EK certificate (ek-policy.test.ts)
    expect(verifyEkChain({chain: [nonce9009.akCert!], trusted, ekPublic: tpm2b(nonce9009.akPub), now: at, policy: {allowCloudVtpm: true}})).toEqual([
      "the EK certificate's key usage (digitalSignature) lacks keyEncipherment: it is not an EK certificate",
    ])
    // without the vendor roots it does not chain
    const swtpmOnly = trusted.filter((_, i) => i > 100)
    expect(verifyCertPath({chain: [nonce9009.akCert!], trusted: swtpmOnly, now: at}).join()).toMatch(/no trusted TPM EK roots/)
    // a flipped byte in the certificate's signature breaks the chain
    const broken = Uint8Array.from(nonce9009.akCert!)
    broken[broken.length - 5]! ^= 1
    expect(verifyCertPath({chain: [broken], trusted, now: at}).join()).toMatch(/does not chain|not an X.509/)
  })
})
