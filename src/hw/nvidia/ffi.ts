/**
 * NVML through koffi: management queries, the confidential-computing attestation calls and the event
 * calls that read Xid/ECC errors (no CUDA context, no kernels). koffi is imported lazily, on the first load (src/hw/ffi-kit.ts). The
 * library path is configurable (config key nvmlPath); the stub in native/nvml-stub implements the same
 * ABI subset. Struct layouts follow NVIDIA's nvml.h (API version 12); a test compares them with the C
 * compiler's. loadNvml = open the library → bind NVML_SYMBOLS → the Nvml interface over them.
 */
import {HardwareUnavailableError} from '../../errors/index.js'
import {binder, cString, declareOnce, layoutOf, loadKoffi, openLibrary, type KoffiLibrary, type KoffiType} from '../ffi-kit.js'

/** Every NVML symbol unet binds. A test pins this list: management calls only. */
export const NVML_SYMBOLS = [
  'nvmlInit_v2',
  'nvmlShutdown',
  'nvmlErrorString',
  'nvmlSystemGetDriverVersion',
  'nvmlSystemGetConfComputeState',
  'nvmlDeviceGetCount_v2',
  'nvmlDeviceGetHandleByIndex_v2',
  'nvmlDeviceGetName',
  'nvmlDeviceGetUUID',
  'nvmlDeviceGetSerial',
  'nvmlDeviceGetPciInfo_v3',
  'nvmlDeviceGetMemoryInfo',
  'nvmlDeviceGetUtilizationRates',
  'nvmlDeviceGetTemperature',
  'nvmlDeviceGetPowerUsage',
  'nvmlDeviceGetComputeRunningProcesses_v3',
  'nvmlDeviceGetConfComputeGpuCertificate',
  'nvmlDeviceGetConfComputeGpuAttestationReport',
  // events (read-only monitoring of Xid/ECC errors: registering changes nothing on the GPU)
  'nvmlEventSetCreate',
  'nvmlDeviceGetSupportedEventTypes',
  'nvmlDeviceRegisterEvents',
  'nvmlEventSetWait_v2',
  'nvmlEventSetFree',
] as const

export const DEFAULT_NVML_LIBRARY = 'libnvidia-ml.so.1'
export const NVML_NONCE_SIZE = 32
/** nvmlTemperatureSensors_t: the GPU die. */
const NVML_TEMPERATURE_GPU = 0

/**
 * nvmlEventType bits (nvml.h): the Xid critical errors and double-bit (uncorrectable) ECC errors are
 * what the agent registers. Single-bit ECC errors are corrected by the hardware and not asked for.
 */
export const NVML_EVENT = {
  SINGLE_BIT_ECC: 0x1n,
  DOUBLE_BIT_ECC: 0x2n,
  XID_CRITICAL: 0x8n,
} as const

const NVML_RETURN = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
  TIMEOUT: 10,
  LIBRARY_NOT_FOUND: 12,
  FUNCTION_NOT_FOUND: 13,
  GPU_IS_LOST: 15,
  LIB_RM_VERSION_MISMATCH: 18,
} as const

/** An NVML call that returned an error code; `reason` is the short text for `unet devices`. */
class NvmlError extends HardwareUnavailableError {
  constructor(
    readonly symbol: string,
    readonly nvmlCode: number,
    text: string,
  ) {
    super(`${symbol} failed: ${text} (NVML ${nvmlCode})`, {details: {symbol, nvmlCode}, hint: nvmlHint(nvmlCode)})
  }

  get reason(): string {
    switch (this.nvmlCode) {
      case NVML_RETURN.DRIVER_NOT_LOADED:
        return 'driver not loaded'
      case NVML_RETURN.NO_PERMISSION:
        return 'permission denied on /dev/nvidiactl or /dev/nvidia*'
      case NVML_RETURN.NOT_SUPPORTED:
        return 'not supported by this GPU or driver'
      case NVML_RETURN.LIB_RM_VERSION_MISMATCH:
        return 'NVML library and kernel driver versions differ'
      case NVML_RETURN.GPU_IS_LOST:
        return 'GPU fell off the bus'
      default:
        return this.message
    }
  }
}

function nvmlHint(code: number): string {
  if (code === NVML_RETURN.DRIVER_NOT_LOADED) return 'load the NVIDIA kernel driver (nvidia.ko) or check `nvidia-smi`'
  if (code === NVML_RETURN.NO_PERMISSION) return 'run unet as a user that can open /dev/nvidiactl (group video or root)'
  if (code === NVML_RETURN.LIB_RM_VERSION_MISMATCH) return 'reboot or reload the driver after a driver upgrade'
  return 'check `nvidia-smi -q` for the GPU state'
}

export interface NvmlPciInfo {
  busId: string
  domain: number
  bus: number
  device: number
  /** (device id << 16) | vendor id */
  pciDeviceId: number
  pciSubSystemId: number
}

export interface NvmlMemory {
  total: bigint
  free: bigint
  used: bigint
}

export interface NvmlProcess {
  pid: number
  usedGpuMemory: bigint
}

export interface NvmlCcState {
  /** 0 unavailable, 1 simulation, 2 production */
  environment: number
  /** 0 disabled, 1 enabled */
  ccFeature: number
  devToolsMode: number
}

/** Opaque device handle (a pointer, BigInt in koffi 3). */
export type NvmlDevice = unknown

/** Opaque event set handle (nvmlEventSet_t). */
export type NvmlEventSet = unknown

/** One nvmlEventData_t. */
export interface NvmlEvent {
  /** The handle of the device it occurred on (the same value nvml.handle(index) returns). */
  device: NvmlDevice
  /** One NVML_EVENT bit. */
  eventType: bigint
  /** The Xid for an Xid event (999: an Xid NVML does not know), else 0. */
  eventData: bigint
  /** MIG instance ids, 0xFFFFFFFF when not attributable to one. */
  gpuInstanceId: number
  computeInstanceId: number
}

export interface Nvml {
  readonly path: string
  init(): void
  shutdown(): void
  driverVersion(): string
  ccState(): NvmlCcState
  count(): number
  handle(index: number): NvmlDevice
  name(d: NvmlDevice): string
  uuid(d: NvmlDevice): string
  serial(d: NvmlDevice): string
  pciInfo(d: NvmlDevice): NvmlPciInfo
  memory(d: NvmlDevice): NvmlMemory
  utilization(d: NvmlDevice): {gpu: number; memory: number}
  /** GPU core temperature, °C (NVML_TEMPERATURE_GPU). */
  temperature(d: NvmlDevice): number
  /** Board power draw, milliwatts. */
  powerUsage(d: NvmlDevice): number
  processes(d: NvmlDevice): NvmlProcess[]
  /** The GPU attestation certificate chain (PEM text, leaf first) and the device identity chain. */
  certificate(d: NvmlDevice): {attestationCertChain: Uint8Array; certChain: Uint8Array}
  attestationReport(d: NvmlDevice, nonce: Uint8Array): Uint8Array
  eventSetCreate(): NvmlEventSet
  /** The NVML_EVENT bits the device can report. */
  supportedEventTypes(d: NvmlDevice): bigint
  registerEvents(d: NvmlDevice, eventTypes: bigint, set: NvmlEventSet): void
  /**
   * The next event of the set, or undefined when none came within `timeoutMs`. nvmlEventSetWait_v2
   * blocks its thread until then, so it runs through koffi's async form on a worker thread: the event
   * loop (heartbeats, metrics) never waits on it.
   */
  eventSetWait(set: NvmlEventSet, timeoutMs: number): Promise<NvmlEvent | undefined>
  eventSetFree(set: NvmlEventSet): void
}

interface Types {
  device: KoffiType
  pci: KoffiType
  memory: KoffiType
  utilization: KoffiType
  process: KoffiType
  ccState: KoffiType
  certificate: KoffiType
  report: KoffiType
  eventSet: KoffiType
  eventData: KoffiType
}

const nvmlTypes = declareOnce((k): Types => ({
  device: k.pointer('nvmlDevice_t', k.opaque('nvmlDevice_st')),
  pci: k.struct('nvmlPciInfo_t', {
    busIdLegacy: k.array('char', 16, 'String'),
    domain: 'uint32_t',
    bus: 'uint32_t',
    device: 'uint32_t',
    pciDeviceId: 'uint32_t',
    pciSubSystemId: 'uint32_t',
    busId: k.array('char', 32, 'String'),
  }),
  memory: k.struct('nvmlMemory_t', {total: 'uint64_t', free: 'uint64_t', used: 'uint64_t'}),
  utilization: k.struct('nvmlUtilization_t', {gpu: 'uint32_t', memory: 'uint32_t'}),
  process: k.struct('nvmlProcessInfo_t', {pid: 'uint32_t', usedGpuMemory: 'uint64_t', gpuInstanceId: 'uint32_t', computeInstanceId: 'uint32_t'}),
  ccState: k.struct('nvmlConfComputeSystemState_t', {environment: 'uint32_t', ccFeature: 'uint32_t', devToolsMode: 'uint32_t'}),
  certificate: k.struct('nvmlConfComputeGpuCertificate_t', {
    certChainSize: 'uint32_t',
    attestationCertChainSize: 'uint32_t',
    certChain: k.array('uint8_t', 0x1000, 'Typed'),
    attestationCertChain: k.array('uint8_t', 0x1400, 'Typed'),
  }),
  report: k.struct('nvmlConfComputeGpuAttestationReport_t', {
    isCecAttestationReportPresent: 'uint32_t',
    attestationReportSize: 'uint32_t',
    cecAttestationReportSize: 'uint32_t',
    nonce: k.array('uint8_t', 0x20, 'Typed'),
    attestationReport: k.array('uint8_t', 0x2000, 'Typed'),
    cecAttestationReport: k.array('uint8_t', 0x1000, 'Typed'),
  }),
  eventSet: k.pointer('nvmlEventSet_t', k.opaque('nvmlEventSet_st')),
  eventData: k.struct('nvmlEventData_t', {
    device: 'nvmlDevice_t',
    eventType: 'unsigned long long',
    eventData: 'unsigned long long',
    gpuInstanceId: 'unsigned int',
    computeInstanceId: 'unsigned int',
  }),
}))

/** sizeof/offsetof of the TS declarations, for the layout test against the C compiler. */
export const nvmlLayout = layoutOf(nvmlTypes, (t) => ({
  nvmlPciInfo_t: [t.pci, 'busId', 'pciDeviceId'],
  nvmlMemory_t: [t.memory],
  nvmlUtilization_t: [t.utilization],
  nvmlProcessInfo_t: [t.process, 'usedGpuMemory'],
  nvmlConfComputeSystemState_t: [t.ccState],
  nvmlConfComputeGpuCertificate_t: [t.certificate, 'attestationCertChain'],
  nvmlConfComputeGpuAttestationReport_t: [t.report, 'nonce', 'attestationReport'],
  nvmlEventData_t: [t.eventData, 'eventType', 'eventData', 'gpuInstanceId', 'computeInstanceId'],
}))

/**
 * Loads NVML. Throws HardwareUnavailableError when the library is absent or lacks a symbol; the
 * caller lists NVIDIA PCI devices anyway, with that reason.
 */
export async function loadNvml(path?: string): Promise<Nvml> {
  const k = await loadKoffi()
  const types = nvmlTypes(k) // before binding: the signatures name these types
  const libPath = path && path.length > 0 ? path : DEFAULT_NVML_LIBRARY
  const lib = openLibrary(k, libPath, {message: `NVML library not loadable: ${libPath}`, hint: 'install the NVIDIA driver (libnvidia-ml.so.1) or set nvmlPath'})
  const calls = nvmlCalls(bindNvml(lib, libPath))
  const decodeProcesses = (buf: Buffer, n: number) => k.decode(buf, types.process, n) as Record<string, unknown>[]
  const decodeEvent = (buf: Buffer) => k.decode(buf, types.eventData) as Record<string, unknown>
  return nvmlApi(libPath, calls, {size: k.sizeof(types.process), decode: decodeProcesses}, {size: k.sizeof(types.eventData), decode: decodeEvent})
}

/** Every function of NVML_SYMBOLS, bound (a missing one names the library and the symbol). */
function bindNvml(lib: KoffiLibrary, path: string) {
  const bind = binder(lib, {name: 'NVML library', path, hint: 'update the NVIDIA driver (R535 or newer has every function unet calls)'})
  // One bind('…') per line: test/integration/accelerators/nvml-stub.test.ts reads them from this file.
  // prettier-ignore
  return {
    nvmlInit_v2: bind('int nvmlInit_v2()'),
    nvmlShutdown: bind('int nvmlShutdown()'),
    nvmlErrorString: bind('const char *nvmlErrorString(int result)'),
    nvmlSystemGetDriverVersion: bind('int nvmlSystemGetDriverVersion(_Out_ uint8_t *version, unsigned int length)'),
    nvmlSystemGetConfComputeState: bind('int nvmlSystemGetConfComputeState(_Out_ nvmlConfComputeSystemState_t *state)'),
    nvmlDeviceGetCount_v2: bind('int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)'),
    nvmlDeviceGetHandleByIndex_v2: bind('int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)'),
    nvmlDeviceGetName: bind('int nvmlDeviceGetName(nvmlDevice_t device, _Out_ uint8_t *name, unsigned int length)'),
    nvmlDeviceGetUUID: bind('int nvmlDeviceGetUUID(nvmlDevice_t device, _Out_ uint8_t *uuid, unsigned int length)'),
    nvmlDeviceGetSerial: bind('int nvmlDeviceGetSerial(nvmlDevice_t device, _Out_ uint8_t *serial, unsigned int length)'),
    nvmlDeviceGetPciInfo_v3: bind('int nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, _Out_ nvmlPciInfo_t *pci)'),
    nvmlDeviceGetMemoryInfo: bind('int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, _Out_ nvmlMemory_t *memory)'),
    nvmlDeviceGetUtilizationRates: bind('int nvmlDeviceGetUtilizationRates(nvmlDevice_t device, _Out_ nvmlUtilization_t *utilization)'),
    nvmlDeviceGetTemperature: bind('int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, _Out_ unsigned int *temp)'),
    nvmlDeviceGetPowerUsage: bind('int nvmlDeviceGetPowerUsage(nvmlDevice_t device, _Out_ unsigned int *power)'),
    nvmlDeviceGetComputeRunningProcesses_v3: bind('int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, _Inout_ unsigned int *infoCount, void *infos)'),
    nvmlDeviceGetConfComputeGpuCertificate: bind('int nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t device, _Out_ nvmlConfComputeGpuCertificate_t *cert)'),
    nvmlDeviceGetConfComputeGpuAttestationReport: bind('int nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t device, _Inout_ nvmlConfComputeGpuAttestationReport_t *report)'),
    nvmlEventSetCreate: bind('int nvmlEventSetCreate(_Out_ nvmlEventSet_t *set)'),
    nvmlDeviceGetSupportedEventTypes: bind('int nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, _Out_ unsigned long long *eventTypes)'),
    nvmlDeviceRegisterEvents: bind('int nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set)'),
    nvmlEventSetWait_v2: bind('int nvmlEventSetWait_v2(nvmlEventSet_t set, void *data, unsigned int timeoutms)'),
    nvmlEventSetFree: bind('int nvmlEventSetFree(nvmlEventSet_t set)'),
  }
}

type NvmlFunctions = ReturnType<typeof bindNvml>

interface NvmlCalls {
  f: NvmlFunctions
  /** Throws NvmlError (with nvmlErrorString's text) unless `code` is SUCCESS. */
  check(symbol: string, code: number): void
  /** A string getter: a buffer of `size` bytes, NUL-terminated by NVML. */
  text(symbol: keyof NvmlFunctions, d: NvmlDevice | undefined, size: number): string
}

function nvmlCalls(f: NvmlFunctions): NvmlCalls {
  const check = (symbol: string, code: number) => {
    if (code !== NVML_RETURN.SUCCESS) throw new NvmlError(symbol, code, String(f.nvmlErrorString(code) ?? 'unknown error'))
  }
  const text = (symbol: keyof NvmlFunctions, d: NvmlDevice | undefined, size: number): string => {
    const buf = Buffer.alloc(size)
    const code = d === undefined ? f[symbol](buf, size) : f[symbol](d, buf, size)
    check(symbol, code as number)
    return cString(buf)
  }
  return {f, check, text}
}

/** The Nvml interface over the bound functions. */
function nvmlApi(path: string, calls: NvmlCalls, processInfo: ProcessInfoLayout, eventData: EventDataLayout): Nvml {
  const {f, check, text} = calls
  return {
    path,
    init: () => check('nvmlInit_v2', f.nvmlInit_v2()),
    shutdown: () => check('nvmlShutdown', f.nvmlShutdown()),
    driverVersion: () => text('nvmlSystemGetDriverVersion', undefined, 80),
    ccState() {
      const s: Partial<NvmlCcState> = {}
      check('nvmlSystemGetConfComputeState', f.nvmlSystemGetConfComputeState(s))
      return s as NvmlCcState
    },
    count() {
      const n = [0]
      check('nvmlDeviceGetCount_v2', f.nvmlDeviceGetCount_v2(n))
      return n[0]!
    },
    handle(index) {
      const out: unknown[] = [null]
      check('nvmlDeviceGetHandleByIndex_v2', f.nvmlDeviceGetHandleByIndex_v2(index, out))
      return out[0]
    },
    name: (d) => text('nvmlDeviceGetName', d, 96),
    uuid: (d) => text('nvmlDeviceGetUUID', d, 96),
    serial: (d) => text('nvmlDeviceGetSerial', d, 30),
    pciInfo(d) {
      const p: Record<string, unknown> = {}
      check('nvmlDeviceGetPciInfo_v3', f.nvmlDeviceGetPciInfo_v3(d, p))
      return {
        busId: String(p.busId),
        domain: Number(p.domain),
        bus: Number(p.bus),
        device: Number(p.device),
        pciDeviceId: Number(p.pciDeviceId) >>> 0,
        pciSubSystemId: Number(p.pciSubSystemId) >>> 0,
      }
    },
    memory(d) {
      const m: Record<string, unknown> = {}
      check('nvmlDeviceGetMemoryInfo', f.nvmlDeviceGetMemoryInfo(d, m))
      return {total: BigInt(m.total as number | bigint), free: BigInt(m.free as number | bigint), used: BigInt(m.used as number | bigint)}
    },
    utilization(d) {
      const u: Record<string, number> = {}
      check('nvmlDeviceGetUtilizationRates', f.nvmlDeviceGetUtilizationRates(d, u))
      return {gpu: u.gpu!, memory: u.memory!}
    },
    temperature(d) {
      const t = [0]
      check('nvmlDeviceGetTemperature', f.nvmlDeviceGetTemperature(d, NVML_TEMPERATURE_GPU, t))
      return t[0]!
    },
    powerUsage(d) {
      const mw = [0]
      check('nvmlDeviceGetPowerUsage', f.nvmlDeviceGetPowerUsage(d, mw))
      return mw[0]!
    },
    processes: (d) => runningProcesses(calls, processInfo, d),
    certificate: (d) => gpuCertificate(calls, d),
    attestationReport: (d, nonce) => attestationReport(calls, d, nonce),
    eventSetCreate() {
      const out: unknown[] = [null]
      check('nvmlEventSetCreate', f.nvmlEventSetCreate(out))
      return out[0]
    },
    supportedEventTypes(d) {
      const out = [0n]
      check('nvmlDeviceGetSupportedEventTypes', f.nvmlDeviceGetSupportedEventTypes(d, out))
      return BigInt(out[0]!)
    },
    registerEvents: (d, eventTypes, set) => check('nvmlDeviceRegisterEvents', f.nvmlDeviceRegisterEvents(d, eventTypes, set)),
    eventSetWait: (set, timeoutMs) => eventSetWait(calls, eventData, set, timeoutMs),
    eventSetFree: (set) => check('nvmlEventSetFree', f.nvmlEventSetFree(set)),
  }
}

/** nvmlEventData_t as koffi lays it out: its size and a decoder of one record from a buffer. */
interface EventDataLayout {
  size: number
  decode(buf: Buffer): Record<string, unknown>
}

/** nvmlEventSetWait_v2 on a koffi worker thread; the struct is a plain buffer, decoded once the call is back. */
function eventSetWait({f, check}: NvmlCalls, layout: EventDataLayout, set: NvmlEventSet, timeoutMs: number): Promise<NvmlEvent | undefined> {
  const buf = Buffer.alloc(layout.size)
  return new Promise((resolve, reject) => {
    f.nvmlEventSetWait_v2.async(set, buf, timeoutMs, (error: unknown, code: number) => {
      if (error) return reject(error as Error)
      if (code === NVML_RETURN.TIMEOUT) return resolve(undefined)
      try {
        check('nvmlEventSetWait_v2', code)
      } catch (failure) {
        return reject(failure as Error)
      }
      const e = layout.decode(buf)
      resolve({
        device: e.device,
        eventType: BigInt(e.eventType as number | bigint),
        eventData: BigInt(e.eventData as number | bigint),
        gpuInstanceId: Number(e.gpuInstanceId),
        computeInstanceId: Number(e.computeInstanceId),
      })
    })
  })
}

/** nvmlProcessInfo_t as koffi lays it out: its size and a decoder of n records from a buffer. */
interface ProcessInfoLayout {
  size: number
  decode(buf: Buffer, n: number): Record<string, unknown>[]
}

function runningProcesses({f, check}: NvmlCalls, info: ProcessInfoLayout, d: NvmlDevice): NvmlProcess[] {
  // Room for 64 first; NVML answers INSUFFICIENT_SIZE with the needed count when more run.
  for (let room = 64; ; room = Math.max(room * 2, 0)) {
    const count = [room]
    const buf = Buffer.alloc(room * info.size)
    const code = f.nvmlDeviceGetComputeRunningProcesses_v3(d, count, buf)
    if (code === NVML_RETURN.INSUFFICIENT_SIZE && room < 4096) {
      room = Math.max(count[0]!, room)
      continue
    }
    check('nvmlDeviceGetComputeRunningProcesses_v3', code)
    const n = Math.min(count[0]!, room)
    const list = n === 0 ? [] : info.decode(buf, n)
    return list.map((p) => ({pid: Number(p.pid), usedGpuMemory: BigInt(p.usedGpuMemory as number | bigint)}))
  }
}

function gpuCertificate({f, check}: NvmlCalls, d: NvmlDevice): {attestationCertChain: Uint8Array; certChain: Uint8Array} {
  const c: Record<string, unknown> = {}
  check('nvmlDeviceGetConfComputeGpuCertificate', f.nvmlDeviceGetConfComputeGpuCertificate(d, c))
  const att = c.attestationCertChain as Uint8Array
  const dev = c.certChain as Uint8Array
  return {
    attestationCertChain: Uint8Array.from(att.subarray(0, Math.min(Number(c.attestationCertChainSize), att.length))),
    certChain: Uint8Array.from(dev.subarray(0, Math.min(Number(c.certChainSize), dev.length))),
  }
}

function attestationReport({f, check}: NvmlCalls, d: NvmlDevice, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== NVML_NONCE_SIZE) throw new HardwareUnavailableError(`NVML nonce must be ${NVML_NONCE_SIZE} bytes, got ${nonce.length}`)
  const r: Record<string, unknown> = {
    isCecAttestationReportPresent: 0,
    attestationReportSize: 0,
    cecAttestationReportSize: 0,
    nonce: Uint8Array.from(nonce),
    attestationReport: new Uint8Array(0x2000),
    cecAttestationReport: new Uint8Array(0x1000),
  }
  check('nvmlDeviceGetConfComputeGpuAttestationReport', f.nvmlDeviceGetConfComputeGpuAttestationReport(d, r))
  const rep = r.attestationReport as Uint8Array
  return Uint8Array.from(rep.subarray(0, Math.min(Number(r.attestationReportSize), rep.length)))
}
