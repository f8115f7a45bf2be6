import {keccak_256} from '@noble/hashes/sha3.js'

import {ExitCode, UnetError} from '../../../src/errors/index.js'
import {heartbeatChallenge, quoteQualifyingData} from '../../../src/evidence/nonce.js'
import type {Clock} from '../../../src/agent/backoff.js'
import type {HeartbeatIdentity} from '../../../src/agent/heartbeat-machine.js'
import type {ChainIdentity} from '../../../src/util/chain-identity.js'
import type * as port from '../../../src/agent/ports.js'
import {bytesToHex, equalBytes, hexToBytes} from '../../../src/util/hex.js'

/**
 * Honest in-memory doubles of the agent's ports: a tiny chain with blocks derived from the (manual)
 * clock and epochs counted in blocks (epochMs / blockMs of them), a mempool with nonces, EIP-1559 replacement rules and a minimum fee, and a
 * heartbeat "contract" that recomputes the challenge, checks the quote's qualifying data and
 * credits at most once per epoch. No real chain or engine here: those are tested elsewhere.
 */

const h = (s: string) => bytesToHex(keccak_256(new TextEncoder().encode(s)))

export const IDENTITY: HeartbeatIdentity = {
  chainId: 31337n,
  contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  operator: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  hostId: h('host-ak-public-key'),
}

/** The chain FakeChain stands for (its genesis "hash" is made up). */
export const CHAIN: ChainIdentity = {chainId: IDENTITY.chainId, genesisHash: h('genesis'), contract: IDENTITY.contract}

interface PoolTx extends port.SentTx {
  submission: port.HeartbeatSubmission
}

export class FakeChain implements port.ChainPort {
  readonly genesis: number
  epochMs = 60_000
  blockMs = 2_000
  registered = true
  balance = 10n ** 18n
  costPerHeartbeat = 10n ** 14n
  /** Txs below this priority fee stay in the mempool (stuck). */
  minPriorityFee = 1n
  /** Next submit calls throw this many transient errors (before signing). */
  failSubmits = 0
  /** Receipt calls throw this many RPC errors. */
  failReceipts = 0
  /** The next signed tx is lost before reaching the node (crash between sign and broadcast). */
  loseNextBroadcast = false
  /** Thrown after broadcast, once: simulates the agent process dying right after sending. */
  crashAfterBroadcast?: Error
  /** Every fee bump is refused with this (the call reverts now, e.g. Unregistered on a reset chain). */
  refuseBumps?: () => Error
  bumpRefusals = 0
  private nonce = 0
  readonly pool = new Map<number, PoolTx>()
  readonly mined = new Map<string, port.TxReceipt>()
  readonly usedNonces = new Set<number>()
  readonly credits = new Map<bigint, number>()
  submits = 0
  bumps = 0

  constructor(private readonly clock: Clock) {
    this.genesis = clock.now()
  }

  /** Blocks are numbered from 1; block n lies in epoch (n − 1) / epochBlocks (epochs from 0). */
  headNumber(): bigint {
    return BigInt(Math.floor((this.clock.now() - this.genesis) / this.blockMs)) + 1n
  }

  get epochBlocks(): bigint {
    return BigInt(Math.round(this.epochMs / this.blockMs))
  }

  epochOf(block: bigint): bigint {
    return (block - 1n) / this.epochBlocks
  }

  blockHash(n: bigint): string {
    return h(`block-${n}`)
  }

  async currentEpoch(): Promise<bigint> {
    return this.epochOf(this.headNumber())
  }

  async blocksLeftInEpoch(): Promise<bigint> {
    return this.epochBlocks - 1n - ((this.headNumber() - 1n) % this.epochBlocks)
  }

  async recentBlock(): Promise<port.BlockRef> {
    this.mine()
    const number = this.headNumber()
    return {number, hash: this.blockHash(number), timestamp: BigInt(Math.floor(this.clock.now() / 1000))}
  }

  async isRegistered(hostId: string): Promise<boolean> {
    return this.registered && hostId === IDENTITY.hostId
  }

  private sign(nonce: number, fees: port.SentTx['fees'], submission: port.HeartbeatSubmission): PoolTx {
    const txHash = h(`tx-${nonce}-${fees.maxFeePerGas}-${fees.maxPriorityFeePerGas}-${submission.epoch}`)
    return {txHash, nonce, fees, to: IDENTITY.contract, data: `0x${submission.epoch.toString(16)}`, submission}
  }

  private strip(tx: PoolTx): port.SentTx {
    const {submission: _s, ...rest} = tx
    return rest
  }

  async submitHeartbeat(submission: port.HeartbeatSubmission, hooks: port.BroadcastHooks): Promise<port.SentTx> {
    if (this.failSubmits > 0) {
      this.failSubmits--
      throw new UnetError('RPC endpoint timed out', ExitCode.RPC_UNREACHABLE)
    }
    this.submits++
    const tx = this.sign(this.nonce++, {maxFeePerGas: 100n, maxPriorityFeePerGas: 2n}, submission)
    await hooks.beforeBroadcast(this.strip(tx))
    if (this.loseNextBroadcast) {
      this.loseNextBroadcast = false
      this.lostSubmissions.set(submission.epoch, submission)
      throw new UnetError('connection reset while broadcasting', ExitCode.RPC_UNREACHABLE)
    }
    this.pool.set(tx.nonce, tx)
    if (this.crashAfterBroadcast) {
      const e = this.crashAfterBroadcast
      this.crashAfterBroadcast = undefined
      throw e
    }
    return this.strip(tx)
  }

  async replaceWithFeeBump(previous: port.SentTx, hooks: port.BroadcastHooks): Promise<port.SentTx> {
    if (this.refuseBumps) {
      this.bumpRefusals++
      throw this.refuseBumps()
    }
    if (this.usedNonces.has(previous.nonce)) throw new UnetError('nonce too low', ExitCode.TX_REJECTED)
    const bump = (x: bigint) => x + x / 8n + 1n
    const epoch = BigInt(previous.data!)
    const pooled = this.pool.get(previous.nonce)
    // after a restart the adapter only has what the outbox kept (to/data): rebuild from it
    const submission = pooled?.submission ?? this.lostSubmissions.get(epoch)!
    const tx = this.sign(
      previous.nonce,
      {maxFeePerGas: bump(previous.fees.maxFeePerGas), maxPriorityFeePerGas: bump(previous.fees.maxPriorityFeePerGas)},
      submission,
    )
    await hooks.beforeBroadcast(this.strip(tx))
    this.bumps++
    this.pool.set(tx.nonce, tx)
    return this.strip(tx)
  }

  /**
   * The node loses everything it knew (a devnet restored from a dump older than these transactions):
   * mempool, receipts, credits and nonces; blocks and epochs go on.
   */
  forgetTransactions(): void {
    this.pool.clear()
    this.mined.clear()
    this.usedNonces.clear()
    this.credits.clear()
    this.nonce = 0
  }

  /** Submissions whose broadcast was lost, by epoch (the "calldata" the adapter re-signs). */
  readonly lostSubmissions = new Map<bigint, port.HeartbeatSubmission>()

  async receipt(txHash: string): Promise<port.TxReceipt | null> {
    if (this.failReceipts > 0) {
      this.failReceipts--
      throw new UnetError('RPC endpoint unreachable', ExitCode.RPC_UNREACHABLE)
    }
    this.mine()
    return this.mined.get(txHash) ?? null
  }

  async gasBalance(): Promise<port.GasInfo> {
    return {balance: this.balance, costPerHeartbeat: this.costPerHeartbeat}
  }

  async accruedRewards(): Promise<bigint> {
    return [...this.credits.values()].reduce((a, b) => a + BigInt(b), 0n) * 10n ** 18n
  }

  /** Mines every pooled tx that pays enough, in nonce order, running the contract's checks. */
  mine(): void {
    for (const nonce of [...this.pool.keys()].sort((a, b) => a - b)) {
      const tx = this.pool.get(nonce)!
      if (tx.fees.maxPriorityFeePerGas < this.minPriorityFee) break
      this.pool.delete(nonce)
      this.usedNonces.add(nonce)
      this.balance -= this.costPerHeartbeat
      const reason = this.contractCheck(tx.submission)
      const blockNumber = this.headNumber()
      this.mined.set(tx.txHash, {
        txHash: tx.txHash,
        status: reason ? 'reverted' : 'success',
        blockNumber,
        blockHash: this.blockHash(blockNumber),
        revertReason: reason,
      })
      if (!reason) this.credits.set(tx.submission.epoch, (this.credits.get(tx.submission.epoch) ?? 0) + 1)
    }
  }

  /** The heartbeat contract: same challenge, committed qualifying data, B inside the epoch, one credit per epoch. */
  private contractCheck(s: port.HeartbeatSubmission): string | undefined {
    if (s.epoch !== this.epochOf(this.headNumber())) return 'WrongEpoch'
    if (this.epochOf(s.block.number) !== s.epoch || s.block.hash !== this.blockHash(s.block.number)) return 'StaleBlock'
    const challenge = heartbeatChallenge({...IDENTITY, epoch: s.epoch, blockNumber: s.block.number, blockHash: s.block.hash})
    if (!equalBytes(challenge, s.challenge)) return 'BadChallenge'
    const qd = quoteQualifyingData(challenge, s.devices)
    if (!equalBytes(qd, hexToBytes((s.hostQuote as {extraData: string}).extraData))) return 'BadQuote'
    if ((this.credits.get(s.epoch) ?? 0) > 0) return 'AlreadyCredited'
    return undefined
  }
}

/** A host "engine" whose quote carries the qualifying data (as TPMS_ATTEST.extraData does). */
export class FakeEngine implements port.EnginePort {
  failures = 0
  failure: () => Error = () => new UnetError('TPM returned TPM_RC_RETRY', ExitCode.TPM_ERROR)
  quotes = 0
  async quote(qualifyingData: Uint8Array): Promise<unknown> {
    if (this.failures > 0) {
      this.failures--
      throw this.failure()
    }
    this.quotes++
    return {extraData: bytesToHex(qualifyingData), signature: h(`sig-${bytesToHex(qualifyingData)}`)}
  }
}

export class FakeDevices implements port.DevicesPort {
  constructor(public count = 2) {}
  async attestAll(challenge: Uint8Array): Promise<port.DeviceAttestation[]> {
    return Array.from({length: this.count}, (_, i) => ({
      deviceId: h(`device-${i}`),
      evidenceDigest: bytesToHex(keccak_256(new Uint8Array([...challenge, i]))),
      evidence: {index: i},
    }))
  }
}

/** Checks what the contract would: the quote commits to the challenge and the devices. */
export class FakeSelfVerify implements port.SelfVerifyPort {
  forceFail?: string
  async verify(s: port.HeartbeatSubmission) {
    if (this.forceFail) return {ok: false, reasons: [this.forceFail]}
    const qd = quoteQualifyingData(s.challenge, s.devices)
    const ok = equalBytes(qd, hexToBytes((s.hostQuote as {extraData: string}).extraData))
    return {ok, reasons: ok ? [] : ['quote extraData does not commit to the challenge']}
  }
}

export class RecordingLogger implements port.AgentLogger {
  readonly lines: Array<{level: string; obj: object; msg?: string}> = []
  debug(obj: object, msg?: string) {
    this.lines.push({level: 'debug', obj, msg})
  }
  info(obj: object, msg?: string) {
    this.lines.push({level: 'info', obj, msg})
  }
  warn(obj: object, msg?: string) {
    this.lines.push({level: 'warn', obj, msg})
  }
  error(obj: object, msg?: string) {
    this.lines.push({level: 'error', obj, msg})
  }
  messages(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg ?? '')
  }
}

export class CountingMetrics implements port.AgentMetrics {
  readonly results: Record<string, number> = {}
  last?: number
  devices?: number
  rewards?: bigint
  gas?: bigint
  quotes: number[] = []
  bumps = 0
  heartbeat(result: string) {
    this.results[result] = (this.results[result] ?? 0) + 1
  }
  lastSuccess(s: number) {
    this.last = s
  }
  devicesOnline(n: number) {
    this.devices = n
  }
  accruedRewards(v: bigint) {
    this.rewards = v
  }
  gasBalance(v: bigint) {
    this.gas = v
  }
  quoteSeconds(s: number) {
    this.quotes.push(s)
  }
  feeBump() {
    this.bumps++
  }
  challengesOpenNow?: number
  readonly challenges: Record<string, number> = {}
  challengesOpen(n: number) {
    this.challengesOpenNow = n
  }
  challenge(result: string) {
    this.challenges[result] = (this.challenges[result] ?? 0) + 1
  }
}

interface FakeChallengeRecord extends port.HostChallenge {
  openedAt: bigint
  answeredAt?: bigint
}

/**
 * The challenge game of the contract, in memory, on FakeChain's blocks: a challenge scheduled at block
 * b appears once the head reaches b with deadline b + window; an answer must come by the deadline and
 * post the bytes whose keccak256 is the committed digest (else NotCommitted, as on chain).
 */
export class FakeChallenges implements port.ChallengePort {
  window = 40n
  readonly records = new Map<string, FakeChallengeRecord>()
  /** Bytes kept by "this machine", by committed digest. */
  readonly kept = new Map<string, Uint8Array>()
  private readonly scheduled: Array<{at: bigint; deviceId: string; epoch: bigint; keep: boolean}> = []
  /** fromBlock of every challengesSince call. */
  readonly scans: bigint[] = []
  /** Next sendAnswer calls throw this many RPC errors. */
  failAnswers = 0
  answers = 0

  constructor(private readonly chain: FakeChain) {}

  /** Opens a challenge at block `at` (default: the head) against a committed exchange; `keep`: whether this machine kept it. */
  open(options: {at?: bigint; deviceId?: string; epoch?: bigint; keep?: boolean} = {}): void {
    this.scheduled.push({
      at: options.at ?? this.chain.headNumber(),
      deviceId: options.deviceId ?? h('device-0'),
      epoch: options.epoch ?? 0n,
      keep: options.keep ?? true,
    })
  }

  private materialize(): void {
    const head = this.chain.headNumber()
    for (const s of this.scheduled.filter((x) => x.at <= head)) {
      this.scheduled.splice(this.scheduled.indexOf(s), 1)
      const report = new TextEncoder().encode(`spdm-exchange-${s.deviceId}-${s.epoch}-${s.at}`)
      const digest = bytesToHex(keccak_256(report))
      if (s.keep) this.kept.set(digest, report)
      const challengeId = h(`challenge-${s.deviceId}-${s.epoch}-${s.at}`)
      this.records.set(challengeId, {
        challengeId,
        deviceId: s.deviceId,
        epoch: s.epoch,
        deadline: s.at + this.window,
        status: 'open',
        evidenceDigest: digest,
        openedAt: s.at,
      })
    }
  }

  async answerWindowBlocks(): Promise<bigint> {
    return this.window
  }

  async challengesSince(fromBlock: bigint): Promise<port.HostChallenge[]> {
    this.scans.push(fromBlock)
    this.materialize()
    return [...this.records.values()].filter((r) => r.openedAt >= fromBlock).map(({openedAt: _o, answeredAt: _a, ...c}) => c)
  }

  async keptAnswer(c: port.HostChallenge): Promise<port.ChallengeAnswer | undefined> {
    const report = this.kept.get(c.evidenceDigest)
    return report ? {publicKey: new Uint8Array(96), report} : undefined
  }

  async sendAnswer(c: port.HostChallenge, answer: port.ChallengeAnswer): Promise<{txHash: string; blockNumber: bigint}> {
    if (this.failAnswers > 0) {
      this.failAnswers--
      throw new UnetError('RPC endpoint unreachable', ExitCode.RPC_UNREACHABLE)
    }
    const r = this.records.get(c.challengeId)!
    const block = this.chain.headNumber() + 1n
    if (r.status !== 'open') throw new UnetError('answer the challenge rejected by the contract: NotOpen', ExitCode.TX_REJECTED)
    if (block > r.deadline) throw new UnetError('answer the challenge rejected by the contract: AnswerTooLate', ExitCode.TX_REJECTED)
    if (bytesToHex(keccak_256(answer.report)) !== r.evidenceDigest)
      throw new UnetError('answer the challenge rejected by the contract: NotCommitted', ExitCode.TX_REJECTED)
    this.answers++
    r.status = 'answered'
    r.answeredAt = block
    return {txHash: h(`answer-${c.challengeId}`), blockNumber: block}
  }

  all(): FakeChallengeRecord[] {
    this.materialize()
    return [...this.records.values()]
  }
}

export class MemoryCursor implements port.ChallengeCursorStore {
  value?: bigint
  writes = 0
  read() {
    return this.value
  }
  write(next: bigint) {
    this.value = next
    this.writes++
  }
}
