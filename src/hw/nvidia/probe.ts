import {X509Certificate} from 'node:crypto'

import type {Classified} from '../pci/classify.js'
import type {Device} from '../pci/device.js'
import {attempt, libraryReason} from '../probe-reasons.js'
import {moduleVersion} from '../pci/sysfs.js'
import type {Nvml, NvmlCcState, NvmlDevice, NvmlMemory, NvmlPciInfo, NvmlProcess} from './ffi.js'
import {ecRawPublicKey} from './verify-evidence.js'

export interface NvidiaProbeOptions {
  nvmlPath?: string
  sysfsRoot: string
  /** NVIDIA PCI functions found in sysfs (may be empty: NVML alone still lists its GPUs). */
  candidates: Classified[]
  /** Load NVML even without NVIDIA PCI candidates (set when nvmlPath is configured). */
  force?: boolean
}

export interface NvidiaProbe {
  devices: Device[]
  /** Why NVML gave nothing, when it did not load or init. */
  nvmlReason?: string
  nvmlLoaded: boolean
}

/** NVML "00000000:17:00.0" → sysfs "0000:17:00.0". */
export function normalizeBusId(busId: string): string {
  const m = /^([0-9a-fA-F]+):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(busId.trim())
  if (!m) return busId.trim().toLowerCase()
  return `${m[1]!.slice(-4).padStart(4, '0')}:${m[2]}:${m[3]}.${m[4]}`.toLowerCase()
}

/** Leaf public key of the GPU attestation chain: SPKI DER hex and the raw SEC1 point. */
function leafKey(pem: Uint8Array): {spki: string; raw: string} | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(Buffer.from(pem).toString('latin1'))
  if (!m) return undefined
  const cert = new X509Certificate(m[0])
  return {spki: Buffer.from(cert.publicKey.export({type: 'spki', format: 'der'})).toString('hex'), raw: Buffer.from(ecRawPublicKey(cert)).toString('hex')}
}

/** The stable id of an NVML GPU: UUID/serial, else UUID, else its PCI address, else its NVML index. */
export function nvidiaStableId(ids: {uuid?: string; serial?: string; address?: string; index: number}): Pick<Device, 'stableId' | 'stableIdSource'> {
  const {uuid, serial, address, index} = ids
  return {
    stableId: uuid ? (serial ? `${uuid}/${serial}` : uuid) : address ? `pci:${address}` : `nvml:${index}`,
    stableIdSource: uuid ? (serial ? 'uuid+serial' : 'uuid') : 'pci-address',
  }
}

export async function openNvml(nvmlPath?: string): Promise<Nvml> {
  const {loadNvml} = await import('./ffi.js')
  const nvml = await loadNvml(nvmlPath)
  nvml.init()
  return nvml
}

function sysfsOnly(c: Classified, sysfsRoot: string, reason: string): Device {
  return {
    kind: 'gpu',
    family: 'nvidia',
    vendor: 'NVIDIA',
    model: c.model,
    stableId: `pci:${c.pci.address}`,
    stableIdSource: 'pci-address',
    pciAddress: c.pci.address,
    pci: pciInfo(c),
    driver: {name: c.pci.driver, version: c.pci.driver ? moduleVersion(sysfsRoot, 'nvidia') : undefined},
    busy: {state: 'unknown'},
    attestation: {support: 'host-tpm', reason: 'own-key attestation needs NVML'},
    reasons: [c.pci.driver ? reason : 'driver not loaded'],
  }
}

export function pciInfo(c: Classified): Device['pci'] {
  const h = (n: number, w = 4) => '0x' + n.toString(16).padStart(w, '0')
  return {
    vendorId: h(c.pci.vendorId),
    deviceId: h(c.pci.deviceId),
    classCode: h(c.pci.classCode, 6),
    subsystem:
      c.pci.subsystemVendorId !== undefined && c.pci.subsystemDeviceId !== undefined
        ? `${h(c.pci.subsystemVendorId)}:${h(c.pci.subsystemDeviceId)}`
        : undefined,
  }
}

function sensor(read: () => number): number | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

export async function probeNvidia(options: NvidiaProbeOptions): Promise<NvidiaProbe> {
  if (options.candidates.length === 0 && !options.force) return {devices: [], nvmlLoaded: false}
  let nvml: Nvml
  try {
    nvml = await openNvml(options.nvmlPath)
  } catch (error) {
    // NVML did not load or init: the PCI functions sysfs found are all there is, with the reason
    const reason = libraryReason(error)
    return {devices: options.candidates.map((c) => sysfsOnly(c, options.sysfsRoot, reason)), nvmlReason: reason, nvmlLoaded: false}
  }
  const devices: Device[] = []
  const seen = new Set<string>()
  try {
    listNvmlGpus(nvml, options.candidates, devices, seen)
  } catch (error) {
    // NVML failed part-way: the GPUs it listed stand, the PCI functions it did not reach carry the reason
    const reason = libraryReason(error)
    devices.push(...unseenCandidates(options, seen, reason))
    return {devices, nvmlReason: reason, nvmlLoaded: true}
  } finally {
    shutdownQuietly(nvml)
  }
  // PCI functions NVML did not report (e.g. a GPU the driver refused): still listed, with the reason.
  devices.push(...unseenCandidates(options, seen, 'not reported by NVML'))
  return {devices, nvmlLoaded: true}
}

/** The sysfs candidates whose PCI address no NVML GPU had, as sysfs-only devices with `reason`. */
function unseenCandidates(options: NvidiaProbeOptions, seen: ReadonlySet<string>, reason: string): Device[] {
  return options.candidates.filter((c) => !seen.has(c.pci.address)).map((c) => sysfsOnly(c, options.sysfsRoot, reason))
}

function shutdownQuietly(nvml: Nvml): void {
  try {
    nvml.shutdown()
  } catch {
    // shutting down is best effort
  }
}

/**
 * Appends NVML's GPUs to `devices` and their PCI addresses to `seen`. A call NVML refuses for one GPU
 * is a reason on that GPU; a throw outside `attempt` (the count) ends the listing, and the caller keeps
 * what was appended so far.
 */
function listNvmlGpus(nvml: Nvml, candidates: Classified[], devices: Device[], seen: Set<string>): void {
  // what the library as a whole could not say is a reason on every GPU
  const globalReasons: string[] = []
  const driverVersion = attempt(globalReasons, 'driver version', () => nvml.driverVersion())
  const cc = attempt(globalReasons, 'CC state', () => nvml.ccState())
  const count = nvml.count()
  for (let index = 0; index < count; index++) {
    const reasons = [...globalReasons]
    const h = attempt(reasons, `handle ${index}`, () => nvml.handle(index))
    if (h === undefined) continue
    const read = readGpu(nvml, h, reasons)
    const address = read.pci ? normalizeBusId(read.pci.busId) : undefined
    const sys = candidates.find((c) => c.pci.address === address)
    if (address) seen.add(address)
    const own = gpuAttestation(nvml, h, cc, reasons)
    devices.push(nvmlGpu({index, read, address, sys, driverVersion, reasons, ...own}))
  }
}

/** What NVML says of one GPU; each refused call leaves its field undefined and a reason behind. */
interface GpuReadings {
  name?: string
  uuid?: string
  serial?: string
  pci?: NvmlPciInfo
  mem?: NvmlMemory
  util?: {gpu: number; memory: number}
  procs?: NvmlProcess[]
  temperatureCelsius?: number
  powerMw?: number
}

/** The NVML reads of one GPU, in the order the probe has always made them (the stub's call log). */
function readGpu(nvml: Nvml, h: NvmlDevice, reasons: string[]): GpuReadings {
  return {
    name: attempt(reasons, 'name', () => nvml.name(h)),
    uuid: attempt(reasons, 'UUID', () => nvml.uuid(h)),
    serial: attempt(reasons, 'serial', () => nvml.serial(h)),
    pci: attempt(reasons, 'PCI info', () => nvml.pciInfo(h)),
    mem: attempt(reasons, 'memory', () => nvml.memory(h)),
    util: attempt(reasons, 'utilisation', () => nvml.utilization(h)),
    procs: attempt(reasons, 'processes', () => nvml.processes(h)),
    // optional sensors: many GPUs lack one, which is no reason worth listing
    temperatureCelsius: sensor(() => nvml.temperature(h)),
    powerMw: sensor(() => nvml.powerUsage(h)),
  }
}

/**
 * How the GPU can attest: with its own key only in CC mode and with a readable attestation certificate,
 * else through the host TPM, with the reason.
 */
function gpuAttestation(nvml: Nvml, h: NvmlDevice, cc: NvmlCcState | undefined, reasons: string[]): Pick<Device, 'attestation' | 'deviceKey'> {
  if (!cc) return {attestation: {support: 'host-tpm', reason: 'CC state unknown'}, deviceKey: undefined}
  if (cc.ccFeature !== 1) return {attestation: {support: 'host-tpm', ccMode: 'off', reason: 'CC mode off'}, deviceKey: undefined}
  const ccMode = cc.devToolsMode === 1 ? 'devtools' : 'on'
  if (ccMode === 'devtools') reasons.push('CC devtools mode: evidence is not production grade')
  const cert = attempt(reasons, 'attestation certificate', () => nvml.certificate(h))
  const key = cert ? attempt(reasons, 'attestation certificate', () => leafKey(cert.attestationCertChain)) : undefined
  if (key) return {attestation: {support: 'own-key', ccMode}, deviceKey: {algorithm: 'ecdsa-p384', ...key}}
  return {attestation: {support: 'host-tpm', ccMode, reason: 'CC on but the attestation certificate is unavailable'}, deviceKey: undefined}
}

/** One NVML GPU as a Device; the sysfs PCI function at its address, when there is one, gives its PCI ids and driver. */
function nvmlGpu(gpu: {
  index: number
  read: GpuReadings
  address?: string
  sys?: Classified
  driverVersion?: string
  reasons: string[]
  attestation: Device['attestation']
  deviceKey?: Device['deviceKey']
}): Device {
  const {index, read, address, sys} = gpu
  const {uuid, serial, mem, util, procs} = read
  return {
    kind: 'gpu',
    family: 'nvidia',
    vendor: 'NVIDIA',
    model: read.name ?? sys?.model ?? 'NVIDIA GPU',
    ...nvidiaStableId({uuid, serial, address, index}),
    uuid,
    serial,
    pciAddress: address,
    pci: sys ? pciInfo(sys) : read.pci ? nvmlPciIds(read.pci) : undefined,
    memoryBytes: mem ? Number(mem.total) : undefined,
    memoryUsedBytes: mem ? Number(mem.used) : undefined,
    sensors: gpuSensors(read),
    driver: {name: sys?.pci.driver ?? 'nvidia', version: gpu.driverVersion},
    busy: {
      state: util && procs ? (procs.length > 0 || util.gpu > 0 ? 'busy' : 'idle') : 'unknown',
      utilisationPercent: util?.gpu,
      processes: procs?.map((p) => ({pid: p.pid, usedMemoryBytes: Number(p.usedGpuMemory)})),
    },
    attestation: gpu.attestation,
    deviceKey: gpu.deviceKey,
    libraryIndex: index,
    reasons: gpu.reasons,
  }
}

/** PCI ids from NVML's packed (device id << 16) | vendor id, when sysfs has no function at the address. */
function nvmlPciIds(pci: NvmlPciInfo): Device['pci'] {
  return {
    vendorId: '0x' + (pci.pciDeviceId & 0xffff).toString(16).padStart(4, '0'),
    deviceId: '0x' + (pci.pciDeviceId >>> 16).toString(16).padStart(4, '0'),
    classCode: 'unknown',
  }
}

function gpuSensors({temperatureCelsius, powerMw}: GpuReadings): Device['sensors'] {
  if (temperatureCelsius === undefined && powerMw === undefined) return undefined
  return {temperatureCelsius, powerDrawWatts: powerMw === undefined ? undefined : powerMw / 1000}
}
