import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import type {Registration} from '../../../src/chain/registrations.js'
import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {encodeEvidence, registerChallenge, registrationId} from '../../../src/evidence/index.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {CONTRACT_MAX_POWER, POWER_BY_KIND, decideRegistration, type DecideContext} from '../../../src/verifier/decide.js'
import {spotDrawn} from '../../../src/verifier/service.js'

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
  it('every kind has a power within the contract cap', () => {
    for (const kind of Object.values(DeviceKind)) {
      expect(POWER_BY_KIND[kind], `kind ${kind}`).toBeGreaterThan(0n)
      expect(POWER_BY_KIND[kind]!, `kind ${kind}`).toBeLessThanOrEqual(CONTRACT_MAX_POWER[kind]!)
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

describe('spot-check draw', () => {
  it('rate 0 never, rate 1 always, 1/16 splits the 256-bit range at 2^252', () => {
    expect(spotDrawn(0n, 0)).toBe(false)
    expect(spotDrawn((1n << 256n) - 1n, 1)).toBe(true)
    expect(spotDrawn((1n << 252n) - 1n, 1 / 16)).toBe(true)
    expect(spotDrawn(1n << 252n, 1 / 16)).toBe(false)
  })
})
