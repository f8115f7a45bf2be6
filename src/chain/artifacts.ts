import {readFileSync} from 'node:fs'

export interface Artifact {
  contractName: string
  abi: readonly Record<string, unknown>[]
  bytecode: string
  deployedBytecode: string
}

const cache = new Map<string, Artifact>()

/** Committed compiler output (contracts/artifacts/<name>.json), found from src/ or dist/ alike. */
export function loadArtifact(name: 'Poci' | 'UncToken' | 'P384Verifier'): Artifact {
  let artifact = cache.get(name)
  if (!artifact) {
    const url = new URL(`../../contracts/artifacts/${name}.json`, import.meta.url)
    artifact = JSON.parse(readFileSync(url, 'utf8')) as Artifact
    cache.set(name, artifact)
  }
  return artifact
}

export {DEVICE_KIND_NAMES, DeviceKind, type DeviceKindValue} from '../evidence/device-kinds.js'
import {DeviceKind} from '../evidence/device-kinds.js'

/** What deviceInfo reports, by status number: a device record exists only while its key is bound (approved). */
export const DEVICE_STATUS_NAMES = ['none', 'pending', 'approved'] as const

/** What registrationInfo reports, by status number (docs/protocol.md §5). */
export const REGISTRATION_STATUS_NAMES = ['none', 'pending', 'approved', 'rejected', 'ended'] as const

export function isHostKind(kind: number): boolean {
  return kind === DeviceKind.HOST_TPM || kind === DeviceKind.HOST_EMULATOR
}
