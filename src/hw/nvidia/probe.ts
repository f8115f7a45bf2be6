import {X509Certificate} from 'node:crypto'

import type {Classified} from '../pci/classify.js'
import type {Device} from '../pci/device.js'
import {attempt, libraryReason} from '../probe-reasons.js'
import {moduleVersion} from '../pci/sysfs.js'
import type {Nvml} from './ffi.js'
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
    const reason = libraryReason(error)
    return {devices: options.candidates.map((c) => sysfsOnly(c, options.sysfsRoot, reason)), nvmlReason: reason, nvmlLoaded: false}
  }
  const devices: Device[] = []
  const seen = new Set<string>()
  try {
    const globalReasons: string[] = []
    const driverVersion = attempt(globalReasons, 'driver version', () => nvml.driverVersion())
    const cc = attempt(globalReasons, 'CC state', () => nvml.ccState())
    const count = nvml.count()
    for (let i = 0; i < count; i++) {
      const reasons = [...globalReasons]
      const h = attempt(reasons, `handle ${i}`, () => nvml.handle(i))
      if (h === undefined) continue
      const name = attempt(reasons, 'name', () => nvml.name(h))
      const uuid = attempt(reasons, 'UUID', () => nvml.uuid(h))
      const serial = attempt(reasons, 'serial', () => nvml.serial(h))
      const pci = attempt(reasons, 'PCI info', () => nvml.pciInfo(h))
      const mem = attempt(reasons, 'memory', () => nvml.memory(h))
      const util = attempt(reasons, 'utilisation', () => nvml.utilization(h))
      const procs = attempt(reasons, 'processes', () => nvml.processes(h))
      // optional sensors: many GPUs lack one, which is no reason worth listing
      const temperatureCelsius = sensor(() => nvml.temperature(h))
      const powerMw = sensor(() => nvml.powerUsage(h))
      const address = pci ? normalizeBusId(pci.busId) : undefined
      const sys = options.candidates.find((c) => c.pci.address === address)
      if (address) seen.add(address)
      let attestation: Device['attestation']
      let deviceKey: Device['deviceKey']
      if (!cc) attestation = {support: 'host-tpm', reason: 'CC state unknown'}
      else if (cc.ccFeature !== 1) attestation = {support: 'host-tpm', ccMode: 'off', reason: 'CC mode off'}
      else {
        attestation = {support: 'own-key', ccMode: cc.devToolsMode === 1 ? 'devtools' : 'on'}
        if (cc.devToolsMode === 1) reasons.push('CC devtools mode: evidence is not production grade')
        const cert = attempt(reasons, 'attestation certificate', () => nvml.certificate(h))
        const key = cert ? attempt(reasons, 'attestation certificate', () => leafKey(cert.attestationCertChain)) : undefined
        if (key) deviceKey = {algorithm: 'ecdsa-p384', ...key}
        else attestation = {support: 'host-tpm', ccMode: attestation.ccMode, reason: 'CC on but the attestation certificate is unavailable'}
      }
      const busy = util && procs ? (procs.length > 0 || util.gpu > 0 ? 'busy' : 'idle') : 'unknown'
      devices.push({
        kind: 'gpu',
        family: 'nvidia',
        vendor: 'NVIDIA',
        model: name ?? sys?.model ?? 'NVIDIA GPU',
        ...nvidiaStableId({uuid, serial, address, index: i}),
        uuid,
        serial,
        pciAddress: address,
        pci: sys
          ? pciInfo(sys)
          : pci
            ? {
                vendorId: '0x' + (pci.pciDeviceId & 0xffff).toString(16).padStart(4, '0'),
                deviceId: '0x' + (pci.pciDeviceId >>> 16).toString(16).padStart(4, '0'),
                classCode: 'unknown',
              }
            : undefined,
        memoryBytes: mem ? Number(mem.total) : undefined,
        memoryUsedBytes: mem ? Number(mem.used) : undefined,
        sensors:
          temperatureCelsius === undefined && powerMw === undefined
            ? undefined
            : {temperatureCelsius, powerDrawWatts: powerMw === undefined ? undefined : powerMw / 1000},
        driver: {name: sys?.pci.driver ?? 'nvidia', version: driverVersion},
        busy: {state: busy, utilisationPercent: util?.gpu, processes: procs?.map((p) => ({pid: p.pid, usedMemoryBytes: Number(p.usedGpuMemory)}))},
        attestation,
        deviceKey,
        libraryIndex: i,
        reasons,
      })
    }
  } catch (error) {
    const reason = libraryReason(error)
    for (const c of options.candidates) if (!seen.has(c.pci.address)) devices.push(sysfsOnly(c, options.sysfsRoot, reason))
    return {devices, nvmlReason: reason, nvmlLoaded: true}
  } finally {
    try {
      nvml.shutdown()
    } catch {
      // shutting down is best effort
    }
  }
  // PCI functions NVML did not report (e.g. a GPU the driver refused): still listed, with the reason.
  for (const c of options.candidates) if (!seen.has(c.pci.address)) devices.push(sysfsOnly(c, options.sysfsRoot, 'not reported by NVML'))
  return {devices, nvmlLoaded: true}
}
