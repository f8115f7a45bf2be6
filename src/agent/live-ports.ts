/**
 * The real adapters behind the heartbeat state machine's ports: the chain (sign → outbox →
 * broadcast), the host engine, the accelerators and the self-verifier. `unet heartbeat` and
 * `unet quickstart` build them once per run; the machine itself never sees ethers or FFI.
 */
import {requirePoci, type ChainClient} from '../chain/client.js'
import {hostDevices} from '../chain/block.js'
import {heartbeatCallArgs} from '../chain/heartbeat.js'
import {broadcast, prepareCall, receiptOf, revertReason, signCall} from '../chain/signed-tx.js'
import {deviceState} from '../chain/device-state.js'
import {canonicalPublicKey} from '../evidence/nonce.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {buildHostEvidence, type EngineIdentity, type SecurityEngine} from '../hw/engine.js'
import {parseSignature} from '../hw/tpm2/structures.js'
import {verifyQuote} from '../hw/tpm2/verify.js'
import type {HostEvidence} from '../evidence/format.js'
import {leftPadBytes} from '../util/hex.js'
import type {BroadcastHooks, ChainPort, DevicesPort, EnginePort, GasInfo, HeartbeatSubmission, SelfVerifyPort, SentTx, TxReceipt} from './ports.js'

/** Gas one heartbeat needs, for the runway estimate before the first receipt tells the real figure. */
const HEARTBEAT_GAS_GUESS = 120_000n

export function liveChainPort(client: ChainClient, identity: EngineIdentity, operator: string): ChainPort {
  const poci = requirePoci(client)
  const akPublicKey = canonicalPublicKey(identity.publicKey)
  let lastGasUsed: bigint | undefined

  const send = async (tx: Awaited<ReturnType<typeof signCall>>, hooks: BroadcastHooks): Promise<SentTx> => {
    const sent: SentTx = {txHash: tx.txHash, nonce: tx.nonce, fees: {maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas}, to: tx.to, data: tx.data}
    await hooks.beforeBroadcast(sent)
    await broadcast(client, tx, 'heartbeat')
    return sent
  }

  return {
    async currentEpoch() {
      return (await poci.getFunction('currentEpoch').staticCall()) as bigint
    },
    async recentBlock() {
      const block = await client.provider.getBlock('latest')
      if (!block?.hash) throw new UnetError('the node returned no latest block', ExitCode.RPC_UNREACHABLE)
      return {number: BigInt(block.number), hash: block.hash, timestamp: BigInt(block.timestamp)}
    },
    async isRegistered(hostId) {
      return (await deviceState(client, hostId)).status === 'approved'
    },
    async submitHeartbeat(submission, hooks) {
      const quote = submission.hostQuote as HostEvidence
      const signature = parseSignature(quote.quote.signature)
      if (signature.alg !== 'ecdsa') throw new UnetError('the host quote must be an ECDSA P-256 signature for the on-chain check', ExitCode.EVIDENCE_INVALID)
      const args = heartbeatCallArgs({
        epoch: submission.epoch,
        blockNumber: submission.block.number,
        blockHash: submission.block.hash,
        akPublicKey,
        attest: quote.quote.attest,
        signature: {r: leftPadBytes(signature.r, 32), s: leftPadBytes(signature.s, 32)},
        devices: submission.devices.map((d) => ({deviceId: d.deviceId, evidenceDigest: d.evidenceDigest, kind: (d.evidence as {chainKind: number}).chainKind})),
      })
      const request = await prepareCall(client, poci, 'heartbeat', args, 'heartbeat')
      return send(await signCall(client, request), hooks)
    },
    async receipt(txHash): Promise<TxReceipt | null> {
      const r = await receiptOf(client, txHash)
      if (!r) return null
      if (r.status === 'success') lastGasUsed = r.gasUsed
      return {txHash: r.txHash, status: r.status, blockNumber: r.blockNumber, revertReason: r.status === 'reverted' ? await revertReason(client, txHash) : undefined}
    },
    async replaceWithFeeBump(previous, hooks) {
      if (!previous.to || !previous.data) throw new UnetError('cannot replace a transaction whose call data was not kept', ExitCode.UNEXPECTED)
      const request = await prepareCall(client, poci, 'heartbeat', poci.interface.decodeFunctionData('heartbeat', previous.data) as unknown as unknown[], 'heartbeat')
      const tx = await signCall(client, request, {nonce: previous.nonce, ...previous.fees})
      return send(tx, hooks)
    },
    async gasBalance(): Promise<GasInfo> {
      const [balance, fees] = await Promise.all([client.provider.getBalance(operator), client.provider.getFeeData()])
      const fee = fees.maxFeePerGas ?? fees.gasPrice ?? 0n
      return {balance, costPerHeartbeat: (lastGasUsed ?? HEARTBEAT_GAS_GUESS) * fee}
    },
    async accruedRewards() {
      return (await deviceState(client, identityHostId(identity))).claimable
    },
  }
}

function identityHostId(identity: EngineIdentity): string {
  return identity.deviceId
}


/** The host engine's quote, wrapped as evidence v1 so self-verify and the journal see one shape. */
export function liveEnginePort(engine: SecurityEngine): EnginePort {
  return {quote: (qualifyingData) => buildHostEvidence(engine, {qualifyingData})}
}

/**
 * The host's attached accelerators. This version heartbeats hosts; a host with devices attached on
 * chain is refused with a clear reason rather than sending a heartbeat the contract would reject.
 */
export function liveDevicesPort(client: ChainClient, hostId: string): DevicesPort {
  return {
    async attestAll() {
      const attached = await hostDevices(client, hostId)
      if (attached.length > 0)
        throw new UnetError(`host has ${attached.length} attached device(s); per-device heartbeat attestation is not built in this version`, ExitCode.NOT_IMPLEMENTED, {
          hint: 'release the devices or use a host-only registration',
        })
      return []
    },
  }
}

/**
 * Checks what is about to be sent exactly as the contract and validators will: the quote's
 * signature under the AK, the TPMS_ATTEST structure, and extraData equal to the qualifying data.
 */
export function liveSelfVerifyPort(identity: EngineIdentity, allowEmulator: boolean, network: string): SelfVerifyPort {
  return {
    async verify(submission: HeartbeatSubmission) {
      const evidence = submission.hostQuote as HostEvidence
      if (evidence.kind === 'emulator' && !allowEmulator) return {ok: false, reasons: [`emulator evidence is refused on network "${network}"`]}
      const result = verifyQuote(
        {tpm2bPublic: identity.akPublic},
        {attest: evidence.quote.attest, signature: evidence.quote.signature, expectedExtraData: submission.qualifyingData, pcrs: evidence.quote.pcrs.values},
      )
      return {ok: result.reasons.length === 0, reasons: result.reasons}
    },
  }
}
