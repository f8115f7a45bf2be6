import type {ChainClient} from './client.js'
import {pociEvents} from './events.js'
import {toUnetError} from './tx.js'

export interface HeartbeatRecord {
  hostId: string
  epoch: bigint
  blockNumber: number
  txHash: string
  devicesDigest: string
}

/** A host's credited heartbeats (Heartbeat events) from `fromBlock`, oldest first. */
export async function heartbeatHistory(client: ChainClient, hostId: string, fromBlock = 0): Promise<HeartbeatRecord[]> {
  const events = await pociEvents(client, 'Heartbeat', {fromBlock}, [hostId])
  return events.map((e) => ({hostId, epoch: e.args[1] as bigint, blockNumber: e.blockNumber, txHash: e.txHash, devicesDigest: e.args[2] as string}))
}

/** Balance of an address (wei) and the node's current max fee per gas. */
export async function balanceAndFee(client: ChainClient, address: string): Promise<{balance: bigint; maxFeePerGas: bigint}> {
  try {
    const [balance, fees] = await Promise.all([client.provider.getBalance(address), client.provider.getFeeData()])
    return {balance, maxFeePerGas: fees.maxFeePerGas ?? fees.gasPrice ?? 0n}
  } catch (error) {
    throw toUnetError(error, 'read balance')
  }
}

/** balanceAndFee plus the latest block's timestamp (for the clock-skew check). */
export async function gasSnapshot(client: ChainClient, address: string): Promise<{balance: bigint; maxFeePerGas: bigint; latestTimestamp: number}> {
  const [gas, block] = await Promise.all([
    balanceAndFee(client, address),
    client.provider.getBlock('latest').catch((error: unknown) => {
      throw toUnetError(error, 'read the latest block')
    }),
  ])
  return {...gas, latestTimestamp: block?.timestamp ?? 0}
}
