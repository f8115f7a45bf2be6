/**
 * The verifier service's persisted progress (`<dataDir>/verifier/cursor.json`): the next block to scan
 * and the registrations and spot checks still in flight, so a restart decides nothing twice. A cursor of
 * another chain or contract (a fresh devnet) is ignored. Secrets are never stored: the activation
 * commitment is on chain and the contract checks the answer.
 */
import {existsSync, readFileSync} from 'node:fs'

import {ExitCode, UnetError} from '../errors/index.js'
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
  contract: string
  nextBlock: number
  waiting: Record<string, WaitingActivation>
  retry: Record<string, RetryEntry>
  /** Registrations whose approve/reject reverted (the revert name): recorded once, never tried again. */
  closed: Record<string, string>
  spot: {pending: SpotCandidate[]; open: OpenSpotCheck[]}
}

function emptyCursor(chainId: bigint, contract: string, nextBlock: number): VerifierCursor {
  return {
    version: 1,
    chainId: chainId.toString(),
    contract: contract.toLowerCase(),
    nextBlock,
    waiting: {},
    retry: {},
    closed: {},
    spot: {pending: [], open: []},
  }
}

/** The saved cursor of this chain and contract, or a fresh one starting at `fromBlock`. */
export function loadCursor(file: string, chainId: bigint, contract: string, fromBlock: number): VerifierCursor {
  if (!existsSync(file)) return emptyCursor(chainId, contract, fromBlock)
  let saved: VerifierCursor
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as VerifierCursor
  } catch (error) {
    throw new UnetError(`verifier cursor ${file} is not valid JSON`, ExitCode.CONFIG_INVALID, {
      cause: error,
      hint: 'delete it to rescan from --from-block (decided registrations are skipped)',
    })
  }
  if (saved.version !== 1 || saved.chainId !== chainId.toString() || saved.contract !== contract.toLowerCase()) return emptyCursor(chainId, contract, fromBlock)
  return {...emptyCursor(chainId, contract, fromBlock), ...saved, spot: {pending: saved.spot?.pending ?? [], open: saved.spot?.open ?? []}}
}

export function saveCursor(file: string, cursor: VerifierCursor): void {
  writeFileAtomic(file, JSON.stringify(cursor, null, 2) + '\n', 0o600)
}
