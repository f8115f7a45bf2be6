/** The PPCIE topology check on really signed 8-GPU + 4-switch sets: the consistent machine passes, each lie fails for its reason. */
import {randomBytes} from 'node:crypto'

import {beforeAll, describe, expect, it} from 'vitest'

import {checkNvidiaEvidenceSet, parseNvidiaEvidenceList, type NvidiaEvidenceEntry} from '../../../src/hw/nvidia/evidence-list.js'
import {
  gpuLinks,
  ppcieDevices,
  ppcieEvidenceJson,
  ppcieGpuOpaque,
  switchGpuList,
  testPpcieMachine,
  type PpcieDeviceEvidence,
  type TestPpcieMachine,
} from '../../helpers/ppcie-machine.js'

const NONCE = Uint8Array.from(randomBytes(32))
let m: TestPpcieMachine

beforeAll(() => {
  m = testPpcieMachine()
})

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
/** The set check as `verify nvidia-evidence` runs it, offline: no OCSP, no RIMs, CC mode not required. */
const checkSet = (entries: readonly NvidiaEvidenceEntry[]) =>
  checkNvidiaEvidenceSet(entries, NONCE, {ocsp: 'off', requireCc: false, extraRootFingerprints: [m.root.cert.fingerprint256]})
const judge = (devices: readonly PpcieDeviceEvidence[]) => checkSet(parseNvidiaEvidenceList(ppcieEvidenceJson(devices, NONCE)))
const all = () => {
  const d = ppcieDevices(m)
  return {...d, list: () => [...d.gpus, ...d.switches]}
}
const topology = (r: {reasons: string[]}) => r.reasons.filter((x) => x.startsWith('PPCIE topology:'))

describe('PPCIE topology: 8 GPUs each linked to the same 4 NVSwitches', () => {
  it('the consistent machine passes: every report verifies, no set reason', async () => {
    const r = await judge(all().list())
    expect(r.reasons).toEqual([])
    expect(r.entries.map((e) => e.architecture)).toEqual([...Array<string>(8).fill('hopper'), ...Array<string>(4).fill('ls10')])
  })

  it('a GPU linking to a switch not in the others’ set fails', async () => {
    const d = all()
    const other = Uint8Array.from(randomBytes(8))
    d.gpus[3]!.opaque = ppcieGpuOpaque(gpuLinks([m.switchPdis[0]!, m.switchPdis[1]!, m.switchPdis[2]!, other]))
    expect(topology(await judge(d.list()))).toEqual([
      expect.stringMatching(/^PPCIE topology: entry 3 \(GPU\): links to switches \{.*\}, entry 0 to \{.*\}: every GPU must link to the same switches$/),
    ])
  })

  it('the GPUs must sign each switch PDI little-endian: PDIs in the switches’ byte order link to no switch', async () => {
    const d = all()
    for (const g of d.gpus) g.opaque = ppcieGpuOpaque(gpuLinks(m.switchPdis.map((p) => Uint8Array.from(p).reverse())))
    const reasons = topology(await judge(d.list()))
    expect(reasons).toHaveLength(8)
    expect(reasons.filter((x) => /\(NVSwitch\): PDI [0-9a-f]{16} is no switch the GPUs link to/.test(x))).toHaveLength(4)
    expect(reasons.filter((x) => /the GPUs link to switch [0-9a-f]{16}, which no NVSwitch report is$/.test(x))).toHaveLength(4)
  })

  it('a GPU linking to 3 switches, or signing no or a malformed SWITCH_PDI field, fails', async () => {
    const d = all()
    d.gpus[1]!.opaque = ppcieGpuOpaque(gpuLinks(m.switchPdis.slice(0, 3)))
    d.gpus[2]!.opaque = {...ppcieGpuOpaque(new Uint8Array(0)), 22: Uint8Array.from(randomBytes(20))}
    const {22: _links, ...noLinks} = ppcieGpuOpaque(new Uint8Array(0))
    d.gpus[5]!.opaque = noLinks
    const reasons = topology(await judge(d.list()))
    expect(reasons).toContainEqual(expect.stringMatching(/^PPCIE topology: entry 1 \(GPU\): links to 3 distinct switch\(es\) .*, PPCIE links every GPU to 4$/))
    expect(reasons).toContain('PPCIE topology: entry 2 (GPU): SWITCH_PDI field is 20 bytes, not a whole number of 8-byte PDIs')
    expect(reasons).toContain('PPCIE topology: entry 5 (GPU): no signed SWITCH_PDI field (opaque field 22): no switch link is attested')
  })

  it('a switch missing a GPU (a zero PDI) or listing one GPU twice fails', async () => {
    const d = all()
    d.switches[1]!.opaque[26] = switchGpuList([...m.gpuPdis.slice(0, 7), new Uint8Array(8)])
    d.switches[2]!.opaque[26] = switchGpuList([...m.gpuPdis.slice(0, 7), m.gpuPdis[6]!])
    const reasons = topology(await judge(d.list()))
    for (const entry of [9, 10]) {
      expect(reasons).toContainEqual(
        expect.stringMatching(new RegExp(`^PPCIE topology: entry ${entry} \\(NVSwitch\\): lists 7 distinct GPU PDI\\(s\\) .*, PPCIE links every switch to 8$`)),
      )
      expect(reasons).toContainEqual(
        expect.stringMatching(
          new RegExp(`^PPCIE topology: entry ${entry} \\(NVSwitch\\): lists GPUs .*, entry 8 .*: every switch must link to the same GPUs$`),
        ),
      )
    }
    expect(reasons).toHaveLength(4)
  })

  it('a switch listing other GPUs, or a short or absent GPU list, fails', async () => {
    const d = all()
    d.switches[3]!.opaque[26] = switchGpuList([...m.gpuPdis.slice(0, 7), Uint8Array.from(randomBytes(8))])
    d.switches[0]!.opaque[26] = m.gpuPdis[0]!
    const reasons = topology(await judge(d.list()))
    expect(reasons).toContain('PPCIE topology: entry 8 (NVSwitch): SWITCH_GPU_PDIS field is 8 bytes, under 8 PDIs')
    // entry 9 becomes the reference; entry 11 lists another GPU
    expect(reasons).toContainEqual(
      expect.stringMatching(/^PPCIE topology: entry 11 \(NVSwitch\): lists GPUs .*, entry 9 .*: every switch must link to the same GPUs$/),
    )
    const {26: _gpus, ...noList} = d.switches[1]!.opaque
    d.switches[1]!.opaque = noList
    expect(topology(await judge(d.list()))).toContain('PPCIE topology: entry 9 (NVSwitch): no signed SWITCH_GPU_PDIS field (opaque field 26)')
  })

  it('7 GPUs fail; 3 switches fail and name the switch no report is', async () => {
    const d = all()
    expect(topology(await judge([...d.gpus.slice(0, 7), ...d.switches]))).toEqual(['PPCIE topology: 7 GPU report(s), a PPCIE machine has 8'])
    expect(topology(await judge([...d.gpus, ...d.switches.slice(0, 3)]))).toEqual([
      'PPCIE topology: 3 NVSwitch report(s), a PPCIE machine has 4',
      `PPCIE topology: the GPUs link to switch ${hex(m.switchPdis[3]!)}, which no NVSwitch report is`,
    ])
  })

  it('a switch PDI no GPU links to, and one switch PDI in two switch reports, fail', async () => {
    const d = all()
    const stranger = Uint8Array.from(randomBytes(8))
    d.switches[2]!.opaque[22] = stranger
    expect(topology(await judge(d.list()))).toEqual([
      `PPCIE topology: entry 10 (NVSwitch): PDI ${hex(stranger)} is no switch the GPUs link to {${m.switchPdis.map(hex).sort().join(', ')}}`,
      `PPCIE topology: the GPUs link to switch ${hex(m.switchPdis[2]!)}, which no NVSwitch report is`,
    ])
    d.switches[2]!.opaque[22] = m.switchPdis[1]!
    expect(topology(await judge(d.list()))).toEqual([
      `PPCIE topology: entry 10 (NVSwitch): PDI ${hex(m.switchPdis[1]!)} is also entry 9's: one switch counts once`,
      `PPCIE topology: the GPUs link to switch ${hex(m.switchPdis[2]!)}, which no NVSwitch report is`,
    ])
  })

  it('GPUs of two machines mixed fail: half link to other switches', async () => {
    const other = ppcieDevices(testPpcieMachine(m.root))
    const d = all()
    const reasons = topology(await judge([...d.gpus.slice(0, 4), ...other.gpus.slice(4), ...d.switches]))
    expect(reasons).toHaveLength(4)
    for (const [i, r] of reasons.entries())
      expect(r).toMatch(new RegExp(`^PPCIE topology: entry ${i + 4} \\(GPU\\): links to switches .*, entry 0 to .*: every GPU must link`))
  })

  it('only signed data counts: a PDI changed in the report bytes breaks its signature', async () => {
    const entries = parseNvidiaEvidenceList(ppcieEvidenceJson(all().list(), NONCE))
    const sw = entries[8]!
    const at = Buffer.from(sw.report).indexOf(Buffer.from(m.switchPdis[0]!))
    expect(at).toBeGreaterThan(0)
    sw.report[at] = sw.report[at]! ^ 1
    const r = await checkSet(entries)
    expect(r.reasons).toContain('entry 8: report signature does not verify with the leaf certificate key')
  })

  it('the check applies to PPCIE sets only: 8 GPUs in MPT mode without switches pass; switches with MPT GPUs are checked', async () => {
    const d = all()
    for (const g of d.gpus) g.opaque = {...g.opaque, 21: Uint8Array.of(0x55), 36: Uint8Array.of(1, 0)}
    expect((await judge(d.gpus.slice(0, 3))).reasons).toEqual([])
    expect(topology(await judge([...d.gpus.slice(0, 3), ...d.switches]))).toEqual(['PPCIE topology: 3 GPU report(s), a PPCIE machine has 8'])
  })
})
