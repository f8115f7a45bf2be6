import {readdirSync, readlinkSync} from 'node:fs'
import {basename, join} from 'node:path'

import type {Classified} from '../pci/classify.js'
import type {AmdSmiGpu} from './ffi.js'
import type {Device} from '../pci/device.js'
import {pciInfo} from '../nvidia/probe.js'
import {moduleVersion, readAttr, readIntAttr} from '../pci/sysfs.js'
import {libraryReason} from '../probe-reasons.js'

/**
 * AMD GPUs from sysfs, as amdgpu exposes them on the PCI device (the same directory
 * <sysfs>/class/drm/cardN/device points to): unique_id, serial_number, product_name,
 * mem_info_vram_total/used, gpu_busy_percent, vbios_version. AMD publishes no GPU attestation
 * key, so an AMD GPU is committed by the host TPM quote only.
 */
function drmCards(sysfsRoot: string): Map<string, string> {
  const out = new Map<string, string>()
  const dir = join(sysfsRoot, 'class', 'drm')
  let names: string[] = []
  try {
    names = readdirSync(dir).filter((n) => /^card\d+$/.test(n))
  } catch {
    return out
  }
  for (const n of names) {
    try {
      out.set(basename(readlinkSync(join(dir, n, 'device'))), n)
    } catch {
      // a card without a device link is not a PCI GPU
    }
  }
  return out
}

export interface AmdProbeOptions {
  sysfsRoot: string
  candidates: Classified[]
  /** Path of libamd_smi.so; amdsmi adds UUID, ASIC serial, market name, VRAM and activity when it loads. */
  amdsmiPath?: string
  force?: boolean
}

async function amdsmiGpus(path: string | undefined): Promise<{gpus: AmdSmiGpu[]; reason?: string}> {
  try {
    const {loadAmdSmi} = await import('./ffi.js')
    return {gpus: (await loadAmdSmi(path)).gpus()}
  } catch (error) {
    return {gpus: [], reason: libraryReason(error)}
  }
}

/** AMD GPUs: sysfs first (always there), amdsmi on top when the library loads. */
export async function probeAmd(options: AmdProbeOptions): Promise<Device[]> {
  if (options.candidates.length === 0 && !options.force) return []
  const smi = await amdsmiGpus(options.amdsmiPath)
  const devices = probeAmdSysfs(options.sysfsRoot, options.candidates)
  for (const d of devices) {
    const g = smi.gpus.find((x) => x.pciAddress === d.pciAddress)
    if (!g) continue
    if (g.marketName) d.model = g.marketName
    if (g.asicSerial) d.serial ??= g.asicSerial
    if (g.uuid) d.uuid = g.uuid
    if (d.stableIdSource === 'pci-address') {
      if (g.asicSerial) Object.assign(d, {stableId: `amd-sn:${g.asicSerial}`, stableIdSource: 'serial'})
      else if (g.uuid) Object.assign(d, {stableId: `amd-uuid:${g.uuid}`, stableIdSource: 'uuid'})
      d.reasons = d.reasons.filter((r) => !r.startsWith('unique_id not exposed'))
    }
    if (g.vramTotalMiB !== undefined) d.memoryBytes ??= g.vramTotalMiB * 2 ** 20
    if (g.vramUsedMiB !== undefined) d.memoryUsedBytes ??= g.vramUsedMiB * 2 ** 20
    if (g.gfxActivity !== undefined && d.busy.state === 'unknown') d.busy = {state: g.gfxActivity > 0 ? 'busy' : 'idle', utilisationPercent: g.gfxActivity}
    if (g.driverVersion && d.driver) d.driver.version ??= g.driverVersion
    d.reasons.push(...g.reasons)
  }
  return devices
}

function probeAmdSysfs(sysfsRoot: string, candidates: Classified[]): Device[] {
  const cards = drmCards(sysfsRoot)
  return candidates.map((c) => {
    const dir = c.pci.path
    const reasons: string[] = []
    const uniqueId = readAttr(dir, 'unique_id')
    const serial = readAttr(dir, 'serial_number')
    const product = readAttr(dir, 'product_name')
    const total = readIntAttr(dir, 'mem_info_vram_total')
    const used = readIntAttr(dir, 'mem_info_vram_used')
    const busyPct = readIntAttr(dir, 'gpu_busy_percent')
    if (!c.pci.driver) reasons.push('driver not loaded')
    else if (!cards.has(c.pci.address)) reasons.push(`no DRM card for ${c.pci.address} (driver ${c.pci.driver})`)
    if (!uniqueId) reasons.push('unique_id not exposed by the driver: identified by PCI address')
    const stable = uniqueId
      ? {stableId: `amd:${uniqueId}`, stableIdSource: 'unique_id' as const}
      : serial
        ? {stableId: `amd-sn:${serial}`, stableIdSource: 'serial' as const}
        : {stableId: `pci:${c.pci.address}`, stableIdSource: 'pci-address' as const}
    const device: Device = {
      kind: 'gpu',
      family: 'amd',
      vendor: 'AMD',
      model: product && product.length > 0 ? product : c.model,
      ...stable,
      serial: serial || undefined,
      pciAddress: c.pci.address,
      pci: pciInfo(c),
      memoryBytes: total,
      memoryUsedBytes: used,
      driver: {name: c.pci.driver, version: c.pci.driver ? moduleVersion(sysfsRoot, c.pci.driver) : undefined},
      busy: busyPct === undefined ? {state: 'unknown'} : {state: busyPct > 0 ? 'busy' : 'idle', utilisationPercent: busyPct},
      attestation: {support: 'host-tpm', reason: 'AMD GPUs have no public attestation key: committed by the host TPM quote'},
      reasons,
    }
    return device
  })
}
