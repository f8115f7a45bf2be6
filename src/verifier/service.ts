/**
 * The devnet's verifier service: watches Registered events, decides each pending registration
 * (decideRegistration, pure) and approves or rejects it on chain.
 */
import {approve, reject} from '../chain/approve.js'
import type {ChainClient} from '../chain/client.js'
import {deviceStatus, latestBlockNumber, registrations} from '../chain/registrations.js'
import {UnetError} from '../errors/index.js'
import {decideRegistration, type VerifierDecision} from './decide.js'

export interface VerifierOptions {
  allowEmulator: boolean
  tpmRoots?: Array<string | Uint8Array>
  nvidiaRoots?: Array<string | Uint8Array>
  /** First block to look at (the deployment block). */
  fromBlock: number
  pollMs?: number
  signal?: AbortSignal
  /** Called with each decision after it is on chain (the devnet writes them to decisions.jsonl). */
  onDecision?: (d: VerifierDecision & {onChainTx?: string}) => void
  onError?: (error: unknown) => void
}

/** Decides every pending registration between `fromBlock` and the latest block; returns the next fromBlock. */
export async function verifyPending(client: ChainClient, options: VerifierOptions): Promise<{next: number; decisions: VerifierDecision[]}> {
  const latest = await latestBlockNumber(client)
  if (latest < options.fromBlock) return {next: options.fromBlock, decisions: []}
  const regs = await registrations(client, {fromBlock: options.fromBlock, toBlock: latest})
  const decisions: VerifierDecision[] = []
  for (const reg of regs) {
    if ((await deviceStatus(client, reg.deviceId)) !== 1) continue // approved, rejected or released meanwhile
    const block = await client.provider.getBlock(reg.blockNumber)
    const decision = decideRegistration(reg, {
      chainId: client.chainId,
      contract: client.pociAddress!,
      allowEmulator: options.allowEmulator,
      tpmRoots: options.tpmRoots ?? [],
      nvidiaRoots: options.nvidiaRoots,
      now: new Date((block?.timestamp ?? Math.floor(Date.now() / 1000)) * 1000),
    })
    const tx = decision.approve
      ? await approve(client, {deviceId: reg.deviceId, power: decision.power})
      : await reject(client, {deviceId: reg.deviceId, reason: decision.reasons.join('; ') || 'refused'})
    decisions.push(decision)
    options.onDecision?.({...decision, onChainTx: tx.txHash})
  }
  return {next: latest + 1, decisions}
}

/** Polls until the signal aborts. Errors are reported and retried; they never stop the loop. */
export async function runDevnetVerifier(client: ChainClient, options: VerifierOptions): Promise<void> {
  let from = options.fromBlock
  const pollMs = options.pollMs ?? 500
  while (!options.signal?.aborted) {
    try {
      from = (await verifyPending(client, {...options, fromBlock: from})).next
    } catch (error) {
      options.onError?.(error instanceof UnetError ? error : new UnetError(String((error as Error).message ?? error)))
    }
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(t)
        resolve()
      }
      const t = setTimeout(() => {
        options.signal?.removeEventListener('abort', onAbort)
        resolve()
      }, pollMs)
      options.signal?.addEventListener('abort', onAbort, {once: true})
    })
  }
}

export function decisionJson(d: VerifierDecision & {onChainTx?: string}): string {
  return JSON.stringify({...d, power: d.power.toString(), at: new Date().toISOString()})
}

