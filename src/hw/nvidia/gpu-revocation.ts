import {X509Certificate} from 'node:crypto'

import {checkRevocation, NVIDIA_OCSP_URL, type OcspMode, type RevocationResult} from './ocsp.js'
import {NVIDIA_DEVICE_IDENTITY_CA_PEM} from './roots.js'

/**
 * OCSP for a GPU attestation chain (leaf first), as NVIDIA's verifier asks (nvtrust cc_admin_utils.py,
 * ocsp_certificate_chain_validation in GPU_ATTESTATION mode): every certificate from index 1 up to the
 * root's child. The leaf (GSP FMC LF) is made on the GPU at boot from its firmware (DICE): NVIDIA's
 * responder has no record of it. A chain the driver returned without its root is completed with the
 * pinned NVIDIA Device Identity CA, so its last intermediate is asked about too.
 */
export interface GpuRevocationOptions {
  mode: OcspMode
  responderUrl?: string
  cacheDir?: string
  now?: Date
  timeoutMs?: number
}

export async function checkGpuChainRevocation(chain: X509Certificate[], options: GpuRevocationOptions): Promise<RevocationResult> {
  const pinned = new X509Certificate(NVIDIA_DEVICE_IDENTITY_CA_PEM)
  const last = chain[chain.length - 1]
  const complete = last && !last.checkIssued(last) && last.checkIssued(pinned) ? [...chain, pinned] : chain
  return checkRevocation(complete, {
    ...options,
    firstIndex: 1,
    skipReason: "the GPU leaf is made on the device from its firmware (DICE); NVIDIA's responder has no record of it and NVIDIA's verifier does not ask",
    defaultResponderUrl: NVIDIA_OCSP_URL,
  })
}
