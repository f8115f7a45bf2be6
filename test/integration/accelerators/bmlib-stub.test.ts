import {generateKeyPairSync} from 'node:crypto'
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {decodeEvidence, encodeEvidence} from '../../../src/evidence/index.js'
import {attestDevice, probeDevices, toAcceleratorEvidence, verifyDeviceEvidence} from '../../../src/hw/inventory.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'
import {stubLayout} from '../../../src/hw/ffi-kit.js'
import {BMLIB_SYMBOLS, bmlibLayout, loadBmlib} from '../../../src/hw/sophgo/ffi.js'
import {verifySophgoSignature} from '../../../src/hw/sophgo/verify.js'
import {buildStubs, fixture, tempDir, writeConfig} from './stubs.js'

let lib: string
const RIG = fixture('sysfs/gpu-asic-rig')
const bdf = (bus: number, dev: number, fn: number) => (bus << 8) | (dev << 3) | fn

beforeAll(() => {
  lib = buildStubs().bmlib
})

afterEach(() => {
  delete process.env.UNET_BMLIB_STUB_CONFIG
  delete process.env.UNET_BMLIB_STUB_TRACE
})

const KEYS: ReturnType<typeof generateKeyPairSync>[] = []

/** Three BM1684 chips of an SC5+ card (3b:00.0-2) and one BM1684X (5e:00.0), each with a stand-in chip key. */
function rig(extra: Record<string, string | number> = {}) {
  const dir = tempDir()
  const chips = [
    {bdf: bdf(0x3b, 0, 0), chipid: 0x1684, sn: 'HQDZKC5BAJIAJ0272'},
    {bdf: bdf(0x3b, 0, 1), chipid: 0x1684, sn: 'HQDZKC5BAJIAJ0272'},
    {bdf: bdf(0x3b, 0, 2), chipid: 0x1684, sn: 'HQDZKC5BAJIAJ0272'},
    {bdf: bdf(0x5e, 0, 0), chipid: 0x1686, sn: 'HQDZW1TBCJCAJ0008'},
  ]
  const entries: Record<string, string | number> = {device_count: chips.length, driver_version: (0 << 16) | (4 << 8) | 8}
  const pubs: string[] = []
  chips.forEach((c, i) => {
    const {privateKey, publicKey} = (KEYS[i] ??= generateKeyPairSync('rsa', {modulusLength: 2048}))
    const key = join(dir, `chip${i}.key`)
    const pub = join(dir, `pubkey_${i}`)
    writeFileSync(key, privateKey.export({type: 'pkcs8', format: 'pem'}))
    writeFileSync(pub, publicKey.export({type: 'pkcs1', format: 'pem'}))
    pubs.push(readFileSync(pub, 'latin1'))
    // every chip's p2 is a 1680-byte encrypted key blob; chip 0 uses uminer's published p2_6
    const p2 = join(dir, `p2_${i}`)
    if (i === 0) copyFileSync(fixture('uminer/p2_6.bin'), p2)
    else writeFileSync(p2, Buffer.alloc(1680, i))
    Object.assign(entries, {
      [`chip${i}.chipid`]: c.chipid,
      [`chip${i}.sn`]: c.sn,
      [`chip${i}.domain_bdf`]: c.bdf,
      [`chip${i}.mem_total_mb`]: 10694,
      [`chip${i}.mem_used_mb`]: 178,
      [`chip${i}.tpu_util`]: i === 1 ? 35 : 0,
      [`chip${i}.p2`]: p2,
      [`chip${i}.pubkey`]: pub,
      [`chip${i}.key`]: key,
    })
  })
  process.env.UNET_BMLIB_STUB_CONFIG = writeConfig(dir, 'bmlib.conf', {...entries, ...extra})
  process.env.UNET_BMLIB_STUB_TRACE = join(dir, 'trace')
  return {dir, pubs, trace: join(dir, 'trace')}
}

describe('bmlib through koffi against the stub libbmlib.so', () => {
  it('struct layouts match the C compiler (bm_dev_stat_t, bm_misc_info)', async () => {
    const mine = await bmlibLayout()
    expect(mine).toEqual(await stubLayout(lib, Object.keys(mine)))
  })

  it('probeDevices: chips matched to sysfs by PCI address, serial:function ids, memory, TPU use, own RSA key', async () => {
    const {pubs, trace} = rig()
    const devices = await probeDevices({sysfsRoot: RIG, bmlibPath: lib, nvmlPath: '/nonexistent/libnvidia-ml.so.1'})
    const chips = devices.filter((d) => d.family === 'sophgo')
    expect(chips.map((d) => [d.pciAddress, d.model, d.stableId])).toEqual([
      ['0000:3b:00.0', 'BM1684', 'HQDZKC5BAJIAJ0272:0'],
      ['0000:3b:00.1', 'BM1684', 'HQDZKC5BAJIAJ0272:1'],
      ['0000:3b:00.2', 'BM1684', 'HQDZKC5BAJIAJ0272:2'],
      ['0000:5e:00.0', 'BM1684X', 'HQDZW1TBCJCAJ0008:0'],
    ])
    expect(chips[1]).toMatchObject({
      memoryBytes: 10694 * 2 ** 20,
      memoryUsedBytes: 178 * 2 ** 20,
      busy: {state: 'busy', utilisationPercent: 35},
      driver: {name: 'bmsophon', version: '0.4.8'},
      attestation: {support: 'own-key'},
    })
    expect(chips.every((c) => c.deviceKey?.algorithm === 'rsa-2048')).toBe(true)
    expect(new Set(chips.map((c) => c.deviceKey!.spki)).size).toBe(4)
    expect(pubs).toHaveLength(4)
    for (const call of readFileSync(trace, 'utf8').trim().split('\n')) expect(BMLIB_SYMBOLS as readonly string[]).toContain(call)
  })

  it('attestDevice: the chip signs SHA-256 of the whole challenge; the pure verifier accepts it, and only for that challenge', async () => {
    const {trace} = rig()
    const devices = await probeDevices({sysfsRoot: RIG, bmlibPath: lib, nvmlPath: '/nonexistent/libnvidia-ml.so.1'})
    const chip = devices.find((d) => d.pciAddress === '0000:3b:00.0')!
    const challenge = new Uint8Array(32).map((_, i) => 255 - i)
    const parts = await attestDevice(chip, challenge, {bmlibPath: lib})
    expect(parts.kind).toBe('sophgo')
    if (parts.kind !== 'sophgo') return
    expect(parts.signature).toHaveLength(256)
    expect(verifyDeviceEvidence(parts, challenge).valid).toBe(true)
    const other = challenge.slice()
    other[0]! ^= 1
    expect(verifyDeviceEvidence(parts, other).valid).toBe(false)
    expect(verifySophgoSignature(parts.publicKeyPem, challenge, parts.signature).valid).toBe(true)
    expect(readFileSync(trace, 'utf8')).toContain('bmcpu_gen_sign')
    // in the evidence v1 format, through the dispatcher the agent and verifiers use
    const ev = await toAcceleratorEvidence(parts, challenge)
    expect(Buffer.from(ev.device.publicKey).toString('hex')).toBe(chip.deviceKey!.raw)
    const r = verifyEvidence(decodeEvidence(encodeEvidence(ev)), {network: 'devnet', allowEmulator: true, tpmRoots: [], expected: {challenge}})
    expect(r.reasons).toEqual([])
    expect(r.valid).toBe(true)
    expect(verifyEvidence(ev, {network: 'devnet', allowEmulator: true, tpmRoots: [], expected: {challenge: other}}).valid).toBe(false)
  })

  it('key files from a miner key directory (p2_N, pubkey_N) are used; a p2 blob of another chip fails with a typed error', async () => {
    const {dir} = rig()
    const keyDir = join(dir, 'keys')
    mkdirSync(keyDir)
    copyFileSync(join(dir, 'p2_0'), join(keyDir, 'p2_0'))
    copyFileSync(join(dir, 'pubkey_0'), join(keyDir, 'pubkey_0'))
    const devices = await probeDevices({sysfsRoot: RIG, bmlibPath: lib, nvmlPath: '/nonexistent/libnvidia-ml.so.1'})
    const chip0 = devices.find((d) => d.pciAddress === '0000:3b:00.0')!
    const ok = await attestDevice(chip0, new Uint8Array(32), {bmlibPath: lib, sophgoKeyDir: keyDir})
    expect(ok.kind).toBe('sophgo')
    copyFileSync(join(dir, 'p2_1'), join(keyDir, 'p2_0'))
    await expect(attestDevice(chip0, new Uint8Array(32), {bmlibPath: lib, sophgoKeyDir: keyDir})).rejects.toMatchObject({
      exitCode: 12,
      message: expect.stringMatching(/bmcpu_gen_sign failed/),
    })
  })

  it('bmlib errors keep the chips listed with reasons; a missing library lists the sysfs chips', async () => {
    rig({'error.bm_dev_getcount': 1})
    const devices = await probeDevices({sysfsRoot: RIG, bmlibPath: lib, nvmlPath: '/nonexistent/libnvidia-ml.so.1'})
    const chips = devices.filter((d) => d.family === 'sophgo')
    expect(chips).toHaveLength(4)
    expect(chips[0]!.reasons[0]).toMatch(/bm_dev_getcount failed: device not ready/)
    const none = await probeDevices({sysfsRoot: RIG, bmlibPath: '/nonexistent/libbmlib.so', nvmlPath: '/nonexistent/libnvidia-ml.so.1'})
    expect(none.filter((d) => d.family === 'sophgo').map((d) => d.attestation.support)).toEqual(['host-tpm', 'host-tpm', 'host-tpm', 'host-tpm'])
    await expect(loadBmlib('/nonexistent/libbmlib.so')).rejects.toMatchObject({exitCode: 12})
  })
})
