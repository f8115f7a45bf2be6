/**
 * What the heartbeat state machine needs from the outside world, as small interfaces. The real
 * adapters (src/miner/live-ports.ts over src/chain and src/hw) are wired in by the `unet heartbeat`
 * command (src/miner/run-miner.ts); tests use in-memory doubles.
 */

export interface FeeData {
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/** A signed heartbeat transaction. `data`/`to` are opaque to the agent: the chain adapter may keep what it needs to re-sign a replacement after a restart. */
export interface SentTx {
  txHash: string
  nonce: number
  fees: FeeData
  to?: string
  data?: string
}

export interface BlockRef {
  number: bigint
  /** 0x-prefixed 32-byte hash. */
  hash: string
  /** Seconds since the Unix epoch. */
  timestamp: bigint
}

/** Evidence of one device, bound to the epoch's challenge. `evidence` is opaque to the agent. */
export interface DeviceAttestation {
  /** 0x bytes32 */
  deviceId: string
  /** 0x bytes32: keccak256 of the device's canonical evidence encoding. */
  evidenceDigest: string
  evidence: unknown
}

/** Everything one heartbeat carries; what is signed into the transaction and self-verified. */
export interface HeartbeatSubmission {
  epoch: bigint
  block: BlockRef
  /** heartbeatChallenge(...) of src/evidence/nonce.ts */
  challenge: Uint8Array
  /** quoteQualifyingData(challenge, devices) */
  qualifyingData: Uint8Array
  /** The host engine's quote over qualifyingData; opaque to the agent. */
  hostQuote: unknown
  devices: DeviceAttestation[]
}

export interface TxReceipt {
  txHash: string
  status: 'success' | 'reverted'
  blockNumber: bigint
  /** The block it was mined in (the live port only returns receipts whose block is canonical on this chain). */
  blockHash?: string
  /** The decoded custom error / revert string, when reverted. */
  revertReason?: string
}

export interface GasInfo {
  /** Operator balance, wei. */
  balance: bigint
  /** Expected cost of one heartbeat, wei (gas estimate × fee). */
  costPerHeartbeat: bigint
}

/**
 * Called by the chain adapter with the SIGNED transaction (hash, nonce, fees known) before it is
 * broadcast, so the outbox records it first: a crash right after broadcast never loses its hash.
 */
export interface BroadcastHooks {
  beforeBroadcast(tx: SentTx): void | Promise<void>
}

export interface ChainPort {
  /** The heartbeat contract's current epoch. */
  currentEpoch(): Promise<bigint>
  /** A recent block to bind the challenge to (the head, or a few blocks back); also the head for stuck detection. */
  recentBlock(): Promise<BlockRef>
  isRegistered(hostId: string): Promise<boolean>
  /** Builds, signs (EIP-1559, gas estimate with margin), calls hooks.beforeBroadcast, broadcasts. */
  submitHeartbeat(submission: HeartbeatSubmission, hooks: BroadcastHooks): Promise<SentTx>
  /** null while pending, unknown to the node, or mined in a block that is not on this chain (reorged away, lost in a chain reset). */
  receipt(txHash: string): Promise<TxReceipt | null>
  /**
   * Re-signs `previous` (same nonce, same to/data) with fees raised enough for the node to accept
   * the replacement (≥ +10 % on both fields), calls hooks.beforeBroadcast, broadcasts. May throw if
   * the nonce was already used (the previous one mined): the agent then finds its receipt.
   */
  replaceWithFeeBump(previous: SentTx, hooks: BroadcastHooks): Promise<SentTx>
  gasBalance(): Promise<GasInfo>
  /**
   * Optional: blocks still to come in the current epoch after the latest block (the contract counts
   * epochs in blocks: a heartbeat whose challenge block is the latest must be mined in one of them).
   */
  blocksLeftInEpoch?(): Promise<bigint>
  /** Optional: accrued, unclaimed rewards of this host (token smallest unit), for metrics. */
  accruedRewards?(): Promise<bigint>
}

export interface EnginePort {
  /** Host security engine quote (TPM2_Quote or emulator) whose qualifying data is `qualifyingData`. */
  quote(qualifyingData: Uint8Array): Promise<unknown>
}

/** What the heartbeat's challenge was built from: own-key devices sign heartbeatChallenge with their own id in the id slot. */
export interface AttestContext {
  epoch: bigint
  block: BlockRef
}

export interface DevicesPort {
  /** Attests every accelerator bound to `challenge` (the host's; `context` gives each device's); [] on a host without any. */
  attestAll(challenge: Uint8Array, context?: AttestContext): Promise<DeviceAttestation[]>
}

export interface SelfVerifyResult {
  ok: boolean
  reasons: string[]
}

export interface SelfVerifyPort {
  /** Checks what is about to be sent before it is signed (the live one: docs/architecture.md, "the agent's self-check"). */
  verify(submission: HeartbeatSubmission): Promise<SelfVerifyResult>
}

/** A challenge opened on chain against this host's committed evidence (docs/protocol.md §6). */
export interface HostChallenge {
  /** 0x bytes32 */
  challengeId: string
  deviceId: string
  epoch: bigint
  /** Last block an answer is accepted in. */
  deadline: bigint
  status: 'none' | 'open' | 'answered' | 'slashed'
  /** The digest the heartbeat committed (keccak256 of the raw exchange the answer must post). */
  evidenceDigest: string
}

/** What answers a challenge: the device's key as the contract wants it (P-384 x‖y) and the committed bytes. */
export interface ChallengeAnswer {
  publicKey: Uint8Array
  report: Uint8Array
}

/** The challenge game, as the agent sees it; the live adapter is src/miner/live-ports.ts liveChallengePort. */
export interface ChallengePort {
  /** Blocks from a challenge to its deadline (ANSWER_EPOCHS × epochBlocks): no answerable one was opened longer ago. */
  answerWindowBlocks(): Promise<bigint>
  /** Challenges opened against this host from block `fromBlock` on, with their current state. */
  challengesSince(fromBlock: bigint): Promise<HostChallenge[]>
  /** The kept evidence whose keccak256 is the challenge's digest; undefined when this machine keeps none. */
  keptAnswer(challenge: HostChallenge): Promise<ChallengeAnswer | undefined>
  /** Sends answer(challengeId, publicKey, report); resolves once mined, throws when it reverts. */
  sendAnswer(challenge: HostChallenge, answer: ChallengeAnswer): Promise<{txHash: string; blockNumber: bigint}>
}

/** Where the challenge step keeps its scan position across restarts (a file in the data dir; memory in tests). */
export interface ChallengeCursorStore {
  read(): bigint | undefined
  write(nextBlock: bigint): void
}

/** Agent metrics sink; metrics.ts gives a Prometheus one, `noopMetrics` drops everything. */
export interface AgentMetrics {
  heartbeat(result: 'confirmed' | 'failed' | 'missed' | 'skipped' | 'retry'): void
  lastSuccess(unixSeconds: number): void
  devicesOnline(n: number): void
  accruedRewards(smallestUnit: bigint): void
  gasBalance(wei: bigint): void
  quoteSeconds(seconds: number): void
  feeBump(): void
  /** Open challenges against the host seen in the last challenge step. */
  challengesOpen(n: number): void
  /** One challenge answered on chain, an answer that failed (retried), or one this machine keeps no answer for. */
  challenge(result: 'answered' | 'failed' | 'unanswerable'): void
}

export const noopMetrics: AgentMetrics = {
  heartbeat() {},
  lastSuccess() {},
  devicesOnline() {},
  accruedRewards() {},
  gasBalance() {},
  quoteSeconds() {},
  feeBump() {},
  challengesOpen() {},
  challenge() {},
}

/** The logging the agent needs; a pino Logger fits. */
export interface AgentLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentAgentLogger: AgentLogger = {debug() {}, info() {}, warn() {}, error() {}}
