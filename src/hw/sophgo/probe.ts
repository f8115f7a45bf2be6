import {createPublicKey} from 'node:crypto'

import type {Classified} from '../pci/classify.js'
import type {Device} from '../pci/device.js'
import {attempt, libraryReason} from '../probe-reasons.js'
import {pciInfo} from '../nvidia/probe.js'
import type {BmHandle, Bmlib, BmMiscInfo, BmStat} from './ffi.js'
import {rsaModulus} from './verify-evidence.js'

export interface SophgoProbeOptions {
  bmlibPath?: string
  candidates: Classified[]
  force?: boolean
}

const CHIP_NAMES: Record<number, string> = {0x1684: 'BM1684', 0x1686: 'BM1684X'}

export async function openBmlib(bmlibPath?: string): Promise<Bmlib> {
  const {loadBmlib} = await import('./ffi.js')
  return loadBmlib(bmlibPath)
}

/** SPKI DER hex of a PEM RSA public key (PKCS#1 or SPKI). */
function rsaSpki(pem: string): string {
  const type = pem.includes('BEGIN RSA PUBLIC KEY') ? 'pkcs1' : 'spki'
  return Buffer.from(createPublicKey({key: pem, format: 'pem', type}).export({type: 'spki', format: 'der'})).toString('hex')
}

function sysfsOnly(c: Classified, reason: string): Device {
  return {
    kind: 'asic',
    family: 'sophgo',
    vendor: c.vendor,
    model: c.model,
    stableId: `pci:${c.pci.address}`,
    stableIdSource: 'pci-address',
    pciAddress: c.pci.address,
    pci: pciInfo(c),
    driver: {name: c.pci.driver},
    busy: {state: 'unknown'},
    attestation: {support: 'host-tpm', reason: 'own-key attestation needs bmlib'},
    reasons: [c.pci.driver ? reason : 'driver not loaded'],
  }
}

/**
 * Lists Sophgo chips through bmlib, matched to sysfs PCI functions by the address bm_get_misc_info
 * reports. One SC5+/SC7+ card carries three chips (PCI functions .0 .1 .2) and one board serial, so a
 * chip's stable id is <board serial>:<function>; its chip key (RSA-2048) is the stronger identity.
 */
export async function probeSophgo(options: SophgoProbeOptions): Promise<Device[]> {
  if (options.candidates.length === 0 && !options.force) return []
  const lib = await openedBmlib(options.bmlibPath)
  if ('reason' in lib) return options.candidates.map((c) => sysfsOnly(c, lib.reason))
  const devices: Device[] = []
  const seen = new Set<string>()
  for (let devid = 0; devid < lib.count; devid++) {
    const device = probeChip(lib.bm, devid, options.candidates)
    if (!device) continue
    if (device.pciAddress) seen.add(device.pciAddress)
    devices.push(device)
  }
  // a sysfs function bmlib does not report is still listed, as a fault
  for (const c of options.candidates) if (!seen.has(c.pci.address)) devices.push(sysfsOnly(c, 'not reported by bmlib'))
  return devices
}

/** bmlib and how many chips it sees, or why it cannot tell (the library does not load, or the count fails). */
async function openedBmlib(bmlibPath: string | undefined): Promise<{bm: Bmlib; count: number} | {reason: string}> {
  try {
    const bm = await openBmlib(bmlibPath)
    return {bm, count: bm.count()}
  } catch (error) {
    return {reason: libraryReason(error)}
  }
}

/** Chip `devid` as a device, its handle freed whatever happens; undefined when bmlib cannot open it. */
function probeChip(bm: Bmlib, devid: number, candidates: Classified[]): Device | undefined {
  const reasons: string[] = []
  const h = attempt(reasons, `chip ${devid}`, () => bm.request(devid))
  if (h === undefined) return undefined
  try {
    const chip = readChip(bm, h, reasons)
    const sys = candidates.find((c) => c.pci.address === chip.misc?.pciAddress)
    return chipDevice(devid, chip, sys, reasons)
  } finally {
    bm.free(h)
  }
}

/** What bmlib tells of one chip; a call that fails leaves its part undefined and adds a reason. */
interface ChipReadings {
  misc: BmMiscInfo | undefined
  chipId: number | undefined
  sn: string | undefined
  stat: BmStat | undefined
  keys: {p2: Uint8Array; publicKeyPem: string} | undefined
  spki: string | undefined
}

function readChip(bm: Bmlib, h: BmHandle, reasons: string[]): ChipReadings {
  const misc = attempt(reasons, 'misc info', () => bm.miscInfo(h))
  // misc info carries the chip id: asked alone only without it
  const chipId = misc?.chipId ?? attempt(reasons, 'chip id', () => bm.chipId(h))
  const sn = attempt(reasons, 'serial', () => bm.serial(h))
  const stat = attempt(reasons, 'status', () => bm.stat(h))
  const keys = attempt(reasons, 'chip key', () => bm.p2Pubkey(h))
  const spki = keys ? attempt(reasons, 'chip key', () => rsaSpki(keys.publicKeyPem)) : undefined
  return {misc, chipId, sn, stat, keys, spki}
}

/** The chip's Device, named by board serial and PCI function, else by PCI address, else by bmlib index. */
function chipDevice(devid: number, chip: ChipReadings, sys: Classified | undefined, reasons: string[]): Device {
  const {misc, chipId, sn, stat, keys, spki} = chip
  const address = misc?.pciAddress
  const fn = address ? address.slice(-1) : String(devid)
  return {
    kind: 'asic',
    family: 'sophgo',
    vendor: sys?.vendor ?? 'Sophgo',
    model: (chipId !== undefined ? CHIP_NAMES[chipId] : undefined) ?? sys?.model ?? 'Sophgo chip',
    stableId: sn ? `${sn}:${fn}` : address ? `pci:${address}` : `bmlib:${devid}`,
    stableIdSource: sn ? 'serial' : 'pci-address',
    serial: sn,
    pciAddress: address,
    pci: sys ? pciInfo(sys) : undefined,
    memoryBytes: stat ? stat.memTotalMiB * 1024 * 1024 : undefined,
    memoryUsedBytes: stat ? stat.memUsedMiB * 1024 * 1024 : undefined,
    driver: {name: sys?.pci.driver ?? 'bmsophon', version: misc?.driverVersion},
    busy: stat ? {state: stat.tpuUtil > 0 ? 'busy' : 'idle', utilisationPercent: stat.tpuUtil} : {state: 'unknown'},
    attestation: spki ? {support: 'own-key'} : {support: 'host-tpm', reason: 'chip key unavailable'},
    deviceKey: spki && keys ? {algorithm: 'rsa-2048', spki, raw: Buffer.from(rsaModulus(keys.publicKeyPem)).toString('hex')} : undefined,
    libraryIndex: devid,
    reasons,
  }
}
