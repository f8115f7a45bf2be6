/** `unet verify nvidia-report` on NVIDIA's Blackwell sample and `unet verify nvidia-evidence` on its multi-device sets (subprocess). */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../../helpers/cli.js'
import {nvidiaEvidenceArgs, nvidiaReportArgs} from '../../helpers/nvidia-cli.js'
import {fixture, tempDir} from './stubs.js'

const NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb'
const MULTI_GPU_NONCE = 'e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576'
const NV = (f: string) => fixture(`nvidia/${f}`)

describe('unet verify nvidia-report: Blackwell', () => {
  it("NVIDIA's Blackwell sample: exit 0, architecture and chip in --json", async () => {
    const r = await runCli(nvidiaReportArgs({report: NV('blackwell-report.hex'), chain: NV('blackwell-cert-chain.pem'), nonce: NONCE}, '--json'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({valid: true, architecture: 'blackwell', chip: {serialNumber: '41E6DE55C3BDC14277'}, opaque: {driverVersion: '575.32'}})
  })

  it.each([
    ['a wrong nonce', NV('blackwell-report.hex'), NV('blackwell-cert-chain.pem'), NONCE.slice(0, -2) + '00', /differs from the expected/],
    ["a Hopper GPU's chain", NV('blackwell-report.hex'), fixture('nvtrust/hopper-cert-chain.pem'), NONCE, /signature does not verify/],
  ])('with %s: exit 10', async (_n, report, chain, nonce, reason) => {
    const r = await runCli(nvidiaReportArgs({report, chain, nonce}, '--json'))
    expect(r.code).toBe(10)
    expect(r.json<{error: {details: {reasons: string[]}}}>().error.details.reasons.join('\n')).toMatch(reason)
  })
})

describe('unet verify nvidia-evidence', () => {
  it('four Hopper GPUs in PPCIE mode, no switches: each report verifies, the set fails the PPCIE topology (exit 10)', async () => {
    const r = await runCli(nvidiaEvidenceArgs({evidence: NV('multi-gpu-hopper.json'), nonce: MULTI_GPU_NONCE}, '--json'))
    expect(r.code, r.stderr).toBe(10)
    const {error} = r.json<{error: {details: {reasons: string[]; entries: Array<{chip: {serialNumber: string}}>}}}>()
    expect(error.details.entries[0]!.chip.serialNumber).toBe('412921CE551E4EEDA3')
    expect(error.details.reasons.slice(0, 2)).toEqual([
      'PPCIE topology: 4 GPU report(s), a PPCIE machine has 8',
      'PPCIE topology: 0 NVSwitch report(s), a PPCIE machine has 4',
    ])
  })

  it('one switch repeated four times: exit 10; a wrong nonce: exit 10; not JSON: exit 19 in one line', async () => {
    const dup = await runCli(nvidiaEvidenceArgs({evidence: NV('multi-switch-ls10.json'), nonce: NONCE}, '--allow-missing-fwid'))
    expect(dup.code).toBe(10)
    expect(dup.stderr).toMatch(/one chip counts once/)
    const stale = await runCli(nvidiaEvidenceArgs({evidence: NV('multi-gpu-hopper.json'), nonce: NONCE}))
    expect(stale.code).toBe(10)
    const junk = join(tempDir(), 'junk.json')
    writeFileSync(junk, 'not json')
    const bad = await runCli(nvidiaEvidenceArgs({evidence: junk, nonce: NONCE}))
    expect(bad.code).toBe(19)
    expect(bad.stderr).toMatch(/^Error: evidence file is not JSON/)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
  })
})
