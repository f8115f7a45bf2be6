/**
 * What a network profile gives the verifier: its policy (emulator switch, trust roots, the NVIDIA check's
 * policy, read once at start: trustRoots.nvidia lives in `nvidia`'s root fingerprints) and where to scan from.
 */
import {readDevnetState} from '../chain/devnet.js'
import type {NetworkProfile} from '../config/schema.js'
import {nvidiaCheckPolicyFor} from '../hw/nvidia/check-policy.js'
import {loadSophgoTrust} from '../hw/sophgo/catalogue-files.js'
import {cloudVtpmAllowed, loadTrustRoots} from '../hw/tpm2/roots.js'
import type {VerifierPolicy} from './decide.js'

export function policyFromProfile(profile: NetworkProfile): VerifierPolicy {
  const sophgo = loadSophgoTrust(profile)
  return {
    network: profile.name,
    allowEmulator: profile.allowEmulator,
    tpmRoots: loadTrustRoots(profile.trustRoots.tpm),
    allowCloudVtpm: cloudVtpmAllowed(profile),
    sophgoCatalogue: sophgo.catalogue,
    sophgoCatalogueKeys: sophgo.keys,
    nvidia: nvidiaCheckPolicyFor(profile),
  }
}

/** Where a scan starts without --from-block: the devnet's deployment block when it runs, else block 0. */
export function defaultFromBlock(profile: NetworkProfile, dataDir: string): number {
  const state = profile.name === 'devnet' ? readDevnetState(dataDir) : undefined
  const poci = profile.contracts.heartbeat ?? profile.contracts.registry
  return state && poci && state.contracts.heartbeat.toLowerCase() === poci.toLowerCase() ? state.deployBlock : 0
}
