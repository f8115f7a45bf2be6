import {requirePoci, type ChainClient} from './client.js'
import {sendTx, type TxResult} from './tx.js'

export interface ApproveParams {
  deviceId: string
  power: bigint
}

/** Verifier role: approve a pending device with its power. */
export async function approve(client: ChainClient, params: ApproveParams): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'approve', [params.deviceId, params.power], 'approve')
}

export interface RejectParams {
  deviceId: string
  reason: string
}

/** Verifier role: refuse a pending device or revoke an approved one (unbinds it). */
export async function reject(client: ChainClient, params: RejectParams): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'reject', [params.deviceId, params.reason.slice(0, 200)], 'reject')
}

/** Operator: release a device so another miner may bind it. */
export async function release(client: ChainClient, params: {deviceId: string}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'release', [params.deviceId], 'release')
}
