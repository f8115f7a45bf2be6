import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {AMDSMI_SYMBOLS, amdsmiLayout, formatBdf, loadAmdSmi} from '../../../src/hw/amd/ffi.js'
import {probeDevices} from '../../../src/hw/inventory.js'
import {stubLayout} from '../../../src/hw/ffi-kit.js'
import {buildStubs, fixture, tempDir, writeConfig} from './stubs.js'

let lib: string
const RIG = fixture('sysfs/gpu-asic-rig')
const NO_DRIVER = fixture('sysfs/no-driver')
const NONE = {nvmlPath: '/nonexistent/libnvidia-ml.so.1', bmlibPath: '/nonexistent/libbmlib.so'}

beforeAll(() => {
  lib = buildStubs().amdsmi
})

afterEach(() => {
  delete process.env.UNET_AMDSMI_STUB_CONFIG
  delete process.env.UNET_AMDSMI_STUB_TRACE
})

function useConfig(extra: Record<string, string | number> = {}): string {
  const dir = tempDir()
  process.env.UNET_AMDSMI_STUB_CONFIG = writeConfig(dir, 'amdsmi.conf', {
    device_count: 1,
    driver_version: '6.7.0',
    'gpu0.bdf': '0000:c1:00.0',
    'gpu0.uuid': '5fff74a1-0000-1000-80e2-9a8c3b6f4d21',
    'gpu0.market_name': 'AMD Instinct MI210',
    'gpu0.asic_serial': '0xD2B7A1C0E95F1234',
    'gpu0.device_id': '0x740f',
    'gpu0.vram_total_mb': 65520,
    'gpu0.vram_used_mb': 10,
    'gpu0.gfx_activity': 12,
    ...extra,
  })
  process.env.UNET_AMDSMI_STUB_TRACE = join(dir, 'trace')
  return join(dir, 'trace')
}

/** The AMD device probeDevices reports for a sysfs tree, with amdsmi loaded from amdsmiPath. */
async function probeAmd(sysfsRoot: string, amdsmiPath = lib) {
  return (await probeDevices({sysfsRoot, amdsmiPath, ...NONE})).find((d) => d.family === 'amd')!
}

describe('AMD SMI through koffi against the stub libamd_smi.so', () => {
  it('struct layouts match the C compiler (asic info, driver info, VRAM usage, engine usage)', async () => {
    const mine = await amdsmiLayout()
    expect(mine).toEqual(await stubLayout(lib, Object.keys(mine)))
  })

  it('decodes amdsmi_bdf_t bit fields', () => {
    expect(formatBdf((0n << 16n) | (0xc1n << 8n) | (0n << 3n) | 0n)).toBe('0000:c1:00.0')
    expect(formatBdf((0x10n << 16n) | (0x3bn << 8n) | (0x1fn << 3n) | 7n)).toBe('0010:3b:1f.7')
  })

  it('enumerates sockets → processors and reads identity, memory and activity, calling only pinned symbols', async () => {
    const trace = useConfig()
    const [gpu] = (await loadAmdSmi(lib)).gpus()
    expect(gpu).toEqual({
      pciAddress: '0000:c1:00.0',
      uuid: '5fff74a1-0000-1000-80e2-9a8c3b6f4d21',
      marketName: 'AMD Instinct MI210',
      asicSerial: '0xD2B7A1C0E95F1234',
      deviceId: 0x740f,
      driverVersion: '6.7.0',
      vramTotalMiB: 65520,
      vramUsedMiB: 10,
      gfxActivity: 12,
      reasons: [],
    })
    const calls = readFileSync(trace, 'utf8').trim().split('\n')
    expect(calls[0]).toBe('amdsmi_init')
    expect(calls.at(-1)).toBe('amdsmi_shut_down')
    for (const c of calls) expect(AMDSMI_SYMBOLS as readonly string[]).toContain(c)
  })

  it('probeDevices: sysfs unique_id stays the stable id; amdsmi fills the UUID', async () => {
    useConfig()
    expect(await probeAmd(RIG)).toMatchObject({
      stableId: 'amd:3f4a71c2a0e6d1b8',
      stableIdSource: 'unique_id',
      uuid: '5fff74a1-0000-1000-80e2-9a8c3b6f4d21',
      model: 'AMD Instinct MI210',
      attestation: {support: 'host-tpm'},
    })
  })

  it('without amdgpu sysfs attributes, amdsmi supplies serial-based identity, memory and activity', async () => {
    useConfig()
    const amd = await probeAmd(NO_DRIVER)
    expect(amd).toMatchObject({
      stableId: 'amd-sn:0xD2B7A1C0E95F1234',
      stableIdSource: 'serial',
      memoryBytes: 65520 * 2 ** 20,
      busy: {state: 'busy', utilisationPercent: 12},
    })
    expect(amd.reasons).toContain('driver not loaded')
  })

  it('amdsmi errors and a missing library leave the sysfs view intact', async () => {
    useConfig({'error.amdsmi_init': 34})
    const amd = await probeAmd(RIG)
    expect(amd.stableId).toBe('amd:3f4a71c2a0e6d1b8')
    expect(amd.uuid).toBeUndefined()
    useConfig({'error.amdsmi_get_gpu_device_uuid': 2})
    const [gpu] = (await loadAmdSmi(lib)).gpus()
    expect(gpu!.reasons).toEqual(['uuid: amdsmi_get_gpu_device_uuid failed: not supported (amdsmi status 2)'])
    await expect(loadAmdSmi('/nonexistent/libamd_smi.so')).rejects.toMatchObject({exitCode: 12})
    const plain = await probeAmd(RIG, '/nonexistent/libamd_smi.so')
    expect(plain.memoryBytes).toBe(68702699520)
  })
})
