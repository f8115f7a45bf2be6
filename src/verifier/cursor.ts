/**
 * The verifier service's persisted progress (`<dataDir>/verifier/cursor.json`): the next block to scan
 * and the registrations and spot checks still in flight, so a restart decides nothing twice. A cursor of
 * another chain (chain id + genesis hash + contract: a fresh devnet has the same id and address) is
 * ignored; one ahead of the chain (a devnet restored from a dump older than the cursor, a reorg) is
 * rewound to the chain's head. Secrets are never stored: the activation commitment is on chain and the
 * contract checks the answer.
 */
import {existsSync, readFileSync} from 'node:fs'

import {ExitCode, UnetError} from '../errors/index.js'
import type {ChainIdentity} from '../util/chain-identity.js'
import {writeFileAtomic} from '../util/files.js'

/** A host-tpm registration whose credential challenge is posted; approved once `activated`. */
export interface WaitingActivation {
  deviceId: string
  blockNumber: number
  /** Block of the credential challenge: the activation timeout counts from here. */
  challengedAt: number
  /** The decision (power as a decimal string) to carry out once activated. */
  decision: {kind: string; txHash: string; power: string; reasons: string[]; warnings: string[]; evidenceDigest?: string; ekId?: string}
}

/** A registration whose transaction failed for a transient reason (RPC, funds): retried with backoff. */
export interface RetryEntry {
  blockNumber: number
  attempts: number
  /** Unix ms before which it is not tried again. */
  notBefore: number
}

/** A heartbeat that may be spot-checked once its draw block exists. */
export interface SpotCandidate {
  hostId: string
  epoch: string
  blockNumber: number
  txHash: string
}

export interface OpenSpotCheck {
  challengeId: string
  hostId: string
  deviceId: string
  epoch: string
  deadline: string
}

export interface VerifierCursor {
  version: 1
  chainId: string
  /** Hash of block 0 (absent in cursors written before it was recorded: those are not trusted). */
  genesisHash?: string
  contract: string
  nextBlock: number
  waiting: Record<string, WaitingActivation>
  retry: Record<string, RetryEntry>
  /** Registrations whose approve/reject reverted (the revert name): recorded once, never tried again. */
  closed: Record<string, string>
  spot: {pending: SpotCandidate[]; open: OpenSpotCheck[]}
}

function emptyCursor(chain: ChainIdentity, nextBlock: number): VerifierCursor {
  return {
    version: 1,
    chainId: chain.chainId.toString(),
    genesisHash: chain.genesisHash.toLowerCase(),
    contract: chain.contract.toLowerCase(),
    nextBlock,
    waiting: {},
    retry: {},
    closed: {},
    spot: {pending: [], open: []},
  }
}

/** The saved cursor of this chain and contract, or a fresh one starting at `fromBlock`. */
export function loadCursor(file: string, chain: ChainIdentity, fromBlock: number): VerifierCursor {
  if (!existsSync(file)) return emptyCursor(chain, fromBlock)
  let saved: VerifierCursor
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as VerifierCursor
  } catch (error) {
    throw new UnetError(`verifier cursor ${file} is not valid JSON`, ExitCode.CONFIG_INVALID, {
      cause: error,
      hint: 'delete it to rescan from --from-block (decided registrations are skipped)',
    })
  }
  const fresh = emptyCursor(chain, fromBlock)
  if (saved.version !== 1 || saved.chainId !== fresh.chainId || saved.genesisHash?.toLowerCase() !== fresh.genesisHash || saved.contract !== fresh.contract)
    return fresh
  return {...fresh, ...saved, spot: {pending: saved.spot?.pending ?? [], open: saved.spot?.open ?? []}}
}

/**
 * A cursor ahead of the chain's head `head` (the chain lost blocks it had scanned: a devnet restored from
 * an older dump) goes back to head + 1, and forgets what it learnt in the lost blocks: those events are
 * gone, and registration ids are reused by the registrations that replace them, so the "closed" list
 * (kept by id, not block) is cleared too — a closed one is tried once more and closed again.
 */
export function rewindCursor(cursor: VerifierCursor, head: number): {cursor: VerifierCursor; rewound: boolean} {
  if (cursor.nextBlock <= head + 1) return {cursor, rewound: false}
  const keep = <T extends {blockNumber: number}>(entries: Record<string, T>) =>
    Object.fromEntries(Object.entries(entries).filter(([, e]) => e.blockNumber <= head))
  return {
    cursor: {
      ...cursor,
      nextBlock: head + 1,
      waiting: keep(cursor.waiting),
      retry: keep(cursor.retry),
      closed: {},
      spot: {pending: cursor.spot.pending.filter((p) => p.blockNumber <= head), open: []},
    },
    rewound: true,
  }
}

export function saveCursor(file: string, cursor: VerifierCursor): void {
  writeFileAtomic(file, JSON.stringify(cursor, null, 2) + '\n', 0o600)
}
