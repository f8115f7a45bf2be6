import {createHash} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode} from '../../../src/errors/index.js'
import {openEngine} from '../../../src/hw/engine.js'
import {loadKoffi} from '../../../src/hw/ffi-kit.js'
import {openLibrary} from '../../../src/hw/tpm2/ffi.js'
import {Tpm2Engine} from '../../../src/hw/tpm2/engine.js'
import {ekTemplateRsa2048} from '../../../src/hw/tpm2/wire.js'
import {parseQuoteAttest, parseSignature, parseTpm2bPublic} from '../../../src/hw/tpm2/structures.js'
import {freePort} from '../../helpers/swtpm.js'
import {swtpm} from '../../helpers/env.js'
import {SWTPM_AK} from '../../helpers/swtpm-engine.js'

const PCRS = [0, 1, 2, 3, 4, 5, 6, 7]

describe('tpm2 engine on swtpm (real tpm2-tss through koffi)', () => {
  let engine: Tpm2Engine
  beforeAll(async () => {
    engine = await Tpm2Engine.open({tcti: swtpm().tcti, akHandle: SWTPM_AK, pcrs: PCRS})
  })
  afterAll(() => engine?.close())

  it('provisions a persisted restricted P-256 AK and reads the RSA EK certificate from NV', async () => {
    const id = await engine.identity()
    expect(id.kind).toBe('tpm2')
    expect(id.publicKey).toHaveLength(65)
    expect(id.publicKey[0]).toBe(4)
    expect(id.deviceId).toMatch(/^0x[0-9a-f]{64}$/)
    const ak = parseTpm2bPublic(id.akPublic)
    expect(ak.type).toBe('ecc')
    expect(ak.curve).toBe(0x0003)
    expect(ak.attributes & 0x00050072).toBe(0x00050072)
    expect(id.certChain).toHaveLength(1)
    expect(id.certChain[0]).toMatch(/^-----BEGIN CERTIFICATE-----/)
    expect(parseTpm2bPublic(id.ekPublic!).type).toBe('rsa')
  })

  it('reuses the persisted AK across sessions', async () => {
    const first = await engine.identity()
    const other = await Tpm2Engine.open({tcti: swtpm().tcti, akHandle: SWTPM_AK, pcrs: PCRS})
    try {
      expect((await other.identity()).deviceId).toBe(first.deviceId)
    } finally {
      other.close()
    }
  })

  it('quotes with the qualifying data and PCR values whose digest the quote commits to', async () => {
    const nonce = createHash('sha256').update('nonce').digest()
    const q = await engine.quote(nonce)
    const attest = parseQuoteAttest(q.attest)
    expect(Buffer.from(attest.extraData).equals(nonce)).toBe(true)
    expect(attest.pcrSelect).toEqual([{hash: 0x000b, pcrs: PCRS}])
    expect([...q.pcrs.values.keys()]).toEqual(PCRS)
    const digest = createHash('sha256')
      .update(Buffer.concat([...q.pcrs.values.values()]))
      .digest()
    expect(Buffer.from(attest.pcrDigest).equals(digest)).toBe(true)
    const sig = parseSignature(q.signature)
    expect(sig.alg).toBe('ecdsa')
  })

  it('1000 quotes in a row never run out of TPM object memory (0x902)', {timeout: 300_000}, async () => {
    const nonce = new Uint8Array(32)
    for (let i = 0; i < 1000; i++) {
      nonce[0] = i & 0xff
      nonce[1] = i >> 8
      const q = await engine.quote(nonce)
      expect(q.attest.length).toBeGreaterThan(60)
    }
    // identity() creates and flushes the EK each time: still no leak
    for (let i = 0; i < 50; i++) await engine.identity()
  })

  it('an unreachable TCTI is HARDWARE_UNAVAILABLE with a hint', async () => {
    const port = await freePort()
    const error = await Tpm2Engine.open({tcti: `swtpm:host=127.0.0.1,port=${port}`, akHandle: SWTPM_AK, pcrs: PCRS}).catch((e: unknown) => e)
    expect(error).toMatchObject({exitCode: ExitCode.HARDWARE_UNAVAILABLE})
    expect((error as {hint: string}).hint).toMatch(/swtpm/)
  })

  it('a missing device names the firmware setting; a missing library names the package', async () => {
    const noDev = await Tpm2Engine.open({tcti: 'device:/dev/tpmrm-none', akHandle: SWTPM_AK, pcrs: PCRS}).catch((e: unknown) => e)
    expect(noDev).toMatchObject({exitCode: ExitCode.HARDWARE_UNAVAILABLE})
    const koffi = await loadKoffi()
    let caught: unknown
    try {
      openLibrary(koffi, 'libtss2-esys.so.0-missing')
    } catch (e) {
      caught = e
    }
    expect(caught).toMatchObject({exitCode: ExitCode.HARDWARE_UNAVAILABLE})
    expect(() => openLibrary(koffi, 'libtss2-mu.so.0')).not.toThrow()
  })

  it('a TPM error is decoded by Tss2_RC_Decode into TPM_ERROR (quoting with a decrypt key)', async () => {
    const ek = engine.tpm.createPrimary(0x10b, ekTemplateRsa2048())
    try {
      let caught: unknown
      try {
        engine.tpm.quote(ek.handle, new Uint8Array(4), {hash: 0x000b, pcrs: [0]})
      } catch (e) {
        caught = e
      }
      expect(caught).toMatchObject({exitCode: ExitCode.TPM_ERROR})
      expect((caught as Error).message).toMatch(/^Esys_Quote failed: tpm:.*\(0x[0-9a-f]+\)$/)
    } finally {
      engine.tpm.flush(ek.handle)
    }
  })

  it('object memory exhaustion (0x902) is decoded into TPM_ERROR with the flush hint, and recovers after flushing', async () => {
    const handles: number[] = []
    let caught: unknown
    try {
      for (let i = 0; i < 10 && caught === undefined; i++) {
        try {
          handles.push(engine.tpm.createPrimary(0x10b, ekTemplateRsa2048()).handle)
        } catch (e) {
          caught = e
        }
      }
    } finally {
      for (const h of handles) engine.tpm.flush(h)
    }
    expect(caught).toMatchObject({exitCode: ExitCode.TPM_ERROR, details: {rc: 0x902}})
    expect((caught as Error).message).toMatch(/^Esys_CreatePrimary failed: tpm:warn\(2\.0\): out of memory for object contexts \(0x902\)$/)
    expect((caught as {hint: string}).hint).toMatch(/flush/)
    expect((await engine.quote(new Uint8Array(4))).attest.length).toBeGreaterThan(0)
  })

  it('refuses a foreign key persisted at the AK handle, with an evict hint', async () => {
    const handle = 0x81010077
    const ek = engine.tpm.createPrimary(0x10b, ekTemplateRsa2048())
    try {
      if (engine.tpm.persistent(handle) === undefined) engine.tpm.evict(ek.handle, handle)
    } finally {
      engine.tpm.flush(ek.handle)
    }
    const other = await Tpm2Engine.open({tcti: swtpm().tcti, akHandle: handle, pcrs: PCRS})
    try {
      await expect(other.quote(new Uint8Array(1))).rejects.toMatchObject({exitCode: ExitCode.TPM_ERROR, hint: expect.stringMatching(/tpm2_evictcontrol/)})
    } finally {
      other.close()
    }
  })

  it('openEngine(auto) takes the TPM when it answers', async () => {
    const e = await openEngine({
      engine: 'auto',
      tcti: swtpm().tcti,
      dataDir: '/nonexistent',
      akHandle: `0x${SWTPM_AK.toString(16)}`,
      pcrs: PCRS,
      profile: {name: 'testnet', allowEmulator: false},
    })
    try {
      expect(e.kind).toBe('tpm2')
    } finally {
      e.close()
    }
  })
})
