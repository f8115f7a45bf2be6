import {createPrivateKey, generateKeyPairSync, randomBytes, sign} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/evidence/device-kinds.js'
import {evidenceDeviceId, type Evidence} from '../../../src/evidence/index.js'
import {OFFLINE_NVIDIA_CHECK} from '../../../src/hw/nvidia/verify-evidence.js'
import {devicePolicy, type DevicePolicyContext} from '../../../src/verifier/device-policy.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {parseCatalogue, signCatalogue} from '../../../src/hw/sophgo/catalogue.js'

const fixture = (f: string) => readFileSync(new URL(`../../../fixtures/${f}`, import.meta.url), 'latin1')
const CATALOGUE = parseCatalogue(new TextEncoder().encode(fixture('sophgo-catalogue/devnet-catalogue.json')))
const CATALOGUE_KEY = fixture('sophgo-catalogue/devnet-catalogue-pub.pem')
const STUB_CHIP_KEY = createPrivateKey(fixture('sophgo-catalogue/devnet-chip0.key'))
const STUB_CHIP_PUB = fixture('sophgo-catalogue/devnet-chip0.pem')
const HOPPER_REPORT = new Uint8Array(Buffer.from(fixture('nvtrust/hopper-report.hex').trim(), 'hex'))
const HOPPER_NONCE = HOPPER_REPORT.slice(4, 36)

const challenge = () => new Uint8Array(randomBytes(32))

/** A non-devnet profile: no emulators, no catalogue unless a test pins one. */
const testnet = (c: Uint8Array, deviceId: string, extra: Partial<DevicePolicyContext> = {}): DevicePolicyContext => ({
  network: 'testnet',
  allowEmulator: false,
  deviceId,
  registerChallenge: c,
  ...extra,
})
/** The devnet: emulators allowed, the committed devnet catalogue pinned (as the built-in profile does). */
const devnet = (c: Uint8Array, deviceId: string, extra: Partial<DevicePolicyContext> = {}): DevicePolicyContext => ({
  network: 'devnet',
  allowEmulator: true,
  deviceId,
  registerChallenge: c,
  sophgoCatalogue: CATALOGUE,
  sophgoCatalogueKeys: [CATALOGUE_KEY],
  ...extra,
})

/** Sophgo evidence as the agent builds it: the chip (here its committed DEVNET stand-in key) signs the challenge. */
async function chipEvidence(c: Uint8Array, key = STUB_CHIP_KEY, publicKeyPem = STUB_CHIP_PUB): Promise<Evidence> {
  return toAcceleratorEvidence({kind: 'sophgo', devid: 0, message: c, signature: new Uint8Array(sign('sha256', c, key)), publicKeyPem}, c, 1_800_000_000)
}

/** NVIDIA's recorded Hopper report (its nonce is fixed), wrapped as the agent would for registration challenge `c`. */
function hopperEvidence(c: Uint8Array): Promise<Evidence> {
  return toAcceleratorEvidence(
    {
      kind: 'nvidia-cc',
      uuid: 'GPU-11111111-2222-3333-4444-555555555555',
      nonce: HOPPER_NONCE,
      report: HOPPER_REPORT,
      certChainPem: fixture('nvtrust/hopper-cert-chain.pem'),
    },
    c,
    1_800_000_000,
  )
}

describe('devicePolicy: software keys and emulators', () => {
  const id = '0x' + 'ab'.repeat(32)
  for (const kind of [DeviceKind.P256, DeviceKind.SECP256K1]) {
    it(`kind ${kind}: refused on a non-devnet profile, accepted with a warning on the devnet`, () => {
      const refused = devicePolicy(kind, undefined, testnet(challenge(), id))
      expect(refused.reasons).toHaveLength(1)
      expect(refused.reasons[0]).toMatch(/^software keys are not accelerators on testnet/)
      const ok = devicePolicy(kind, undefined, devnet(challenge(), id))
      expect(ok.reasons).toEqual([])
      expect(ok.warnings.join()).toMatch(/software key/)
    })
  }

  it('emulator devices: refused unless allowEmulator', () => {
    expect(devicePolicy(DeviceKind.EMULATOR, undefined, testnet(challenge(), id)).reasons).toEqual([
      'emulator devices are refused on testnet (allowEmulator is false)',
    ])
    expect(devicePolicy(DeviceKind.EMULATOR, undefined, devnet(challenge(), id)).reasons).toEqual([])
  })

  it('host kinds and unknown kinds are not judged here', () => {
    expect(devicePolicy(DeviceKind.HOST_TPM, undefined, devnet(challenge(), id)).reasons[0]).toMatch(/host-tpm is a host kind/)
    expect(devicePolicy(DeviceKind.HOST_EMULATOR, undefined, devnet(challenge(), id)).reasons[0]).toMatch(/host-emulator is a host kind/)
    expect(devicePolicy(99, undefined, devnet(challenge(), id)).reasons).toEqual(['device kind 99 is unknown to this version of unet'])
  })
})

describe('devicePolicy: rsa2048 (Sophgo) needs the chip to sign the challenge and a pinned catalogue listing it', () => {
  it('the catalogued devnet stub chip signing the registration challenge is accepted; the model comes from the catalogue', async () => {
    const c = challenge()
    const ev = await chipEvidence(c)
    const r = devicePolicy(DeviceKind.RSA2048, ev, devnet(c, evidenceDeviceId(ev)))
    expect(r.reasons).toEqual([])
    expect(r.model).toEqual({vendor: 'sophgo', chip: 'BM1684'})
    // the same registration on a non-devnet profile that pins the same catalogue: also accepted (the catalogue decides, not allowEmulator)
    expect(
      devicePolicy(DeviceKind.RSA2048, ev, testnet(c, evidenceDeviceId(ev), {sophgoCatalogue: CATALOGUE, sophgoCatalogueKeys: [CATALOGUE_KEY]})).reasons,
    ).toEqual([])
  })

  it('a non-devnet profile without a catalogue refuses every chip', async () => {
    const c = challenge()
    const ev = await chipEvidence(c)
    const r = devicePolicy(DeviceKind.RSA2048, ev, testnet(c, evidenceDeviceId(ev)))
    expect(r.reasons).toEqual(['no Sophgo chip catalogue is pinned on testnet (sophgoCatalogue): Sophgo chips are refused'])
    expect(r.model).toBeUndefined()
  })

  it('a catalogue without a pinned key, under the wrong key, or tampered is not trusted', async () => {
    const c = challenge()
    const ev = await chipEvidence(c)
    const id = evidenceDeviceId(ev)
    expect(devicePolicy(DeviceKind.RSA2048, ev, testnet(c, id, {sophgoCatalogue: CATALOGUE})).reasons).toEqual([
      'the Sophgo chip catalogue of "UNET DEVNET CATALOGUE - NOT FOR PRODUCTION" is not trusted: no Sophgo catalogue key is pinned (networks.<name>.trustRoots.sophgoCatalogueKeys)',
    ])
    const stranger = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
    expect(devicePolicy(DeviceKind.RSA2048, ev, devnet(c, id, {sophgoCatalogueKeys: [stranger.publicKey]})).reasons[0]).toMatch(
      /is not trusted: the catalogue signature does not verify/,
    )
    const tampered = {...CATALOGUE, chips: [...CATALOGUE.chips, {keyId: '0x' + '33'.repeat(32), model: 'BM1684X' as const}]}
    expect(devicePolicy(DeviceKind.RSA2048, ev, devnet(c, id, {sophgoCatalogue: tampered})).reasons[0]).toMatch(
      /is not trusted: the catalogue signature does not verify/,
    )
    // a self-signed catalogue listing the attacker's own chip, under the attacker's key, is not the pinned one
    const own = signCatalogue({version: 1, issuer: 'attacker', issuedAt: 1, chips: [{keyId: id, model: 'BM1684X'}]}, stranger.privateKey)
    expect(devicePolicy(DeviceKind.RSA2048, ev, devnet(c, id, {sophgoCatalogue: own})).reasons[0]).toMatch(/catalogue of "attacker" is not trusted/)
  })

  it('an RSA key that signs correctly but is not in the catalogue is refused: chip not listed', async () => {
    const c = challenge()
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    const ev = await chipEvidence(c, privateKey, publicKey.export({type: 'pkcs1', format: 'pem'}).toString())
    const id = evidenceDeviceId(ev)
    expect(devicePolicy(DeviceKind.RSA2048, ev, devnet(c, id)).reasons).toEqual([
      `chip ${id} is not listed in the Sophgo chip catalogue of "UNET DEVNET CATALOGUE - NOT FOR PRODUCTION"`,
    ])
  })

  it('uminer\'s listed sample chip with its recorded signature (over "utility", not the challenge) is refused', async () => {
    const c = challenge()
    const message = new TextEncoder().encode('utility')
    const sig = new Uint8Array(Buffer.from(fixture('uminer/utility.sig.hex').trim(), 'hex'))
    const ev = await toAcceleratorEvidence({kind: 'sophgo', devid: 6, message, signature: sig, publicKeyPem: fixture('uminer/pubkey_6.pem')}, message)
    const r = devicePolicy(DeviceKind.RSA2048, ev, devnet(c, evidenceDeviceId(ev)))
    expect(r.reasons[0]).toBe('the chip did not sign the registration challenge')
    expect(r.reasons.join('\n')).toMatch(/not bound to the expected challenge/)
    expect(r.model).toEqual({vendor: 'sophgo', chip: 'BM1684'}) // it is listed: only the signature is missing
  })

  it('no evidence, evidence of another kind, or evidence about another device is refused', async () => {
    const c = challenge()
    const ev = await chipEvidence(c)
    const id = evidenceDeviceId(ev)
    expect(devicePolicy(DeviceKind.RSA2048, undefined, devnet(c, id)).reasons[0]).toBe('the chip did not sign the registration challenge')
    expect(devicePolicy(DeviceKind.RSA2048, undefined, devnet(c, id)).reasons[1]).toBe(
      'a rsa2048 registration must carry sophgo evidence over the registration challenge',
    )
    expect(devicePolicy(DeviceKind.RSA2048, await hopperEvidence(c), devnet(c, id)).reasons[1]).toBe(
      'evidence kind nvidia-cc does not fit device kind rsa2048 (expected sophgo)',
    )
    // a stranger's key registered with the stub chip's evidence attached: about another device, and that key is not listed
    const other = '0x' + '44'.repeat(32)
    const r = devicePolicy(DeviceKind.RSA2048, ev, devnet(c, other))
    expect(r.reasons).toContain(`evidence is about device ${id}, not ${other}`)
    expect(r.reasons).toContain(`chip ${other} is not listed in the Sophgo chip catalogue of "UNET DEVNET CATALOGUE - NOT FOR PRODUCTION"`)
  })
})

describe('devicePolicy: p384 (NVIDIA) must prove possession over the registration challenge', () => {
  // possession alone: the rest of the NVIDIA check (OCSP, CC policy) off, as on the devnet
  const offline = {nvidia: OFFLINE_NVIDIA_CHECK}
  it("NVIDIA's recorded Hopper report (fixed nonce) over a fresh registration challenge is refused, on the devnet and elsewhere", async () => {
    const c = challenge()
    const ev = await hopperEvidence(c)
    for (const ctx of [devnet(c, evidenceDeviceId(ev), offline), testnet(c, evidenceDeviceId(ev), offline)]) {
      const r = devicePolicy(DeviceKind.P384, ev, ctx)
      expect(r.reasons[0]).toBe('the P-384 key did not prove possession (an NVIDIA-rooted report over the registration challenge, signed by the key)')
      expect(r.reasons.join('\n')).toMatch(/nonce\.qualifyingData differs from nonce\.challenge/)
      expect(r.reasons.join('\n')).toMatch(/is not the expected/)
    }
    // self-consistent evidence (challenge = the report's own nonce) is still not over this registration's challenge
    const replay = await hopperEvidence(HOPPER_NONCE)
    const r = devicePolicy(DeviceKind.P384, replay, testnet(c, evidenceDeviceId(replay), offline))
    expect(r.reasons.slice(1)).toEqual([
      expect.stringMatching(/^nonce 0x931d8dd0.* is not the expected 0x/),
      expect.stringMatching(/^the evidence is not bound to the expected challenge/),
    ])
  })

  it('the same report is accepted when the registration challenge is the nonce it signed (the check passes only on a real, fresh report)', async () => {
    const ev = await hopperEvidence(HOPPER_NONCE)
    const r = devicePolicy(DeviceKind.P384, ev, testnet(HOPPER_NONCE, evidenceDeviceId(ev), offline))
    expect(r.reasons).toEqual([])
    expect(r.warnings.join()).toMatch(/OCSP revocation not checked/)
    // without a policy the strict one applies: possession is proven, but no OCSP answer and no RIM match refuse it
    const strict = devicePolicy(DeviceKind.P384, ev, testnet(HOPPER_NONCE, evidenceDeviceId(ev)))
    expect(strict.reasons[0]).toMatch(/^policy: DevTools not proven/)
    expect(strict.reasons.slice(1)).toEqual([1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^certificate ${i} .* OCSP not-checked: no OCSP answer`))))
  })

  it('a P-384 key registered without a report (a squatter without the GPU) is refused', async () => {
    const c = challenge()
    const ev = await hopperEvidence(HOPPER_NONCE)
    const id = evidenceDeviceId(ev)
    const none = devicePolicy(DeviceKind.P384, undefined, testnet(c, id, offline))
    expect(none.reasons).toEqual([
      'the P-384 key did not prove possession (an NVIDIA-rooted report over the registration challenge, signed by the key)',
      'a p384 registration must carry nvidia-cc evidence over the registration challenge',
    ])
    expect(devicePolicy(DeviceKind.P384, await chipEvidence(c), devnet(c, id)).reasons[1]).toBe(
      'evidence kind sophgo does not fit device kind p384 (expected nvidia-cc)',
    )
    // the GPU's genuine report attached to somebody else's registered key
    const other = '0x' + '55'.repeat(32)
    expect(devicePolicy(DeviceKind.P384, ev, testnet(HOPPER_NONCE, other, offline)).reasons).toContain(`evidence is about device ${id}, not ${other}`)
  })
})
