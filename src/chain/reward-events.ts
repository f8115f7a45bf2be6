import type {Log} from 'ethers'

import {requirePoci, type ChainClient} from './client.js'
import {callView, toUnetError} from './tx.js'

/**
 * The events that decide who earned what, decoded to small JSON-safe records (amounts and powers as
 * decimal strings): what the reward ledger replays. Registered keeps only its addressing fields (its
 * key, proof and evidence bytes are large and not needed here).
 */
export type RewardEvent = EventPosition &
  (
    | {type: 'registered'; regId: string; deviceId: string; operator: string; hostId: string; kind: number; payout: string}
    | {type: 'approved'; regId: string; deviceId: string; hostId: string; power: string}
    | {type: 'unbound'; deviceId: string; hostId: string; why: 'revoked' | 'released'}
    | {type: 'payout'; hostId: string; payout: string}
    | {type: 'heartbeat'; hostId: string; epoch: string}
    | {type: 'claimed'; hostId: string; payout: string; amount: string}
    | {type: 'slashed'; hostId: string; deviceId: string; forfeited: string}
  )

export interface EventPosition {
  block: number
  logIndex: number
  tx: string
}

const EVENT_NAMES = ['Registered', 'Approved', 'Revoked', 'Released', 'PayoutChanged', 'Heartbeat', 'Claimed', 'Slashed'] as const

/** The contract's constants the ledger needs. */
export interface Deployment {
  /** The contract's first block (Poci.genesisBlock): nothing to scan before it. */
  deployBlock: number
  rewardPerPowerEpoch: bigint
  epochBlocks: bigint
}

export async function readDeployment(client: ChainClient): Promise<Deployment> {
  const poci = requirePoci(client)
  const [deployBlock, rewardPerPowerEpoch, epochBlocks] = await Promise.all([
    callView<bigint>(poci, 'genesisBlock', [], 'read genesisBlock'),
    callView<bigint>(poci, 'rewardPerPowerEpoch', [], 'read reward rate'),
    callView<bigint>(poci, 'epochBlocks', [], 'read epochBlocks'),
  ])
  return {deployBlock: Number(deployBlock), rewardPerPowerEpoch, epochBlocks}
}

/** The latest block number and the hash of block `n` (the cache's check that its last block is still the chain's). */
export async function headAndHash(client: ChainClient, n?: number): Promise<{head: number; hash?: string}> {
  try {
    const head = await client.provider.getBlockNumber()
    const hash = n === undefined || n > head ? undefined : ((await client.provider.getBlock(n))?.hash ?? undefined)
    return {head, hash}
  } catch (error) {
    throw toUnetError(error, 'read the latest block')
  }
}

/** Unix seconds of each block number asked for. */
export async function blockTimes(client: ChainClient, blocks: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  const PARALLEL = 8
  for (let i = 0; i < blocks.length; i += PARALLEL) {
    const slice = blocks.slice(i, i + PARALLEL)
    const got = await Promise.all(
      slice.map((n) =>
        client.provider.getBlock(n).catch((error: unknown) => {
          throw toUnetError(error, `read block ${n}`)
        }),
      ),
    )
    got.forEach((b, j) => out.set(slice[j]!, b?.timestamp ?? 0))
  }
  return out
}

/**
 * The reward events of blocks [fromBlock, toBlock], oldest first. One getLogs per chunk of blocks; a
 * node that refuses a chunk as too large gets halves of it (down to one block, then the error stands).
 */
export async function scanRewardEvents(
  client: ChainClient,
  fromBlock: number,
  toBlock: number,
  onProgress?: (scannedTo: number) => void,
  chunkBlocks = 5000,
): Promise<RewardEvent[]> {
  const poci = requirePoci(client)
  const topic0 = EVENT_NAMES.map((name) => poci.interface.getEvent(name)!.topicHash)
  const events: RewardEvent[] = []
  let from = fromBlock
  let chunk = chunkBlocks
  while (from <= toBlock) {
    const to = Math.min(toBlock, from + chunk - 1)
    let logs: Log[]
    try {
      logs = await client.provider.getLogs({address: client.pociAddress, topics: [topic0], fromBlock: from, toBlock: to})
    } catch (error) {
      if (to > from && !isTransportError(error)) {
        chunk = Math.max(1, Math.floor((to - from + 1) / 2))
        continue
      }
      throw toUnetError(error, `read events of blocks ${from}-${to}`)
    }
    for (const log of logs) events.push(decode(poci.interface, log))
    onProgress?.(to)
    from = to + 1
  }
  return events
}

function isTransportError(error: unknown): boolean {
  return toUnetError(error, '').code === 'RPC_UNREACHABLE'
}

function decode(iface: ReturnType<typeof requirePoci>['interface'], log: Log): RewardEvent {
  const e = iface.parseLog(log)!
  const a = e.args
  const at: EventPosition = {block: log.blockNumber, logIndex: log.index, tx: log.transactionHash}
  const s = (i: number) => String(a[i]).toLowerCase()
  switch (e.name) {
    case 'Registered':
      return {...at, type: 'registered', regId: s(0), deviceId: s(1), operator: s(2), hostId: s(3), kind: Number(a[4]), payout: s(5)}
    case 'Approved':
      return {...at, type: 'approved', regId: s(0), deviceId: s(1), hostId: s(2), power: String(a[3])}
    case 'Revoked':
    case 'Released':
      return {...at, type: 'unbound', deviceId: s(0), hostId: s(1), why: e.name === 'Revoked' ? 'revoked' : 'released'}
    case 'PayoutChanged':
      return {...at, type: 'payout', hostId: s(0), payout: s(1)}
    case 'Heartbeat':
      return {...at, type: 'heartbeat', hostId: s(0), epoch: String(a[1])}
    case 'Claimed':
      return {...at, type: 'claimed', hostId: s(0), payout: s(1), amount: String(a[2])}
    default:
      return {...at, type: 'slashed', hostId: s(1), deviceId: s(2), forfeited: String(a[3])}
  }
}
