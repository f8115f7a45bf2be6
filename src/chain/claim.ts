import {requirePoci, type ChainClient} from './client.js'
import {sendTx, type TxResult} from './tx.js'

export interface ClaimResult extends TxResult {
  hostId: string
  payout: string
  amount: bigint
}

/** Pays what a host (or the host a device is attached to) has accrued — always to its payout address. */
export async function claim(client: ChainClient, params: {id: string}): Promise<ClaimResult> {
  const poci = requirePoci(client)
  const result = await sendTx(client, poci, 'claim', [params.id], 'claim')
  const log = result.receipt.logs.map((l) => poci.interface.parseLog(l)).find((l) => l?.name === 'Claimed')!
  return {...result, hostId: log.args[0] as string, payout: log.args[1] as string, amount: log.args[2] as bigint}
}
