import type {NvidiaArchitecture} from './architecture.js'
import type {OpaqueField} from './opaque.js'

/**
 * The ids under which NVIDIA's RIM service publishes the manifests a report needs, built as NVIDIA's
 * verifiers build them from the report's opaque data:
 *  - driver: `NV_GPU_DRIVER_GH100_<driver version>` for Hopper, `NV_GPU_CC_DRIVER_<chip>_<version>` for
 *    Blackwell (the chip from the report's CHIP_INFO field, GB100 without it, as attestation-sdk
 *    src/gpu/evidence.cpp does);
 *  - VBIOS: `NV_GPU_VBIOS_<project>_<project SKU>_<chip SKU>_<VBIOS version without dots>`.
 */

const FIELD = {PROJECT: 17, PROJECT_SKU: 18, CHIP_SKU: 15, CHIP_INFO: 35} as const

function text(fields: OpaqueField[], type: number): string | undefined {
  const v = fields.find((f) => f.type === type)?.value
  return v ? Buffer.from(v).toString('latin1').replace(/\0/g, '').trim() : undefined
}

export interface RimIds {
  driver?: string
  vbios?: string
}

/** GPU reports only (an NVSwitch has other RIMs): `architecture` is the one the report's chain names. */
export function rimIdsForReport(opaque: {fields: OpaqueField[]; driverVersion?: string; vbiosVersion?: string}, architecture: NvidiaArchitecture): RimIds {
  const ids: RimIds = {}
  const chip = architecture.name === 'hopper' ? 'GH100' : (text(opaque.fields, FIELD.CHIP_INFO) ?? architecture.chip)
  if (opaque.driverVersion)
    ids.driver = architecture.name === 'hopper' ? `NV_GPU_DRIVER_GH100_${opaque.driverVersion}` : `NV_GPU_CC_DRIVER_${chip}_${opaque.driverVersion}`
  const project = text(opaque.fields, FIELD.PROJECT)
  const projectSku = text(opaque.fields, FIELD.PROJECT_SKU)
  const chipSku = text(opaque.fields, FIELD.CHIP_SKU)
  if (project && projectSku && chipSku && opaque.vbiosVersion)
    ids.vbios = `NV_GPU_VBIOS_${project}_${projectSku}_${chipSku}_${opaque.vbiosVersion.replace(/\./g, '').toUpperCase()}`
  return ids
}
