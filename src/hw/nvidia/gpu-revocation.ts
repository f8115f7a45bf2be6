import type {X509Certificate} from 'node:crypto'

import {askRevocation, judgeRevocation, NVIDIA_OCSP_URL, type OcspAnswer, type RevocationOptions, type RevocationResult, type RevocationScope} from './ocsp.js'
import {nvidiaDeviceIdentityCa} from './roots.js'

/**
 * OCSP for a GPU attestation chain (leaf first), as NVIDIA's verifier asks (nvtrust cc_admin_utils.py,
 * ocsp_certificate_chain_validation in GPU_ATTESTATION mode): every certificate from index 1 up to the
 * root's child. The leaf (GSP FMC LF) is made on the GPU at boot from its firmware (DICE): NVIDIA's
 * responder has no record of it. A chain the driver returned without its root is completed with the
 * pinned NVIDIA Device Identity CA, so its last intermediate is asked about too.
 */
export type GpuRevocationOptions = Omit<RevocationOptions, 'firstIndex' | 'skipReason' | 'defaultResponderUrl'>

const GPU_SCOPE = {
  firstIndex: 1,
  skipReason: "the GPU leaf is made on the device from its firmware (DICE); NVIDIA's responder has no record of it and NVIDIA's verifier does not ask",
}

/** The chain OCSP looks at: completed with the pinned root when the driver left it out. */
function gpuChain(chain: X509Certificate[]): X509Certificate[] {
  const pinned = nvidiaDeviceIdentityCa()
  const last = chain[chain.length - 1]
  return last && !last.checkIssued(last) && last.checkIssued(pinned) ? [...chain, pinned] : chain
}

export function askGpuChainRevocation(chain: X509Certificate[], options: GpuRevocationOptions): Promise<OcspAnswer[]> {
  return askRevocation(gpuChain(chain), {...options, ...GPU_SCOPE, defaultResponderUrl: NVIDIA_OCSP_URL})
}

export function judgeGpuChainRevocation(
  chain: X509Certificate[],
  answers: readonly OcspAnswer[],
  scope: Omit<RevocationScope, 'firstIndex' | 'skipReason'>,
): RevocationResult {
  return judgeRevocation(gpuChain(chain), answers, {...scope, ...GPU_SCOPE})
}
