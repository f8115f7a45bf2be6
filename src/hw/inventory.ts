/**
 * The inventory: probe everything → Device[]. sysfs (a parameter, fixtures stand in for /sys) finds
 * the PCI accelerators; vendor libraries (NVML, bmlib; paths configurable) add identity, state and
 * device keys; AMD comes from sysfs; other ASICs from the PCI id table or class 0x12. A missing
 * driver or library never hides a device: it is listed with the reason. systeminformation is the
 * GPU fallback on the real machine when no vendor library loads.
 *
 * For the heartbeat: probeDevices(), attestDevice() (producer, devices with their own key) and
 * verifyDeviceEvidence() (pure verifiers).
 */
import type {AcceleratorEvidence} from '../evidence/format.js'
import {InputError} from '../errors/index.js'
import {probeAmd} from './amd/probe.js'
import {expectedPower} from './expected-power.js'
import type {NvidiaEvidenceParts} from './nvidia/attest.js'
import {probeNvidia} from './nvidia/probe.js'
import {verifyNvidiaReport, type NvidiaVerifyResult} from './nvidia/verify.js'
import {classifyPci, type Classified} from './pci/classify.js'
import type {Device} from './pci/device.js'
import {readHostTpm, readPciDevices} from './pci/sysfs.js'
import type {SophgoEvidenceParts} from './sophgo/attest.js'
import {probeSophgo} from './sophgo/probe.js'
import {verifySophgoSignature, type SophgoVerifyResult} from './sophgo/verify.js'

export type {Device} from './pci/device.js'
export type {NvidiaEvidenceParts} from './nvidia/attest.js'
export type {SophgoEvidenceParts} from './sophgo/attest.js'

export interface ProbeOptions {
  /** Root of sysfs; default /sys. */
  sysfsRoot?: string
  /** Path of libnvidia-ml.so.1; default the loader search path. */
  nvmlPath?: string
  /** Path of libbmlib.so; default the loader search path. */
  bmlibPath?: string
  /** Path of libamd_smi.so; default the loader search path. */
  amdsmiPath?: string
  /** Where /dev/tpmrm0 is looked for; default /dev when sysfsRoot is /sys, else none. */
  devRoot?: string
  /** Use systeminformation for GPUs no vendor library describes; default: only on the real /sys. */
  systemInformation?: boolean
}

const REAL_SYSFS = '/sys'

export async function probeDevices(options: ProbeOptions = {}): Promise<Device[]> {
  const sysfsRoot = options.sysfsRoot ?? REAL_SYSFS
  const real = sysfsRoot === REAL_SYSFS
  const classified = classifiedPciDevices(sysfsRoot)
  const byFamily = (f: Classified['family']) => classified.filter((c) => c.family === f)

  const nvidia = await probeNvidia({nvmlPath: options.nvmlPath, sysfsRoot, candidates: byFamily('nvidia'), force: Boolean(options.nvmlPath)})
  const sophgo = await probeSophgo({bmlibPath: options.bmlibPath, candidates: byFamily('sophgo'), force: Boolean(options.bmlibPath)})
  const amd = await probeAmd({sysfsRoot, candidates: byFamily('amd'), amdsmiPath: options.amdsmiPath, force: Boolean(options.amdsmiPath)})
  const generic = byFamily('generic').map(genericDevice)

  const devices = [...nvidia.devices, ...amd, ...sophgo, ...generic]
  noteAerFatalErrors(devices, classified)
  if (options.systemInformation ?? (real && !nvidia.nvmlLoaded)) await enrichWithSystemInformation(devices, classified.length === 0)

  const devRoot = options.devRoot ?? (real ? '/dev' : undefined)
  const tpm = hostTpmDevice(sysfsRoot, devRoot)
  if (tpm) devices.push(tpm)
  addExpectedPower(devices)
  return devices
}

/** The PCI devices under sysfsRoot that are accelerators (classifyPci drops the rest). */
function classifiedPciDevices(sysfsRoot: string): Classified[] {
  return readPciDevices(sysfsRoot)
    .map(classifyPci)
    .filter((c): c is Classified => c !== undefined)
}

/** An accelerator no vendor library covers: known by its PCI address, committed by the host TPM quote. */
function genericDevice(c: Classified): Device {
  return {
    kind: c.kind,
    family: 'generic',
    vendor: c.vendor,
    model: c.model,
    stableId: `pci:${c.pci.address}`,
    stableIdSource: 'pci-address',
    pciAddress: c.pci.address,
    pci: {
      vendorId: '0x' + c.pci.vendorId.toString(16).padStart(4, '0'),
      deviceId: '0x' + c.pci.deviceId.toString(16).padStart(4, '0'),
      classCode: '0x' + c.pci.classCode.toString(16).padStart(6, '0'),
    },
    driver: {name: c.pci.driver},
    busy: {state: 'unknown'},
    attestation: {support: 'host-tpm', reason: 'no vendor attestation key known to unet: committed by the host TPM quote'},
    reasons: [c.pci.driver ? 'no vendor library: identified by PCI address' : 'driver not loaded'],
  }
}

/** A PCIe link that reported fatal errors is a fault whatever the vendor library says (alert rule device-unhealthy). */
function noteAerFatalErrors(devices: Device[], classified: Classified[]): void {
  for (const d of devices) {
    const n = classified.find((c) => c.pci.address === d.pciAddress)?.pci.aerFatalErrors
    if (n) d.reasons.push(`PCIe AER: ${n} fatal error(s) since boot (aer_dev_fatal)`)
  }
}

/** The host TPM as a device with its own key; without a usable device node it says why it cannot attest. */
function hostTpmDevice(sysfsRoot: string, devRoot: string | undefined): Device | undefined {
  const tpm = readHostTpm(sysfsRoot, devRoot)
  if (!tpm) return undefined
  return {
    kind: 'tpm',
    family: 'tpm',
    vendor: tpm.description ?? 'TPM',
    model: tpm.versionMajor ? `TPM ${tpm.versionMajor}.0` : 'TPM',
    stableId: `tpm:${tpm.name}`,
    stableIdSource: 'tpm',
    busy: {state: 'unknown'},
    attestation: {
      support: 'own-key',
      reason: tpm.devicePath || !devRoot ? undefined : `no ${devRoot}/tpmrm0: the kernel lists a TPM but no device node is usable`,
    },
    reasons: [],
    driver: {name: tpm.devicePath},
  }
}

/** The power each device would earn, from the verifier's table (`unet devices`); none where it would earn none. */
function addExpectedPower(devices: Device[]): void {
  for (const d of devices) {
    const rating = expectedPower(d)
    if (rating && rating.basis !== 'none') d.expectedPower = {power: rating.power.toString(), model: rating.model, basis: rating.basis, note: rating.note}
  }
}

/** Fills model/memory of GPUs no vendor library described, from systeminformation (lazy import). */
async function enrichWithSystemInformation(devices: Device[], addMissing: boolean): Promise<void> {
  let controllers: {vendor: string; model: string; vram: number | null; busAddress?: string; driverVersion?: string}[]
  try {
    const si = (await import('systeminformation')).default
    controllers = (await si.graphics()).controllers
  } catch {
    return
  }
  for (const c of controllers) {
    const address = c.busAddress?.toLowerCase()
    const existing = devices.find((d) => d.pciAddress && address && (d.pciAddress === address || d.pciAddress.endsWith(address)))
    if (existing && existing.stableIdSource === 'pci-address') {
      if (c.model) existing.model = c.model
      if (c.vram) existing.memoryBytes = c.vram * 1024 * 1024
      if (c.driverVersion && existing.driver) existing.driver.version ??= c.driverVersion
      existing.reasons.push('details from systeminformation (no vendor library)')
    } else if (!existing && addMissing && /nvidia|amd|advanced micro/i.test(c.vendor)) {
      devices.push({
        kind: 'gpu',
        family: /nvidia/i.test(c.vendor) ? 'nvidia' : 'amd',
        vendor: c.vendor,
        model: c.model,
        stableId: address ? `pci:${address}` : `si:${c.vendor}:${c.model}`,
        stableIdSource: 'pci-address',
        pciAddress: address,
        memoryBytes: c.vram ? c.vram * 1024 * 1024 : undefined,
        driver: {version: c.driverVersion},
        busy: {state: 'unknown'},
        attestation: {support: 'host-tpm', reason: 'found by systeminformation only'},
        reasons: ['no PCI sysfs and no vendor library: listed from systeminformation'],
      })
    }
  }
}

export type DeviceEvidenceParts = NvidiaEvidenceParts | SophgoEvidenceParts

export interface AttestOptions {
  nvmlPath?: string
  bmlibPath?: string
  /** Sophgo key files directory (p2_<devid>, pubkey_<devid>). */
  sophgoKeyDir?: string
}

/**
 * Producer for devices with their own key: NVIDIA (CC on) → SPDM report over the 32-byte challenge
 * plus certificate chain; Sophgo → RSA signature over the challenge plus public key.
 */
export async function attestDevice(device: Device, challenge: Uint8Array, options: AttestOptions = {}): Promise<DeviceEvidenceParts> {
  if (device.attestation.support !== 'own-key' || device.kind === 'tpm')
    throw new InputError(`${device.vendor} ${device.model} (${device.stableId}) has no own attestation key`, {
      hint: device.attestation.reason ?? 'it is committed by the host TPM quote instead',
    })
  if (device.family === 'nvidia') {
    if (!device.uuid) throw new InputError('NVIDIA device without UUID cannot be attested')
    const {attestNvidia} = await import('./nvidia/attest.js')
    return attestNvidia(device.uuid, challenge, options.nvmlPath)
  }
  if (device.family === 'sophgo') {
    if (device.libraryIndex === undefined) throw new InputError('Sophgo chip without bmlib index cannot be attested')
    const {attestSophgo} = await import('./sophgo/attest.js')
    return attestSophgo(device.libraryIndex, challenge, {bmlibPath: options.bmlibPath, keyDir: options.sophgoKeyDir})
  }
  throw new InputError(`no attestation producer for ${device.family} devices`)
}

export type DeviceVerifyResult = ({kind: 'nvidia-cc'} & NvidiaVerifyResult) | ({kind: 'sophgo'} & SophgoVerifyResult)

/** Pure verification of evidence parts against the expected challenge (no I/O, no FFI). */
export function verifyDeviceEvidence(parts: DeviceEvidenceParts, expectedChallenge: Uint8Array, now?: Date): DeviceVerifyResult {
  if (parts.kind === 'nvidia-cc') return {kind: 'nvidia-cc', ...verifyNvidiaReport(parts.report, parts.certChainPem, {expectedNonce: expectedChallenge, now})}
  const r = verifySophgoSignature(parts.publicKeyPem, expectedChallenge, parts.signature)
  const same = Buffer.compare(Buffer.from(parts.message), Buffer.from(expectedChallenge)) === 0
  return {kind: 'sophgo', ...r, valid: r.valid && same, reasons: same ? r.reasons : [...r.reasons, 'signed message differs from the expected challenge']}
}

/**
 * Wraps evidence parts in the evidence v1 format (src/evidence/format.ts, docs/evidence.md):
 * nonce.qualifyingData = nonce.challenge = the 32-byte challenge the device signed.
 */
export async function toAcceleratorEvidence(
  parts: DeviceEvidenceParts,
  challenge: Uint8Array,
  producedAt = Math.floor(Date.now() / 1000),
): Promise<AcceleratorEvidence> {
  if (parts.kind === 'nvidia-cc') {
    const {parseCertChain, verifyNvidiaReport} = await import('./nvidia/verify.js')
    const {ecRawPublicKey, NVIDIA_REPORT_FORMAT} = await import('./nvidia/verify-evidence.js')
    const certs = parseCertChain(parts.certChainPem)
    const decoded = verifyNvidiaReport(parts.report, certs, {expectedNonce: parts.nonce}).opaque
    const fields: Record<string, string> = {uuid: parts.uuid}
    if (decoded.driverVersion) fields.driverVersion = decoded.driverVersion
    if (decoded.vbiosVersion) fields.vbiosVersion = decoded.vbiosVersion
    if (decoded.fwid) fields.fwid = decoded.fwid
    return {
      v: 1,
      kind: 'nvidia-cc',
      device: {publicKey: ecRawPublicKey(certs[0]!), certChain: certs.map((c) => new Uint8Array(c.raw))},
      nonce: {qualifyingData: Uint8Array.from(parts.nonce), challenge: Uint8Array.from(challenge)},
      producedAt,
      report: {format: NVIDIA_REPORT_FORMAT, body: parts.report, fields},
    }
  }
  const {rsaModulus, SOPHGO_REPORT_FORMAT} = await import('./sophgo/verify-evidence.js')
  return {
    v: 1,
    kind: 'sophgo',
    device: {publicKey: rsaModulus(parts.publicKeyPem), certChain: []},
    nonce: {qualifyingData: Uint8Array.from(parts.message), challenge: Uint8Array.from(challenge)},
    producedAt,
    report: {format: SOPHGO_REPORT_FORMAT, body: parts.message, signature: parts.signature, ...(parts.serial ? {fields: {serial: parts.serial}} : {})},
  }
}
