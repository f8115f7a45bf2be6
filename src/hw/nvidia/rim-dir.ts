import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {InputError} from '../../errors/index.js'
import {checkRimsAgainstReport, reportMeasurements, type RimInput, type RimReportCheck} from './rim-check.js'
import {NVIDIA_ARCHITECTURES, type NvidiaArchitectureName} from './architecture.js'
import {rimIdsForReport, type RimIds} from './rim-ids.js'
import type {RimVerifyOptions} from './rim.js'

/**
 * Offline RIMs: a directory of manifests fetched from NVIDIA's RIM service, each named by its RIM id
 * (`<id>`, `<id>.xml` or `<id>.swidtag`). They are verified exactly as any RIM (signature, chain to the
 * pinned root, validity, version), so a directory cannot vouch for anything NVIDIA did not sign.
 */

/** Ids become file names: text from the report must not steer them out of the directory. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,128}$/

/** The manifest for `id` in `dir`; undefined when there is none. */
export function findRimFile(dir: string, id: string): string | undefined {
  if (!SAFE_ID.test(id)) throw new InputError(`the report names RIM id ${JSON.stringify(id)}, which is not a plain file name`)
  return [id, `${id}.xml`, `${id}.swidtag`].map((n) => join(dir, n)).find((p) => existsSync(p))
}

function readRim(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch {
    throw new InputError(`cannot read RIM ${path}`)
  }
}

export interface RimDirCheck extends RimReportCheck {
  ids: RimIds
}

/**
 * Checks a (verified) report's measurements with the driver and VBIOS RIMs that `dir` holds for it;
 * `architecture` is the one the report's chain names (verifyNvidiaReport).
 */
export function checkReportWithRimDir(
  report: Uint8Array,
  architecture: NvidiaArchitectureName,
  dir: string,
  options: Omit<RimVerifyOptions, 'expectedVersion'> = {},
): RimDirCheck {
  if (!existsSync(dir)) throw new InputError(`--rim-dir ${dir} does not exist`)
  const arch = NVIDIA_ARCHITECTURES.find((a) => a.name === architecture)!
  if (arch.device !== 'gpu')
    return {
      valid: true,
      reasons: [],
      measurements: 'not-checked',
      notes: [`RIMs of a ${arch.chip} NVSwitch are not compared (GPU driver and VBIOS RIMs only)`],
      rims: [],
      ids: {},
    }
  const measurements = reportMeasurements(report)
  const ids = rimIdsForReport(measurements.opaque, arch)
  const inputs: RimInput[] = []
  const missing: string[] = []
  for (const role of ['driver', 'vbios'] as const) {
    const id = ids[role]
    const path = id ? findRimFile(dir, id) : undefined
    if (path) inputs.push({label: id!, xml: readRim(path), role})
    else missing.push(id ? `no ${role} RIM ${id} in ${dir}` : `the report does not name its ${role} RIM`)
  }
  if (missing.length > 0) return {valid: true, reasons: [], measurements: 'not-checked', notes: missing, rims: [], ids}
  return {...checkRimsAgainstReport(measurements, inputs, options), ids}
}
