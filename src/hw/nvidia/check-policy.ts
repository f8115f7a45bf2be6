import {nvidiaPolicy, type NetworkProfile} from '../../config/schema.js'
import {loadTrustRoots} from '../tpm2/roots.js'
import type {NvidiaCheckPolicy} from './full-check.js'
import {rootFingerprints} from './verify-evidence.js'

/**
 * A network profile's NVIDIA full-check policy (networks.<name>.nvidia.* and trustRoots.nvidia), with a
 * command's overrides on top: the one mapping `verify nvidia-report`, `verify nvidia-evidence` and the
 * verifier service share. Root files are read here, once.
 */
export interface NvidiaPolicyOverrides extends Partial<Omit<NvidiaCheckPolicy, 'extraRootFingerprints' | 'rimRootFingerprints'>> {
  /** Further root PEM files (added to the profile's, never replacing the pinned roots). */
  nvidiaRoots?: string[]
  rimRoots?: string[]
}

export function nvidiaCheckPolicyFor(profile: NetworkProfile, overrides: NvidiaPolicyOverrides = {}): NvidiaCheckPolicy {
  const base = nvidiaPolicy(profile)
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as NvidiaPolicyOverrides
  return {
    ocsp: defined.ocsp ?? base.ocsp,
    ocspUrl: defined.ocspUrl ?? base.ocspUrl,
    requireCc: defined.requireCc ?? base.requireCc,
    rimDir: defined.rimDir ?? base.rimDir,
    allowMissingFwid: defined.allowMissingFwid,
    extraRootFingerprints: rootFingerprints(
      loadTrustRoots([...profile.trustRoots.nvidia, ...(defined.nvidiaRoots ?? [])], 'fix networks.<name>.trustRoots.nvidia or --nvidia-root'),
    ),
    rimRootFingerprints: rootFingerprints(
      loadTrustRoots([...(base.rimRoots ?? []), ...(defined.rimRoots ?? [])], 'fix networks.<name>.nvidia.rimRoots or --rim-root'),
    ),
  }
}
