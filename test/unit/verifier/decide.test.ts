import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {generateKeyPairSync, randomBytes, sign} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import type {Registration} from '../../../src/chain/registrations.js'
import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {deviceIdOf, encodeEvidence, registerChallenge, registrationId, type AcceleratorEvidence} from '../../../src/evidence/index.js'
import {CONTRACT_MAX_POWER, KIND_POWER} from '../../../src/evidence/power-table.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {parseOpaqueData} from '../../../src/hw/nvidia/opaque.js'
import {parseSpdmExchange, REQUEST_LENGTH} from '../../../src/hw/nvidia/spdm.js'
import {decodeReportFile} from '../../../src/hw/nvidia/verify.js'
import {OFFLINE_NVIDIA_CHECK} from '../../../src/hw/nvidia/verify-evidence.js'
import {signCatalogue} from '../../../src/hw/sophgo/catalogue.js'
import {rsaModulus} from '../../../src/hw/sophgo/verify-evidence.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {decideRegistration, type DecideContext} from '../../../src/verifier/decide.js'
import {spotDrawn} from '../../../src/verifier/service.js'
import {testFirmware, testNvidiaChip, testReport, type OpaqueText, type TestNvidiaChip} from '../../helpers/nvidia-pki.js'

const CONTRACT = '0x' + '5f'.repeat(20)
const OPERATOR = '0x' + '0a'.repeat(20)
const devnet: DecideContext = {chainId: 31337n, contract: CONTRACT, network: 'devnet', allowEmulator: true, tpmRoots: [], now: new Date()}
const testnet: DecideContext = {...devnet, network: 'testnet', allowEmulator: false}

function registration(kind: number, deviceId: string, evidence: Uint8Array = new Uint8Array(), hostId = deviceId, nonce = 0n): Registration {
  return {
    regId: registrationId(deviceId, nonce),
    deviceId,
    operator: OPERATOR,
    hostId,
    kind,
    payout: OPERATOR,
    nonce,
    publicKey: new Uint8Array(64),
    proof: new Uint8Array(),
    evidence,
    blockNumber: 1,
    blockHash: '0x' + '66'.repeat(32),
    txHash: '0x' + '77'.repeat(32),
  }
}

/** An emulator host's registration with evidence over the registration challenge of `nonce`. */
async function emulatorHostRegistration(nonce = 0n, challengeNonce = nonce) {
  const engine = await EmulatorEngine.open({dataDir: mkdtempSync(join(tmpdir(), 'unet-decide-')), pcrs: [0]})
  const id = await engine.identity()
  const challenge = registerChallenge({
    chainId: 31337n,
    contract: CONTRACT,
    operator: OPERATOR,
    payout: OPERATOR,
    deviceId: id.deviceId,
    hostId: id.deviceId,
    nonce: challengeNonce,
  })
  const evidence = await buildHostEvidence(engine, {qualifyingData: challenge, challenge})
  return registration(DeviceKind.HOST_EMULATOR, id.deviceId, encodeEvidence(evidence), id.deviceId, nonce)
}

describe('decideRegistration (pure)', () => {
  it('every kind rated by kind has a power within the contract cap', () => {
    for (const [kind, power] of Object.entries(KIND_POWER)) {
      expect(power, `kind ${kind}`).toBeGreaterThan(0n)
      expect(power!, `kind ${kind}`).toBeLessThanOrEqual(CONTRACT_MAX_POWER[Number(kind)]!)
    }
  })

  it('approves an emulator host whose evidence is over its v2 registration challenge, with power 1 and the digest', async () => {
    const reg = await emulatorHostRegistration()
    const d = decideRegistration(reg, devnet)
    expect(d).toMatchObject({regId: reg.regId, deviceId: reg.deviceId, kind: 'host-emulator', approve: true, power: 1n, reasons: []})
    expect(d.evidenceDigest).toMatch(/^0x[0-9a-f]{64}$/)
    expect(d.needsActivation).toBeUndefined()
    expect(d.ekId).toBeUndefined()
  })

  it('rejects evidence over another nonce (a replayed registration), emulators off the devnet, and a host without evidence', async () => {
    const replay = await emulatorHostRegistration(1n, 0n)
    expect(decideRegistration(replay, devnet).reasons.join(' ')).toMatch(/not bound to the expected challenge/)
    const reg = await emulatorHostRegistration()
    expect(decideRegistration(reg, testnet)).toMatchObject({approve: false, reasons: ['emulator hosts are refused on testnet (allowEmulator is false)']})
    const bare = registration(DeviceKind.HOST_EMULATOR, bytesToHex(randomBytes(32)))
    expect(decideRegistration(bare, devnet)).toMatchObject({approve: false, reasons: ['a host-emulator registration must carry emulator evidence']})
  })

  it('a host-tpm registration with emulator evidence is refused (kind mismatch); undecodable evidence is refused', async () => {
    const reg = {...(await emulatorHostRegistration()), kind: DeviceKind.HOST_TPM}
    expect(decideRegistration(reg, devnet).reasons).toEqual(['evidence kind emulator does not fit device kind host-tpm (expected tpm2)'])
    const junk = registration(DeviceKind.HOST_TPM, bytesToHex(randomBytes(32)), new TextEncoder().encode('{"v":9}'))
    expect(decideRegistration(junk, devnet).reasons[0]).toMatch(/^evidence does not decode/)
  })

  it('accelerators go through devicePolicy: software keys on the devnet only, with power 100', () => {
    const id = bytesToHex(randomBytes(32))
    const onDevnet = decideRegistration(registration(DeviceKind.P256, id, undefined, bytesToHex(randomBytes(32))), devnet)
    expect(onDevnet).toMatchObject({approve: true, power: 100n, kind: 'p256'})
    expect(onDevnet.warnings.join()).toMatch(/software key/)
    const onTestnet = decideRegistration(registration(DeviceKind.SECP256K1, id, undefined, bytesToHex(randomBytes(32))), testnet)
    expect(onTestnet.approve).toBe(false)
    expect(onTestnet.reasons[0]).toMatch(/software keys are not accelerators on testnet/)
    expect(decideRegistration(registration(DeviceKind.P384, id, undefined, bytesToHex(randomBytes(32))), devnet).reasons[0]).toMatch(
      /P-384 key did not prove possession/,
    )
  })
})

const fixture = (f: string) => readFileSync(new URL(`../../../fixtures/${f}`, import.meta.url))
/** The signed opaque fields NVIDIA's published sample carries (CHIP_SKU 15, PROJECT 17, PROJECT_SKU 18), to lay them out in a test report. */
function sampleFields(path: string): OpaqueText {
  const opaque = parseOpaqueData(parseSpdmExchange(decodeReportFile(new Uint8Array(fixture(path)))).response.opaque, REQUEST_LENGTH)
  const text = (t: number) =>
    Buffer.from(opaque.fields.find((f) => f.type === t)!.value)
      .toString('latin1')
      .replace(/\0/g, '')
  return {15: text(15), 17: text(17), 18: text(18)}
}

describe('decideRegistration: power by the attested model (power table)', () => {
  const hopper = testNvidiaChip('GH100')
  const blackwell = testNvidiaChip('GB100', hopper.root)
  // the power table alone: the rest of the NVIDIA check (OCSP, RIMs, CC policy) off; test/integration/verifier/nvidia-check.test.ts has it
  const onTestnet = {...testnet, nvidiaRoots: [hopper.root.pem], nvidia: OFFLINE_NVIDIA_CHECK}

  /** A p384 registration whose evidence is `chip`'s report over its own registration challenge, with signed opaque `fields`. */
  async function gpuRegistration(chip: TestNvidiaChip, fields: OpaqueText, edit: (e: AcceleratorEvidence) => void = () => {}) {
    const fw = testFirmware(chip)
    const deviceId = bytesToHex(deviceIdOf(fw.key.publicKey))
    const hostId = bytesToHex(randomBytes(32))
    const challenge = registerChallenge({chainId: 31337n, contract: CONTRACT, operator: OPERATOR, payout: OPERATOR, deviceId, hostId, nonce: 0n})
    const parts = {kind: 'nvidia-cc' as const, uuid: 'GPU-test', nonce: challenge, report: testReport(fw, challenge, {fields}), certChainPem: fw.chainPem}
    const evidence = await toAcceleratorEvidence(parts, challenge)
    edit(evidence)
    return registration(DeviceKind.P384, deviceId, encodeEvidence(evidence), hostId)
  }

  it("an H100 and a Blackwell with the samples' signed SKUs get different power, each naming its model", async () => {
    const h100Fields = sampleFields('nvtrust/hopper-report.hex')
    const b200Fields = sampleFields('nvidia/blackwell-report.hex')
    expect([h100Fields[15], b200Fields[15]]).toEqual(['882', '886'])
    const h100 = decideRegistration(await gpuRegistration(hopper, h100Fields), onTestnet)
    const b200 = decideRegistration(await gpuRegistration(blackwell, b200Fields), onTestnet)
    expect(h100).toMatchObject({approve: true, power: 1513n, model: 'NVIDIA H100 PCIe', reasons: []})
    expect(h100.powerNote).toBe('NVIDIA H100 PCIe (Hopper chip SKU 882): 1513 dense INT8 TOPS')
    expect(b200).toMatchObject({approve: true, power: 4500n, model: 'NVIDIA B200', reasons: []})
    // the same chip SKU on another architecture is another product: the architecture is part of the key
    const h100Nvl = decideRegistration(await gpuRegistration(hopper, {15: '886'}), onTestnet)
    expect(h100Nvl).toMatchObject({approve: true, power: 1670n, model: 'NVIDIA H100 NVL'})
  })

  it('an unknown SKU of a known architecture, or none, gets the lowest of that architecture, with a warning naming it', async () => {
    const unknown = decideRegistration(await gpuRegistration(hopper, {15: '999'}), onTestnet)
    expect(unknown).toMatchObject({approve: true, power: 296n, model: 'NVIDIA Hopper chip SKU 999'})
    expect(unknown.warnings).toContain('Hopper chip SKU 999 is not in the power table: the Hopper floor 296 (NVIDIA H20) applies')
    const none = decideRegistration(await gpuRegistration(blackwell, {}), onTestnet)
    expect(none).toMatchObject({approve: true, power: 3500n})
    expect(none.warnings.join()).toMatch(/report names no chip SKU \(Blackwell\): the Blackwell floor 3500 \(NVIDIA B100\)/)
  })

  it('attack: a higher SKU claimed in the unsigned report.fields changes nothing; one written into the signed opaque data breaks the signature', async () => {
    const claimed = decideRegistration(
      await gpuRegistration(hopper, {15: '882'}, (e) => {
        e.report.fields = {...e.report.fields, chipSku: '895', product: 'NVIDIA H200 SXM', model: 'NVIDIA B200'}
      }),
      onTestnet,
    )
    expect(claimed).toMatchObject({approve: true, power: 1513n, model: 'NVIDIA H100 PCIe'})
    const forged = decideRegistration(
      await gpuRegistration(hopper, {15: '882'}, (e) => {
        const body = e.report.body
        const at = Buffer.from(body).indexOf('882\0', REQUEST_LENGTH, 'latin1')
        body.set(Buffer.from('895', 'latin1'), at)
      }),
      onTestnet,
    )
    expect(forged.approve).toBe(false)
    expect(forged.reasons).toContain('report signature does not verify with the leaf certificate key')
    // a Blackwell chain under a root the profile does not trust proves no model at all
    const untrusted = decideRegistration(await gpuRegistration(testNvidiaChip('GB100'), {15: '886'}), onTestnet)
    expect(untrusted).toMatchObject({approve: false, power: 0n})
    expect(untrusted.model).toBeUndefined()
  })

  it('Sophgo: the signed catalogue says BM1684 or BM1684X, and that is the power (17 vs 32)', async () => {
    const catalogueKey = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
    const chips = [0, 1].map(() => generateKeyPairSync('rsa', {modulusLength: 2048}))
    const pem = (i: number) => chips[i]!.publicKey.export({type: 'pkcs1', format: 'pem'}) as string
    const ids = [0, 1].map((i) => bytesToHex(deviceIdOf(rsaModulus(pem(i)))))
    const catalogue = signCatalogue(
      {
        version: 1,
        issuer: 'test',
        issuedAt: 1,
        chips: [
          {keyId: ids[0]!, model: 'BM1684'},
          {keyId: ids[1]!, model: 'BM1684X'},
        ],
      },
      catalogueKey.privateKey,
    )
    const ctx = {...testnet, sophgoCatalogue: catalogue, sophgoCatalogueKeys: [catalogueKey.publicKey]}
    const decide = async (i: number) => {
      const hostId = bytesToHex(randomBytes(32))
      const c = registerChallenge({chainId: 31337n, contract: CONTRACT, operator: OPERATOR, payout: OPERATOR, deviceId: ids[i]!, hostId, nonce: 0n})
      const parts = {kind: 'sophgo' as const, devid: i, message: c, signature: new Uint8Array(sign('sha256', c, chips[i]!.privateKey)), publicKeyPem: pem(i)}
      return decideRegistration(registration(DeviceKind.RSA2048, ids[i]!, encodeEvidence(await toAcceleratorEvidence(parts, c)), hostId), ctx)
    }
    expect(await decide(0)).toMatchObject({approve: true, power: 17n, model: 'Sophgo BM1684'})
    expect(await decide(1)).toMatchObject({approve: true, power: 32n, model: 'Sophgo BM1684X'})
  })
})

describe('spot-check draw', () => {
  it('rate 0 never, rate 1 always, 1/16 splits the 256-bit range at 2^252', () => {
    expect(spotDrawn(0n, 0)).toBe(false)
    expect(spotDrawn((1n << 256n) - 1n, 1)).toBe(true)
    expect(spotDrawn((1n << 252n) - 1n, 1 / 16)).toBe(true)
    expect(spotDrawn(1n << 252n, 1 / 16)).toBe(false)
  })
})
