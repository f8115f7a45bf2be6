import {mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {decodeEvidence, encodeEvidence, evidenceDigestHex, quoteQualifyingData, type HostEvidence} from '../../../src/evidence/index.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'

const PCRS = [0, 1, 2, 3, 4, 5, 6, 7]
const challenge = new Uint8Array(32).fill(7)
const devices = [{deviceId: '0x' + '11'.repeat(32), evidenceDigest: '0x' + '22'.repeat(32)}]
const ctx = {network: 'devnet', allowEmulator: true, tpmRoots: []}

async function emulatorEvidence(): Promise<{dataDir: string; evidence: HostEvidence}> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unet-emu-'))
  const engine = await EmulatorEngine.open({dataDir, pcrs: PCRS})
  const evidence = await buildHostEvidence(engine, {qualifyingData: quoteQualifyingData(challenge, devices), challenge, devices}, 1_800_000_000)
  return {dataDir, evidence}
}

describe('evidence v1 (canonical JSON) with emulator quotes', () => {
  it('round-trips byte for byte; the digest is stable; the key file is 0600', async () => {
    const {dataDir, evidence} = await emulatorEvidence()
    expect(statSync(join(dataDir, 'emulator', 'key.pem')).mode & 0o777).toBe(0o600)
    const bytes = encodeEvidence(evidence)
    const text = new TextDecoder().decode(bytes)
    expect(text.startsWith('{"device":{')).toBe(true)
    const back = decodeEvidence(bytes)
    expect(Buffer.from(encodeEvidence(back)).equals(Buffer.from(bytes))).toBe(true)
    expect(evidenceDigestHex(back)).toBe(evidenceDigestHex(evidence))
    expect(evidenceDigestHex(evidence)).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('refuses non-canonical encodings (whitespace, key order, unknown fields)', async () => {
    const {evidence} = await emulatorEvidence()
    const text = new TextDecoder().decode(encodeEvidence(evidence))
    const enc = (s: string) => new TextEncoder().encode(s)
    expect(() => decodeEvidence(enc(JSON.stringify(JSON.parse(text), null, 1)))).toThrow(/canonical/)
    expect(() => decodeEvidence(enc(text.replace('{"device":', '{"extra":1,"device":')))).toThrow(/not a v1 field/)
    expect(() => decodeEvidence(enc(text.replace('"v":1', '"v":2')))).toThrow(/version/)
  })

  it('verifyEvidence accepts the emulator on devnet and refuses it where allowEmulator=false', async () => {
    const {evidence} = await emulatorEvidence()
    const ok = verifyEvidence(evidence, {...ctx, expected: {challenge}})
    expect(ok.reasons).toEqual([])
    expect(ok.valid).toBe(true)
    expect(ok.kind).toBe('emulator')
    const refused = verifyEvidence(evidence, {...ctx, network: 'testnet', allowEmulator: false})
    expect(refused).toMatchObject({valid: false, refused: 'emulator'})
  })

  it('a wrong challenge, a changed PCR, a flipped signature byte all fail with reasons', async () => {
    const {evidence} = await emulatorEvidence()
    expect(verifyEvidence(evidence, {...ctx, expected: {challenge: new Uint8Array(32)}}).valid).toBe(false)
    const pcr = structuredClone(evidence)
    pcr.quote.pcrs.values.set(3, new Uint8Array(32).fill(1))
    expect(verifyEvidence(pcr, ctx).reasons).toContain('pcrDigest does not match the PCR values')
    const sig = structuredClone(evidence)
    sig.quote.signature[10]! ^= 1
    expect(verifyEvidence(sig, ctx).reasons.join()).toMatch(/signature/)
    const nonce = structuredClone(evidence)
    nonce.nonce.devices = [{...devices[0]!, evidenceDigest: '0x' + '33'.repeat(32)}]
    expect(verifyEvidence(nonce, ctx).reasons.join()).toMatch(/qualifyingData/)
  })
})
