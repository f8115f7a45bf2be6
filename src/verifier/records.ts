/**
 * The facts a verifier recorded with its decisions (decisions.jsonl, one record a line), by regId: what
 * `unet verifier audit` recomputes p384 decisions from (the OCSP answers; it never asks a responder).
 * The last decision record of a registration wins; a missing file is an empty log.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {InputError} from '../errors/index.js'
import type {RecordedFacts} from './facts.js'

/** Where `unet verifier run` appends its decisions, and `unet verifier audit` reads them, without --decisions. */
export function verifierDecisionsFile(dataDir: string): string {
  return join(dataDir, 'verifier', 'decisions.jsonl')
}

export function readRecordedFacts(file: string): Map<string, RecordedFacts> {
  const out = new Map<string, RecordedFacts>()
  if (!existsSync(file)) return out
  const lines = readFileSync(file, 'utf8').split('\n')
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    let r: {type?: unknown; regId?: unknown; facts?: unknown}
    try {
      r = JSON.parse(line) as typeof r
    } catch {
      throw new InputError(`decisions log ${file} line ${i + 1} is not JSON`, {hint: "pass the verifier's decisions.jsonl with --decisions"})
    }
    if (r.type === 'decision' && typeof r.regId === 'string') out.set(r.regId.toLowerCase(), (r.facts ?? {}) as RecordedFacts)
  })
  return out
}
