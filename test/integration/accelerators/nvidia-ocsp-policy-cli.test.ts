import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {CcPolicyResult} from '../../../src/hw/nvidia/cc-policy.js'
import {NOT_ASKED_OFFLINE} from '../../../src/hw/nvidia/full-check.js'
import type {RevocationResult} from '../../../src/hw/nvidia/ocsp.js'
import {makeHome, runCli} from '../../helpers/cli.js'
import {nvidiaEvidenceArgs, nvidiaReportArgs} from '../../helpers/nvidia-cli.js'
import {relay, TestPki, withRelay} from '../../helpers/ocsp-responder.js'
import {fixture, tempDir} from './stubs.js'

/**
 * `unet verify nvidia-report` with OCSP and the CC policy, as a subprocess. NVIDIA's responder is not
 * reachable from CI, so the online path runs against a real `openssl ocsp` responder of a test CA:
 * it cannot speak for NVIDIA's certificates, and the command must say so per certificate, never "good".
 */
const NVT = (f: string) => fixture(`nvtrust/${f}`)
const NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb'
const MULTI_GPU_NONCE = 'e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576'
const HOPPER = {report: NVT('hopper-report.hex'), chain: NVT('hopper-cert-chain.pem'), nonce: NONCE}
const SAMPLE = nvidiaReportArgs(HOPPER, '--json')

interface Verified {
  valid: boolean
  reasons: string[]
  warnings: string[]
  ocsp: RevocationResult
  policy: CcPolicyResult
}
interface Failed {
  error: {code: string; details: {reasons: string[]; ocsp: RevocationResult; policy: CcPolicyResult}}
}

let pki: TestPki
let foreignResponder: string
beforeAll(async () => {
  pki = new TestPki()
  const ca = pki.root('Test CA that is not NVIDIA')
  const signer = pki.issue('Test OCSP Responder', ca, {eku: 'OCSPSigning'})
  foreignResponder = await pki.responder({index: pki.index('empty', {}), ca, signer, nextUpdateMinutes: 60})
})
afterAll(() => pki?.stop())

describe('unet verify nvidia-report: OCSP status per certificate and the CC policy in --json', () => {
  it('devnet default: OCSP off (not-checked per certificate, with the reason), policy reported but not required', async () => {
    const r = await runCli(SAMPLE)
    expect(r.code, r.stderr).toBe(0)
    const v = r.json<Verified>()
    expect(v.valid).toBe(true)
    expect(v.ocsp.mode).toBe('off')
    expect(v.ocsp.certs.map((c) => [c.index, c.status, c.reason])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 'not-checked', 'OCSP is off (mode off)']))
    expect(v.policy).toMatchObject({requireCc: false, protectedPcieStatus: 0x55, ccMode: {status: 'pass'}, devtools: {status: 'not-checked'}})
  })

  it('--ocsp enforce against a responder that cannot speak for NVIDIA: exit 10, each asked certificate not-checked with the reason', async () => {
    const r = await runCli([...SAMPLE, '--ocsp', 'enforce', '--ocsp-url', foreignResponder])
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<Failed>()
    const certs = error.details.ocsp.certs
    expect(certs[0]!.reason).toMatch(/GPU leaf is made on the device/)
    expect(certs[4]!.reason).toBe('trust anchor: pinned, not revocable by OCSP')
    for (const c of certs.slice(1, 4)) {
      expect(c.status).toBe('not-checked')
      expect(c.reason).toMatch(/responder certificate .*Test OCSP Responder.* is not issued by the certificate's issuer/)
    }
    expect(error.details.reasons.filter((x) => x.includes('OCSP not-checked'))).toHaveLength(3)
  })

  it('attack: the genuine NVIDIA chain with a report over another nonce: exit 10 offline, no OCSP request made', async () => {
    await withRelay(relay(foreignResponder), async (counting) => {
      const other = nvidiaReportArgs({...HOPPER, nonce: MULTI_GPU_NONCE}, '--json')
      const r = await runCli([...other, '--ocsp', 'enforce', '--ocsp-url', counting.url])
      expect(r.code, r.stderr).toBe(10)
      const {error} = r.json<Failed>()
      expect(error.details.reasons).toEqual([expect.stringMatching(/^report nonce 931d8dd0.* differs from the expected e97b23a1/)])
      expect(error.details.ocsp.certs.slice(1, 4).map((c) => c.reason)).toEqual(Array(3).fill(NOT_ASKED_OFFLINE))
      expect(counting.count()).toBe(0)
    })
  })

  it('--ocsp warn: the same answers are warnings, exit 0', async () => {
    const r = await runCli([...SAMPLE, '--ocsp', 'warn', '--ocsp-url', foreignResponder])
    expect(r.code, r.stderr).toBe(0)
    const v = r.json<Verified>()
    expect(v.valid).toBe(true)
    expect(v.warnings).toHaveLength(3)
    expect(v.ocsp.certs.map((c) => c.status)).toEqual(['not-checked', 'not-checked', 'not-checked', 'not-checked', 'not-checked'])
  })

  it("mainnet's profile enforces OCSP (responder from the config file) and requires CC mode + DevTools off", async () => {
    const home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({network: 'mainnet', networks: {mainnet: {nvidia: {ocspUrl: foreignResponder}}}}))
    const r = await runCli(SAMPLE, {home})
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<Failed>()
    expect(error.details.ocsp.mode).toBe('enforce')
    expect(error.details.policy.requireCc).toBe(true)
    expect(error.details.reasons).toContain(
      'policy: DevTools not proven: DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off',
    )
    // --no-require-cc and --ocsp off override the profile
    const relaxed = await runCli([...SAMPLE, '--no-require-cc', '--ocsp', 'off'], {home})
    expect(relaxed.code, relaxed.stderr).toBe(0)
  })

  it('a copy of the sample with protected PCIe switched on fails the CC policy (and its signature)', async () => {
    const hex = readFileSync(NVT('hopper-report.hex'), 'latin1').trim()
    // opaque field 21 (PROTECTED_PCIE_STATUS): type 15 00, size 01 00, value 55
    const at = hex.indexOf('1500010055')
    expect(at).toBeGreaterThan(0)
    const modified = join(tempDir(), 'ppcie.hex')
    writeFileSync(modified, hex.slice(0, at) + '15000100aa' + hex.slice(at + 10))
    const args = nvidiaReportArgs({...HOPPER, report: modified}, '--json')
    const r = await runCli([...args, '--require-cc'])
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<Failed>()
    expect(error.details.reasons).toContain('policy: CC mode fails: PROTECTED_PCIE_STATUS 0xAA (enabled): protected-PCIe mode, CC mode off')
    expect(error.details.reasons).toContain('report signature does not verify with the leaf certificate key')
  })

  it('--rim-dir: each RIM signing chain gets OCSP too, reported per certificate in the RIM results', async () => {
    const nonce = '4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e'
    const hopper2023 = {report: NVT('hopper-2023-report.hex'), chain: NVT('hopper-2023-cert-chain.pem'), nonce}
    // its RIMs, at a time within their signers' validity
    const rims = ['--rim-dir', fixture('nvidia/rim/hopper-2023'), '--at', '2024-09-01T00:00:00Z']
    const rimArgs = nvidiaReportArgs(hopper2023, '--allow-missing-fwid', ...rims, '--ocsp-url', foreignResponder, '--json')
    const enforced = await runCli([...rimArgs, '--ocsp', 'enforce'])
    expect(enforced.code, enforced.stderr).toBe(10)
    const {error} = enforced.json<{error: {details: {reasons: string[]; measurements: string; rims: Array<{label: string; ocsp: RevocationResult}>}}}>()
    expect(error.details.rims.map((r) => r.label)).toEqual(['NV_GPU_DRIVER_GH100_545.00', 'NV_GPU_VBIOS_1010_0200_882_96005E0001'])
    for (const rim of error.details.rims) {
      // signer, its CA and NVIDIA's Reference Value CA are asked; the pinned CoRIM root is the anchor
      expect(rim.ocsp.certs.map((c) => c.status)).toEqual(['not-checked', 'not-checked', 'not-checked', 'not-checked'])
      expect(rim.ocsp.certs[0]!.reason).toMatch(/responder certificate .*Test OCSP Responder.* is not issued by the certificate's issuer/)
      expect(rim.ocsp.certs[3]!.reason).toBe('trust anchor: pinned, not revocable by OCSP')
    }
    // a RIM whose chain cannot be checked is not used under enforce
    expect(error.details.measurements).toBe('not-checked')
    expect(error.details.reasons).toContainEqual(
      expect.stringMatching(/^NV_GPU_DRIVER_GH100_545\.00 \(driver RIM\): certificate 0 .* OCSP not-checked: responder certificate/),
    )

    const warned = await runCli([...rimArgs, '--ocsp', 'warn'])
    expect(warned.code, warned.stderr).toBe(0)
    const v = warned.json<Verified & {measurements: string; rim: {rims: Array<{ocsp: RevocationResult}>}}>()
    expect(v.measurements).toBe('match')
    expect(v.rim.rims.map((r) => r.ocsp.mode)).toEqual(['warn', 'warn'])
    // three of the GPU chain, three of each RIM chain
    expect(v.warnings).toHaveLength(3 + 3 + 3)
  })

  it('verify nvidia-evidence: the same check per GPU (OCSP enforced from the flag, reasons per entry)', async () => {
    const args = nvidiaEvidenceArgs({evidence: fixture('nvidia/multi-gpu-hopper.json'), nonce: MULTI_GPU_NONCE}, '--json')
    const r = await runCli([...args, '--ocsp', 'enforce', '--ocsp-url', foreignResponder])
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<{error: {details: {reasons: string[]; entries: Array<{ocsp: RevocationResult}>}}}>()
    expect(error.details.entries).toHaveLength(4)
    for (const e of error.details.entries)
      expect(e.ocsp.certs.map((c) => c.status)).toEqual(['not-checked', 'not-checked', 'not-checked', 'not-checked', 'not-checked'])
    for (const i of [0, 1, 2, 3]) expect(error.details.reasons.filter((x) => x.startsWith(`entry ${i}: certificate `))).toHaveLength(3)
    // and the CC policy where required: no RIMs, so DevTools is not proven for any GPU
    const cc = await runCli([...args, '--require-cc'])
    expect(cc.code, cc.stderr).toBe(10)
    expect(cc.json<{error: {details: {reasons: string[]}}}>().error.details.reasons.filter((x) => /DevTools not proven/.test(x))).toHaveLength(4)
  })

  it('a bad --ocsp value is a usage error', async () => {
    const r = await runCli([...SAMPLE, '--ocsp', 'sometimes'])
    expect(r.code).toBe(2)
  })
})
