import type {ChainClient} from './client.js'
import {toUnetError} from './tx.js'

/** What each mined transaction cost its sender (gasUsed × effective gas price, wei); unknown hashes are left out. */
export async function transactionCosts(client: ChainClient, txHashes: string[]): Promise<bigint[]> {
  try {
    const receipts = await Promise.all(txHashes.map((h) => client.provider.getTransactionReceipt(h)))
    return receipts.filter((r) => r !== null).map((r) => r.gasUsed * r.gasPrice)
  } catch (error) {
    throw toUnetError(error, 'read heartbeat receipts')
  }
}
