import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

/** The devnet verifier's records (<dataDir>/devnet/decisions.jsonl), oldest first. */
export function devnetDecisions<T = Record<string, unknown>>(dataDir: string): T[] {
  const file = join(dataDir, 'devnet', 'decisions.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T)
}

/**
 * Waits until the records satisfy `done`: the verifier writes a record after its transaction, so a
 * decision can be on chain a moment before its record is.
 */
export async function devnetDecisionsWhen<T = Record<string, unknown>>(dataDir: string, done: (records: T[]) => boolean, timeoutMs = 15_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !done(devnetDecisions<T>(dataDir))) await new Promise((resolve) => setTimeout(resolve, 200))
  return devnetDecisions<T>(dataDir)
}
