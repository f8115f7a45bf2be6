/**
 * The real adapters behind the heartbeat state machine's ports: the chain (sign → outbox →
 * broadcast), the host engine, the accelerators and the self-verifier. `unet heartbeat` and
 * `unet quickstart` build them once per run; the machine itself never sees ethers or FFI.
 */
import type {ChainClient} from '../chain/client.js'
import {HEARTBEAT_GAS_ESTIMATE} from '../chain/gas.js'
import {challengeBlock, hostDevices, type HostDevice} from '../chain/block.js'
import {answerChallenge, challengesOf} from '../chain/challenge.js'
import {heartbeatRequest, heartbeatRequestFromData, type HeartbeatParams} from '../chain/heartbeat.js'
import {balanceAndFee} from '../chain/history.js'
import {broadcast, receiptOf, revertReason, signCall, type ReceiptView, type SignedTx} from '../chain/signed-tx.js'
import {deviceState} from '../chain/device-state.js'
import {DEVICE_KIND_NAMES, DeviceKind} from '../chain/artifacts.js'
import {canonicalPublicKey, deviceIdOf, heartbeatChallenge} from '../evidence/nonce.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {buildHostEvidence, type EngineIdentity, type SecurityEngine} from '../hw/engine.js'
import {parseSignature} from '../hw/tpm2/structures.js'
import {verifyQuote} from '../hw/tpm2/verify.js'
import type {AcceleratorEvidence, HostEvidence} from '../evidence/format.js'
import {answerWindowBlocks} from './answer-window.js'
import type {DeviceLocator, OwnKeyDevice} from './attest-devices.js'
import {bytesToHex, leftPadBytes} from '../util/hex.js'
import type {
  AttestContext,
  BroadcastHooks,
  ChainPort,
  ChallengePort,
  DeviceAttestation,
  DevicesPort,
  EnginePort,
  GasInfo,
  HeartbeatSubmission,
  SelfVerifyPort,
  SentTx,
  TxReceipt,
} from '../agent/ports.js'

export function liveChainPort(client: ChainClient, identity: EngineIdentity, operator: string): ChainPort {
  const akPublicKey = canonicalPublicKey(identity.publicKey)
  let lastGasUsed: bigint | undefined

  // Epoch, challenge block and time left all come from the latest block (the contract's epoch
  // constants are read once per client): one RPC each.
  return {
    async currentEpoch() {
      return (await challengeBlock(client)).epoch
    },
    async recentBlock() {
      const cb = await challengeBlock(client)
      return {number: cb.blockNumber, hash: cb.blockHash, timestamp: cb.timestamp}
    },
    async isRegistered(hostId) {
      return (await deviceState(client, hostId)).status === 'approved'
    },
    async submitHeartbeat(submission, hooks) {
      const request = await heartbeatRequest(client, heartbeatParamsOf(submission, akPublicKey))
      return sendHeartbeat(client, await signCall(client, request), hooks)
    },
    async receipt(txHash): Promise<TxReceipt | null> {
      const r = await receiptOf(client, txHash)
      if (!r) return null
      if (r.status === 'success') lastGasUsed = r.gasUsed
      return portReceiptOf(client, txHash, r)
    },
    async replaceWithFeeBump(previous, hooks) {
      if (!previous.to || !previous.data) throw new UnetError('cannot replace a transaction whose call data was not kept', ExitCode.UNEXPECTED)
      const tx = await signCall(client, await heartbeatRequestFromData(client, previous.data), {nonce: previous.nonce, ...previous.fees})
      return sendHeartbeat(client, tx, hooks)
    },
    async blocksLeftInEpoch() {
      return (await challengeBlock(client)).blocksLeft
    },
    async gasBalance(): Promise<GasInfo> {
      const {balance, maxFeePerGas} = await balanceAndFee(client, operator)
      return {balance, costPerHeartbeat: (lastGasUsed ?? HEARTBEAT_GAS_ESTIMATE) * maxFeePerGas}
    },
    async accruedRewards() {
      return (await deviceState(client, identity.deviceId)).claimable
    },
  }
}

/**
 * The heartbeat call's parameters from what the machine submits: the host quote's signature as the
 * (r, s) pair the contract's P-256 check takes, and each device's on-chain kind and proof.
 */
function heartbeatParamsOf(submission: HeartbeatSubmission, akPublicKey: Uint8Array): HeartbeatParams {
  const quote = submission.hostQuote as HostEvidence
  const signature = parseSignature(quote.quote.signature)
  if (signature.alg !== 'ecdsa') throw new UnetError('the host quote must be an ECDSA P-256 signature for the on-chain check', ExitCode.EVIDENCE_INVALID)
  return {
    epoch: submission.epoch,
    blockNumber: submission.block.number,
    blockHash: submission.block.hash,
    akPublicKey,
    attest: quote.quote.attest,
    signature: {r: leftPadBytes(signature.r, 32), s: leftPadBytes(signature.s, 32)},
    devices: submission.devices.map((d) => ({
      deviceId: d.deviceId,
      evidenceDigest: d.evidenceDigest,
      kind: (d.evidence as LiveDeviceEvidence).chainKind,
      proof: (d.evidence as LiveDeviceEvidence).proof,
    })),
  }
}

/** Broadcasts a signed heartbeat, once the hooks have kept it (the outbox): a crash after this finds it there. */
async function sendHeartbeat(client: ChainClient, tx: SignedTx, hooks: BroadcastHooks): Promise<SentTx> {
  const sent: SentTx = {
    txHash: tx.txHash,
    nonce: tx.nonce,
    fees: {maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas},
    to: tx.to,
    data: tx.data,
  }
  await hooks.beforeBroadcast(sent)
  await broadcast(client, tx, 'heartbeat')
  return sent
}

/** A canonical receipt as the machine reads it; a revert is read back with its reason. */
async function portReceiptOf(client: ChainClient, txHash: string, r: ReceiptView): Promise<TxReceipt> {
  return {
    txHash: r.txHash,
    status: r.status,
    blockNumber: r.blockNumber,
    blockHash: r.blockHash,
    revertReason: r.status === 'reverted' ? await revertReason(client, txHash) : undefined,
  }
}

/** The host engine's quote, wrapped as evidence v1 so self-verify and the journal see one shape. */
export function liveEnginePort(engine: SecurityEngine): EnginePort {
  return {quote: (qualifyingData) => buildHostEvidence(engine, {qualifyingData})}
}

export interface LiveDevicesOptions {
  /** The operator whose address is inside every device challenge (msg.sender of the heartbeat). */
  operator: string
  /** Where the device libraries are (config keys sysfsRoot, nvmlPath, bmlibPath; Sophgo key dir). */
  locator: DeviceLocator
  /** Where each device's heartbeat evidence is kept for spot checks (keepDeviceEvidence); none: not kept. */
  evidenceDir?: string
}

/**
 * The host's attached accelerators: each epoch, every device approved on chain for this host
 * (hostDevices() order, which the contract requires) signs its own challenge, heartbeatChallenge with
 * its deviceId in the id slot (docs/protocol.md §3, §7). RSA-2048 devices carry modulus ‖ signature as
 * their on-chain proof; P-384 devices are committed by evidence digest only. A device attached on
 * chain but not answering here is a clear error (the contract would revert DeviceSetMismatch), which
 * the state machine retries and journals.
 */
export function liveDevicesPort(client: ChainClient, hostId: string, options?: LiveDevicesOptions): DevicesPort {
  let local: Map<string, OwnKeyDevice> | undefined
  const probe = async () => {
    const {ownKeyDevices} = await import('./attest-devices.js')
    local = new Map((await ownKeyDevices(options!.locator)).devices.map((d) => [d.deviceId.toLowerCase(), d]))
    return local
  }
  return {
    async attestAll(_challenge, context) {
      const attached = await hostDevices(client, hostId)
      if (attached.length === 0) return []
      if (!context || !options) throw notBuiltForDevicesError(attached.length, options !== undefined)
      const devices = await findAttached(attached, local, probe)
      return attestAttached(client, attached, devices, options, context)
    },
  }
}

/** A host with devices attached, but a port built without what attesting them needs: a caller bug. */
function notBuiltForDevicesError(attachedCount: number, hasOptions: boolean): UnetError {
  return new UnetError(
    `host has ${attachedCount} attached device(s) but this agent was built without ${hasOptions ? 'the heartbeat epoch and block' : 'a device locator'}`,
    ExitCode.UNEXPECTED,
    {
      hint: 'this is a bug in the caller: pass liveDevicesPort(client, hostId, {operator, locator})',
    },
  )
}

/**
 * The local devices (by lowercase deviceId), with every device attached on chain among them. The
 * contract rejects a heartbeat that leaves one out, so a missing one is an error before anything is signed.
 */
async function findAttached(
  attached: HostDevice[],
  known: Map<string, OwnKeyDevice> | undefined,
  probe: () => Promise<Map<string, OwnKeyDevice>>,
): Promise<Map<string, OwnKeyDevice>> {
  let devices = known ?? (await probe())
  // a device that is missing may have come back since the last probe (driver reload, hot plug)
  if (attached.some((a) => !devices.has(a.deviceId.toLowerCase()))) devices = await probe()
  const missing = attached.filter((a) => !devices.has(a.deviceId.toLowerCase()))
  if (missing.length > 0)
    throw new UnetError(
      `attached device${missing.length > 1 ? 's' : ''} ${missing.map((m) => `${m.deviceId} (${DEVICE_KIND_NAMES[m.kind] ?? m.kind})`).join(', ')} not found on this machine: ` +
        'the contract rejects a heartbeat that does not list every approved device (DeviceSetMismatch)',
      ExitCode.HARDWARE_UNAVAILABLE,
      {
        hint: 'check the driver and the library paths (`unet devices`), or release the device on chain to let the host beat without it',
        details: {missing: missing.map((m) => m.deviceId)},
      },
    )
  return devices
}

/** Each attached device, one after the other in hostDevices() order, signs its own challenge; its evidence is kept when asked. */
async function attestAttached(
  client: ChainClient,
  attached: HostDevice[],
  devices: Map<string, OwnKeyDevice>,
  options: LiveDevicesOptions,
  context: AttestContext,
): Promise<DeviceAttestation[]> {
  const {attestOwnKeyDevice, keepDeviceEvidence} = await import('./attest-devices.js')
  const out: DeviceAttestation[] = []
  for (const a of attached) {
    const target = devices.get(a.deviceId.toLowerCase())!
    if (target.chainKind !== a.kind)
      throw new UnetError(
        `device ${a.deviceId} is ${DEVICE_KIND_NAMES[a.kind]} on chain but ${DEVICE_KIND_NAMES[target.chainKind]} here`,
        ExitCode.EVIDENCE_INVALID,
        {hint: 'release and register it again'},
      )
    const r = await attestOwnKeyDevice(target, deviceChallenge(client, options.operator, a.deviceId, context), options.locator)
    if (options.evidenceDir) keepDeviceEvidence(options.evidenceDir, a.deviceId, context.epoch, r.evidence, undefined, r.evidenceDigest)
    const evidence: LiveDeviceEvidence = {chainKind: a.kind, proof: r.heartbeatProof, kind: r.evidence.kind, evidence: r.evidence}
    out.push({deviceId: a.deviceId, evidenceDigest: r.evidenceDigest, evidence})
  }
  return out
}

/** The device's own heartbeat challenge: the host's, with the deviceId in the id slot (docs/protocol.md §7). */
function deviceChallenge(client: ChainClient, operator: string, deviceId: string, context: AttestContext): Uint8Array {
  return heartbeatChallenge({
    chainId: client.chainId,
    contract: client.pociAddress!,
    operator,
    hostId: deviceId,
    epoch: context.epoch,
    blockNumber: context.block.number,
    blockHash: context.block.hash,
  })
}

/**
 * The challenge game on the live chain: challenges against `hostId` from Challenged events, answered
 * with the exchange liveDevicesPort kept under `evidenceDir` (found by device, epoch and committed
 * digest). Only committed kinds (p384) can be challenged, so the kept evidence is read as p384.
 */
export function liveChallengePort(client: ChainClient, hostId: string, options: {evidenceDir: string}): ChallengePort {
  return {
    answerWindowBlocks: () => answerWindowBlocks(client),
    async challengesSince(fromBlock) {
      return (await challengesOf(client, hostId, Number(fromBlock))).map((c) => ({
        challengeId: c.challengeId,
        deviceId: c.deviceId,
        epoch: c.epoch,
        deadline: c.deadline,
        status: c.status,
        evidenceDigest: c.evidenceDigest,
      }))
    },
    async keptAnswer(c) {
      const {findKeptEvidence} = await import('./attest-devices.js')
      const evidence = findKeptEvidence(options.evidenceDir, c.deviceId, c.epoch, c.evidenceDigest, DeviceKind.P384)
      if (!evidence) return undefined
      const publicKey = canonicalPublicKey(evidence.device.publicKey)
      // the contract wants the registered key (keccak256 = deviceId): kept evidence of another key answers nothing
      if (bytesToHex(deviceIdOf(publicKey)) !== c.deviceId.toLowerCase()) return undefined
      return {publicKey, report: evidence.report.body}
    },
    async sendAnswer(c, answer) {
      const r = await answerChallenge(client, {challengeId: c.challengeId, publicKey: answer.publicKey, report: answer.report})
      return {txHash: r.txHash, blockNumber: BigInt(r.blockNumber)}
    },
  }
}

/** DeviceAttestation.evidence as liveDevicesPort fills it and liveChainPort reads it. */
export interface LiveDeviceEvidence {
  chainKind: number
  /** On-chain proof (RSA-2048 modulus ‖ signature); none for P-384. */
  proof?: Uint8Array
  kind: string
  evidence: AcceleratorEvidence
}

/**
 * Checks the host quote about to be sent with verifyQuote: the signature under the engine's AK, the
 * TPMS_ATTEST structure, extraData equal to the qualifying data, the PCR digest. Not the validators'
 * verifyEvidence (no EK chain, no accelerator evidence): docs/architecture.md says what it leaves out.
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
