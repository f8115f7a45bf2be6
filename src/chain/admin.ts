/** Role changes that protect miners: the payout key moves the payout; admin and verifier change in two steps. */
import {requirePoci, type ChainClient} from './client.js'
import {sendTx, type TxResult} from './tx.js'

/** Payout key only: a stolen operator key cannot redirect a host's rewards. */
export async function setPayout(client: ChainClient, params: {hostId: string; payout: string}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'setPayout', [params.hostId, params.payout], 'change the payout')
}

export async function transferAdmin(client: ChainClient, admin: string): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'transferAdmin', [admin], 'propose an admin')
}

export async function acceptAdmin(client: ChainClient): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'acceptAdmin', [], 'accept the admin role')
}

/** Admin: the new verifier takes over verifierDelay blocks later (applyVerifier). */
export async function proposeVerifier(client: ChainClient, verifier: string): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'proposeVerifier', [verifier], 'propose a verifier')
}

export async function applyVerifier(client: ChainClient): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'applyVerifier', [], 'apply the verifier change')
}
