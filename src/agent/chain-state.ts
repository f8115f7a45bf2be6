import {existsSync, mkdirSync, readFileSync, renameSync} from 'node:fs'
import {join, relative} from 'node:path'

import {chainKey, chainLabel, decodeChainIdentity, encodeChainIdentity, type ChainIdentity} from '../util/chain-identity.js'
import {writeFileAtomic} from '../util/files.js'
import {silentAgentLogger, type AgentLogger} from './ports.js'

/**
 * The agent's persisted state belongs to one chain. <dataDir>/agent/chain.json names it (chain id +
 * genesis hash + POCI address, src/util/chain-identity.ts); when the agent starts against another chain
 * (a fresh devnet, another network on the same data dir), everything it kept for the old one is moved
 * to <dataDir>/agent/archive/<time>-<chain>/ — never deleted — with one log line, so no outbox entry,
 * journal line or kept evidence of the old chain is ever read as this chain's.
 */

/** What the agent keeps per chain, relative to the data dir (the lock is per data dir, not per chain). */
export const AGENT_CHAIN_STATE = ['agent/outbox', 'agent/journal.json', 'agent/state.json', 'agent/challenge-cursor.json'] as const

export interface BindOptions {
  /** More per-chain paths (absolute), e.g. the kept device evidence. */
  extraPaths?: string[]
  logger?: AgentLogger
  /** ms clock for the archive folder's name (default Date.now). */
  now?: () => number
}

export type BindResult =
  | {action: 'same'}
  /** No chain.json yet: nothing to compare with (a first start, or state from before chains were recorded). */
  | {action: 'recorded'}
  | {action: 'archived'; archivedTo: string; previous?: ChainIdentity; moved: string[]}

export function chainFilePath(dataDir: string): string {
  return join(dataDir, 'agent', 'chain.json')
}

/** The chain the agent state of `dataDir` belongs to: undefined when none is recorded; 'unreadable' when chain.json is garbled. */
export function readStateChain(dataDir: string): ChainIdentity | 'unreadable' | undefined {
  const path = chainFilePath(dataDir)
  if (!existsSync(path)) return undefined
  try {
    return decodeChainIdentity(JSON.parse(readFileSync(path, 'utf8'))) ?? 'unreadable'
  } catch {
    return 'unreadable'
  }
}

/** Whether the agent state of `dataDir` may be read as `chain`'s (recorded for it, or not recorded at all). */
export function stateIsOf(dataDir: string, chain: ChainIdentity): boolean {
  const recorded = readStateChain(dataDir)
  return recorded === undefined || (recorded !== 'unreadable' && chainKey(recorded) === chainKey(chain))
}

/**
 * Makes the agent state of `dataDir` this chain's: the same chain → nothing; no record → records this
 * chain (state written before chains were recorded is kept: every confirmation is re-checked against
 * the chain anyway); another chain or a garbled record → archives the old state, then records this chain.
 * Call it under the agent lock, before the outbox is opened.
 */
export function bindStateToChain(dataDir: string, chain: ChainIdentity, options: BindOptions = {}): BindResult {
  const logger = options.logger ?? silentAgentLogger
  const recorded = readStateChain(dataDir)
  if (recorded !== undefined && recorded !== 'unreadable' && chainKey(recorded) === chainKey(chain)) return {action: 'same'}
  let result: BindResult = {action: 'recorded'}
  if (recorded !== undefined) {
    const previous = recorded === 'unreadable' ? undefined : recorded
    const archivedTo = freshDir(join(dataDir, 'agent', 'archive', archiveName(previous, (options.now ?? Date.now)())))
    const candidates = [...AGENT_CHAIN_STATE.map((p) => join(dataDir, p)), ...(options.extraPaths ?? []), chainFilePath(dataDir)]
    const moved: string[] = []
    for (const path of candidates) {
      if (!existsSync(path)) continue
      const target = join(archivedTo, relative(dataDir, path))
      mkdirSync(join(target, '..'), {recursive: true, mode: 0o700})
      renameSync(path, target)
      moved.push(relative(dataDir, path))
    }
    logger.warn(
      {previous: previous && encodeChainIdentity(previous), current: encodeChainIdentity(chain), archivedTo, moved},
      `the node is another chain than the agent state's (${previous ? chainLabel(previous) : 'unreadable agent/chain.json'} → ${chainLabel(chain)}): old agent state archived to ${archivedTo}`,
    )
    result = {action: 'archived', archivedTo, previous, moved}
  }
  writeFileAtomic(chainFilePath(dataDir), JSON.stringify({version: 1, ...encodeChainIdentity(chain)}) + '\n', 0o600)
  return result
}

/** `base`, or `base-2`, `base-3`… when an archive of the same second exists. */
function freshDir(base: string): string {
  let dir = base
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`
  return dir
}

function archiveName(previous: ChainIdentity | undefined, nowMs: number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return previous ? `${stamp}-chain${previous.chainId}-${previous.genesisHash.slice(2, 10)}` : `${stamp}-unknown-chain`
}
