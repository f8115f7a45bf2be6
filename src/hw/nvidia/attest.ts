import {HardwareUnavailableError, InputError} from '../../errors/index.js'
import {NVML_NONCE_SIZE} from './ffi.js'
import {openNvml} from './probe.js'

/** Evidence parts of one NVIDIA GPU: the SPDM report over the nonce and the attestation chain. */
export interface NvidiaEvidenceParts {
  kind: 'nvidia-cc'
  uuid: string
  nonce: Uint8Array
  /** request ‖ signed response, as NVML returned it. */
  report: Uint8Array
  /** PEM, leaf first (the GPU attestation certificate chain). */
  certChainPem: string
}

/**
 * Producer: asks the GPU (found by UUID) for an attestation report over `nonce` (32 bytes: the POCI
 * challenge) and for its attestation certificate chain. Management calls only.
 */
export async function attestNvidia(uuid: string, nonce: Uint8Array, nvmlPath?: string): Promise<NvidiaEvidenceParts> {
  if (nonce.length !== NVML_NONCE_SIZE) throw new InputError(`NVIDIA attestation nonce must be ${NVML_NONCE_SIZE} bytes, got ${nonce.length}`)
  const nvml = await openNvml(nvmlPath)
  try {
    const count = nvml.count()
    for (let i = 0; i < count; i++) {
      const h = nvml.handle(i)
      if (nvml.uuid(h) !== uuid) continue
      const report = nvml.attestationReport(h, nonce)
      const cert = nvml.certificate(h)
      return {
        kind: 'nvidia-cc',
        uuid,
        nonce: Uint8Array.from(nonce),
        report,
        certChainPem: Buffer.from(cert.attestationCertChain).toString('latin1').replace(/\0+$/, ''),
      }
    }
    throw new HardwareUnavailableError(`no NVIDIA GPU with UUID ${uuid}`, {hint: 'run `unet devices` to see the GPUs NVML reports'})
  } finally {
    try {
      nvml.shutdown()
    } catch {
      // best effort
    }
  }
}
