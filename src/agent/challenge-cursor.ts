import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../util/files.js'
import type {ChallengeCursorStore} from './ports.js'

function challengeCursorPath(dataDir: string): string {
  return join(dataDir, 'agent', 'challenge-cursor.json')
}

/**
 * The challenge step's scan position in <dataDir>/agent/challenge-cursor.json. A missing or garbled
 * file only costs one wider scan (the step never looks further back than the answer window anyway).
 */
export function fileChallengeCursor(dataDir: string): ChallengeCursorStore {
  const path = challengeCursorPath(dataDir)
  return {
    read() {
      try {
        const {nextBlock} = JSON.parse(readFileSync(path, 'utf8')) as {nextBlock?: unknown}
        return typeof nextBlock === 'string' && /^\d+$/.test(nextBlock) ? BigInt(nextBlock) : undefined
      } catch {
        return undefined
      }
    },
    write(nextBlock) {
      writeFileAtomic(path, JSON.stringify({nextBlock: nextBlock.toString()}) + '\n', 0o600)
    },
  }
}
