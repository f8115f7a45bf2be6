import type {X509Certificate} from 'node:crypto'

import {chainArchitecture, type NvidiaArchitectureName} from './architecture.js'
import {parseOpaqueData} from './opaque.js'
import {parseSpdmExchange, REQUEST_LENGTH} from './spdm.js'

/**
 * What an NVIDIA report proves about the chip's model, for the power table (src/evidence/power-table.ts):
 * the architecture its chain names (device identity certificate, architecture.ts) and the CHIP_SKU
 * opaque field (type 15) of the MEASUREMENTS response, which the leaf key signs with the measurements.
 * Nothing else counts: the evidence's report.fields are the agent's unsigned notes. Read only from a
 * report and chain that verifyNvidiaReport accepted (the signature over these very bytes is what makes
 * the chip SKU the chip's word). Pure.
 */
export interface NvidiaAttestedModel {
  architecture: NvidiaArchitectureName
  /** CHIP_SKU as the report carries it, e.g. "885"; absent when the report has no such field. */
  chipSku?: string
  /** PROJECT (type 17), the board project, e.g. "G520": informational. */
  project?: string
}

/** undefined when the chain names no architecture unet knows (such a report never verifies). */
export function nvidiaAttestedModel(report: Uint8Array, chain: readonly X509Certificate[]): NvidiaAttestedModel | undefined {
  const architecture = chainArchitecture(chain).architecture
  if (!architecture) return undefined
  const opaque = parseOpaqueData(parseSpdmExchange(report).response.opaque, REQUEST_LENGTH)
  return {
    architecture: architecture.name,
    ...(opaque.chipSku ? {chipSku: opaque.chipSku} : {}),
    ...(opaque.project ? {project: opaque.project} : {}),
  }
}
