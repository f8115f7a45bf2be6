import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../util/files.js'
import {isLockHolderAlive, lockPath, readLock} from './lock.js'

/**
 * A small snapshot of the running agent (state, epoch, last error), rewritten atomically on each
 * state change, so `unet status` can say what the local agent is doing without talking to it.
 */
export interface AgentStatusSnapshot {
  pid: number
  state: string
  epoch?: string
  /** Last failure reason (cleared on success). */
  lastError?: string
  lastSuccessEpoch?: string
  lastSuccessAt?: number
  updatedAt: number
}

function agentStatusPath(dataDir: string): string {
  return join(dataDir, 'agent', 'state.json')
}

export function writeAgentStatus(dataDir: string, snapshot: AgentStatusSnapshot): void {
  writeFileAtomic(agentStatusPath(dataDir), JSON.stringify(snapshot) + '\n', 0o600)
}

export interface LocalAgentStatus {
  /** A live process holds the agent lock of this data dir. */
  running: boolean
  pid?: number
  snapshot?: AgentStatusSnapshot
}

/** What `unet status` shows under "local agent"; never throws. */
export function readLocalAgentStatus(dataDir: string): LocalAgentStatus {
  let running = false
  let pid: number | undefined
  try {
    const lock = readLock(lockPath(dataDir))
    if (lock && Number.isInteger(lock.pid)) {
      pid = lock.pid
      running = isLockHolderAlive(lock)
    }
  } catch {
    /* unreadable lock: not running as far as we can tell */
  }
  let snapshot: AgentStatusSnapshot | undefined
  try {
    snapshot = JSON.parse(readFileSync(agentStatusPath(dataDir), 'utf8')) as AgentStatusSnapshot
  } catch {
    snapshot = undefined
  }
  return {running, pid, snapshot}
}
