import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {probeDevices, attestDevice, toAcceleratorEvidence, verifyDeviceEvidence} from '../../../src/hw/inventory.js'
import {stubLayout} from '../../../src/hw/ffi-kit.js'
import {loadNvml, NVML_SYMBOLS, nvmlLayout} from '../../../src/hw/nvidia/ffi.js'
import {buildStubs, fixture, rigNvml, tempDir, writeConfig} from './stubs.js'

let lib: string
const RIG = fixture('sysfs/gpu-asic-rig')
const RECORDED_NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb'

beforeAll(() => {
  lib = buildStubs().nvml
})

/** Points the stub (loaded once per process) at a fresh config and trace for each test. */
function useConfig(extra: Record<string, string | number> = {}): {trace: string} {
  const dir = tempDir()
  process.env.UNET_NVML_STUB_CONFIG = writeConfig(dir, 'nvml.conf', rigNvml(extra))
  process.env.UNET_NVML_STUB_TRACE = join(dir, 'trace')
  return {trace: join(dir, 'trace')}
}

const traced = (path: string) => {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}

afterEach(() => {
  delete process.env.UNET_NVML_STUB_CONFIG
  delete process.env.UNET_NVML_STUB_TRACE
})

describe('NVML through koffi against the stub libnvidia-ml.so.1', () => {
  it('the TS struct declarations have the C compiler layout of nvml.h', async () => {
    const mine = await nvmlLayout()
    const c = await stubLayout(lib, Object.keys(mine))
    expect(mine).toEqual(c)
    expect(mine.nvmlConfComputeGpuAttestationReport_t).toBe(12 + 32 + 0x2000 + 0x1000)
    expect(mine.nvmlPciInfo_t).toBe(68)
    // nvml.h: a pointer and two unsigned long long, then two unsigned int
    expect(mine).toMatchObject({nvmlEventData_t: 32, 'nvmlEventData_t.eventType': 8, 'nvmlEventData_t.eventData': 16, 'nvmlEventData_t.gpuInstanceId': 24})
  })

  it('pins the NVML functions unet calls: management, CC attestation and error events only, no CUDA', () => {
    // The list is pinned in src (NVML_SYMBOLS); here it must match what ffi.ts binds, what the stub
    // implements (exactly the functions unet binds), and stay within management, CC attestation and the
    // read-only event calls (no nvmlDeviceSet*, nothing that changes or runs work on a GPU).
    for (const s of NVML_SYMBOLS)
      expect(s).toMatch(/^nvml(Init_v2|Shutdown|ErrorString|SystemGet\w+|DeviceGet\w+|DeviceRegisterEvents|EventSet(Create|Wait_v2|Free))$/)
    const stub = readFileSync(new URL('../../../native/nvml-stub/nvml_stub.c', import.meta.url), 'utf8')
    const implemented = [...stub.matchAll(/^(?:const char \*|nvmlReturn_t )(nvml\w+)\(/gm)].map((m) => m[1])
    expect(implemented.sort()).toEqual([...NVML_SYMBOLS].sort())
    const src = readFileSync(new URL('../../../src/hw/nvidia/ffi.ts', import.meta.url), 'utf8')
    const bound = [...src.matchAll(/bind\('[^']*? (\*?)(nvml\w+)\(/g)].map((m) => m[2])
    expect(bound.sort()).toEqual([...NVML_SYMBOLS].sort())
    expect(src).not.toMatch(/\bcu[A-Z]\w+\(|libcuda/)
  })

  it('probeDevices lists the GPUs with UUID+serial, memory, processes, CC state and device key; every NVML call is in the pinned list', async () => {
    const {trace} = useConfig()
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: join(tempDir(), 'absent.so')})
    const h100 = devices.find((d) => d.pciAddress === '0000:17:00.0')!
    expect(h100).toMatchObject({
      family: 'nvidia',
      model: 'NVIDIA H100 80GB HBM3',
      uuid: 'GPU-11111111-2222-3333-4444-555555555555',
      serial: '1654922001234',
      stableId: 'GPU-11111111-2222-3333-4444-555555555555/1654922001234',
      stableIdSource: 'uuid+serial',
      memoryBytes: 85520809984,
      driver: {name: 'nvidia', version: '550.90.07'},
      busy: {state: 'idle', utilisationPercent: 0, processes: []},
      attestation: {support: 'own-key', ccMode: 'on'},
      pci: {vendorId: '0x10de', deviceId: '0x2330', classCode: '0x030200'},
    })
    expect(h100.deviceKey?.algorithm).toBe('ecdsa-p384')
    expect(h100.deviceKey?.raw).toMatch(/^04[0-9a-f]{192}$/)
    const rtx = devices.find((d) => d.pciAddress === '0000:65:00.0')!
    expect(rtx.busy).toEqual({
      state: 'busy',
      utilisationPercent: 87,
      processes: [
        {pid: 4242, usedMemoryBytes: 8388608000},
        {pid: 4243, usedMemoryBytes: 1048576},
      ],
    })
    expect(rtx.stableIdSource).toBe('uuid')
    expect(rtx.reasons.join()).toMatch(/serial: not supported/)
    // sensors the driver gives (rigNvml sets none: NOT_SUPPORTED is no reason, just absent)
    expect(h100.sensors).toBeUndefined()
    expect(h100.reasons.join()).not.toMatch(/temperature|power/)
    const calls = traced(trace)
    expect(calls[0]).toBe('nvmlInit_v2')
    expect(calls.at(-1)).toBe('nvmlShutdown')
    for (const c of calls) expect(NVML_SYMBOLS as readonly string[]).toContain(c.split(' ')[0])
  })

  it('temperature and board power draw, where the driver gives them (management calls, no CUDA)', async () => {
    const {trace} = useConfig({'gpu1.temperature': 71, 'gpu1.power_usage_mw': 398500, 'gpu0.temperature': 34})
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: join(tempDir(), 'absent.so')})
    expect(devices.find((d) => d.pciAddress === '0000:65:00.0')!.sensors).toEqual({temperatureCelsius: 71, powerDrawWatts: 398.5})
    expect(devices.find((d) => d.pciAddress === '0000:17:00.0')!.sensors).toEqual({temperatureCelsius: 34, powerDrawWatts: undefined})
    expect(traced(trace)).toEqual(expect.arrayContaining(['nvmlDeviceGetTemperature', 'nvmlDeviceGetPowerUsage']))
  })

  it('attestDevice passes the 32-byte challenge in the struct; the recorded report verifies only against its recorded nonce', async () => {
    const {trace} = useConfig()
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: '/nonexistent/libbmlib.so'})
    const h100 = devices.find((d) => d.uuid === 'GPU-11111111-2222-3333-4444-555555555555')!
    const challenge = new Uint8Array(32).map((_, i) => i * 7 + 1)
    const parts = await attestDevice(h100, challenge, {nvmlPath: lib})
    expect(parts.kind).toBe('nvidia-cc')
    if (parts.kind !== 'nvidia-cc') return
    expect(traced(trace)).toContain(`nvmlDeviceGetConfComputeGpuAttestationReport ${Buffer.from(challenge).toString('hex')}`)
    const recorded = new Uint8Array(Buffer.from(readFileSync(fixture('nvtrust/hopper-report.hex'), 'latin1').trim(), 'hex'))
    expect(Buffer.from(parts.report).equals(Buffer.from(recorded))).toBe(true)
    expect(parts.certChainPem).toBe(readFileSync(fixture('nvtrust/hopper-cert-chain.pem'), 'latin1'))
    const fresh = verifyDeviceEvidence(parts, challenge)
    expect(fresh.valid).toBe(false)
    expect(fresh.reasons).toEqual([expect.stringMatching(/report nonce 931d8dd0.* differs from the expected/)])
    expect(verifyDeviceEvidence(parts, new Uint8Array(Buffer.from(RECORDED_NONCE, 'hex'))).valid).toBe(true)
    // the key the inventory reports is the key the evidence carries (deviceId is stable across the two)
    const ev = await toAcceleratorEvidence(parts, challenge)
    expect(Buffer.from(ev.device.publicKey).toString('hex')).toBe(h100.deviceKey!.raw)
    await expect(
      attestDevice(
        devices.find((d) => d.pciAddress === '0000:65:00.0')!,
        challenge,
        {nvmlPath: lib},
      ),
    ).rejects.toThrow(/no own attestation key/)
  })

  it('CC mode off: listed, committed by the host TPM, reason "CC mode off"', async () => {
    useConfig({'cc.feature': 0})
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: '/nonexistent/libbmlib.so'})
    const h100 = devices.find((d) => d.pciAddress === '0000:17:00.0')!
    expect(h100.attestation).toEqual({support: 'host-tpm', ccMode: 'off', reason: 'CC mode off'})
    expect(h100.deviceKey).toBeUndefined()
  })

  it.each([
    [9, 'driver not loaded'],
    [4, 'permission denied on /dev/nvidiactl or /dev/nvidia*'],
    [18, 'NVML library and kernel driver versions differ'],
  ])('nvmlInit_v2 failing with %i: the GPUs are still listed with the reason "%s"', async (code, reason) => {
    useConfig({'error.nvmlInit_v2': code})
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: '/nonexistent/libbmlib.so'})
    const gpus = devices.filter((d) => d.family === 'nvidia')
    expect(gpus.map((d) => d.pciAddress)).toEqual(['0000:17:00.0', '0000:65:00.0'])
    for (const g of gpus) {
      expect(g.reasons).toEqual([reason])
      expect(g.attestation.support).toBe('host-tpm')
      expect(g.driver?.version).toBe('550.90.07') // from <sysfs>/module/nvidia/version
    }
  })

  it('a per-GPU permission error on one call keeps the rest of the entry', async () => {
    useConfig({'error.nvmlDeviceGetComputeRunningProcesses_v3': 4})
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: lib, bmlibPath: '/nonexistent/libbmlib.so'})
    const h100 = devices.find((d) => d.pciAddress === '0000:17:00.0')!
    expect(h100.busy.state).toBe('unknown')
    expect(h100.uuid).toBeDefined()
    expect(h100.reasons).toContain('processes: permission denied on /dev/nvidiactl or /dev/nvidia*')
  })

  it('a missing NVML library: NVIDIA GPUs listed with the loader reason, nothing crashes', async () => {
    const dir = tempDir()
    rmSync(dir, {recursive: true})
    const devices = await probeDevices({sysfsRoot: RIG, nvmlPath: join(dir, 'libnvidia-ml.so.1'), bmlibPath: join(dir, 'libbmlib.so')})
    const gpus = devices.filter((d) => d.family === 'nvidia')
    expect(gpus).toHaveLength(2)
    expect(gpus[0]!.reasons[0]).toMatch(/NVML library not loadable: .*libnvidia-ml\.so\.1/)
    await expect(loadNvml(join(dir, 'libnvidia-ml.so.1'))).rejects.toMatchObject({exitCode: 12})
  })
})
