/**
 * What `unet devices` lists and the heartbeat integrator consumes: one entry per accelerator (and
 * the host TPM), with a stable identity, its state, and whether it can attest with its own key.
 */

/** own-key: the chip signs challenges with a key in its own security engine (NVIDIA CC, Sophgo);
 *  host-tpm: no usable device key, its presence is committed in the host TPM quote only;
 *  none: not attestable (e.g. the host TPM entry itself is the engine, or nothing works). */
export type AttestationSupport = 'own-key' | 'host-tpm' | 'none'

export type DeviceFamily = 'nvidia' | 'amd' | 'sophgo' | 'generic' | 'tpm'

export interface DeviceProcess {
  pid: number
  usedMemoryBytes?: number
}

export interface DeviceBusy {
  state: 'idle' | 'busy' | 'unknown'
  utilisationPercent?: number
  processes?: DeviceProcess[]
}

/** The key a device attests with, where it has one (hex SPKI DER). deviceId = hash of it (src/evidence). */
export interface DeviceKey {
  algorithm: 'ecdsa-p384' | 'rsa-2048' | 'rsa'
  spki: string
  /** Hex of the raw key as evidence v1 carries it in device.publicKey (SEC1 point for P-384, modulus for RSA):
   *  deviceId = deviceIdOf(raw) (src/evidence/nonce.ts). */
  raw: string
}

export interface Device {
  kind: 'gpu' | 'asic' | 'tpm'
  family: DeviceFamily
  vendor: string
  model: string
  /** Stable across reboots and slot moves where the vendor offers it. */
  stableId: string
  stableIdSource: 'uuid+serial' | 'uuid' | 'unique_id' | 'serial' | 'pci-address' | 'tpm'
  uuid?: string
  serial?: string
  pciAddress?: string
  pci?: {vendorId: string; deviceId: string; classCode: string; subsystem?: string}
  memoryBytes?: number
  memoryUsedBytes?: number
  /** Sensors where the driver gives them (NVML), for metrics; management queries only. */
  sensors?: {temperatureCelsius?: number; powerDrawWatts?: number}
  driver?: {name?: string; version?: string}
  busy: DeviceBusy
  attestation: {support: AttestationSupport; ccMode?: 'on' | 'off' | 'devtools'; reason?: string}
  deviceKey?: DeviceKey
  /** Index in the vendor library (NVML index, bmlib devid) when it answered. */
  libraryIndex?: number
  /** Where something is missing, why ("driver not loaded", "CC mode off", ...). */
  reasons: string[]
  /** The power the table gives this model (src/hw/expected-power.ts), as a decimal string; absent: no row. */
  expectedPower?: {power: string; model: string; basis: 'model' | 'floor' | 'kind'; note: string}
}
