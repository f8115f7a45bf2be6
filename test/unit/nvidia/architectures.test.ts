/**
 * NVIDIA's published Blackwell, Hopper and LS10 NVSwitch samples (fixtures/nvidia/PROVENANCE.md,
 * fixtures/nvtrust/PROVENANCE.md): the architecture comes from the chain, and with it where the leaf
 * carries its FWID; the chip identity (device identity certificate) is stable and distinct per chip.
 */
import {readFileSync} from 'node:fs'

import {generateKeyPairSync} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {InputError} from '../../../src/errors/index.js'
import {chainArchitecture} from '../../../src/hw/nvidia/architecture.js'
import {checkNvidiaEvidenceSet, parseNvidiaEvidenceList, type NvidiaEvidenceEntry} from '../../../src/hw/nvidia/evidence-list.js'
import {decodeReportFile, parseCertChain, verifyNvidiaReport} from '../../../src/hw/nvidia/verify.js'
import {certificateExtensions} from '../../../src/util/der.js'
import {ca, issue} from '../../helpers/x509.js'

const fx = (path: string) => readFileSync(new URL(`../../../fixtures/${path}`, import.meta.url))
const report = (path: string) => decodeReportFile(new Uint8Array(fx(path)))
const chain = (path: string) => fx(path).toString('latin1')
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

const NONCE = hex('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb')
const MULTI_GPU_NONCE = hex('e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576')
const BLACKWELL = ['nvidia/blackwell-report.hex', 'nvidia/blackwell-cert-chain.pem'] as const
const HOPPER = ['nvtrust/hopper-report.hex', 'nvtrust/hopper-cert-chain.pem'] as const
const SWITCH = ['nvidia/ls10-switch-report.hex', 'nvidia/ls10-switch-cert-chain.pem'] as const

describe("NVIDIA's Blackwell sample", () => {
  it('verifies: the chain names GB100, the FWID is read from the leaf TcbInfo under 2.23.133.5.4.1.1 and matches the report', () => {
    const r = verifyNvidiaReport(report(BLACKWELL[0]), chain(BLACKWELL[1]), {expectedNonce: NONCE})
    expect(r.reasons).toEqual([])
    expect(r.valid).toBe(true)
    expect(r.architecture).toBe('blackwell')
    expect(r.checks).toEqual({parsed: true, chain: true, root: true, signature: true, nonce: true, architecture: true, fwid: true})
    expect(r.opaque).toMatchObject({driverVersion: '575.32', vbiosVersion: '97.00.88.00.0F', project: 'G525', chipSku: '886'})
    expect(r.leafFwid).toBe('d090cab1b6e6ffddca83d1781e25b3f040fa1f3c7608230cb5f41b1c1b99f5f748349e59d0ef8eb830c9bc79ccf77502')
    expect(r.opaque.fwid).toBe(r.leafFwid)
    expect(r.chip).toMatchObject({serialNumber: '41E6DE55C3BDC14277'})
    expect(r.chip!.subject).toContain('CN=GB100 A01 GSP BROM')
  })

  it('fails with a wrong nonce, a flipped signature byte, or paired with a Hopper chain (and the Hopper report with the Blackwell chain)', () => {
    const wrong = NONCE.slice()
    wrong[0]! ^= 1
    const r1 = verifyNvidiaReport(report(BLACKWELL[0]), chain(BLACKWELL[1]), {expectedNonce: wrong})
    expect(r1.valid).toBe(false)
    expect(r1.checks).toMatchObject({signature: true, nonce: false})

    const forged = report(BLACKWELL[0])
    forged[forged.length - 1]! ^= 1
    const r2 = verifyNvidiaReport(forged, chain(BLACKWELL[1]), {expectedNonce: NONCE})
    expect(r2.valid).toBe(false)
    expect(r2.reasons).toEqual(['report signature does not verify with the leaf certificate key'])

    const r3 = verifyNvidiaReport(report(BLACKWELL[0]), chain(HOPPER[1]), {expectedNonce: NONCE})
    expect(r3.valid).toBe(false)
    expect(r3.architecture).toBe('hopper')
    expect(r3.checks).toMatchObject({chain: true, signature: false, fwid: false})

    const r4 = verifyNvidiaReport(report(HOPPER[0]), chain(BLACKWELL[1]), {expectedNonce: NONCE})
    expect(r4.valid).toBe(false)
    expect(r4.architecture).toBe('blackwell')
    expect(r4.checks).toMatchObject({chain: true, signature: false, fwid: false})
  })

  it('the FWID OID follows the architecture: the Blackwell leaf has only 2.23.133.5.4.1.1, the Hopper leaf only 2.23.133.5.4.1', () => {
    const oids = (path: string) =>
      certificateExtensions(new Uint8Array(parseCertChain(chain(path))[0]!.raw))
        .map((e) => e.oid)
        .filter((o) => o.startsWith('2.23.133.5.4.'))
    expect(oids(BLACKWELL[1])).toEqual(['2.23.133.5.4.1.1'])
    expect(oids(HOPPER[1])).toEqual(['2.23.133.5.4.1'])
  })
})

describe("NVIDIA's LS10 NVSwitch samples", () => {
  it('the switch report verifies (LS10 firmware publishes no FWID: allowed explicitly); its invalid-signature sample fails', () => {
    const strict = verifyNvidiaReport(report(SWITCH[0]), chain(SWITCH[1]), {expectedNonce: NONCE})
    expect(strict.architecture).toBe('ls10')
    expect(strict.reasons).toEqual(['report opaque data has no FWID field (older firmware; allow it explicitly to skip this check)'])
    const ok = verifyNvidiaReport(report(SWITCH[0]), chain(SWITCH[1]), {expectedNonce: NONCE, allowMissingFwid: true})
    expect(ok.reasons).toEqual([])
    expect(ok.chip!.subject).toContain('CN=LS_10 A01 FSP BROM')

    const bad = verifyNvidiaReport(report('nvidia/ls10-switch-report-invalid-signature.hex'), chain(SWITCH[1]), {
      expectedNonce: NONCE,
      allowMissingFwid: true,
    })
    expect(bad.valid).toBe(false)
    expect(bad.reasons).toContain('report signature does not verify with the leaf certificate key')
  })

  it("a GPU report with the switch's chain fails", () => {
    const r = verifyNvidiaReport(report(HOPPER[0]), chain(SWITCH[1]), {expectedNonce: NONCE, allowMissingFwid: true})
    expect(r.valid).toBe(false)
    expect(r.checks.signature).toBe(false)
  })
})

describe('chainArchitecture: read from the device identity certificate, repeated by the leaf', () => {
  const p384 = () => generateKeyPairSync('ec', {namedCurve: 'P-384'})
  const chainWith = (leafCn: string, identityCn: string) => {
    const root = ca('NVIDIA Device Identity CA')
    const identity = ca(identityCn, root)
    return [issue({subject: leafCn, issuer: identity, key: p384()}).cert, identity.cert, root.cert]
  }

  it('names every known chip and refuses an unknown one or a leaf of another chip', () => {
    expect(chainArchitecture(chainWith('GH100 A01 GSP FMC LF', 'GH100 A01 GSP BROM')).architecture?.name).toBe('hopper')
    expect(chainArchitecture(chainWith('GB100 A01 GSP FMC LF', 'GB100 A01 GSP BROM')).architecture?.name).toBe('blackwell')
    expect(chainArchitecture(chainWith('LS_10 A01 FSP FMC LF', 'LS_10 A01 FSP BROM')).architecture).toMatchObject({name: 'ls10', device: 'nvswitch'})
    expect(chainArchitecture(chainWith('XY900 A01 GSP FMC LF', 'XY900 A01 GSP BROM')).reason).toMatch(
      /names no known NVIDIA chip \(known: GH100, GB100, LS_10\)/,
    )
    expect(chainArchitecture(chainWith('GB100 A01 GSP FMC LF', 'GH100 A01 GSP BROM')).reason).toBe(
      'the leaf certificate names chip GB100, its device identity certificate GH100',
    )
    expect(chainArchitecture(chainWith('GH100 A01 GSP FMC LF', 'GH100 A01 GSP BROM').slice(0, 1)).reason).toMatch(/no device identity certificate/)
  })
})

describe("NVIDIA's multi-device evidence sets (attestation-sdk serialised evidence)", () => {
  const set = (path: string) => parseNvidiaEvidenceList(chain(path))
  /** The set check as `verify nvidia-evidence` runs it, offline: no OCSP, no RIMs, CC mode not required. */
  const checkSet = (entries: readonly NvidiaEvidenceEntry[], nonce: Uint8Array, allowMissingFwid?: boolean) =>
    checkNvidiaEvidenceSet(entries, nonce, {ocsp: 'off', requireCc: false, allowMissingFwid})

  it('four Hopper GPUs of one machine verify, four distinct chips, in PPCIE mode: not a complete PPCIE set', async () => {
    const r = await checkSet(set('nvidia/multi-gpu-hopper.json'), MULTI_GPU_NONCE)
    expect(r.entries.every((e) => e.valid)).toBe(true)
    expect(r.entries.map((e) => e.architecture)).toEqual(['hopper', 'hopper', 'hopper', 'hopper'])
    expect(new Set(r.entries.map((e) => e.chip!.chipId)).size).toBe(4)
    expect(r.entries.map((e) => [e.policy.featureFlag, e.policy.protectedPcieStatus])).toEqual(Array(4).fill([2, 0xaa]))
    // each GPU signs 18 NVLink switch PDIs: the same 4 switches for all four GPUs (no per-GPU reason), and no switch report
    expect(r.reasons).toEqual([
      'PPCIE topology: 4 GPU report(s), a PPCIE machine has 8',
      'PPCIE topology: 0 NVSwitch report(s), a PPCIE machine has 4',
      ...['3a53b743d811e977', '9ae3beba9e673275', '03dba23b3c11bd8a', '666e93e19dec7d2d'].map(
        (pdi) => `PPCIE topology: the GPUs link to switch ${pdi}, which no NVSwitch report is`,
      ),
    ])
  })

  it("fails with a wrong nonce, with one GPU's report under another's chain, and with a false arch", async () => {
    const entries = set('nvidia/multi-gpu-hopper.json')
    expect((await checkSet(entries, NONCE)).reasons.filter((x) => /differs from the expected/.test(x))).toHaveLength(4)
    const swapped = [{...entries[0]!, certChainPem: entries[1]!.certChainPem}, ...entries.slice(1)]
    const r = await checkSet(swapped, MULTI_GPU_NONCE)
    expect(r.valid).toBe(false)
    expect(r.reasons).toContain('entry 0: report signature does not verify with the leaf certificate key')
    expect(r.reasons).toContain("entry 1: chip 419BDFFE09391C64D4 is entry 0's chip: one chip counts once")
    const lying = [{...entries[0]!, declaredArch: 'BLACKWELL'}, ...entries.slice(1)]
    expect((await checkSet(lying, MULTI_GPU_NONCE)).reasons.filter((x) => !x.startsWith('PPCIE topology:'))).toEqual([
      'entry 0: declares architecture BLACKWELL, its chain names hopper',
    ])
  })

  it("NVIDIA's multi-switch sample repeats one LS10 four times: each report verifies, the set counts one chip once and fails", async () => {
    const r = await checkSet(set('nvidia/multi-switch-ls10.json'), NONCE, true)
    expect(r.entries.every((e) => e.valid)).toBe(true)
    expect(r.valid).toBe(false)
    // the switch signs its PDI 203eb31ad9ed0008 and 8 GPU PDIs, 6b811687a0a7ee7c twice: 7 distinct GPUs
    const gpus = '{1043c14e83599663, 31649cf11c820858, 40b9c6b3d748fd90, 6b811687a0a7ee7c, d0f69d028e150aaa, e2d85b590e713298, fdb529f1473cb225}'
    const listed = (i: number) => `PPCIE topology: entry ${i} (NVSwitch): lists 7 distinct GPU PDI(s) ${gpus}, PPCIE links every switch to 8`
    expect(r.reasons).toEqual([
      ...[1, 2, 3].map((i) => `entry ${i}: chip 50203EB31AD9ED0008 is entry 0's chip: one chip counts once`),
      'PPCIE topology: 0 GPU report(s), a PPCIE machine has 8',
      listed(0),
      ...[1, 2, 3].flatMap((i) => [`PPCIE topology: entry ${i} (NVSwitch): PDI 203eb31ad9ed0008 is also entry 0's: one switch counts once`, listed(i)]),
    ])
  })

  it('malformed sets are InputErrors', () => {
    for (const text of ['nope', '[]', '{}', '[1]', '[{"arch":"HOPPER","evidence":"***","certificate":""}]'])
      expect(() => parseNvidiaEvidenceList(text), text).toThrow(InputError)
  })
})
