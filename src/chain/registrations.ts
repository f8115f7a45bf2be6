import {hexToBytes} from '../util/hex.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView, toUnetError} from './tx.js'

export interface Registration {
  deviceId: string
  operator: string
  hostId: string
  kind: number
  payout: string
  publicKey: Uint8Array
  proof: Uint8Array
  /** Canonical evidence bytes the operator attached (may be empty). */
  evidence: Uint8Array
  blockNumber: number
  txHash: string
}

/** Registered events in [fromBlock, toBlock], oldest first. */
export async function registrations(client: ChainClient, params: {fromBlock: number; toBlock?: number}): Promise<Registration[]> {
  const poci = requirePoci(client)
  try {
    const topics = await poci.filters.Registered!().getTopicFilter()
    const logs = await client.provider.getLogs({address: client.pociAddress, topics, fromBlock: params.fromBlock, toBlock: params.toBlock ?? 'latest'})
    return logs.map((log) => {
      const e = poci.interface.parseLog(log)!
      return {
        deviceId: e.args[0] as string,
        operator: e.args[1] as string,
        hostId: e.args[2] as string,
        kind: Number(e.args[3]),
        payout: e.args[4] as string,
        publicKey: hexToBytes(e.args[5] as string),
        proof: hexToBytes(e.args[6] as string),
        evidence: hexToBytes(e.args[7] as string),
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
      }
    })
  } catch (error) {
    throw toUnetError(error, 'read registrations')
  }
}

/** 0 none, 1 pending, 2 approved. */
export async function deviceStatus(client: ChainClient, deviceId: string): Promise<number> {
  const info = await callView<unknown[]>(requirePoci(client), 'deviceInfo', [deviceId], 'read device')
  return Number(info[2])
}

export async function latestBlockNumber(client: ChainClient): Promise<number> {
  try {
    return await client.provider.getBlockNumber()
  } catch (error) {
    throw toUnetError(error, 'read the block number')
  }
}
