import {ExitCode, UnetError} from '../errors/index.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView, toUnetError} from './tx.js'

export interface ChallengeBlock {
  blockNumber: bigint
  blockHash: string
  /** Unix time of block B. */
  timestamp: bigint
  /** The contract's current epoch (as of the latest block). */
  epoch: bigint
  epochSeconds: bigint
  /** Unix time the current epoch ends. */
  epochEndsAt: bigint
  maxBlockAge: bigint
}

/**
 * Picks the challenge block B (the latest block, so it stays valid for maxBlockAge blocks) and the
 * epoch the heartbeat will be credited to.
 */
export async function challengeBlock(client: ChainClient): Promise<ChallengeBlock> {
  let block
  try {
    block = await client.provider.getBlock('latest')
  } catch (error) {
    throw toUnetError(error, 'read the latest block')
  }
  if (!block?.hash) throw new UnetError('the node returned no latest block', ExitCode.RPC_UNREACHABLE)
  const {epochSeconds, genesis, maxBlockAge} = await epochTiming(client)
  const ts = BigInt(block.timestamp)
  const epoch = (ts - genesis) / epochSeconds + 1n
  return {blockNumber: BigInt(block.number), blockHash: block.hash, timestamp: ts, epoch, epochSeconds, epochEndsAt: genesis + epoch * epochSeconds, maxBlockAge}
}

export interface EpochTiming {
  epochSeconds: bigint
  genesis: bigint
  maxBlockAge: bigint
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
    timing = Promise.all([
      callView<bigint>(poci, 'epochSeconds', [], 'read epochSeconds'),
      callView<bigint>(poci, 'genesisTime', [], 'read genesisTime'),
      callView<bigint>(poci, 'maxBlockAge', [], 'read maxBlockAge'),
    ]).then(([epochSeconds, genesis, maxBlockAge]) => ({epochSeconds, genesis, maxBlockAge}))
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
