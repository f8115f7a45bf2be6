import {readFileSync} from 'node:fs'

export interface Artifact {
  contractName: string
  abi: readonly Record<string, unknown>[]
  bytecode: string
  deployedBytecode: string
}

const cache = new Map<string, Artifact>()

/** Committed compiler output (contracts/artifacts/<name>.json), found from src/ or dist/ alike. */
export function loadArtifact(name: 'Poci' | 'UncToken'): Artifact {
  let artifact = cache.get(name)
  if (!artifact) {
    const url = new URL(`../../contracts/artifacts/${name}.json`, import.meta.url)
    artifact = JSON.parse(readFileSync(url, 'utf8')) as Artifact
    cache.set(name, artifact)
  }
  return artifact
}

/** Device kinds as the contract numbers them (docs/protocol.md §Kinds). */
export const DeviceKind = {
  HOST_TPM: 1,
  HOST_EMULATOR: 2,
  P256: 3,
  SECP256K1: 4,
  RSA2048: 5,
  P384: 6,
  EMULATOR: 7,
} as const
export type DeviceKindValue = (typeof DeviceKind)[keyof typeof DeviceKind]
export const DEVICE_KIND_NAMES: Record<number, string> = {
  1: 'host-tpm',
  2: 'host-emulator',
  3: 'p256',
  4: 'secp256k1',
  5: 'rsa2048',
  6: 'p384',
  7: 'emulator',
}

export const DeviceStatus = {NONE: 0, PENDING: 1, APPROVED: 2} as const
export const DEVICE_STATUS_NAMES = ['none', 'pending', 'approved'] as const

export function isHostKind(kind: number): boolean {
  return kind === DeviceKind.HOST_TPM || kind === DeviceKind.HOST_EMULATOR
}
