import {bytesToHex} from '../../util/hex.js'
import type {GoldenMeasurement} from './rim.js'
import type {MeasurementBlock} from './spdm.js'

/**
 * Golden-measurement comparison as NVIDIA's verifier makes it: the active entries of the driver RIM
 * and the VBIOS RIM together form one list (an index active in both is refused, not resolved); each
 * must equal, in value and size, one of its alternatives in the report's measurement block of RIM
 * index + 1 (RIM indices are 0-based, SPDM block indices 1-based). Blocks no RIM covers are ignored.
 * Index 35 is skipped when the report says NVDEC0 is disabled, as NVIDIA's verifier does.
 */

export type RimRole = 'driver' | 'vbios'

export interface IndexResult {
  index: number
  source: RimRole
  result: 'match' | 'mismatch' | 'absent' | 'skipped'
  /** The report's value (hex), when the block exists. */
  reported?: string
}

export interface MeasurementComparison {
  status: 'match' | 'mismatch'
  reasons: string[]
  /** Indices active in both RIMs (refused). */
  conflicts: number[]
  mismatched: number[]
  indices: IndexResult[]
}

export const NVDEC0_DISABLED = 0x55
/** The measurement index that records NVDEC0; meaningless while NVDEC0 is disabled. */
const NVDEC0_INDEX = 35

export function compareGoldenMeasurements(
  rims: {role: RimRole; measurements: GoldenMeasurement[]}[],
  blocks: MeasurementBlock[],
  options: {nvdec0Disabled?: boolean} = {},
): MeasurementComparison {
  const reasons: string[] = []
  const golden = new Map<number, {source: RimRole; m: GoldenMeasurement}>()
  const conflicts: number[] = []
  for (const {role, measurements} of rims) {
    const seen = new Set<number>()
    for (const m of measurements) {
      if (seen.has(m.index)) {
        conflicts.push(m.index)
        reasons.push(`measurement index ${m.index} is defined twice in the ${role} RIM`)
        continue
      }
      seen.add(m.index)
      if (!m.active) continue
      const other = golden.get(m.index)
      if (other) {
        conflicts.push(m.index)
        reasons.push(`measurement index ${m.index} is defined by both the ${other.source} and the ${role} RIM: refused`)
        golden.delete(m.index)
        continue
      }
      if (!conflicts.includes(m.index)) golden.set(m.index, {source: role, m})
    }
  }
  const byIndex = new Map(blocks.map((b) => [b.index, b]))
  const indices: IndexResult[] = []
  for (const [index, {source, m}] of [...golden].sort((a, b) => a[0] - b[0])) {
    if (index === NVDEC0_INDEX && options.nvdec0Disabled) {
      indices.push({index, source, result: 'skipped'})
      continue
    }
    const block = byIndex.get(index + 1)
    if (!block) {
      indices.push({index, source, result: 'absent'})
      reasons.push(`measurement ${index} (${source} RIM) is absent from the report (no block ${index + 1})`)
      continue
    }
    const reported = bytesToHex(block.value, false)
    const ok = block.value.length === m.size && m.alternatives.includes(reported)
    indices.push({index, source, result: ok ? 'match' : 'mismatch', reported})
    if (!ok) reasons.push(`measurement ${index} (${source} RIM) ${reported} matches none of its ${m.alternatives.length} golden value(s)`)
  }
  const mismatched = indices.filter((i) => i.result === 'mismatch' || i.result === 'absent').map((i) => i.index)
  return {status: reasons.length === 0 ? 'match' : 'mismatch', reasons, conflicts: [...new Set(conflicts)].sort((a, b) => a - b), mismatched, indices}
}
