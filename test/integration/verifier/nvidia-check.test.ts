/**
 * The verifier service's NVIDIA full check on p384 registrations, on a real anvil: OCSP of the GPU chain
 * and of the RIM signing chains against real `openssl ocsp` responders on loopback (one per CA, behind
 * one URL as NVIDIA's ocsp.ndis.nvidia.com is), RIMs signed by xmlsec1 that match the test GPU's report,
 * the CC policy, and the audit recomputing every decision from the answers the verifier recorded.
 * The GPU PKI is NVIDIA-shaped (test/helpers/nvidia-pki.ts), trusted as an extra root; so is the RIM root.
 */
import {randomBytes, type X509Certificate} from 'node:crypto'
import {appendFileSync, copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {RegisterResult} from '../../../src/chain/register.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {ExitCode} from '../../../src/errors/index.js'
import type {NvidiaCheckPolicy} from '../../../src/hw/nvidia/full-check.js'
import {askGpuChainRevocation} from '../../../src/hw/nvidia/gpu-revocation.js'
import type {OcspAnswer} from '../../../src/hw/nvidia/ocsp.js'
import {parseCertChain} from '../../../src/hw/nvidia/verify.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {auditDecisions} from '../../../src/verifier/audit.js'
import type {VerifierPolicy} from '../../../src/verifier/decide.js'
import {registrationBinding, type RecordedFacts} from '../../../src/verifier/facts.js'
import type {DecisionRecord} from '../../../src/verifier/service.js'
import {makeHome, runCli} from '../../helpers/cli.js'
import {testFirmware, testReport, type TestFirmware, type TestNvidiaChip, type TestReportOptions} from '../../helpers/nvidia-pki.js'
import {ocspRouter, relay, TestPki, type TestCert, withRelay} from '../../helpers/ocsp-responder.js'
import {registerNvidiaGpu} from '../../helpers/nvidia-registration.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {signTestRim} from '../../helpers/test-rim.js'
import {ca} from '../../helpers/x509.js'
import {approveHost, emulatorHost, registerHost} from '../chain/helpers.js'
import {tempDir, verifierPass} from './helpers.js'

// the GPU: an NVIDIA-shaped chain root → family → provisioner → one identity per chip (a chip binds once)
const root = ca('NVIDIA Device Identity CA (TEST)')
const family = ca('NVIDIA GH100 Identity (TEST)', root)
const provisioner = ca('NVIDIA GH100 Provisioner ICA (TEST)', family)
const newChip = (): TestNvidiaChip => {
  const identity = ca('GH100 A01 GSP BROM', provisioner)
  return {root, identity, above: [identity, provisioner, family, root]}
}
const goodChips = Array.from({length: 24}, newChip)
const revokedChip = newChip()
let nextGood = 0
const goodFirmware = () => testFirmware(goodChips[nextGood++]!)

// what the report names (opaque fields) and measures; the RIMs hold the same golden values
const DRIVER = '550.54.15'
const VBIOS_BYTES = Uint8Array.of(0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0) // printed 96.00.9F.00.01
const DRIVER_RIM = `NV_GPU_DRIVER_GH100_${DRIVER}`
const VBIOS_RIM = 'NV_GPU_VBIOS_1010_0200_882_96009F0001'
const values = [Uint8Array.from(randomBytes(48)), Uint8Array.from(randomBytes(48))]
const ccOn: TestReportOptions = {
  measurements: values,
  fields: {3: DRIVER, 15: '882', 17: '1010', 18: '0200'}, // CHIP_SKU 882: an H100 PCIe in the power table
  opaque: {
    6: VBIOS_BYTES,
    21: Uint8Array.of(0x55), // PROTECTED_PCIE_STATUS disabled
    36: Uint8Array.of(0, 0, 0, 0), // FEATURE_FLAG 0: a CC mode (SPT/MPT)
  },
}

describe('verifier service: the NVIDIA full check on p384 registrations (real anvil, real openssl ocsp)', () => {
  const suite = pociSuite(['op'])
  const host = emulatorHost()
  const pki = new TestPki()
  let rimRoot: TestCert
  let router: Awaited<ReturnType<typeof ocspRouter>>
  let rimDir: string
  let revokedRimDir: string
  let foreignUrl: string
  let routes: Array<{issuer: TestCert; url: string}>
  let identities: TestCert[]
  const gpu = {root: pki.adopt('gpu-root', root), family: pki.adopt('gpu-family', family), provisioner: pki.adopt('gpu-provisioner', provisioner)}

  beforeAll(async () => {
    await approveHost(suite.verifier, suite.op, await registerHost(suite.op, host))

    rimRoot = pki.root('Test CoRIM signing Root CA')
    const rimCa = pki.issue('Test Reference Value GH100 CA', rimRoot, {ca: true})
    const rimSigner = pki.issue('Test RIM L4 Signer', rimCa)
    const rimRevoked = pki.issue('Test RIM L4 Signer (revoked)', rimCa)
    identities = [...goodChips, revokedChip].map((c, i) => pki.adopt(`gpu-identity-${i}`, c.identity))
    const serve = (name: string, issuer: TestCert, entries: {good?: TestCert[]; revoked?: TestCert[]}) =>
      pki.responder({index: pki.index(name, entries), ca: issuer, signer: issuer, nextUpdateMinutes: 60})
    routes = await Promise.all([
      serve('provisioner', gpu.provisioner, {good: identities.slice(0, -1), revoked: identities.slice(-1)}).then((u) => ({issuer: gpu.provisioner, url: u})),
      serve('family', gpu.family, {good: [gpu.provisioner]}).then((u) => ({issuer: gpu.family, url: u})),
      serve('gpu-root', gpu.root, {good: [gpu.family]}).then((u) => ({issuer: gpu.root, url: u})),
      serve('rim-ca', rimCa, {good: [rimSigner], revoked: [rimRevoked]}).then((u) => ({issuer: rimCa, url: u})),
      serve('rim-root', rimRoot, {good: [rimCa]}).then((u) => ({issuer: rimRoot, url: u})),
    ])
    router = await ocspRouter(routes)
    // a responder of another CA, with a certificate for OCSP signing from that CA
    const other = pki.root('Some Other CA')
    foreignUrl = await pki.responder({
      index: pki.index('foreign', {good: identities}),
      ca: gpu.provisioner,
      signer: pki.issue('Foreign OCSP Responder', other, {eku: 'OCSPSigning'}),
      nextUpdateMinutes: 60,
    })

    const rims = (signer: TestCert) => {
      const dir = tempDir('unet-rims-')
      mkdirSync(dir, {recursive: true})
      const hex = (i: number) => bytesToHex(values[i]!, false)
      writeFileSync(join(dir, `${DRIVER_RIM}.swidtag`), signTestRim(pki, signer, [rimCa, rimRoot], {version: DRIVER, measurements: [{index: 0, hex: hex(0)}]}))
      writeFileSync(
        join(dir, `${VBIOS_RIM}.swidtag`),
        signTestRim(pki, signer, [rimCa, rimRoot], {version: '96.00.9F.00.01', measurements: [{index: 1, hex: hex(1)}]}),
      )
      return dir
    }
    rimDir = rims(rimSigner)
    revokedRimDir = rims(rimRevoked)
  })
  afterAll(async () => {
    await router?.close()
    pki.stop()
  })

  /** mainnet's NVIDIA policy (OCSP enforced, CC required), with the test roots, RIMs and responder. */
  const policy = (nvidia: Partial<NvidiaCheckPolicy> = {}): VerifierPolicy => ({
    network: 'mainnet',
    allowEmulator: false,
    tpmRoots: [],
    nvidiaRoots: [root.pem],
    nvidia: {ocsp: 'enforce', requireCc: true, ocspUrl: router.url, rimDir, rimRootFingerprints: [rimRoot.cert.fingerprint256], ...nvidia},
  })

  /** Registers the firmware's key as the agent does: an NVIDIA report over the register challenge, as evidence. */
  const registerGpu = (fw: TestFirmware, report: TestReportOptions = ccOn, edit?: (body: Uint8Array) => Uint8Array): Promise<RegisterResult> =>
    registerNvidiaGpu(suite.op, fw, host.hostId, {report, ...(edit ? {edit} : {})})

  /** One verifier pass over the registration under `p`; its decision record. */
  async function decide(reg: RegisterResult, p: VerifierPolicy): Promise<DecisionRecord> {
    const records = await verifierPass(suite.verifier, {policy: p, cursorFile: join(tempDir(), 'cursor.json'), fromBlock: reg.blockNumber, ocspTimeoutMs: 3000})
    const d = records.find((r): r is DecisionRecord => r.type === 'decision' && r.regId === reg.regId)
    if (!d) throw new Error(`no decision for ${reg.regId}: ${JSON.stringify(records)}`)
    return d
  }

  it('every certificate good, RIMs match, CC on: approved; the record holds each OCSP answer', async () => {
    const reg = await registerGpu(goodFirmware())
    const d = await decide(reg, policy())
    expect(d, d.reasons.join('\n')).toMatchObject({outcome: 'approved', approve: true, power: '1513', model: 'NVIDIA H100 PCIe', reasons: [], warnings: []})
    expect((await registrationState(suite.op, reg.regId)).status).toBe('approved')
    const ocsp = d.facts!.nvidia!.ocsp
    expect(Object.keys(ocsp).sort()).toEqual([DRIVER_RIM, VBIOS_RIM, 'gpu'].sort())
    // GPU chain: certificates 1..3 (the DICE leaf and the pinned root are not asked); RIM chains: signer and CA
    expect(ocsp.gpu!.map((a) => a.index)).toEqual([1, 2, 3])
    expect(ocsp[DRIVER_RIM]!.map((a) => a.index)).toEqual([0, 1])
    for (const a of Object.values(ocsp).flat())
      expect(a).toMatchObject({source: 'responder', nonce: expect.stringMatching(/^[0-9a-f]{64}$/), response: expect.any(String)})
    expect(d.facts!.nvidia!.rims.map((r) => [r.id, r.role])).toEqual([
      [DRIVER_RIM, 'driver'],
      [VBIOS_RIM, 'vbios'],
    ])
  })

  it('a revoked GPU intermediate: rejected with the reason, in enforce and in warn mode', async () => {
    for (const mode of ['enforce', 'warn'] as const) {
      const reg = await registerGpu(testFirmware(revokedChip))
      const d = await decide(reg, policy({ocsp: mode}))
      expect(d.outcome).toBe('rejected')
      expect(d.reasons).toEqual([
        expect.stringMatching(/^certificate 1 \(CN=GH100 A01 GSP BROM\) OCSP revoked: revoked at 2026-01-01T00:00:00.000Z \(keyCompromise\)$/),
      ])
      expect((await registrationState(suite.op, reg.regId)).status).toBe('rejected')
    }
  })

  it('the responder down: rejected under enforce; approved with the warnings under warn', async () => {
    const down = 'http://127.0.0.1:9/'
    const enforced = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: down}))
    expect(enforced.outcome).toBe('rejected')
    // three GPU certificates and two of each RIM chain; a RIM whose chain is not checked is not used, so DevTools is not proven
    expect(enforced.reasons.filter((r) => /OCSP not-checked: no answer from the OCSP responder/.test(r))).toHaveLength(7)
    expect(enforced.reasons).toContain(
      'policy: DevTools not proven: DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off',
    )

    const warned = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: down, ocsp: 'warn'}))
    expect(warned, warned.reasons.join('\n')).toMatchObject({outcome: 'approved', reasons: []})
    expect(warned.warnings.filter((w) => /OCSP not-checked: no answer from the OCSP responder/.test(w))).toHaveLength(7)
  })

  it('a RIM signed by a revoked RIM signer: rejected, its golden values not used', async () => {
    const d = await decide(await registerGpu(goodFirmware()), policy({rimDir: revokedRimDir}))
    expect(d.outcome).toBe('rejected')
    for (const id of [DRIVER_RIM, VBIOS_RIM])
      expect(d.reasons).toContainEqual(
        expect.stringMatching(new RegExp(`^${id} \\((driver|vbios) RIM\\): certificate 0 \\(.*Test RIM L4 Signer \\(revoked\\)\\) OCSP revoked`)),
      )
    expect(d.reasons).toContainEqual(expect.stringMatching(/^policy: DevTools not proven/))
  })

  it('requireCc: no RIMs (DevTools not proven) or protected-PCIe mode (CC off) is rejected', async () => {
    const noRims = await decide(await registerGpu(goodFirmware()), policy({rimDir: undefined}))
    expect(noRims.reasons).toEqual([
      'policy: DevTools not proven: DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off',
    ])
    const ppcie = {...ccOn, opaque: {...ccOn.opaque, 21: Uint8Array.of(0xaa), 36: Uint8Array.of(2, 0, 0, 0)}}
    const ccOff = await decide(await registerGpu(goodFirmware(), ppcie), policy())
    expect(ccOff.reasons).toEqual(['policy: CC mode fails: FEATURE_FLAG 2 (PPCIE): protected-PCIe mode, CC mode off'])
  })

  it('attack: a driver version in the signed report that is no plain file name is decided (RIMs not looked up), not a verifier error retried forever', async () => {
    // a genuine GPU signs what the host's driver hands it, so the RIM id built from it is the registrant's text
    const d = await decide(await registerGpu(goodFirmware(), {...ccOn, fields: {...ccOn.fields, 3: '550.54.15/../../../etc/passwd'}}), policy())
    expect(d.outcome).toBe('rejected')
    expect(d.reasons).toEqual([
      'policy: DevTools not proven: DevTools mode is no field of the signed report; only a RIM golden-measurement match proves it off',
    ])
    expect(d.facts!.nvidia!.rims).toEqual([])
  })

  describe('attacks on the revocation check', () => {
    it('a genuine earlier answer replayed by a man in the middle (nonce mismatch): rejected', async () => {
      // keep the answers per CertID (the request without its 32-byte nonce) while recording, then replay them
      const seen = new Map<string, Buffer>()
      let replaying = false
      const recordOrReplay = (b: Buffer, req: Buffer) => {
        const key = req.subarray(0, req.length - 32).toString('hex')
        if (!replaying) seen.set(key, b)
        return (replaying && seen.get(key)) || b
      }
      await withRelay(relay(router.url, {response: recordOrReplay}), async (mitm) => {
        const first = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: mitm.url}))
        expect(first.outcome, first.reasons.join('\n')).toBe('approved')
        replaying = true
        // the next GPU shares the intermediates 2 and 3 and the RIM chains: their answers are the replayed ones
        const second = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: mitm.url}))
        expect(second.outcome).toBe('rejected')
        expect(second.reasons).toContainEqual(
          expect.stringMatching(
            /^certificate 2 \(.*Provisioner ICA.*\) OCSP not-checked: response nonce differs from the request nonce \(a replayed answer\)$/,
          ),
        )
        expect(second.reasons.filter((r) => /replayed answer/.test(r))).toHaveLength(2 + 2 * 2)
      })
    })

    it("a stale answer (the responder's clock two hours behind, so its nextUpdate has passed): rejected", async () => {
      const stale = await pki.responder({
        index: pki.index('stale', {good: identities}),
        ca: gpu.provisioner,
        signer: gpu.provisioner,
        nextUpdateMinutes: 60,
        clockOffset: '-2h',
      })
      await withRelay(ocspRouter([{issuer: gpu.provisioner, url: stale}, ...routes.filter((r) => r.issuer !== gpu.provisioner)]), async (staleRouter) => {
        const d = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: staleRouter.url}))
        expect(d.outcome).toBe('rejected')
        expect(d.reasons).toEqual([
          expect.stringMatching(/^certificate 1 \(CN=GH100 A01 GSP BROM\) OCSP not-checked: response is stale \(nextUpdate .* has passed\)$/),
        ])
      })
    })

    it('a report cut short: rejected at once, nothing asked, not retried (verifierPass fails on any retry)', async () => {
      await withRelay(relay(router.url), async (counting) => {
        const d = await decide(await registerGpu(goodFirmware(), ccOn, (b) => b.slice(0, 60)), policy({ocspUrl: counting.url}))
        expect(d.outcome).toBe('rejected')
        expect(d.reasons.join('\n')).toMatch(/did not prove possession/)
        expect(counting.count()).toBe(0)
      })
    })

    it('attack: a genuine NVIDIA-rooted chain with a junk report (broken signature, or over another nonce): rejected offline, no responder asked', async () => {
      await withRelay(relay(router.url), async (counting) => {
        const flipped = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === b.length - 1 ? x ^ 0x01 : x))
        const badSignature = await decide(await registerGpu(goodFirmware(), ccOn, flipped), policy({ocspUrl: counting.url}))
        expect(badSignature.outcome).toBe('rejected')
        expect(badSignature.reasons).toContain('report signature does not verify with the leaf certificate key')
        const fw = goodFirmware()
        const otherNonce = await decide(
          await registerGpu(fw, ccOn, () => testReport(fw, Uint8Array.from(randomBytes(32)), ccOn)),
          policy({ocspUrl: counting.url}),
        )
        expect(otherNonce.outcome).toBe('rejected')
        expect(otherNonce.reasons).toContainEqual(expect.stringMatching(/^report nonce [0-9a-f]{64} differs from the expected /))
        // nothing about either was looked up: no OCSP request, no RIM read
        expect(counting.count()).toBe(0)
        for (const d of [badSignature, otherNonce]) expect(d.facts?.nvidia).toEqual({ocsp: {}, rims: []})
      })
    })

    it('an answer signed by another CA: rejected', async () => {
      const d = await decide(await registerGpu(goodFirmware()), policy({ocspUrl: foreignUrl, rimDir: undefined, requireCc: false}))
      expect(d.outcome).toBe('rejected')
      expect(d.reasons[0]).toMatch(
        /^certificate 1 .* OCSP not-checked: responder certificate .*Foreign OCSP Responder.* is not issued by the certificate's issuer$/,
      )
    })

    it('a chain that is not NVIDIA-rooted is never asked about (no request to an address the forger picks)', async () => {
      await withRelay(relay(router.url), async (counting) => {
        const stranger = ca('NVIDIA Device Identity CA (forged)')
        const fam = ca('NVIDIA GH100 Identity (TEST)', stranger)
        const prov = ca('NVIDIA GH100 Provisioner ICA (TEST)', fam)
        const identity = ca('GH100 A01 GSP BROM', prov)
        const fw = testFirmware({root: stranger, identity, above: [identity, prov, fam, stranger]})
        const d = await decide(await registerGpu(fw), policy({ocspUrl: counting.url}))
        expect(d.outcome).toBe('rejected')
        expect(d.reasons[0]).toMatch(/did not prove possession/)
        expect(counting.count()).toBe(0)
      })
    })
  })

  it('the audit recomputes each decision from the recorded answers, and finds a tampered or missing record', async () => {
    const from = (await suite.op.provider.getBlockNumber()) + 1
    const p = policy()
    const good = await decide(await registerGpu(goodFirmware()), p)
    const revoked = await decide(await registerGpu(testFirmware(revokedChip)), p)
    expect([good.outcome, revoked.outcome]).toEqual(['approved', 'rejected'])
    const to = await suite.op.provider.getBlockNumber()
    const recorded = new Map<string, RecordedFacts>([good, revoked].map((d) => [d.regId.toLowerCase(), d.facts!]))
    // the audit's policy names a responder that counts: the audit must never ask it
    await withRelay(relay(router.url), async (counting) => {
      const audited: VerifierPolicy = {...p, nvidia: {...p.nvidia!, ocspUrl: counting.url}}
      const audit = (facts: Map<string, RecordedFacts>) => auditDecisions(suite.op, audited, {fromBlock: from, toBlock: to}, facts)

      // equal, though the answers are judged again later: each at the time it was asked
      expect(await audit(recorded)).toEqual({checked: 2, skipped: 0, mismatches: []})

      // one byte of the signed part of the approved registration's answer for certificate 2 changed in the log
      const tampered = structuredClone(good.facts!)
      const answer = tampered.nvidia!.ocsp.gpu!.find((a) => a.index === 2)!
      const bytes = Buffer.from(answer.response!, 'base64')
      const at = bytes.indexOf(Buffer.from(answer.nonce!, 'hex'))
      expect(at).toBeGreaterThan(0)
      bytes[at]! ^= 0x01
      answer.response = bytes.toString('base64')
      const t = await audit(new Map([...recorded, [good.regId.toLowerCase(), tampered]]))
      expect(t.mismatches.map((m) => [m.regId, m.problem])).toEqual([[good.regId, 'approved, but the recomputation rejects']])
      expect(t.mismatches[0]!.recomputed.reasons).toContainEqual(expect.stringMatching(/^certificate 2 .* OCSP not-checked: /))

      // no record at all: nothing says the chain was good, so the approval does not hold up, nor which RIMs were judged
      const missing = await audit(new Map([[revoked.regId.toLowerCase(), revoked.facts!]]))
      expect(missing.mismatches.map((m) => [m.regId, m.problem])).toEqual([
        [good.regId, expect.stringMatching(new RegExp(`^RIM ${DRIVER_RIM} \\(SHA-256 [0-9a-f]{64}\\) in .* was not judged by the verifier`))],
        [good.regId, expect.stringMatching(new RegExp(`^RIM ${VBIOS_RIM} \\(SHA-256 [0-9a-f]{64}\\) in .* was not judged by the verifier`))],
        [good.regId, 'approved, but the recomputation rejects'],
      ])
      expect(missing.mismatches[2]!.recomputed.reasons).toContainEqual(expect.stringMatching(/no OCSP answer was asked for or recorded/))
      expect(counting.count()).toBe(0)
    })
  })

  it(`unet verifier audit (subprocess): a RIM changed, replaced or removed since the decision is named, exit ${ExitCode.AUDIT_MISMATCH}; unchanged: 0`, async () => {
    const dir = tempDir('unet-rims-audit-')
    cpSync(rimDir, dir, {recursive: true})
    const from = (await suite.op.provider.getBlockNumber()) + 1
    const d = await decide(await registerGpu(goodFirmware()), policy({rimDir: dir}))
    expect(d.outcome, d.reasons.join('\n')).toBe('approved')
    const digest = (id: string) => d.facts!.nvidia!.rims.find((r) => r.id === id)!.sha256

    // the auditor's profile: this deployment, the verifier's NVIDIA policy (roots as PEM files) and RIM directory
    const home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    const gpuRoot = join(home.configDir, 'gpu-root.pem')
    writeFileSync(gpuRoot, root.pem)
    const poci = suite.deployed.poci
    const devnet = {
      rpcUrls: [suite.url],
      chainId: 31337,
      contracts: {registry: poci, heartbeat: poci, rewards: poci, token: suite.deployed.token},
      trustRoots: {nvidia: [gpuRoot]},
      nvidia: {ocsp: 'enforce', ocspUrl: 'http://127.0.0.1:9/', requireCc: true, rimDir: dir, rimRoots: [rimRoot.pemPath]},
    }
    writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({networks: {devnet}}), {mode: 0o600})
    const log = join(home.dataDir, 'decisions.jsonl')
    mkdirSync(home.dataDir, {recursive: true})
    writeFileSync(log, JSON.stringify(d) + '\n')
    const audit = async () => {
      const r = await runCli(['verifier', 'audit', '--json', '--from-block', String(from), '--decisions', log], {home})
      return {code: r.code, stderr: r.stderr, report: r.json<{checked: number; mismatches: Array<{regId: string; problem: string}>}>()}
    }
    const problems = (r: Awaited<ReturnType<typeof audit>>) => r.report.mismatches.map((m) => m.problem)

    const same = await audit()
    expect(same.code, same.stderr).toBe(0)
    expect(same.report).toMatchObject({checked: 1, mismatches: []})

    // one byte more in the driver RIM (after its signed root element: the RIM still verifies, the verdict stands)
    const driverFile = join(dir, `${DRIVER_RIM}.swidtag`)
    appendFileSync(driverFile, '\n')
    const changed = await audit()
    expect(changed.code, changed.stderr).toBe(ExitCode.AUDIT_MISMATCH)
    expect(problems(changed)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^RIM ${DRIVER_RIM} differs from the one the verifier judged: SHA-256 [0-9a-f]{64} in the audit's RIM directory ${dir}, ${digest(DRIVER_RIM)} recorded$`,
        ),
      ),
    ])
    copyFileSync(join(rimDir, `${DRIVER_RIM}.swidtag`), driverFile)

    // the VBIOS RIM replaced by another genuine-looking one (signed by the revoked signer): named, and the approval no longer recomputes
    copyFileSync(join(revokedRimDir, `${VBIOS_RIM}.swidtag`), join(dir, `${VBIOS_RIM}.swidtag`))
    const replaced = await audit()
    expect(replaced.code).toBe(ExitCode.AUDIT_MISMATCH)
    expect(problems(replaced)).toEqual([
      expect.stringMatching(new RegExp(`^RIM ${VBIOS_RIM} differs from the one the verifier judged`)),
      'approved, but the recomputation rejects',
    ])

    // removed: neither RIM of the report is read any more
    rmSync(join(dir, `${VBIOS_RIM}.swidtag`))
    const removed = await audit()
    expect(removed.code).toBe(ExitCode.AUDIT_MISMATCH)
    expect(problems(removed)).toEqual([
      `RIM ${DRIVER_RIM} the verifier judged (SHA-256 ${digest(DRIVER_RIM)}) was not read from the audit's RIM directory ${dir}: it or the report's other RIM is missing there`,
      `RIM ${VBIOS_RIM} the verifier judged (SHA-256 ${digest(VBIOS_RIM)}) was not read from the audit's RIM directory ${dir}: it or the report's other RIM is missing there`,
      'approved, but the recomputation rejects',
    ])
  }, 60_000)

  describe('attacks on the audit: a dishonest verifier records answers it was not given for this registration', () => {
    /** Approves honestly, then builds the record the dishonest verifier would keep instead: its GPU answers swapped. */
    async function forge(mode: 'enforce' | 'warn', answers: (chain: X509Certificate[], binding: Uint8Array, honest: OcspAnswer[]) => Promise<OcspAnswer[]>) {
      const from = (await suite.op.provider.getBlockNumber()) + 1
      const fw = goodFirmware()
      const reg = await registerGpu(fw)
      const p = policy({ocsp: mode})
      const d = await decide(reg, p)
      expect(d.outcome, d.reasons.join('\n')).toBe('approved')
      const to = await suite.op.provider.getBlockNumber()
      const blockHash = (await suite.op.provider.getBlock(reg.blockNumber))!.hash!
      const nvidia = d.facts!.nvidia!
      const gpu = await answers(parseCertChain(fw.chainPem), registrationBinding({regId: reg.regId, blockHash}), nvidia.ocsp.gpu!)
      const forged: RecordedFacts = {nvidia: {...nvidia, ocsp: {...nvidia.ocsp, gpu}}}
      const audit = (facts: RecordedFacts) => auditDecisions(suite.op, p, {fromBlock: from, toBlock: to}, new Map([[reg.regId.toLowerCase(), facts]]))
      // the honest record recomputes equal: the refusals below are the swapped answers' alone
      expect((await audit(d.facts!)).mismatches).toEqual([])
      const report = await audit(forged)
      expect(report.mismatches.map((m) => m.problem)).toEqual(['approved, but the recomputation rejects'])
      return report.mismatches[0]!.recomputed.reasons
    }
    const ask = (chain: X509Certificate[], extra: {binding?: Uint8Array; now?: Date; responderUrl?: string} = {}) =>
      askGpuChainRevocation(chain, {mode: 'enforce', responderUrl: router.url, ...extra})

    it("genuine 'good' answers asked before the registration's block existed (its id is predictable, its block hash is not): refused, in warn mode too", async () => {
      for (const mode of ['enforce', 'warn'] as const) {
        const reasons = await forge(mode, (chain, binding) => {
          const guessed = Uint8Array.from(binding)
          guessed.set(randomBytes(32), guessed.length - 32) // the registration id, some other block
          return ask(chain, {binding: guessed})
        })
        expect(reasons).toEqual(
          [1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^certificate ${i} .* OCSP not-checked: the answer was not asked for this registration`))),
        )
      }
    })

    it('unbound answers (what a cache or `unet verify nvidia-report` holds): refused', async () => {
      const reasons = await forge('warn', (chain) => ask(chain))
      expect(reasons).toHaveLength(3)
      for (const r of reasons) expect(r).toMatch(/OCSP not-checked: the answer was not asked for this registration/)
    })

    it('answers asked after the decision (askedAt a day on): refused', async () => {
      const later = (a: OcspAnswer) => ({...a, askedAt: new Date(Date.parse(a.askedAt) + 86_400_000).toISOString()})
      const askedLater = await forge('enforce', async (_chain, _binding, honest) => honest.map(later))
      expect(askedLater).toEqual(
        [1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^certificate ${i} .* OCSP not-checked: the answer was asked at .*, after the decision`))),
      )
    })
  })
})
