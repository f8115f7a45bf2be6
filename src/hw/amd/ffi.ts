/**
 * AMD SMI (libamd_smi.so) through koffi, loaded lazily (src/hw/ffi-kit.ts): GPU enumeration (sockets →
 * processors), PCI address, UUID, ASIC info (market name, serial), driver version, VRAM use and
 * activity. Management queries only. Declarations follow ROCm/amdsmi include/amd_smi/amdsmi.h (lib version 24.7); the stub
 * in native/amdsmi-stub implements the same subset.
 */
import {HardwareUnavailableError} from '../../errors/index.js'
import {binder, cString, declareOnce, layoutOf, loadKoffi, openLibrary, type KoffiLibrary} from '../ffi-kit.js'

export const AMDSMI_SYMBOLS = [
  'amdsmi_init',
  'amdsmi_shut_down',
  'amdsmi_get_socket_handles',
  'amdsmi_get_processor_handles',
  'amdsmi_get_gpu_device_bdf',
  'amdsmi_get_gpu_device_uuid',
  'amdsmi_get_gpu_asic_info',
  'amdsmi_get_gpu_driver_info',
  'amdsmi_get_gpu_vram_usage',
  'amdsmi_get_gpu_activity',
] as const

const DEFAULT_AMDSMI_LIBRARY = 'libamd_smi.so'
const AMDSMI_INIT_AMD_GPUS = 1n << 1n

const STATUS: Record<number, string> = {
  1: 'invalid parameters',
  2: 'not supported',
  10: 'permission denied',
  18: 'init error',
  31: 'not found',
  32: 'not initialized',
  34: 'driver not loaded',
  41: 'insufficient size',
}

class AmdSmiError extends HardwareUnavailableError {
  constructor(
    readonly symbol: string,
    readonly status: number,
  ) {
    super(`${symbol} failed: ${STATUS[status] ?? 'error'} (amdsmi status ${status})`, {details: {symbol, status}, hint: 'check the GPU with `amd-smi list`'})
  }

  get reason(): string {
    if (this.status === 34) return 'driver not loaded'
    if (this.status === 10) return 'permission denied on /dev/kfd or /dev/dri'
    return this.message
  }
}

export interface AmdSmiGpu {
  pciAddress: string
  uuid?: string
  marketName?: string
  asicSerial?: string
  deviceId?: number
  driverVersion?: string
  vramTotalMiB?: number
  vramUsedMiB?: number
  gfxActivity?: number
  /** Per-call failures ("uuid: not supported"). */
  reasons: string[]
}

export interface AmdSmi {
  readonly path: string
  /** Every AMD GPU amdsmi reports (init … shut_down inside). */
  gpus(): AmdSmiGpu[]
}

const amdsmiTypes = declareOnce((k) => ({
  asic: k.struct('amdsmi_asic_info_t', {
    market_name: k.array('char', 256, 'String'),
    vendor_id: 'uint32_t',
    vendor_name: k.array('char', 64, 'String'),
    subvendor_id: 'uint32_t',
    device_id: 'uint64_t',
    rev_id: 'uint32_t',
    asic_serial: k.array('char', 32, 'String'),
    oam_id: 'uint32_t',
    num_of_compute_units: 'uint32_t',
    target_graphics_version: 'uint64_t',
    reserved: k.array('uint32_t', 15),
  }),
  driver: k.struct('amdsmi_driver_info_t', {
    driver_version: k.array('char', 64, 'String'),
    driver_date: k.array('char', 64, 'String'),
    driver_name: k.array('char', 64, 'String'),
  }),
  vram: k.struct('amdsmi_vram_usage_t', {vram_total: 'uint32_t', vram_used: 'uint32_t', reserved: k.array('uint32_t', 2)}),
  engine: k.struct('amdsmi_engine_usage_t', {gfx_activity: 'uint32_t', umc_activity: 'uint32_t', mm_activity: 'uint32_t', reserved: k.array('uint32_t', 13)}),
}))

export const amdsmiLayout = layoutOf(amdsmiTypes, (t) => ({
  amdsmi_asic_info_t: [t.asic, 'device_id', 'asic_serial'],
  amdsmi_driver_info_t: [t.driver],
  amdsmi_vram_usage_t: [t.vram],
  amdsmi_engine_usage_t: [t.engine],
}))

/** amdsmi_bdf_t bit fields: function 3, device 5, bus 8, domain 48 (LSB first). */
export function formatBdf(v: bigint): string {
  const fn = Number(v & 7n)
  const dev = Number((v >> 3n) & 0x1fn)
  const bus = Number((v >> 8n) & 0xffn)
  const domain = Number(v >> 16n)
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0')
  return `${h(domain, 4)}:${h(bus, 2)}:${h(dev, 2)}.${fn}`
}

export async function loadAmdSmi(path?: string): Promise<AmdSmi> {
  const k = await loadKoffi()
  amdsmiTypes(k) // before binding: the signatures name these types
  const libPath = path && path.length > 0 ? path : DEFAULT_AMDSMI_LIBRARY
  const lib = openLibrary(k, libPath, {message: `AMD SMI library not loadable: ${libPath}`, hint: 'install ROCm amd-smi-lib or set UNET_AMDSMI_PATH'})
  const f = bindAmdSmi(lib, libPath)
  return {
    path: libPath,
    gpus() {
      check('amdsmi_init', f.amdsmi_init(AMDSMI_INIT_AMD_GPUS))
      try {
        const sockets = handles('amdsmi_get_socket_handles', (c, b) => f.amdsmi_get_socket_handles(c, b))
        return sockets.flatMap((socket) =>
          handles('amdsmi_get_processor_handles', (c, b) => f.amdsmi_get_processor_handles(socket, c, b)).map((p) => readGpu(f, p)),
        )
      } finally {
        f.amdsmi_shut_down()
      }
    },
  }
}

/** Every function of AMDSMI_SYMBOLS, bound (a missing one names the library and the symbol). */
function bindAmdSmi(lib: KoffiLibrary, path: string) {
  const bind = binder(lib, {name: 'AMD SMI', path})
  return {
    amdsmi_init: bind('uint32_t amdsmi_init(uint64_t flags)'),
    amdsmi_shut_down: bind('uint32_t amdsmi_shut_down()'),
    amdsmi_get_socket_handles: bind('uint32_t amdsmi_get_socket_handles(_Inout_ uint32_t *count, void *handles)'),
    amdsmi_get_processor_handles: bind('uint32_t amdsmi_get_processor_handles(void *socket, _Inout_ uint32_t *count, void *handles)'),
    amdsmi_get_gpu_device_bdf: bind('uint32_t amdsmi_get_gpu_device_bdf(void *processor, _Out_ uint64_t *bdf)'),
    amdsmi_get_gpu_device_uuid: bind('uint32_t amdsmi_get_gpu_device_uuid(void *processor, _Inout_ unsigned int *length, _Out_ uint8_t *uuid)'),
    amdsmi_get_gpu_asic_info: bind('uint32_t amdsmi_get_gpu_asic_info(void *processor, _Out_ amdsmi_asic_info_t *info)'),
    amdsmi_get_gpu_driver_info: bind('uint32_t amdsmi_get_gpu_driver_info(void *processor, _Out_ amdsmi_driver_info_t *info)'),
    amdsmi_get_gpu_vram_usage: bind('uint32_t amdsmi_get_gpu_vram_usage(void *processor, _Out_ amdsmi_vram_usage_t *info)'),
    amdsmi_get_gpu_activity: bind('uint32_t amdsmi_get_gpu_activity(void *processor, _Out_ amdsmi_engine_usage_t *info)'),
  }
}

type AmdSmiFunctions = ReturnType<typeof bindAmdSmi>

function check(symbol: string, code: number): void {
  if (code !== 0) throw new AmdSmiError(symbol, code)
}

/** Two-call handle enumeration: count first, then a buffer of pointers. */
function handles(symbol: string, call: (count: number[], buf: Buffer | null) => number): bigint[] {
  const count = [0]
  check(symbol, call(count, null))
  if (count[0] === 0) return []
  const buf = Buffer.alloc(count[0]! * 8)
  check(symbol, call(count, buf))
  return Array.from({length: count[0]!}, (_, i) => buf.readBigUInt64LE(i * 8))
}

/** One processor: its PCI address (required), then every other query, each failure a reason. */
function readGpu(f: AmdSmiFunctions, p: bigint): AmdSmiGpu {
  const reasons: string[] = []
  const attempt = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn()
    } catch (error) {
      reasons.push(`${what}: ${error instanceof AmdSmiError ? error.reason : (error as Error).message}`)
      return undefined
    }
  }
  const struct = <T>(symbol: keyof AmdSmiFunctions): T => {
    const out = {} as T
    check(symbol, f[symbol](p, out))
    return out
  }
  const bdf = [0n]
  check('amdsmi_get_gpu_device_bdf', f.amdsmi_get_gpu_device_bdf(p, bdf))
  const uuid = attempt('uuid', () => {
    const buf = Buffer.alloc(64)
    const len = [buf.length]
    check('amdsmi_get_gpu_device_uuid', f.amdsmi_get_gpu_device_uuid(p, len, buf))
    return cString(buf.subarray(0, len[0]), 'latin1')
  })
  const asic = attempt('asic info', () => struct<Record<string, unknown>>('amdsmi_get_gpu_asic_info'))
  const driver = attempt('driver info', () => struct<Record<string, unknown>>('amdsmi_get_gpu_driver_info'))
  const vram = attempt('VRAM usage', () => struct<Record<string, number>>('amdsmi_get_gpu_vram_usage'))
  const activity = attempt('activity', () => struct<Record<string, number>>('amdsmi_get_gpu_activity'))
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined)
  return {
    pciAddress: formatBdf(BigInt(bdf[0]!)),
    uuid: str(uuid),
    marketName: str(asic?.market_name),
    asicSerial: str(asic?.asic_serial),
    deviceId: asic ? Number(asic.device_id) : undefined,
    driverVersion: str(driver?.driver_version),
    vramTotalMiB: vram?.vram_total,
    vramUsedMiB: vram?.vram_used,
    gfxActivity: activity?.gfx_activity,
    reasons,
  }
}
