import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {decodeEvidence, encodeEvidence, evidenceDeviceId, type Evidence} from '../../../src/evidence/index.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'

const nv = (f: string) => readFileSync(new URL(`../../../fixtures/nvtrust/${f}`, import.meta.url), 'latin1')
const um = (f: string) => readFileSync(new URL(`../../../fixtures/uminer/${f}`, import.meta.url), 'latin1')
const REPORT = new Uint8Array(Buffer.from(nv('hopper-report.hex').trim(), 'hex'))
const NONCE = REPORT.slice(4, 36)
const ctx = {network: 'devnet', allowEmulator: true, tpmRoots: []}

describe('accelerator evidence in the evidence v1 format, through verifyEvidence', () => {
  it("nvidia-cc: NVIDIA's Hopper sample round-trips the canonical encoding and verifies against its nonce", async () => {
    const ev = await toAcceleratorEvidence(
      {kind: 'nvidia-cc', uuid: 'GPU-11111111-2222-3333-4444-555555555555', nonce: NONCE, report: REPORT, certChainPem: nv('hopper-cert-chain.pem')},
      NONCE,
      1_800_000_000,
    )
    expect(ev.device.publicKey[0]).toBe(0x04)
    expect(ev.device.publicKey).toHaveLength(97)
    expect(ev.device.certChain).toHaveLength(5)
    expect(ev.report.fields).toMatchObject({driverVersion: '550.90.07', vbiosVersion: '96.00.9F.00.01'})
    const back = decodeEvidence(encodeEvidence(ev))
    expect(evidenceDeviceId(back)).toBe(evidenceDeviceId(ev))
    const ok = verifyEvidence(back, {...ctx, expected: {challenge: NONCE}})
    expect(ok.reasons).toEqual([])
    expect(ok.valid).toBe(true)
    expect(ok.warnings.join()).toMatch(/OCSP/)

    const other = NONCE.slice()
    other[0]! ^= 1
    expect(verifyEvidence(back, {...ctx, expected: {challenge: other}}).valid).toBe(false)
    const swappedKey = {...back, device: {...back.device, publicKey: Uint8Array.from([0x04, ...new Uint8Array(96)])}} as Evidence
    expect(verifyEvidence(swappedKey, ctx).reasons).toContain('device.publicKey is not the key of the leaf certificate')
    const otherChain = await toAcceleratorEvidence(
      {kind: 'nvidia-cc', uuid: 'x', nonce: NONCE, report: REPORT, certChainPem: nv('sdk-hopper-cert-chain.pem')},
      NONCE,
    )
    expect(verifyEvidence(otherChain, ctx).valid).toBe(false)
  })

  it("sophgo: uminer's chip signature as evidence verifies; a changed body does not", async () => {
    const message = new Uint8Array(Buffer.from('utility'))
    const ev = await toAcceleratorEvidence(
      {kind: 'sophgo', devid: 6, message, signature: new Uint8Array(Buffer.from(um('utility.sig.hex').trim(), 'hex')), publicKeyPem: um('pubkey_6.pem')},
      message,
    )
    const noChallenge = {...ev, nonce: {qualifyingData: message}} as Evidence
    const r = verifyEvidence(decodeEvidence(encodeEvidence(noChallenge)), ctx)
    expect(r.reasons).toEqual([])
    expect(r.valid).toBe(true)
    expect(ev.device.publicKey).toHaveLength(256)
    const tampered = {
      ...noChallenge,
      report: {...ev.report, body: new Uint8Array(Buffer.from('utilitz'))},
      nonce: {qualifyingData: new Uint8Array(Buffer.from('utilitz'))},
    } as Evidence
    expect(verifyEvidence(tampered, ctx).valid).toBe(false)
  })
})
