import {readFileSync} from 'node:fs'
import {X509Certificate} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {ExitCode, InputError} from '../../../src/errors/index.js'
import {checkRimsAgainstReport, reportMeasurements} from '../../../src/hw/nvidia/rim-check.js'
import {NVIDIA_ARCHITECTURES} from '../../../src/hw/nvidia/architecture.js'
import {rimIdsForReport} from '../../../src/hw/nvidia/rim-ids.js'
import {compareGoldenMeasurements} from '../../../src/hw/nvidia/rim-measurements.js'
import {NVIDIA_RIM_ROOT_PEM, NVIDIA_RIM_ROOT_SHA256} from '../../../src/hw/nvidia/rim-root.js'
import {parseRimXml, verifyRim} from '../../../src/hw/nvidia/rim.js'
import {decodeReportFile} from '../../../src/hw/nvidia/verify.js'

const RIM = new URL('../../../fixtures/nvidia/rim/', import.meta.url)
const rim = (name: string) => readFileSync(new URL(name, RIM), 'utf8')
const report = (name: string) => decodeReportFile(new Uint8Array(readFileSync(new URL(`../../../fixtures/nvtrust/${name}`, import.meta.url))))

const DRIVER = 'hopper-2023/NV_GPU_DRIVER_GH100_545.00.swidtag'
const VBIOS = 'hopper-2023/NV_GPU_VBIOS_1010_0200_882_96005E0001.swidtag'
/** Inside the validity of both hopper-2023 RIM chains (their signers expire in June 2025). */
const AT = new Date('2024-09-01T00:00:00Z')

describe('NVIDIA RIM: signature, chain to the pinned CoRIM root, validity', () => {
  it('the pinned root is the PEM in fixtures (NVIDIA verifier_RIM_root.pem) and its fingerprint', () => {
    const pinned = new X509Certificate(NVIDIA_RIM_ROOT_PEM)
    expect(pinned.fingerprint256).toBe(NVIDIA_RIM_ROOT_SHA256)
    expect(new X509Certificate(rim('nvidia-rim-root.pem')).fingerprint256).toBe(NVIDIA_RIM_ROOT_SHA256)
    expect(pinned.subject).toContain('CN=NVIDIA CoRIM signing Root CA')
  })

  it.each([DRIVER, VBIOS, 'samples/1010_0200_882_96005E0001_PROD.swidtag', 'samples/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml'])(
    '%s: valid at 2024-09-01',
    (name) => {
      const r = verifyRim(rim(name), {now: AT})
      expect(r.reasons).toEqual([])
      expect(r.valid).toBe(true)
      expect(r.chain).toHaveLength(4)
      expect(r.chain[3]!.fingerprint256).toBe(NVIDIA_RIM_ROOT_SHA256)
    },
  )

  it('the driver RIM states its identity and 21 active golden measurements (SHA-384, index and alternatives)', () => {
    const r = verifyRim(rim(DRIVER), {now: AT})
    expect(r.rim).toMatchObject({name: 'GH100', colloquialVersion: '545.00', product: 'GH100'})
    const active = r.rim!.measurements.filter((m) => m.active)
    expect(active).toHaveLength(21)
    expect(active.every((m) => m.size === 48 && m.alternatives.every((a) => /^[0-9a-f]{96}$/.test(a)))).toBe(true)
    expect(Math.max(...active.map((m) => m.alternatives.length))).toBe(2)
  })

  it('the same genuine RIM today: its signer certificates have expired (reason says so, signature still holds)', () => {
    const r = verifyRim(rim(DRIVER), {now: new Date('2026-12-02T00:00:00Z')})
    expect(r.valid).toBe(false)
    expect(r.checks).toMatchObject({signature: true, chain: true, root: true, validity: false})
    expect(r.reasons.join('\n')).toMatch(/HCC RIM L4 Signer\) expired 2025-06-26/)
  })

  it("NVIDIA's expired sample fails: signer valid one day (2025-01-01..02) and the document was edited", () => {
    const r = verifyRim(rim('samples/NV_GPU_DRIVER_GH100_570.124.03_expired.xml'), {now: new Date('2025-06-01T00:00:00Z')})
    expect(r.valid).toBe(false)
    expect(r.checks.validity).toBe(false)
    expect(r.reasons.join('\n')).toMatch(/RIM L4 Signer\) expired 2025-01-02/)
    expect(r.checks.signature).toBe(false)
  })

  it("NVIDIA's invalid-signature sample fails on the signature value", () => {
    const r = verifyRim(rim('samples/incorrect_signature_driver_rim.xml'), {now: new Date('2025-06-01T00:00:00Z')})
    expect(r.valid).toBe(false)
    expect(r.checks).toMatchObject({signature: false, chain: true, root: true})
    expect(r.reasons[0]).toMatch(/signature value does not verify/)
    expect(r.rim).toBeUndefined()
  })

  it("NVIDIA's wrong-chain sample (a debug-only root) fails: the path breaks and the root is not the pinned one", () => {
    const r = verifyRim(rim('samples/incorrect_cert_chain_driver_rim.xml'), {now: new Date('2025-06-01T00:00:00Z')})
    expect(r.valid).toBe(false)
    expect(r.checks).toMatchObject({signature: true, chain: false, root: false})
    expect(r.reasons.join('\n')).toMatch(/not the pinned NVIDIA CoRIM signing Root CA/)
    // naming its debug root as trusted does not repair the broken path
    const debugRoot = r.chain[r.chain.length - 1]!.fingerprint256
    const again = verifyRim(rim('samples/incorrect_cert_chain_driver_rim.xml'), {now: new Date('2025-06-01T00:00:00Z'), extraRootFingerprints: [debugRoot]})
    expect(again.checks).toMatchObject({root: true, chain: false})
    expect(again.valid).toBe(false)
  })

  it('extra roots add to the pinned NVIDIA root, never replace it (NVIDIA incorrect_rim_root.crt as an extra root)', () => {
    const wrong = new X509Certificate(rim('samples/incorrect_rim_root.crt'))
    const r = verifyRim(rim(DRIVER), {now: AT, extraRootFingerprints: [wrong.fingerprint256]})
    expect(r.valid).toBe(true) // extra roots add, never replace
    expect(wrong.fingerprint256).not.toBe(NVIDIA_RIM_ROOT_SHA256)
  })

  it('a RIM whose embedded chain stops below the root is completed with the pinned root', () => {
    const xml = rim(DRIVER)
    const certs = [...xml.matchAll(/<ds:X509Certificate>[\s\S]*?<\/ds:X509Certificate>/g)]
    expect(certs).toHaveLength(4)
    const withoutRoot = xml.replace(certs[3]![0], '')
    const r = verifyRim(withoutRoot, {now: AT})
    expect(r.reasons).toEqual([]) // KeyInfo is outside what the signature covers: removing the root changes nothing signed
    expect(r.chain).toHaveLength(4)
  })

  describe('tampering: every flipped byte of the signed content fails', () => {
    const genuine = rim(DRIVER)
    const m = /ns2:Hash0="([0-9a-f]{96})" name="Measurement_7"/.exec(genuine) ?? /index="7"[^>]*Hash0="([0-9a-f]{96})"/.exec(genuine)
    const golden7 = m![1]!
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('0') ? '1' : '0')
    it.each([
      ['a golden value', genuine.replace(golden7, flip(golden7))],
      ['the colloquial version', genuine.replace('colloquialVersion="545.00"', 'colloquialVersion="545.01"')],
      ['an inactive entry made active', genuine.replace('index="0" active="False"', 'index="0" active="True"')],
      ['the SoftwareIdentity name', genuine.replace('name="GH100" patch', 'name="GH101" patch')],
    ])('%s', (_what, tampered) => {
      expect(tampered).not.toBe(genuine)
      const r = verifyRim(tampered, {now: AT})
      expect(r.valid).toBe(false)
      expect(r.checks.signature).toBe(false)
      expect(r.reasons[0]).toMatch(/digest of the signed document does not match/)
      expect(r.rim).toBeUndefined()
    })

    it('a flipped byte of the signature value', () => {
      const sig = /<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/.exec(genuine)![1]!
      const bytes = Buffer.from(sig, 'base64')
      bytes[10]! ^= 0x01
      const r = verifyRim(genuine.replace(sig, bytes.toString('base64')), {now: AT})
      expect(r.checks.signature).toBe(false)
      expect(r.reasons[0]).toMatch(/signature value does not verify/)
    })

    it('another algorithm named in SignedInfo is refused, not tried', () => {
      const r = verifyRim(genuine.replace('xmldsig-more#ecdsa-sha384', 'xmldsig-more#rsa-sha256'), {now: AT})
      expect(r.reasons[0]).toMatch(/signature method .*rsa-sha256 is not ECDSA-SHA384/)
      const c14n = verifyRim(genuine.replaceAll('http://www.w3.org/2006/12/xml-c14n11', 'http://www.w3.org/2001/10/xml-exc-c14n#'), {now: AT})
      expect(c14n.reasons[0]).toMatch(/not NVIDIA's C14N 1.1/)
    })

    it('an xml:* attribute (where C14N 1.1 and 1.0 differ) is refused', () => {
      const r = verifyRim(genuine.replace('<ns0:Payload ', '<ns0:Payload xml:lang="en" '), {now: AT})
      expect(r.valid).toBe(false)
      expect(r.reasons[0]).toMatch(/xml:\* attributes/)
    })
  })

  describe('malformed input is an InputError (exit 19), not a verdict', () => {
    const genuine = rim(DRIVER)
    it.each([
      ['not XML', 'hello'],
      ['truncated', genuine.slice(0, 5000)],
      ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY e "boom">]>${genuine}`],
      ['two signatures', genuine.replace('</SoftwareIdentity>', `${/<ds:Signature[\s\S]*<\/ds:Signature>/.exec(genuine)![0]}</SoftwareIdentity>`)],
      ['no certificate', genuine.replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '')],
      ['no signature', genuine.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')],
    ])('%s', (_what, xml) => {
      let error: unknown
      try {
        verifyRim(xml, {now: AT})
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InputError)
      expect((error as InputError).exitCode).toBe(ExitCode.INPUT_INVALID)
    })

    it('a measurement with a bad hash length', () => {
      expect(() => parseRimXml(genuine.replace(/(index="7"[^>]*Hash0=")([0-9a-f]{96})/, '$1abcd'))).toThrow(/not 48 bytes of hex/)
    })
  })
})

describe('golden measurements against NVIDIA reports', () => {
  const r2023 = reportMeasurements(report('hopper-2023-report.hex'))
  const sdk = reportMeasurements(report('sdk-hopper-report.hex'))
  /** The RIMs checked against a report's measurements at AT. */
  const check = (measured: typeof sdk, ...rims: Parameters<typeof checkRimsAgainstReport>[1]) => checkRimsAgainstReport(measured, rims, {now: AT})
  const driver = {label: 'driver', xml: rim(DRIVER)}
  const vbiosMismatch = rim('samples/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml')

  it('hopper-2023 report + its driver and VBIOS RIMs: every active measurement matches (index 35 skipped: NVDEC0 disabled)', () => {
    const c = check(r2023, driver, {label: 'vbios', xml: rim(VBIOS)})
    expect(c.reasons).toEqual([])
    expect(c.measurements).toBe('match')
    expect(c.rims.map((r) => r.role)).toEqual(['driver', 'vbios'])
    expect(c.comparison!.indices.filter((i) => i.result === 'match')).toHaveLength(32)
    expect(c.comparison!.indices.filter((i) => i.result === 'skipped').map((i) => i.index)).toEqual([35])
    expect(c.notes).toEqual([])
  })

  it("NVIDIA's VBIOS measurement-mismatch sample (validly signed) against the same report: mismatch at 1, 2, 3, 9", () => {
    const c = check(r2023, driver, {label: 'vbios', xml: vbiosMismatch})
    expect(c.measurements).toBe('mismatch')
    expect(c.valid).toBe(false)
    expect(c.comparison!.mismatched).toEqual([1, 2, 3, 9])
    expect(c.reasons[0]).toMatch(/measurement 1 \(vbios RIM\) [0-9a-f]{96} matches none of its 1 golden value/)
  })

  it("NVIDIA's PROD VBIOS RIM matches the attestation-sdk report; the SDK's mismatch sample differs at index 9", () => {
    const ok = check(sdk, {label: 'vbios', xml: rim('samples/1010_0200_882_96005E0001_PROD.swidtag')})
    expect(ok.measurements).toBe('match')
    expect(ok.notes).toEqual(['no driver RIM: its golden measurements are not checked'])
    const bad = check(sdk, {label: 'vbios', xml: vbiosMismatch})
    expect(bad.comparison!.mismatched).toEqual([9])
  })

  it("NVIDIA's driver measurement-mismatch sample (edited to the report's version 535.86.09) fails its signature: not compared", () => {
    const c = check(sdk, {label: 'driver', xml: rim('samples/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml')})
    expect(c.rims[0]!.role).toBe('driver')
    expect(c.measurements).toBe('not-checked')
    expect(c.valid).toBe(false)
    expect(c.reasons.join('\n')).toMatch(/signature invalid/)
  })

  it("a RIM for another version than the report's is refused (version check)", () => {
    const c = check(sdk, {...driver, role: 'driver'})
    expect(c.valid).toBe(false)
    expect(c.reasons.join('\n')).toMatch(/RIM version 545.00 differs from the report's 535.86.09/)
    const unknown = check(sdk, {label: 'x', xml: rim(DRIVER)})
    expect(unknown.reasons.join('\n')).toMatch(/neither the report's driver version 535.86.09 nor its VBIOS version 96.00.5E.00.01/)
  })

  it('two RIMs for one role are refused', () => {
    const c = check(r2023, {label: 'a', xml: rim(DRIVER)}, {label: 'b', xml: rim(DRIVER)})
    expect(c.valid).toBe(false)
    expect(c.reasons.join('\n')).toMatch(/a second driver RIM/)
  })

  it('a measurement index active in both the driver and the VBIOS RIM is refused, whatever the report says', () => {
    const driver = verifyRim(rim(DRIVER), {now: AT}).rim!.measurements
    const vbios = verifyRim(rim(VBIOS), {now: AT}).rim!.measurements
    const vbiosActive = vbios.find((m) => m.active)!
    expect(driver.find((m) => m.index === vbiosActive.index)!.active).toBe(false)
    // the driver RIM claims the VBIOS index too, with the very value the report has: still refused
    const overlapping = driver.map((m) => (m.index === vbiosActive.index ? {...vbiosActive} : m))
    const c = compareGoldenMeasurements(
      [
        {role: 'driver', measurements: overlapping},
        {role: 'vbios', measurements: vbios},
      ],
      r2023.blocks,
      {nvdec0Disabled: true},
    )
    expect(c.status).toBe('mismatch')
    expect(c.conflicts).toEqual([vbiosActive.index])
    expect(c.reasons).toEqual([`measurement index ${vbiosActive.index} is defined by both the driver and the vbios RIM: refused`])
    // without the overlap the same lists match
    expect(
      compareGoldenMeasurements(
        [
          {role: 'driver', measurements: driver},
          {role: 'vbios', measurements: vbios},
        ],
        r2023.blocks,
        {nvdec0Disabled: true},
      ).status,
    ).toBe('match')
  })

  it('an index defined twice inside one RIM is refused', () => {
    const vbios = verifyRim(rim(VBIOS), {now: AT}).rim!.measurements
    const c = compareGoldenMeasurements([{role: 'vbios', measurements: [...vbios, vbios.find((m) => m.active)!]}], r2023.blocks)
    expect(c.status).toBe('mismatch')
    expect(c.reasons[0]).toMatch(/defined twice in the vbios RIM/)
  })

  it('a golden measurement whose block the report lacks is a mismatch (absent)', () => {
    const vbios = verifyRim(rim(VBIOS), {now: AT}).rim!.measurements
    const index = vbios.find((m) => m.active)!.index
    const c = compareGoldenMeasurements(
      [{role: 'vbios', measurements: vbios}],
      r2023.blocks.filter((b) => b.index !== index + 1),
    )
    expect(c.mismatched).toContain(index)
    expect(c.reasons.join('\n')).toMatch(new RegExp(`measurement ${index} \\(vbios RIM\\) is absent`))
  })

  it('RIM ids as NVIDIA names them, by the architecture the chain names', () => {
    const [hopper, blackwell] = NVIDIA_ARCHITECTURES
    expect(rimIdsForReport(r2023.opaque, hopper!)).toEqual({driver: 'NV_GPU_DRIVER_GH100_545.00', vbios: 'NV_GPU_VBIOS_1010_0200_882_96005E0001'})
    expect(rimIdsForReport(r2023.opaque, blackwell!).driver).toBe('NV_GPU_CC_DRIVER_GB100_545.00')
    const bw = reportMeasurements(decodeReportFile(new Uint8Array(readFileSync(new URL('../../../fixtures/nvidia/blackwell-report.hex', import.meta.url)))))
    expect(rimIdsForReport(bw.opaque, blackwell!)).toEqual({driver: 'NV_GPU_CC_DRIVER_GB100_575.32', vbios: 'NV_GPU_VBIOS_G525_0220_886_970088000F'})
  })
})
