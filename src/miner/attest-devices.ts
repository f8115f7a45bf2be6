/**
 * Accelerators with their own attestation key, as the chain sees them: which local devices they are
 * (probeDevices → deviceId = keccak256 of the raw key), their on-chain kind (Sophgo → rsa2048, NVIDIA
 * → p384), and their evidence plus proof over a 32-byte challenge (registration or per-device
 * heartbeat challenge, docs/protocol.md §3, §5, §7). Shared by `unet register` and the heartbeat's
 * DevicesPort; pure of ethers and FFI (the producers in src/hw load their libraries lazily).
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {keccak_256} from '@noble/hashes/sha3.js'

import {DeviceKind, type DeviceKindValue} from '../chain/artifacts.js'
import {decodeEvidence, deviceIdOf, encodeEvidence, evidenceDigestHex, type AcceleratorEvidence} from '../evidence/index.js'
import {ExitCode, UnetError} from '../errors/index.js'
import type {Device, DeviceEvidenceParts, ProbeOptions} from '../hw/inventory.js'
import {writeFileAtomic} from '../util/files.js'
import {bytesToHex, concatBytes, hexToBytes, leftPadBytes} from '../util/hex.js'

/** Where the device libraries and fixtures are (config keys sysfsRoot, nvmlPath, bmlibPath, amdsmiPath). */
export interface DeviceLocator extends ProbeOptions {
  /** Sophgo key files (p2_<devid>, pubkey_<devid>); default: read from the chip. */
  sophgoKeyDir?: string
}

/** Config keys that locate the device libraries (and fixtures in tests). */
export function deviceLocatorOf(config: {sysfsRoot?: string; nvmlPath?: string; bmlibPath?: string; amdsmiPath?: string}): DeviceLocator {
  return {sysfsRoot: config.sysfsRoot, nvmlPath: config.nvmlPath, bmlibPath: config.bmlibPath, amdsmiPath: config.amdsmiPath}
}

/** A local device that can sign with its own key, with its on-chain identity. */
export interface OwnKeyDevice {
  device: Device
  /** 0x bytes32: keccak256 of the raw key (canonical form). */
  deviceId: string
  chainKind: DeviceKindValue
  /** Raw public key as register() takes it (RSA modulus; P-384 SEC1 point). */
  publicKey: Uint8Array
  /** Human label: "Sophgo BM1684X HQDZ…:0". */
  label: string
}

/** A device's answer to one challenge, ready for the chain. */
export interface DeviceAttestationResult {
  deviceId: string
  chainKind: DeviceKindValue
  evidence: AcceleratorEvidence
  /** 0x digest the heartbeat commits to: committedDigest(chainKind, evidence). */
  evidenceDigest: string
  /** Registration proof of possession (docs/protocol.md §5): RSA the signature (256), P-384 the report. */
  registerProof: Uint8Array
  /** Heartbeat proof (§7): RSA modulus ‖ signature (512); P-384 none. */
  heartbeatProof?: Uint8Array
}

const RSA_BYTES = 256

function chainKindOf(device: Device): DeviceKindValue | undefined {
  if (device.family === 'sophgo' && device.deviceKey?.algorithm === 'rsa-2048') return DeviceKind.RSA2048
  if (device.family === 'nvidia' && device.deviceKey?.algorithm === 'ecdsa-p384') return DeviceKind.P384
  return undefined
}

function deviceLabel(device: Device): string {
  return `${device.vendor} ${device.model} ${device.stableId}`
}

/** Probes the machine and keeps the accelerators that attest with their own key and have a chain kind. */
export async function ownKeyDevices(locator: DeviceLocator): Promise<{devices: OwnKeyDevice[]; skipped: Array<{label: string; reason: string}>}> {
  return ownKeyDevicesOf(await probeLocated(locator))
}

/** Every device the probes find where the locator points. */
export async function probeLocated(locator: DeviceLocator): Promise<Device[]> {
  const {probeDevices} = await import('../hw/inventory.js')
  return probeDevices({
    sysfsRoot: locator.sysfsRoot,
    nvmlPath: locator.nvmlPath,
    bmlibPath: locator.bmlibPath,
    amdsmiPath: locator.amdsmiPath,
    devRoot: locator.devRoot,
  })
}

/** The own-key accelerators among probed devices (ownKeyDevices without the probe). */
export function ownKeyDevicesOf(all: Device[]): {devices: OwnKeyDevice[]; skipped: Array<{label: string; reason: string}>} {
  const devices: OwnKeyDevice[] = []
  const skipped: Array<{label: string; reason: string}> = []
  for (const device of all) {
    if (device.kind === 'tpm') continue // the host engine itself
    const label = deviceLabel(device)
    if (device.attestation.support !== 'own-key') {
      skipped.push({label, reason: device.attestation.reason ?? 'no own attestation key: committed by the host quote only'})
      continue
    }
    const chainKind = chainKindOf(device)
    if (!device.deviceKey || chainKind === undefined) {
      skipped.push({label, reason: device.deviceKey ? `no on-chain kind for a ${device.deviceKey.algorithm} key` : 'its key could not be read'})
      continue
    }
    const publicKey = hexToBytes(device.deviceKey.raw, 'device key')
    devices.push({device, deviceId: bytesToHex(deviceIdOf(publicKey)), chainKind, publicKey, label})
  }
  return {devices, skipped}
}

/**
 * The device signs `challenge` (SHA-256 of it, docs/protocol.md §3); the result is checked with the
 * pure verifier before anything is sent, so a device that answers wrongly is named here, not by a revert.
 */
export async function attestOwnKeyDevice(target: OwnKeyDevice, challenge: Uint8Array, locator: DeviceLocator): Promise<DeviceAttestationResult> {
  const {attestDevice, toAcceleratorEvidence, verifyDeviceEvidence} = await import('../hw/inventory.js')
  const parts: DeviceEvidenceParts = await attestDevice(target.device, challenge, {
    nvmlPath: locator.nvmlPath,
    bmlibPath: locator.bmlibPath,
    sophgoKeyDir: locator.sophgoKeyDir,
  })
  const check = verifyDeviceEvidence(parts, challenge)
  if (!check.valid)
    throw new UnetError(`${target.label}: its evidence over the challenge does not verify: ${check.reasons.join('; ')}`, ExitCode.EVIDENCE_INVALID, {
      hint:
        parts.kind === 'nvidia-cc'
          ? 'the GPU must answer with a fresh SPDM report over this nonce (a recorded report cannot); check CC mode and the driver'
          : 'the chip key does not match its public key file; check sophgoKeyDir',
      details: {deviceId: target.deviceId, reasons: check.reasons},
    })
  const evidence = await toAcceleratorEvidence(parts, challenge)
  if (bytesToHex(deviceIdOf(evidence.device.publicKey)) !== target.deviceId)
    throw new UnetError(`${target.label}: the key in its evidence is not the key probed (${target.deviceId})`, ExitCode.EVIDENCE_INVALID, {
      hint: 'the device changed under the agent; re-run `unet devices`',
    })
  const evidenceDigest = committedDigest(target.chainKind, evidence)
  if (parts.kind === 'sophgo') {
    const signature = leftPadBytes(parts.signature, RSA_BYTES)
    const modulus = leftPadBytes(evidence.device.publicKey, RSA_BYTES)
    return {
      deviceId: target.deviceId,
      chainKind: target.chainKind,
      evidence,
      evidenceDigest,
      registerProof: signature,
      heartbeatProof: concatBytes(modulus, signature),
    }
  }
  return {deviceId: target.deviceId, chainKind: target.chainKind, evidence, evidenceDigest, registerProof: Uint8Array.from(parts.report)}
}

/** Kinds whose heartbeat evidence is committed by digest only and answered in the challenge game (docs/protocol.md §6). */
const COMMITTED_KINDS: ReadonlySet<number> = new Set([DeviceKind.P384])

/**
 * The evidenceDigest a heartbeat commits for a device. Committed kinds (p384): keccak256 of the raw SPDM
 * exchange (evidence.report.body = GET_MEASUREMENTS request ‖ signed response, as NVML returns it), the
 * bytes a challenge answer posts and the contract hashes; other kinds: keccak256 of the canonical evidence.
 */
export function committedDigest(kind: number, evidence: AcceleratorEvidence): string {
  return COMMITTED_KINDS.has(kind) ? bytesToHex(keccak_256(evidence.report.body)) : evidenceDigestHex(evidence)
}

/**
 * Epochs a device's heartbeat evidence is kept: at least the contract's CHALLENGE_WINDOW (16), the
 * epochs in which a committed heartbeat can still be challenged; more for the verifier's spot checks.
 */
const EVIDENCE_KEEP_EPOCHS = 256

const evidencePath = (dir: string, deviceId: string, epoch: bigint, digest: string) =>
  join(dir, deviceId.toLowerCase(), `${epoch}-${digest.toLowerCase()}.evidence`)

/**
 * Keeps the whole canonical evidence a heartbeat committed to: <dir>/<deviceId>/<epoch>-<digest>.evidence,
 * where digest is the one committed on chain (committedDigest; default the canonical evidence's), so a
 * challenge finds it by (deviceId, epoch, digest); a retried attempt leaves one file per digest. Files
 * older than `keepEpochs` are removed. Returns the path written.
 */
export function keepDeviceEvidence(
  dir: string,
  deviceId: string,
  epoch: bigint,
  evidence: AcceleratorEvidence,
  keepEpochs = EVIDENCE_KEEP_EPOCHS,
  digest = evidenceDigestHex(evidence),
): string {
  const deviceDir = join(dir, deviceId.toLowerCase())
  mkdirSync(deviceDir, {recursive: true, mode: 0o700})
  const path = evidencePath(dir, deviceId, epoch, digest)
  writeFileAtomic(path, encodeEvidence(evidence), 0o600)
  const oldest = epoch - BigInt(keepEpochs) + 1n
  for (const name of readdirSync(deviceDir)) {
    const m = /^(\d+)-0x[0-9a-f]{64}\.evidence$/.exec(name)
    if (m && BigInt(m[1]!) < oldest) rmSync(join(deviceDir, name), {force: true})
  }
  return path
}

/**
 * The kept evidence of (deviceId, epoch) whose committed digest is `digest`, or undefined. The file is
 * checked, not trusted by name: it must decode canonically and hash to the digest under `kind`.
 */
export function findKeptEvidence(dir: string, deviceId: string, epoch: bigint, digest: string, kind: number): AcceleratorEvidence | undefined {
  const path = evidencePath(dir, deviceId, epoch, digest)
  if (!existsSync(path)) return undefined
  let evidence
  try {
    evidence = decodeEvidence(new Uint8Array(readFileSync(path)))
  } catch {
    return undefined
  }
  if (!('report' in evidence) || committedDigest(kind, evidence) !== digest.toLowerCase()) return undefined
  return evidence
}
