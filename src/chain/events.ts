/**
 * The POCI contract's events: one reader for logs in a block range and one for the event a receipt
 * carries, so every caller gets parsed arguments and the same error on a failed read.
 */
import type {Result, TransactionReceipt} from 'ethers'

import {epochTiming} from './block.js'
import {requirePoci, type ChainClient} from './client.js'
import {toUnetError} from './tx.js'

export interface BlockRange {
  fromBlock: number
  /** Inclusive; 'latest' when omitted. */
  toBlock?: number
}

export interface PociEvent {
  args: Result
  blockNumber: number
  /** The block's hash: what binds a registration's OCSP nonces to its block (src/verifier/facts.ts). */
  blockHash: string
  txHash: string
  logIndex: number
}

/**
 * `event` logs of the POCI contract in `range` (from the contract's genesis block at the earliest),
 * oldest first. `topics` filter the indexed arguments in order (null = any), as ethers'
 * `contract.filters[event](...)` takes them.
 */
export async function pociEvents(client: ChainClient, event: string, range: BlockRange, topics: unknown[] = []): Promise<PociEvent[]> {
  const poci = requirePoci(client)
  try {
    const topicFilter = await poci.filters[event]!(...topics).getTopicFilter()
    // the contract emitted nothing before its genesis block, so no scan starts earlier (a node may refuse a range from block 0)
    const fromBlock = Math.max(range.fromBlock, Number((await epochTiming(client)).genesisBlock))
    if (range.toBlock !== undefined && range.toBlock < fromBlock) return []
    const logs = await client.provider.getLogs({address: client.pociAddress, topics: topicFilter, fromBlock, toBlock: range.toBlock ?? 'latest'})
    return logs.map((log) => ({
      args: poci.interface.parseLog(log)!.args,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      txHash: log.transactionHash,
      logIndex: log.index,
    }))
  } catch (error) {
    throw toUnetError(error, `read ${event} events`)
  }
}

/** The arguments of the first `event` the POCI contract emitted in `receipt`, or undefined. */
export function receiptEvent(client: ChainClient, receipt: TransactionReceipt, event: string): Result | undefined {
  const poci = requirePoci(client)
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== client.pociAddress?.toLowerCase()) continue
    const parsed = poci.interface.parseLog(log)
    if (parsed?.name === event) return parsed.args
  }
  return undefined
}
