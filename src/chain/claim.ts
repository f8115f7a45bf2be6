import {requirePoci, type ChainClient} from './client.js'
import {receiptEvent} from './events.js'
import {sendTx, type TxResult} from './tx.js'

export interface ClaimResult extends TxResult {
  hostId: string
  payout: string
  amount: bigint
}

/** Pays what a host (or the host a device is attached to) has accrued — always to its payout address. */
export async function claim(client: ChainClient, params: {id: string}): Promise<ClaimResult> {
  const result = await sendTx(client, requirePoci(client), 'claim', [params.id], 'claim')
  const event = receiptEvent(client, result.receipt, 'Claimed')!
  return {...result, hostId: event[0] as string, payout: event[1] as string, amount: event[2] as bigint}
}
