/**
 * What the verifier service reads besides registrations: block hashes and times, the verifier role,
 * and past heartbeats with the fields of their calldata (a spot check must repeat them to the contract).
 */
import {hexToBytes} from '../util/hex.js'
import {requirePoci, type ChainClient} from './client.js'
import {pociEvents} from './events.js'
import {callView, toUnetError} from './tx.js'

export interface BlockRef {
  number: number
  hash: string
  /** Unix seconds. */
  timestamp: number
}

export async function blockAt(client: ChainClient, blockNumber: number): Promise<BlockRef | undefined> {
  try {
    const block = await client.provider.getBlock(blockNumber)
    return block?.hash ? {number: block.number, hash: block.hash, timestamp: block.timestamp} : undefined
  } catch (error) {
    throw toUnetError(error, `read block ${blockNumber}`)
  }
}

/** The address that currently holds the verifier role. */
export async function verifierRole(client: ChainClient): Promise<string> {
  return callView<string>(requirePoci(client), 'verifier', [], 'read the verifier role')
}

export interface HeartbeatEvent {
  hostId: string
  epoch: bigint
  devicesDigest: string
  blockNumber: number
  txHash: string
}

/** Heartbeat events of every host in [fromBlock, toBlock], oldest first. */
export async function heartbeatEvents(client: ChainClient, range: {fromBlock: number; toBlock: number}): Promise<HeartbeatEvent[]> {
  const events = await pociEvents(client, 'Heartbeat', range)
  return events.map((e) => ({
    hostId: e.args[0] as string,
    epoch: e.args[1] as bigint,
    devicesDigest: e.args[2] as string,
    blockNumber: e.blockNumber,
    txHash: e.txHash,
  }))
}

export interface HeartbeatCall {
  /** The sender: the operator the contract recorded. */
  operator: string
  epoch: bigint
  blockNumber: bigint
  blockHash: string
  /** deviceId_0, evidenceDigest_0, … as sent. */
  commits: string[]
  kinds: Uint8Array
}

/**
 * The fields of a heartbeat transaction, decoded from its calldata with the Poci ABI. Undefined when the
 * transaction is not a direct call of heartbeat() on this contract (e.g. sent through another contract).
 */
export async function heartbeatCall(client: ChainClient, txHash: string): Promise<HeartbeatCall | undefined> {
  const poci = requirePoci(client)
  let tx
  try {
    tx = await client.provider.getTransaction(txHash)
  } catch (error) {
    throw toUnetError(error, `read transaction ${txHash}`)
  }
  if (!tx || tx.to?.toLowerCase() !== client.pociAddress?.toLowerCase()) return undefined
  const parsed = poci.interface.parseTransaction({data: tx.data, value: tx.value})
  if (parsed?.name !== 'heartbeat') return undefined
  const a = parsed.args
  return {
    operator: tx.from,
    epoch: a[0] as bigint,
    blockNumber: a[1] as bigint,
    blockHash: a[2] as string,
    commits: [...(a[8] as string[])],
    kinds: hexToBytes(a[9] as string),
  }
}
