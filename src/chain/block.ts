import {ExitCode, UnetError} from '../errors/index.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView, toUnetError} from './tx.js'

export interface ChallengeBlock {
  blockNumber: bigint
  blockHash: string
  /** Unix time of block B. */
  timestamp: bigint
  /** The epoch B lies in (epochs are counted in blocks, docs/protocol.md §7). */
  epoch: bigint
  epochBlocks: bigint
  /** First block of B's epoch and of the next one. */
  epochStartBlock: bigint
  epochEndBlock: bigint
  /** Blocks still to come in this epoch after B (the heartbeat must land in one of them). */
  blocksLeft: bigint
  /** Estimates from the profile's blockSeconds: wall time is only a guide, the contract counts blocks. */
  blockSeconds: number
  epochSeconds: bigint
  epochEndsAt: bigint
}

/** Seconds per block assumed when the profile does not say. */
const DEFAULT_BLOCK_SECONDS = 2

/**
 * Picks the challenge block B (the latest block: it lies in the epoch the heartbeat will be credited
 * to, and the contract refuses a B from before that epoch) and that epoch.
 */
export async function challengeBlock(client: ChainClient): Promise<ChallengeBlock> {
  let block
  try {
    block = await client.provider.getBlock('latest')
  } catch (error) {
    throw toUnetError(error, 'read the latest block')
  }
  if (!block?.hash) throw new UnetError('the node returned no latest block', ExitCode.RPC_UNREACHABLE)
  const timing = await epochTiming(client)
  const blockNumber = BigInt(block.number)
  const epoch = epochOfBlock(timing, blockNumber)
  const epochStartBlock = timing.genesisBlock + (epoch - 1n) * timing.epochBlocks
  const epochEndBlock = epochStartBlock + timing.epochBlocks
  const blockSeconds = client.profile.blockSeconds ?? DEFAULT_BLOCK_SECONDS
  const blocksLeft = epochEndBlock - blockNumber - 1n
  const ts = BigInt(block.timestamp)
  return {
    blockNumber,
    blockHash: block.hash,
    timestamp: ts,
    epoch,
    epochBlocks: timing.epochBlocks,
    epochStartBlock,
    epochEndBlock,
    blocksLeft,
    blockSeconds,
    epochSeconds: timing.epochBlocks * BigInt(blockSeconds),
    epochEndsAt: ts + (blocksLeft + 1n) * BigInt(blockSeconds),
  }
}

export interface EpochTiming {
  epochBlocks: bigint
  genesisBlock: bigint
}

/** The contract's epoch of a block number: (B − genesisBlock) / epochBlocks + 1. */
export function epochOfBlock(timing: EpochTiming, blockNumber: bigint): bigint {
  return (blockNumber - timing.genesisBlock) / timing.epochBlocks + 1n
}

const timings = new WeakMap<ChainClient, Promise<EpochTiming>>()

/**
 * The contract's epoch immutables, read once per client: the heartbeat loop asks for the challenge
 * block every epoch, and these never change.
 */
export function epochTiming(client: ChainClient): Promise<EpochTiming> {
  let timing = timings.get(client)
  if (!timing) {
    const poci = requirePoci(client)
    timing = Promise.all([callView<bigint>(poci, 'epochBlocks', [], 'read epochBlocks'), callView<bigint>(poci, 'genesisBlock', [], 'read genesisBlock')]).then(
      ([epochBlocks, genesisBlock]) => ({epochBlocks, genesisBlock}),
    )
    // a failed read (RPC outage) is not remembered: the next call asks again
    timing.catch(() => timings.delete(client))
    timings.set(client, timing)
  }
  return timing
}

export interface HostDevice {
  deviceId: string
  kind: number
}

/** The host's attached approved devices, in the order a heartbeat must list them. */
export async function hostDevices(client: ChainClient, hostId: string): Promise<HostDevice[]> {
  const [ids, kinds] = await callView<[string[], bigint[]]>(requirePoci(client), 'hostDevices', [hostId], 'read host devices')
  return ids.map((deviceId, i) => ({deviceId, kind: Number(kinds[i])}))
}
