import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

/** A verifier's decision log (one JSON record a line), oldest first; none while the file does not exist yet. */
export function decisionRecords<T = Record<string, unknown>>(file: string): T[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T)
}

/** The devnet verifier's records (<dataDir>/devnet/decisions.jsonl), oldest first. */
export function devnetDecisions<T = Record<string, unknown>>(dataDir: string): T[] {
  return decisionRecords<T>(join(dataDir, 'devnet', 'decisions.jsonl'))
}

/**
 * Waits until the records satisfy `done`: the verifier writes a record after its transaction, so a
 * decision can be on chain a moment before its record is (and before the file exists at all).
 */
export async function decisionRecordsWhen<T = Record<string, unknown>>(file: string, done: (records: T[]) => boolean, timeoutMs = 15_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !done(decisionRecords<T>(file))) await new Promise((resolve) => setTimeout(resolve, 200))
  return decisionRecords<T>(file)
}

/** decisionRecordsWhen on the devnet verifier's log. */
export function devnetDecisionsWhen<T = Record<string, unknown>>(dataDir: string, done: (records: T[]) => boolean, timeoutMs = 15_000): Promise<T[]> {
  return decisionRecordsWhen<T>(join(dataDir, 'devnet', 'decisions.jsonl'), done, timeoutMs)
}
