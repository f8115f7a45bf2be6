import {Transaction, type Contract} from 'ethers'

import {ExitCode, UnetError} from '../errors/index.js'
import {isCanonicalBlock} from './chain-identity.js'
import {requireSigner, type ChainClient} from './client.js'
import {toUnetError} from './tx.js'

/**
 * Sign first, broadcast second: the agent's outbox records a transaction's hash and nonce before the
 * node ever sees it, so a crash between the two never loses track of a heartbeat (or sends it twice).
 */
export interface SignedTx {
  txHash: string
  nonce: number
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
  gasLimit: bigint
  to: string
  data: string
  raw: string
}

export interface CallRequest {
  to: string
  data: string
  gasLimit: bigint
}

/** Encodes a contract call and estimates its gas (a revert here is decoded into its custom error). */
export async function prepareCall(client: ChainClient, contract: Contract, method: string, args: unknown[], action: string): Promise<CallRequest> {
  const signer = requireSigner(client)
  const to = await contract.getAddress()
  const data = contract.interface.encodeFunctionData(method, args)
  try {
    const estimate = await client.provider.estimateGas({from: signer.address, to, data})
    return {to, data, gasLimit: (estimate * 12n) / 10n + 10_000n}
  } catch (error) {
    throw toUnetError(error, action)
  }
}

/**
 * Signs an EIP-1559 transaction. Without `replace`, it takes the next pending nonce and the node's
 * fees; with it, the same nonce and both fees raised by at least `bumpPercent` (nodes require 10 %).
 */
export async function signCall(
  client: ChainClient,
  request: CallRequest,
  replace?: {nonce: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; bumpPercent?: bigint},
): Promise<SignedTx> {
  const signer = requireSigner(client)
  try {
    const nonce = replace?.nonce ?? (await client.provider.getTransactionCount(signer.address, 'pending'))
    const fees = await client.provider.getFeeData()
    let maxFeePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n
    let maxPriorityFeePerGas = fees.maxPriorityFeePerGas ?? 1_000_000n
    if (replace) {
      const bump = 100n + (replace.bumpPercent ?? 25n)
      maxFeePerGas = max(maxFeePerGas, (replace.maxFeePerGas * bump) / 100n + 1n)
      maxPriorityFeePerGas = max(maxPriorityFeePerGas, (replace.maxPriorityFeePerGas * bump) / 100n + 1n)
    }
    const tx = Transaction.from({
      type: 2,
      chainId: client.chainId,
      nonce,
      to: request.to,
      data: request.data,
      gasLimit: request.gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas,
      value: 0n,
    })
    tx.signature = signer.signingKey.sign(tx.unsignedHash)
    return {txHash: tx.hash!, nonce, maxFeePerGas, maxPriorityFeePerGas, gasLimit: request.gasLimit, to: request.to, data: request.data, raw: tx.serialized}
  } catch (error) {
    throw toUnetError(error, 'sign transaction')
  }
}

/** Hands a signed transaction to the node. "Already known" counts as success: it is in the pool. */
export async function broadcast(client: ChainClient, tx: SignedTx, action: string): Promise<void> {
  try {
    await client.provider.broadcastTransaction(tx.raw)
  } catch (error) {
    const text = String((error as Error).message ?? error)
    if (/already known|known transaction/i.test(text)) return
    if (/nonce too low|nonce has already been used/i.test(text))
      throw new UnetError(`${action}: nonce ${tx.nonce} was already used`, ExitCode.TX_REJECTED, {details: {nonceUsed: true, txHash: tx.txHash}})
    throw toUnetError(error, action)
  }
}

export interface ReceiptView {
  txHash: string
  status: 'success' | 'reverted'
  blockNumber: bigint
  blockHash: string
  gasUsed: bigint
}

/**
 * The receipt of a transaction, or null while it is pending, unknown to the node, or in a block that is
 * not (or no longer) on this chain: only a receipt whose block hash is the chain's block at that height
 * proves the transaction landed here.
 */
export async function receiptOf(client: ChainClient, txHash: string): Promise<ReceiptView | null> {
  let r
  try {
    r = await client.provider.getTransactionReceipt(txHash)
  } catch (error) {
    throw toUnetError(error, 'read receipt')
  }
  if (!r) return null
  if (!(await isCanonicalBlock(client, BigInt(r.blockNumber), r.blockHash))) return null
  return {
    txHash: r.hash,
    status: r.status === 1 ? 'success' : 'reverted',
    blockNumber: BigInt(r.blockNumber),
    blockHash: r.blockHash.toLowerCase(),
    gasUsed: r.gasUsed,
  }
}

/** Replays a reverted transaction as a call at its block to learn the custom error's name. */
export async function revertReason(client: ChainClient, txHash: string): Promise<string | undefined> {
  try {
    const tx = await client.provider.getTransaction(txHash)
    if (!tx) return undefined
    await client.provider.call({from: tx.from, to: tx.to, data: tx.data, blockTag: tx.blockNumber ?? 'latest'})
    return undefined
  } catch (error) {
    const e = toUnetError(error, 'heartbeat')
    return (e.details?.error as string | undefined) ?? e.message
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}
