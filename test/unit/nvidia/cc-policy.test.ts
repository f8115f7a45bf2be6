import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {checkCcPolicy, checkModeConsistency} from '../../../src/hw/nvidia/cc-policy.js'
import {parseOpaqueData} from '../../../src/hw/nvidia/opaque.js'
import {parseSpdmExchange} from '../../../src/hw/nvidia/spdm.js'
import {decodeReportFile} from '../../../src/hw/nvidia/verify.js'

/** The opaque data of NVIDIA's real Hopper samples, and copies with one signed field changed or added. */
const opaqueBytes = (name: string) =>
  parseSpdmExchange(decodeReportFile(new Uint8Array(readFileSync(new URL(`../../../fixtures/nvtrust/${name}`, import.meta.url))))).response.opaque

/** Replaces field `type` (or appends it) in NVIDIA's TLV list: type(2 LE) size(2 LE) value. */
function withField(opaque: Uint8Array, type: number, value: number[]): Uint8Array {
  const out: number[] = []
  let o = 0
  let replaced = false
  while (o < opaque.length) {
    const t = opaque[o]! | (opaque[o + 1]! << 8)
    const size = opaque[o + 2]! | (opaque[o + 3]! << 8)
    const v = t === type ? value : [...opaque.subarray(o + 4, o + 4 + size)]
    replaced ||= t === type
    out.push(t & 0xff, t >> 8, v.length & 0xff, v.length >> 8, ...v)
    o += 4 + size
  }
  if (!replaced) out.push(type & 0xff, type >> 8, value.length & 0xff, value.length >> 8, ...value)
  return Uint8Array.from(out)
}

const hopper = opaqueBytes('hopper-report.hex')
const decode = (b: Uint8Array) => parseOpaqueData(b)

describe('CC policy on the real Hopper sample', () => {
  it('the sample is in CC mode: PROTECTED_PCIE_STATUS 0x55, no FEATURE_FLAG (older firmware)', () => {
    const r = checkCcPolicy({opaque: decode(hopper), requireCc: true, measurements: 'match'})
    expect(r).toMatchObject({ok: true, reasons: [], protectedPcieStatus: 0x55, featureFlag: undefined})
    expect(r.ccMode.status).toBe('pass')
  })

  it('DevTools off is not proven without a RIM measurement match: a failure where the profile requires CC, a note where not', () => {
    const strict = checkCcPolicy({opaque: decode(hopper), requireCc: true})
    expect(strict.ok).toBe(false)
    expect(strict.reasons).toEqual([
      'policy: DevTools not proven: DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off',
    ])
    expect(checkCcPolicy({opaque: decode(hopper), requireCc: true, measurements: 'mismatch'}).devtools.status).toBe('fail')
    const lax = checkCcPolicy({opaque: decode(hopper), requireCc: false})
    expect(lax).toMatchObject({ok: true, reasons: []})
    expect(lax.devtools.status).toBe('not-checked')
  })

  it.each([
    ['protected PCIe switched on (field 21 = 0xAA)', withField(hopper, 21, [0xaa]), /CC mode fails: PROTECTED_PCIE_STATUS 0xAA/],
    ['FEATURE_FLAG 2 (PPCIE) added', withField(withField(hopper, 21, [0xaa]), 36, [2, 0, 0, 0]), /CC mode fails: FEATURE_FLAG 2 \(PPCIE\)/],
    ['FEATURE_FLAG 7 (no such mode)', withField(hopper, 36, [7]), /CC mode fails: FEATURE_FLAG 7 is no mode/],
    [
      'FEATURE_FLAG 1 (MPT/SPT) with protected PCIe enabled',
      withField(withField(hopper, 21, [0xaa]), 36, [1]),
      /protected PCIe fails: FEATURE_FLAG 1 and PROTECTED_PCIE_STATUS 0xAA disagree/,
    ],
    [
      'FEATURE_FLAG 2 (PPCIE) with protected PCIe disabled',
      withField(hopper, 36, [2]),
      /protected PCIe fails: FEATURE_FLAG 2 and PROTECTED_PCIE_STATUS 0x55 disagree/,
    ],
    ['PROTECTED_PCIE_STATUS neither 0xAA nor 0x55', withField(hopper, 21, [0x00]), /protected PCIe fails: PROTECTED_PCIE_STATUS 0x00/],
    ['FEATURE_FLAG 2 in all 8 bytes NVIDIA allows', withField(withField(hopper, 21, [0xaa]), 36, [2, 0, 0, 0, 0, 0, 0, 0]), /CC mode fails: FEATURE_FLAG 2/],
    ['FEATURE_FLAG longer than 8 bytes', withField(hopper, 36, [0, 0, 0, 0, 0, 0, 0, 0, 0]), /CC mode fails: FEATURE_FLAG -1 is no mode/],
  ])('a modified copy fails where the profile requires CC: %s', (_name, opaque, reason) => {
    const r = checkCcPolicy({opaque: decode(opaque), requireCc: true, measurements: 'match'})
    expect(r.ok).toBe(false)
    expect(r.reasons.join('\n')).toMatch(reason)
    // reported, not enforced, where the profile does not require CC
    expect(checkCcPolicy({opaque: decode(opaque), requireCc: false, measurements: 'match'}).ok).toBe(true)
  })

  it('FEATURE_FLAG 0 or 1 with protected PCIe disabled is CC mode', () => {
    for (const flag of [0, 1]) {
      const r = checkCcPolicy({opaque: decode(withField(hopper, 36, [flag, 0, 0, 0, 0, 0, 0, 0])), requireCc: true, measurements: 'match'})
      expect(r).toMatchObject({ok: true, featureFlag: flag})
    }
  })

  it('older samples without field 21 or 36 do not attest the mode: not proven where CC is required', () => {
    const r = checkCcPolicy({opaque: decode(opaqueBytes('hopper-2023-report.hex')), requireCc: true, measurements: 'match'})
    expect(r.ccMode.status).toBe('not-checked')
    expect(r.reasons.join('\n')).toMatch(/CC mode not proven: the report carries neither FEATURE_FLAG nor PROTECTED_PCIE_STATUS/)
  })
})

describe('multi-GPU mode consistency (SPT / MPT / PPCIE)', () => {
  it('GPUs in one mode pass; one GPU in another mode fails; reports without FEATURE_FLAG are left out', () => {
    const spt = decode(withField(hopper, 36, [0]))
    const mpt = decode(withField(hopper, 36, [1]))
    expect(checkModeConsistency([spt, spt, decode(hopper)])).toEqual([])
    expect(checkModeConsistency([mpt, mpt])).toEqual([])
    expect(checkModeConsistency([spt, mpt])[0]).toMatch(/GPU 0: 0, GPU 1: 1/)
    expect(checkModeConsistency([mpt, decode(withField(withField(hopper, 21, [0xaa]), 36, [2]))])).toHaveLength(1)
  })
})
