import {copyFileSync, mkdtempSync, writeFileSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {runCli} from '../../helpers/cli.js'
import {nvidiaReportArgs, nvidiaRimArgs} from '../../helpers/nvidia-cli.js'

const FX = (p: string) => fileURLToPath(new URL(`../../../fixtures/${p}`, import.meta.url))
const RIM_DIR = FX('nvidia/rim/hopper-2023')
const DRIVER = join(RIM_DIR, 'NV_GPU_DRIVER_GH100_545.00.swidtag')
const VBIOS = join(RIM_DIR, 'NV_GPU_VBIOS_1010_0200_882_96005E0001.swidtag')
const SAMPLE = (f: string) => FX(`nvidia/rim/samples/${f}`)
/** The nvtrust Hopper report these RIMs describe (a 2023 driver: no FWID, hence --allow-missing-fwid). */
const REPORT_2023 = {
  report: FX('nvtrust/hopper-2023-report.hex'),
  chain: FX('nvtrust/hopper-2023-cert-chain.pem'),
  nonce: '4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e',
}
/** Inside the validity of the hopper-2023 RIM signers (expired since June 2025). */
const AT = ['--at', '2024-09-01T00:00:00Z']

interface Failure {
  error: {code: string; message: string; details: {reasons: string[]; measurements?: string; mismatched?: number[]}}
}

describe('unet verify nvidia-rim (subprocess)', () => {
  it('driver + VBIOS RIMs with their report: exit 0, measurements match', async () => {
    const r = await runCli(nvidiaRimArgs({rims: [DRIVER, VBIOS], report: REPORT_2023}, '--allow-missing-fwid', ...AT, '--json'))
    expect(r.code, r.stderr).toBe(0)
    const out = r.json<{valid: boolean; measurements: string; rims: {role: string}[]; comparison: {indices: {result: string}[]}}>()
    expect(out).toMatchObject({valid: true, measurements: 'match'})
    expect(out.rims.map((x) => x.role)).toEqual(['driver', 'vbios'])
    expect(out.comparison.indices.filter((i) => i.result === 'match')).toHaveLength(32)
  })

  it('the RIMs alone verify (signature, chain, validity); today they have expired: exit 10 saying so', async () => {
    const ok = await runCli(nvidiaRimArgs({rims: [DRIVER, VBIOS]}, ...AT))
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/valid NVIDIA RIM NV_GPU_DRIVER_GH100_545.00.swidtag {2}GH100 545.00 {2}21 active measurements/)
    const now = await runCli(nvidiaRimArgs({rims: [DRIVER]}, '--json'))
    expect(now.code).toBe(10)
    expect(now.json<Failure>().error.details.reasons.join('\n')).toMatch(/HCC RIM L4 Signer\) expired 2025-06-26/)
  })

  it.each([
    [
      'mismatch (validly signed VBIOS RIM)',
      SAMPLE('NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml'),
      /measurement 1 \(vbios RIM\) [0-9a-f]{96} matches none/,
    ],
    ['invalid signature', SAMPLE('incorrect_signature_driver_rim.xml'), /signature value does not verify/],
    ['expired', SAMPLE('NV_GPU_DRIVER_GH100_570.124.03_expired.xml'), /RIM L4 Signer\) expired 2025-01-02/],
    ['wrong root', SAMPLE('incorrect_cert_chain_driver_rim.xml'), /not the pinned NVIDIA CoRIM signing Root CA/],
  ])("NVIDIA's %s sample: exit 10 with the reason", async (_what, sample, reason) => {
    // a VBIOS RIM is judged against the report, with the driver RIM beside it
    const withReport = sample.includes('VBIOS')
    const args = withReport ? nvidiaRimArgs({rims: [DRIVER, sample], report: REPORT_2023}, '--allow-missing-fwid') : nvidiaRimArgs({rims: [sample]})
    const at = sample.includes('expired') || sample.includes('incorrect') ? ['--at', '2025-06-01T00:00:00Z'] : AT
    const r = await runCli([...args, ...at, '--json'])
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<Failure>()
    expect(error.code).toBe('EVIDENCE_INVALID')
    expect(error.details.reasons.join('\n')).toMatch(reason)
    if (withReport) expect(error.details).toMatchObject({measurements: 'mismatch', mismatched: [1, 2, 3, 9]})
  })

  it('a flipped hex digit in a golden value: exit 10, digest mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unet-rim-'))
    const xml = readFileSync(DRIVER, 'utf8')
    const at = xml.indexOf('Hash0="', xml.indexOf('index="7"')) + 'Hash0="'.length
    const tampered = join(dir, 'tampered.swidtag')
    writeFileSync(tampered, xml.slice(0, at) + (xml[at] === 'a' ? 'b' : 'a') + xml.slice(at + 1))
    const r = await runCli(nvidiaRimArgs({rims: [tampered]}, ...AT, '--json'))
    expect(r.code).toBe(10)
    expect(r.json<Failure>().error.details.reasons[0]).toMatch(/digest of the signed document does not match/)
  })

  it('malformed: not XML, a missing file, a bad --at, --report without --nonce: exit 19 (2 for flag usage) with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unet-rim-'))
    writeFileSync(join(dir, 'junk.xml'), 'hello')
    for (const args of [
      nvidiaRimArgs({rims: [join(dir, 'junk.xml')]}),
      nvidiaRimArgs({rims: [join(dir, 'absent.xml')]}),
      nvidiaRimArgs({rims: [DRIVER]}, '--at', 'yesterday'),
    ]) {
      const r = await runCli(args)
      expect(r.code, args.join(' ') + r.stderr).toBe(19)
      expect(r.stderr).toMatch(/^Error: /)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    const usage = await runCli(nvidiaRimArgs({rims: [DRIVER]}, '--report', REPORT_2023.report))
    expect(usage.code).toBe(2)
  })
})

describe('unet verify nvidia-report --rim-dir (subprocess)', () => {
  const report2023 = nvidiaReportArgs(REPORT_2023, '--allow-missing-fwid', '--json')

  it('the RIMs named by the report in the directory: measurements match', async () => {
    const r = await runCli([...report2023, '--rim-dir', RIM_DIR, ...AT])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({
      valid: true,
      measurements: 'match',
      rim: {ids: {driver: 'NV_GPU_DRIVER_GH100_545.00', vbios: 'NV_GPU_VBIOS_1010_0200_882_96005E0001'}},
      // the CC policy takes the RIM result: DevTools off is proven only by this match
      policy: {devtools: {status: 'pass'}},
    })
  })

  it('without --rim-dir, or with a directory lacking the RIMs: measurements not-checked (exit 0, a note says why)', async () => {
    const plain = await runCli(report2023)
    expect(plain.json()).toMatchObject({valid: true, measurements: 'not-checked'})
    const empty = await runCli([...report2023, '--rim-dir', mkdtempSync(join(tmpdir(), 'unet-rim-')), ...AT])
    expect(empty.code).toBe(0)
    expect(empty.json()).toMatchObject({
      measurements: 'not-checked',
      rim: {notes: [expect.stringMatching(/no driver RIM NV_GPU_DRIVER_GH100_545.00 in/), expect.any(String)]},
    })
  })

  it("a directory whose VBIOS RIM is NVIDIA's mismatch sample: exit 10, measurements mismatch with the indices", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unet-rim-'))
    copyFileSync(DRIVER, join(dir, 'NV_GPU_DRIVER_GH100_545.00.xml'))
    copyFileSync(SAMPLE('NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml'), join(dir, 'NV_GPU_VBIOS_1010_0200_882_96005E0001'))
    const r = await runCli([...report2023, '--rim-dir', dir, ...AT])
    expect(r.code).toBe(10)
    expect(r.json<Failure>().error.details).toMatchObject({measurements: 'mismatch', mismatched: [1, 2, 3, 9]})
  })

  it('a directory RIM signed for another version (renamed to the id the report needs): exit 10 on the version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unet-rim-'))
    copyFileSync(SAMPLE('1010_0200_882_96005E0001_PROD.swidtag'), join(dir, 'NV_GPU_DRIVER_GH100_545.00.swidtag'))
    copyFileSync(VBIOS, join(dir, 'NV_GPU_VBIOS_1010_0200_882_96005E0001.swidtag'))
    const r = await runCli([...report2023, '--rim-dir', dir, ...AT])
    expect(r.code).toBe(10)
    expect(r.json<Failure>().error.details.reasons.join('\n')).toMatch(/RIM version 96.00.5E.00.01 differs from the report's 545.00/)
  })
})
