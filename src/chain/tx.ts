import {Interface, type Contract, type Result, type TransactionReceipt} from 'ethers'

import {ExitCode, UnetError} from '../errors/index.js'
import {loadArtifact} from './artifacts.js'
import {requireSigner, type ChainClient} from './client.js'

export interface TxResult {
  txHash: string
  blockNumber: number
  gasUsed: bigint
  receipt: TransactionReceipt
}

/** Hints per custom error of Poci.sol, so a revert is one line a user can act on. */
const HINTS: Record<string, string> = {
  AlreadyCredited: 'this host already has its heartbeat for this epoch; wait for the next epoch',
  WrongEpoch: 'the epoch changed while the heartbeat was built; rebuild it',
  StaleBlock: 'pick a more recent challenge block (and one after the previous heartbeat) and quote again',
  FutureBlock: 'the challenge block must already be mined',
  WrongBlockhash: 'the challenge block hash does not match the chain (reorg or wrong RPC); pick the block again',
  WrongExtraData: 'the quote was not made over this challenge and device list; quote again',
  MalformedAttest: 'the attest bytes are not a TPMS_ATTEST quote structure',
  BadSignature: 'the quote signature does not verify under the host key',
  BadDeviceSignature: 'a device signature does not verify under its key',
  MalformedProof: 'the per-device proofs do not match the device list',
  DeviceSetMismatch: "the device list must be exactly the host's approved devices, in the order of hostDevices()",
  NotOperator: 'this key is not the operator of that device',
  Unregistered: 'register the device first: `unet register`',
  NotApproved: 'the verifier has not approved this device yet',
  NotPending: 'the device is not waiting for approval',
  AlreadyBound: 'the device is bound to a miner; it must be released first',
  NotVerifier: 'only the verifier role may approve or reject',
  NotAdmin: 'only the deployer may change the verifier',
  EmulatorNotAllowed: 'this deployment refuses emulator devices; use real hardware or the devnet',
  UnsupportedKind: 'unknown device kind',
  BadPublicKey: 'the public key has the wrong length or form for its kind',
  ZeroPayout: 'set a payout address',
  PayoutMismatch: 'a device must use the payout of its host',
  NotAHost: 'devices attach to a registered host (TPM or emulator) of the same operator',
  HostHasDevices: "release the host's devices first",
  TooManyDevices: 'a host may hold at most 64 devices',
  NothingToClaim: 'nothing has accrued since the last claim',
  InsufficientBalance: 'not enough UNC',
}

let pociInterface: Interface | undefined
function iface(): Interface {
  pociInterface ??= new Interface([...loadArtifact('Poci').abi, ...loadArtifact('UncToken').abi.filter((f) => f.type === 'error')] as never)
  return pociInterface
}

export interface DecodedRevert {
  name: string
  args: Record<string, string>
}

/** Finds revert data in an ethers error and decodes it against Poci's custom errors. */
function decodeRevert(error: unknown): DecodedRevert | undefined {
  const data = findRevertData(error)
  if (!data || data === '0x') return undefined
  try {
    const parsed = iface().parseError(data)
    if (!parsed) return undefined
    const args: Record<string, string> = {}
    parsed.fragment.inputs.forEach((input, i) => {
      const v = parsed.args[i] as unknown
      args[input.name || String(i)] = typeof v === 'bigint' ? v.toString() : String(v)
    })
    return {name: parsed.name, args}
  } catch {
    return undefined
  }
}

function findRevertData(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 6) return undefined
  const e = error as Record<string, unknown>
  if (typeof e.data === 'string' && e.data.startsWith('0x')) return e.data
  for (const key of ['error', 'info', 'cause', 'revert']) {
    const found = findRevertData(e[key], depth + 1)
    if (found) return found
  }
  if (e.data && typeof e.data === 'object') return findRevertData(e.data, depth + 1)
  return undefined
}

/** Maps an ethers failure to a UnetError: named contract errors → TX_REJECTED, transport → RPC_UNREACHABLE. */
export function toUnetError(error: unknown, action: string): UnetError {
  if (error instanceof UnetError) return error
  const decoded = decodeRevert(error)
  if (decoded)
    return new UnetError(`${action} rejected by the contract: ${decoded.name}`, ExitCode.TX_REJECTED, {
      hint: HINTS[decoded.name],
      details: {error: decoded.name, args: decoded.args},
    })
  const e = error as {code?: string; shortMessage?: string; message?: string}
  if (e.code === 'INSUFFICIENT_FUNDS')
    return new UnetError(`${action}: the operator account cannot pay for gas`, ExitCode.INSUFFICIENT_FUNDS, {
      hint: 'fund the operator address (`unet wallet address`)',
    })
  // A dropped connection or a garbled answer is the endpoint's fault, not the request's: retryable.
  if (
    e.code === 'NETWORK_ERROR' ||
    e.code === 'TIMEOUT' ||
    e.code === 'SERVER_ERROR' ||
    /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up|not valid JSON|missing response/.test(e.message ?? '')
  )
    return new UnetError(`${action}: RPC endpoint unreachable or answering garbage`, ExitCode.RPC_UNREACHABLE, {
      hint: 'check the node and networks.<name>.rpcUrls',
    })
  if (e.code === 'CALL_EXCEPTION')
    return new UnetError(`${action} reverted${e.shortMessage ? `: ${e.shortMessage}` : ''}`, ExitCode.TX_REJECTED, {
      hint: 'run with --log-level debug for the revert data',
    })
  return new UnetError(`${action} failed: ${e.shortMessage ?? e.message ?? String(error)}`, ExitCode.UNEXPECTED)
}

/**
 * Sends a contract call as an EIP-1559 transaction: estimates gas first (a revert there is decoded into
 * its named custom error), adds a 20% margin, and waits for the receipt.
 */
export async function sendTx(
  client: ChainClient,
  contract: Contract,
  method: string,
  args: unknown[],
  action: string,
  options: {value?: bigint} = {},
): Promise<TxResult> {
  const signer = requireSigner(client)
  const c = contract.connect(signer) as Contract
  try {
    const fn = c.getFunction(method)
    const value = options.value ?? 0n
    const estimate = await fn.estimateGas(...args, {value})
    const fees = await client.provider.getFeeData()
    const overrides: Record<string, bigint> = {gasLimit: (estimate * 12n) / 10n + 10_000n, value}
    if (fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null) {
      overrides.maxFeePerGas = fees.maxFeePerGas
      overrides.maxPriorityFeePerGas = fees.maxPriorityFeePerGas
    }
    const tx = await fn.send(...args, overrides)
    const receipt = await minedReceipt(client, tx.hash, action)
    if (receipt.status !== 1) {
      // mined but reverted (the state changed since the estimate, e.g. the epoch turned): replay the
      // call on the state of its block to name the custom error
      try {
        await client.provider.call({from: signer.address, to: tx.to, data: tx.data, value: tx.value, blockTag: receipt.blockNumber})
      } catch (replayed) {
        const named = toUnetError(replayed, action)
        if (named.details?.error) throw new UnetError(named.message, named.exitCode, {hint: named.hint, details: {...named.details, txHash: tx.hash}})
      }
      throw new UnetError(`${action} transaction ${tx.hash} reverted on chain`, ExitCode.TX_REJECTED, {details: {txHash: tx.hash}})
    }
    return {txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt}
  } catch (error) {
    throw toUnetError(error, action)
  }
}

/** How long a sent transaction may take to be mined before the action gives up (it may still land). */
const MINE_TIMEOUT_MS = 10 * 60_000

/**
 * Polls for the receipt. ethers' tx.wait() waits for the next block when its first lookup misses
 * (a loaded node, a provider's cached head), and on a chain that mines only on demand that block may
 * never come: the wait hung with the transaction long mined.
 */
export async function minedReceipt(client: ChainClient, txHash: string, action: string): Promise<TransactionReceipt> {
  const deadline = Date.now() + MINE_TIMEOUT_MS
  for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
    const receipt = await client.provider.getTransactionReceipt(txHash)
    if (receipt) return receipt
    if (Date.now() > deadline)
      throw new UnetError(`${action} transaction ${txHash} was not mined within ${MINE_TIMEOUT_MS / 60_000} minutes`, ExitCode.RPC_UNREACHABLE, {
        hint: 'check the node; the transaction may still be mined later (look it up by its hash)',
        details: {txHash},
      })
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

/** Reads a view function, mapping failures the same way. */
export async function callView<T>(contract: Contract, method: string, args: unknown[], action: string): Promise<T> {
  try {
    return (await contract.getFunction(method).staticCall(...args)) as T
  } catch (error) {
    throw toUnetError(error, action)
  }
}

/** Reads a view function with named outputs as a plain object of them (by name, never by position). */
export async function callViewRecord<T>(contract: Contract, method: string, args: unknown[], action: string): Promise<T> {
  return (await callView<Result>(contract, method, args, action)).toObject() as T
}
