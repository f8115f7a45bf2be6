import {readFileSync} from 'node:fs'
import {X509Certificate} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {ExitCode, InputError} from '../../../src/errors/index.js'
import {NVIDIA_DEVICE_IDENTITY_CA_PEM, NVIDIA_DEVICE_IDENTITY_CA_SHA256} from '../../../src/hw/nvidia/roots.js'
import {assertNvidiaReport, decodeReportFile, parseCertChain, verifyNvidiaReport} from '../../../src/hw/nvidia/verify.js'

const F = new URL('../../../fixtures/nvtrust/', import.meta.url)
const fx = (name: string) => readFileSync(new URL(name, F))
const report = (name: string) => decodeReportFile(new Uint8Array(fx(name)))
const chain = (name: string) => fx(name).toString('latin1')
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

const VALID_NONCE = hex('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb')

describe('NVIDIA CC report verifier with NVIDIA published Hopper samples', () => {
  it('the valid nvtrust Hopper sample verifies: chain, pinned root, signature, nonce, FWID', () => {
    const r = verifyNvidiaReport(report('hopper-report.hex'), chain('hopper-cert-chain.pem'), {expectedNonce: VALID_NONCE})
    expect(r.reasons).toEqual([])
    expect(r.valid).toBe(true)
    expect(r.checks).toEqual({parsed: true, chain: true, root: true, signature: true, nonce: true, architecture: true, fwid: true})
    expect(r.architecture).toBe('hopper')
    expect(r.measurementCount).toBe(64)
    expect(r.opaque.driverVersion).toBe('550.90.07')
    expect(r.opaque.vbiosVersion).toBe('96.00.9F.00.01')
    expect(r.opaque.fwid).toBe(r.leafFwid)
    expect(r.opaque.fwid).toHaveLength(96)
    expect(r.chain).toHaveLength(5)
    expect(r.chain[4]!.fingerprint256).toBe(NVIDIA_DEVICE_IDENTITY_CA_SHA256)
    expect(r.chain[0]!.subject).toContain('GH100 A01 GSP FMC LF')
  })

  it("NVIDIA's invalid-signature sample fails on the signature", () => {
    const r = verifyNvidiaReport(report('hopper-report-invalid-signature.hex'), chain('hopper-cert-chain.pem'), {expectedNonce: VALID_NONCE})
    expect(r.valid).toBe(false)
    expect(r.checks.signature).toBe(false)
    expect(r.reasons).toContain('report signature does not verify with the leaf certificate key')
    expect(() => assertNvidiaReport(report('hopper-report-invalid-signature.hex'), chain('hopper-cert-chain.pem'), {expectedNonce: VALID_NONCE})).toThrow(
      expect.objectContaining({exitCode: ExitCode.EVIDENCE_INVALID}),
    )
  })

  it('a flipped nonce byte fails: in the report (signature breaks) and in the expectation (nonce mismatch)', () => {
    const tampered = report('hopper-report.hex')
    tampered[4 + 7]! ^= 0x01
    const r1 = verifyNvidiaReport(tampered, chain('hopper-cert-chain.pem'), {expectedNonce: VALID_NONCE})
    expect(r1.valid).toBe(false)
    expect(r1.checks.signature).toBe(false)
    expect(r1.checks.nonce).toBe(false)

    const expected = VALID_NONCE.slice()
    expected[31]! ^= 0x80
    const r2 = verifyNvidiaReport(report('hopper-report.hex'), chain('hopper-cert-chain.pem'), {expectedNonce: expected})
    expect(r2.valid).toBe(false)
    expect(r2.checks).toMatchObject({signature: true, chain: true, nonce: false})
    expect(r2.reasons.join()).toMatch(/differs from the expected/)
  })

  it("a report paired with another GPU's certificate chain fails (signature and FWID)", () => {
    const r = verifyNvidiaReport(report('hopper-report.hex'), chain('sdk-hopper-cert-chain.pem'), {expectedNonce: VALID_NONCE})
    expect(r.valid).toBe(false)
    expect(r.checks.chain).toBe(true) // a genuine chain, just not this GPU's
    expect(r.checks.signature).toBe(false)
    expect(r.checks.fwid).toBe(false)
  })

  it('older firmware reports (no FWID in opaque data) verify only when allowed', () => {
    for (const [rep, ch, nonce] of [
      ['hopper-2023-report.hex', 'hopper-2023-cert-chain.pem', '4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e'],
      ['sdk-hopper-report.hex', 'sdk-hopper-cert-chain.pem', '27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66'],
    ] as const) {
      const strict = verifyNvidiaReport(report(rep), chain(ch), {expectedNonce: hex(nonce)})
      expect(strict.valid).toBe(false)
      expect(strict.checks).toMatchObject({signature: true, chain: true, root: true, nonce: true, fwid: false})
      const lenient = verifyNvidiaReport(report(rep), chain(ch), {expectedNonce: hex(nonce), allowMissingFwid: true})
      expect(lenient.reasons).toEqual([])
      expect(lenient.valid).toBe(true)
    }
  })

  it('a 4-certificate chain is completed with the pinned root; a foreign root is refused', () => {
    const certs = parseCertChain(chain('hopper-cert-chain.pem'))
    const four = verifyNvidiaReport(report('hopper-report.hex'), certs.slice(0, 4), {expectedNonce: VALID_NONCE})
    expect(four.valid).toBe(true)
    const three = verifyNvidiaReport(report('hopper-report.hex'), certs.slice(0, 3), {expectedNonce: VALID_NONCE})
    expect(three.valid).toBe(false)
    expect(three.checks.root).toBe(false)
    expect(three.checks.chain).toBe(false)
  })

  it('certificates outside their validity at `now` fail', () => {
    const r = verifyNvidiaReport(report('hopper-report.hex'), chain('hopper-cert-chain.pem'), {
      expectedNonce: VALID_NONCE,
      now: new Date('2001-01-01T00:00:00Z'),
    })
    expect(r.valid).toBe(false)
    expect(r.reasons.join()).toMatch(/is not valid at 2001-01-01/)
  })

  it('the pinned root in code is the fixture root and its fingerprint', () => {
    const fixtureRoot = new X509Certificate(fx('nvidia-device-identity-ca.pem'))
    const codeRoot = new X509Certificate(NVIDIA_DEVICE_IDENTITY_CA_PEM)
    expect(codeRoot.fingerprint256).toBe(fixtureRoot.fingerprint256)
    expect(codeRoot.fingerprint256).toBe(NVIDIA_DEVICE_IDENTITY_CA_SHA256)
    expect(codeRoot.subject).toContain('NVIDIA Device Identity CA')
  })

  it('malformed certificate data and inputs are typed InputErrors (exit 19)', () => {
    const rep = report('hopper-report.hex')
    const bad = [
      () => verifyNvidiaReport(rep, 'not a pem', {expectedNonce: VALID_NONCE}),
      () => verifyNvidiaReport(rep, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', {expectedNonce: VALID_NONCE}),
      () => verifyNvidiaReport(rep, chain('hopper-cert-chain.pem'), {expectedNonce: new Uint8Array(31)}),
      () => decodeReportFile(new Uint8Array(Buffer.from('11e0f'))),
    ]
    for (const f of bad) {
      expect(f).toThrow(InputError)
      try {
        f()
      } catch (error) {
        expect((error as InputError).exitCode).toBe(ExitCode.INPUT_INVALID)
      }
    }
  })

  it('reads reports as hex text (with 0x and whitespace) or raw binary, to the same bytes', () => {
    const bin = report('hopper-report.hex')
    const text = fx('hopper-report.hex').toString('latin1')
    expect(decodeReportFile(new Uint8Array(Buffer.from(bin)))).toEqual(bin)
    expect(decodeReportFile(new Uint8Array(Buffer.from('0x' + text.replace(/(.{64})/g, '$1\n'))))).toEqual(bin)
  })
})
