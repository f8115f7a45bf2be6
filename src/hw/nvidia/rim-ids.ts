import type {OpaqueField} from './opaque.js'

/**
 * The ids under which NVIDIA's RIM service publishes the manifests a report needs, built as NVIDIA's
 * verifiers build them from the report's opaque data:
 *  - driver: `NV_GPU_DRIVER_GH100_<driver version>` for Hopper, `NV_GPU_CC_DRIVER_<chip>_<version>`
 *    for later chips (Blackwell: GB100);
 *  - VBIOS: `NV_GPU_VBIOS_<project>_<project SKU>_<chip SKU>_<VBIOS version without dots>`.
 */

const FIELD = {PROJECT: 17, PROJECT_SKU: 18, CHIP_SKU: 15} as const

function text(fields: OpaqueField[], type: number): string | undefined {
  const v = fields.find((f) => f.type === type)?.value
  return v ? Buffer.from(v).toString('latin1').replace(/\0/g, '').trim() : undefined
}

export interface RimIds {
  driver?: string
  vbios?: string
}

/** `chip` is the GPU's chip name as its attestation leaf certificate states it (e.g. GH100, GB100). */
export function rimIdsForReport(opaque: {fields: OpaqueField[]; driverVersion?: string; vbiosVersion?: string}, chip: string): RimIds {
  const ids: RimIds = {}
  if (opaque.driverVersion) ids.driver = chip === 'GH100' ? `NV_GPU_DRIVER_GH100_${opaque.driverVersion}` : `NV_GPU_CC_DRIVER_${chip}_${opaque.driverVersion}`
  const project = text(opaque.fields, FIELD.PROJECT)
  const projectSku = text(opaque.fields, FIELD.PROJECT_SKU)
  const chipSku = text(opaque.fields, FIELD.CHIP_SKU)
  if (project && projectSku && chipSku && opaque.vbiosVersion)
    ids.vbios = `NV_GPU_VBIOS_${project}_${projectSku}_${chipSku}_${opaque.vbiosVersion.replace(/\./g, '').toUpperCase()}`
  return ids
}

/** The chip name from a GPU attestation leaf subject ("CN=GH100 A01 GSP FMC LF" → GH100). */
export function chipFromLeafSubject(subject: string): string | undefined {
  return /CN=(G[A-Z]\d{3})\b/.exec(subject)?.[1]
}
