/**
 * The devnet's chain outlives its process: anvil keeps its whole state (accounts, blocks, receipts) in
 * <dataDir>/devnet/anvil-state.json (`--state`: loaded at start, dumped on exit and every
 * DEVNET_STATE_INTERVAL_SECONDS, so a crash loses at most that much), and devnet-chain.json says what
 * that chain is (genesis hash, contracts, epoch length), so `devnet start` restores it instead of
 * deploying a new one. `devnet start --fresh` sets both aside (*.previous.json, one generation) first.
 */
import {existsSync, readFileSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../util/files.js'

/** anvil 1.x `--state-interval`: seconds between dumps of the running chain (a SIGKILL loses at most this). */
export const DEVNET_STATE_INTERVAL_SECONDS = 2

export interface DevnetChain {
  version: 1
  chainId: number
  /** Hash of block 0: a fresh chain has the same chain id and contract addresses, never the same genesis. */
  genesisHash: string
  /** Seconds; a fresh chain's genesis is made later than this (a same-second restart would repeat the hash). */
  genesisTimestamp: number
  contracts: {registry: string; heartbeat: string; rewards: string; token: string}
  deployBlock: number
  /** The epoch length the contract was deployed with (fixed for the chain's life). */
  epochSeconds: number
  blockTime?: number
  verifier: string
  createdAt: string
}

export interface DevnetChainFiles {
  /** anvil's --state file. */
  anvilState: string
  /** DevnetChain as JSON. */
  chain: string
}

export function devnetChainFiles(devnetDir: string): DevnetChainFiles {
  return {anvilState: join(devnetDir, 'anvil-state.json'), chain: join(devnetDir, 'devnet-chain.json')}
}

const previousOf = (path: string) => path.replace(/\.json$/, '.previous.json')

function readChain(path: string): DevnetChain | undefined {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as DevnetChain
    return c.version === 1 && typeof c.genesisHash === 'string' && typeof c.contracts?.heartbeat === 'string' && Number.isInteger(c.deployBlock) ? c : undefined
  } catch {
    return undefined
  }
}

/** The saved chain `devnet start` can restore: its description and anvil's state file both there. */
export function restorableChain(files: DevnetChainFiles): DevnetChain | undefined {
  return existsSync(files.anvilState) ? readChain(files.chain) : undefined
}

/** The saved chain, if any, whether or not its state file is still there (for `devnet status`). */
export function savedChain(files: DevnetChainFiles): DevnetChain | undefined {
  return readChain(files.chain)
}

/**
 * Before a fresh chain: the old state and description become *.previous.json (replacing an older
 * previous one). Returns the genesis timestamp the fresh chain must be later than, if one was known.
 */
export function setAsideChain(files: DevnetChainFiles): number | undefined {
  const old = readChain(files.chain) ?? readChain(previousOf(files.chain))
  for (const path of [files.anvilState, files.chain]) if (existsSync(path)) renameSync(path, previousOf(path))
  return old?.genesisTimestamp
}

export function writeDevnetChain(files: DevnetChainFiles, chain: DevnetChain): void {
  writeFileAtomic(files.chain, JSON.stringify(chain, null, 2) + '\n')
}

/** A genesis timestamp for a fresh chain: now, unless that is not later than the previous chain's genesis. */
export function freshGenesisTimestamp(previous: number | undefined, nowSeconds: number): number | undefined {
  return previous !== undefined && previous >= nowSeconds ? previous + 1 : undefined
}
