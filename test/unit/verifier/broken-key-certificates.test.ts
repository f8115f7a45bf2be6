/**
 * Certificates whose public key is a point off its curve. node:crypto parses such a certificate and
 * throws OpenSSL's untyped error only when `publicKey` is first read, which once let a mutated
 * emulator root throw out of verifyEvidence (found by test/unit/tpm2/parsers.property.test.ts).
 * Every check must answer with a reason or an InputError instead.
 */
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {encodeEvidence, decodeEvidence, type Evidence} from '../../../src/evidence/index.js'
import {InputError} from '../../../src/errors/index.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {emulatorIdentityReasons} from '../../../src/hw/emulator/verify.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {parseCertChain} from '../../../src/hw/nvidia/verify.js'
import {nvidiaEvidenceInput} from '../../../src/hw/nvidia/verify-evidence.js'
import {parseCertificate} from '../../../src/util/x509.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'

const nv = (f: string) => readFileSync(new URL(`../../../fixtures/nvtrust/${f}`, import.meta.url), 'latin1')

/** `der` with one bit of its uncompressed EC point flipped (the BIT STRING 03 len 00 04 …). */
function offCurve(der: Uint8Array): Uint8Array {
  const b = Uint8Array.from(der)
  const at = Buffer.from(b).findIndex((x, i) => x === 0x03 && b[i + 2] === 0x00 && b[i + 3] === 0x04 && (b[i + 1] === 0x42 || b[i + 1] === 0x62))
  expect(at).toBeGreaterThan(0)
  b[at + 10]! ^= 1
  return b
}

const pemOf = (der: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`

describe('certificates with a public key off its curve', () => {
  const hopperPems = nv('hopper-cert-chain.pem').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!
  const brokenLeaf = offCurve(new X509Certificate(hopperPems[0]!).raw)

  it('node parses one and throws only on publicKey; parseCertificate throws at once', () => {
    const lazy = new X509Certificate(Buffer.from(brokenLeaf))
    expect(() => lazy.publicKey).toThrow(/decode error/)
    expect(() => parseCertificate(brokenLeaf)).toThrow(/decode error/)
    expect(parseCertificate(new X509Certificate(hopperPems[0]!).raw).publicKey.asymmetricKeyType).toBe('ec')
  })

  it('emulator root: a reason from emulatorIdentityReasons and from verifyEvidence, no throw', async () => {
    const engine = await EmulatorEngine.open({dataDir: mkdtempSync(join(tmpdir(), 'unet-broken-key-')), pcrs: [0]})
    const evidence = await buildHostEvidence(engine, {qualifyingData: Uint8Array.of(1, 2, 3)}, 1_800_000_000)
    const broken = offCurve(evidence.device.certChain[0]!)
    expect(emulatorIdentityReasons([broken], evidence.device.akPublic!)).toEqual(['the emulator root is not an X.509 certificate'])
    const tampered: Evidence = decodeEvidence(encodeEvidence({...evidence, device: {...evidence.device, certChain: [broken]}}))
    const r = verifyEvidence(tampered, {network: 'devnet', allowEmulator: true, tpmRoots: [], expected: {challenge: Uint8Array.of(1, 2, 3)}})
    expect(r.valid).toBe(false)
    expect(r.reasons).toContain('the emulator root is not an X.509 certificate')
  })

  it('NVIDIA: a PEM chain with such a leaf is an InputError; nvidia-cc evidence with it is a problem, not a throw', async () => {
    const chain = [pemOf(brokenLeaf), ...hopperPems.slice(1)].join('\n')
    expect(() => parseCertChain(chain)).toThrow(InputError)
    expect(() => parseCertChain(chain)).toThrow(/certificate 0 of the chain is not a valid X.509 certificate/)

    const report = new Uint8Array(Buffer.from(nv('hopper-report.hex').trim(), 'hex'))
    const nonce = report.slice(4, 36)
    const good = await toAcceleratorEvidence({kind: 'nvidia-cc', uuid: 'GPU-1', nonce, report, certChainPem: nv('hopper-cert-chain.pem')}, nonce, 1_800_000_000)
    const bad = {...good, device: {...good.device, certChain: [brokenLeaf, ...good.device.certChain.slice(1)]}}
    expect(nvidiaEvidenceInput(bad, new Date())).toMatchObject({problem: expect.stringMatching(/^device\.certChain: .*decode error/)})
    const r = verifyEvidence(bad, {network: 'devnet', allowEmulator: true, tpmRoots: [], expected: {challenge: nonce}})
    expect(r.valid).toBe(false)
  })
})
