import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {InputError} from '../../errors/index.js'
import {checkRimsAgainstReport, type ReportMeasurements, type RimCheckOptions, type RimInput, type RimReportCheck} from './rim-check.js'
import {NVIDIA_ARCHITECTURES, type NvidiaArchitectureName} from './architecture.js'
import {rimIdsForReport, type RimIds} from './rim-ids.js'

/**
 * Offline RIMs: a directory of manifests fetched from NVIDIA's RIM service, each named by its RIM id
 * (`<id>`, `<id>.xml` or `<id>.swidtag`). They are verified exactly as any RIM (signature, chain to the
 * pinned root, validity, version), so a directory cannot vouch for anything NVIDIA did not sign.
 * Reading (loadReportRims) is apart from checking (checkLoadedRims, pure), so the verifier reads its
 * facts before it decides.
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
    return new Uint8Array(readFileSync(path))
  } catch {
    throw new InputError(`cannot read RIM ${path}`)
  }
}

/** The RIMs a directory holds for one report: both found (inputs), or notes saying why they are not compared. */
export interface LoadedRims {
  ids: RimIds
  /** The driver and VBIOS RIM, labelled by id; empty when either is missing. */
  inputs: RimInput[]
  notes: string[]
}

export interface RimDirCheck extends RimReportCheck {
  ids: RimIds
}

/** Reads the driver and VBIOS RIMs that `dir` holds for a (parsed) report whose chain names `architecture`. */
export function loadReportRims(report: ReportMeasurements, architecture: NvidiaArchitectureName, dir: string): LoadedRims {
  if (!existsSync(dir)) throw new InputError(`--rim-dir ${dir} does not exist`, {hint: 'or the profile key nvidia.rimDir'})
  const arch = NVIDIA_ARCHITECTURES.find((a) => a.name === architecture)!
  if (arch.device !== 'gpu') return {ids: {}, inputs: [], notes: [`RIMs of a ${arch.chip} NVSwitch are not compared (GPU driver and VBIOS RIMs only)`]}
  const ids = rimIdsForReport(report.opaque, arch)
  const inputs: RimInput[] = []
  const missing: string[] = []
  for (const role of ['driver', 'vbios'] as const) {
    const id = ids[role]
    // a genuine GPU signs the versions the host's driver gives it: an id that is no file name is no RIM
    if (id && !SAFE_ID.test(id)) {
      missing.push(`the report names ${role} RIM id ${JSON.stringify(id)}, which is not a plain file name: not looked up`)
      continue
    }
    const path = id ? findRimFile(dir, id) : undefined
    if (path) inputs.push({label: id!, xml: readRim(path), role})
    else missing.push(id ? `no ${role} RIM ${id} in ${dir}` : `the report does not name its ${role} RIM`)
  }
  return missing.length > 0 ? {ids, inputs: [], notes: missing} : {ids, inputs, notes: []}
}

/** Pure: a (verified, parsed) report's measurements against the RIMs loaded for it. */
export function checkLoadedRims(report: ReportMeasurements, loaded: LoadedRims, options: RimCheckOptions = {}): RimDirCheck {
  if (loaded.inputs.length === 0) return {valid: true, reasons: [], warnings: [], measurements: 'not-checked', notes: loaded.notes, rims: [], ids: loaded.ids}
  return {...checkRimsAgainstReport(report, loaded.inputs, options), ids: loaded.ids}
}
