import {EvidenceInvalidError, ExitCode, UnetError} from '../errors/index.js'
import {formatGas} from '../util/units.js'
import {heartbeatChallenge, quoteQualifyingData} from '../evidence/nonce.js'
import {silentAgentLogger as silentLogger, type AgentLogger as Logger} from './ports.js'
import {Backoff, isAborted, raceAbort, throwIfAborted, type BackoffOptions, type Clock} from './backoff.js'
import {ChallengeResponder} from './challenge-responder.js'
import type {JournalResult, Outbox, OutboxEntry} from './outbox.js'
import {
  noopMetrics,
  type AgentMetrics,
  type ChainPort,
  type ChallengeCursorStore,
  type ChallengePort,
  type DevicesPort,
  type EnginePort,
  type GasInfo,
  type HeartbeatSubmission,
  type SelfVerifyPort,
  type SentTx,
  type TxReceipt,
} from './ports.js'

/**
 * The heartbeat agent (after keylime's push agent): a loop over epochs, each one straight-line steps
 * (runEpoch). The states are labels the steps set as they pass, in this order; they decide nothing,
 * but every change is logged and passed to onTransition (written by run-agent.ts to agent/state.json):
 *
 *   Unregistered ─▶ Registered ─▶ Attesting ─▶ Submitting ─▶ Confirmed ─▶ (next epoch) Registered …
 *                        ▲             │             │
 *                        └── Backoff ◀─┴─────────────┘   (transient failure: jittered backoff, retry in the epoch)
 *   any step ──(fatal failure)──▶ Stopped (clear reason)      any step ──(AbortSignal)──▶ Stopped
 *
 * At the start of every epoch (so also at start-up), before its heartbeat, the challenge step answers
 * the challenges opened against the host (challenge-responder.ts), while no heartbeat is in flight.
 *
 * Everything outside is a port (chain, engine, devices, self-verifier, clock, outbox, metrics):
 * the class holds no socket, file or timer of its own.
 */

export type AgentState = 'Unregistered' | 'Registered' | 'Attesting' | 'Submitting' | 'Confirmed' | 'Backoff' | 'Stopped'

export interface HeartbeatIdentity {
  chainId: bigint
  /** Heartbeat contract address. */
  contract: string
  /** Operator address (the transaction sender). */
  operator: string
  /** Host deviceId (bytes32, hash of the AK public key). */
  hostId: string
}

export type ErrorClass = 'fatal' | 'transient'

export interface HeartbeatMachineOptions {
  identity: HeartbeatIdentity
  chain: ChainPort
  engine: EnginePort
  devices: DevicesPort
  selfVerify: SelfVerifyPort
  clock: Clock
  outbox: Outbox
  logger?: Logger
  metrics?: AgentMetrics
  /** Stops the machine cleanly (SIGTERM/SIGINT). */
  signal?: AbortSignal
  /** Jittered backoff between retries (default 1 s … 60 s). */
  backoff?: BackoffOptions
  /** How often to poll for a receipt (default 2 s). */
  receiptPollMs?: number
  /** How often to look for the next epoch (default 5 s). */
  epochPollMs?: number
  /** A tx without receipt this many blocks after it was sent is stuck (default 12). */
  stuckAfterBlocks?: number
  /** … or after this long (default 120 s), whichever comes first. */
  stuckAfterMs?: number
  /** At most this many fee bumps per epoch (default 5). */
  maxFeeBumps?: number
  /**
   * A transaction whose fee bump the node refused this many times in a row (the call now reverts, or
   * its nonce was used by another transaction) is abandoned and the epoch attempted afresh (default 3).
   */
  maxBumpRefusals?: number
  /**
   * Chain reads failing for this long without a success end the run with their error (default: never,
   * a service rides out any outage). `--once` and `--epochs` set about an epoch, so they always end.
   */
  giveUpAfterMs?: number
  /** Attempts per epoch before it is journaled as failed (default 8). */
  maxAttemptsPerEpoch?: number
  /** Warn when the gas balance lasts fewer epochs than this (default 48). */
  lowGasRunwayEpochs?: number
  /**
   * Don't start an epoch's first attempt with fewer blocks than this left in it after the latest block
   * (default 0: off). The contract counts epochs in blocks: a heartbeat mined after its epoch reverts.
   */
  minBlocksLeft?: number
  /** The challenge game: answer challenges against this host each epoch (none: the step is off). */
  challenges?: ChallengePort
  /** Where the challenge step keeps its scan position across restarts. */
  challengeCursor?: ChallengeCursorStore
  /**
   * Waits a random 0…N ms after a new epoch starts before attesting, so a fleet of agents does not
   * hit the RPC node in the same second (default 0; the command may pass e.g. min(epoch/10, 30 s)).
   */
  epochStartJitterMs?: number
  /** Random in [0,1) for the start jitter (tests). */
  random?: () => number
  /** Not registered: stop with NOT_REGISTERED (default) or wait, re-checking every epoch. */
  onUnregistered?: 'stop' | 'wait'
  /** Overrides which errors stop the agent. */
  classify?: (error: unknown) => ErrorClass
  /** Called on every state change (also written by the caller to agent/state.json). */
  onTransition?: (state: AgentState, info: {epoch?: bigint; reason?: string}) => void
  /** Called as each epoch is settled, before the wait for the next one (a foreground command prints it). */
  onEpoch?: (result: EpochResult) => void
}

export interface EpochResult {
  epoch: bigint
  result: JournalResult
  reason?: string
  txHash?: string
  attempts: number
  /** Receipt already on chain before this run (restart): nothing was sent again. */
  recovered?: boolean
  gas?: {balance: bigint; runwayEpochs?: bigint}
}

export interface RunResult {
  stopped: 'once' | 'aborted'
  epochs: EpochResult[]
}

/** Errors after which retrying cannot help: the agent stops and says why. */
const FATAL_EXIT_CODES: ReadonlySet<number> = new Set([
  ExitCode.CONFIG_INVALID,
  ExitCode.WALLET_MISSING,
  ExitCode.WRONG_PASSPHRASE,
  ExitCode.INSECURE_PERMISSIONS,
  ExitCode.CHAIN_MISMATCH,
  ExitCode.EVIDENCE_INVALID,
  ExitCode.EMULATOR_REFUSED,
  ExitCode.NETWORK_NOT_CONFIGURED,
  ExitCode.NOT_REGISTERED,
  ExitCode.INPUT_INVALID,
  ExitCode.ALREADY_RUNNING,
])

function defaultClassify(error: unknown): ErrorClass {
  return error instanceof UnetError && FATAL_EXIT_CODES.has(error.exitCode) ? 'fatal' : 'transient'
}

class NotRegisteredError extends UnetError {
  constructor(hostId: string) {
    super(`host ${hostId} is not registered (or not yet approved) on chain`, ExitCode.NOT_REGISTERED, {
      hint: 'run `unet register` first; `unet status --explain` says what is missing',
      details: {hostId},
    })
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))
const revertedText = (r: TxReceipt) => `transaction ${r.txHash} reverted${r.revertReason ? `: ${r.revertReason}` : ''}`

type Settlement = {kind: 'confirmed'; receipt: TxReceipt} | {kind: 'reverted'; receipt: TxReceipt} | {kind: 'abandoned'; reason: string}

/** What awaitSettlement keeps between polls: the entry it began with, the refused bumps in a row, the head whose epoch was read last. */
interface SettlementWatch {
  start: OutboxEntry
  refusals: number
  epochSeenAt?: bigint
}

/** Consecutive failures of one kind of chain read, for giveUpAfterMs. */
class FailureStreak {
  private since?: number
  constructor(
    private readonly clock: Clock,
    private readonly limitMs: number,
  ) {}
  ok(): void {
    this.since = undefined
  }
  /** Records a failure; true when they have lasted longer than the limit. */
  exhausted(): boolean {
    this.since ??= this.clock.now()
    return this.clock.now() - this.since >= this.limitMs
  }
}

export class HeartbeatMachine {
  private stateValue: AgentState = 'Unregistered'
  private readonly o: Required<Omit<HeartbeatMachineOptions, 'signal' | 'onTransition' | 'onEpoch' | 'logger' | 'metrics' | 'challenges' | 'challengeCursor'>> &
    Pick<HeartbeatMachineOptions, 'signal' | 'onTransition' | 'onEpoch'>
  private readonly log: Logger
  private readonly metrics: AgentMetrics
  private readonly backoff: Backoff
  private lastGas?: {balance: bigint; runwayEpochs?: bigint}
  private readonly responder?: ChallengeResponder
  private challengesSteppedIn?: bigint
  private devicesInLastAttempt = 0

  constructor(options: HeartbeatMachineOptions) {
    this.o = {
      backoff: {baseMs: 1000, maxMs: 60_000},
      receiptPollMs: 2000,
      epochPollMs: 5000,
      stuckAfterBlocks: 12,
      stuckAfterMs: 120_000,
      maxFeeBumps: 5,
      maxBumpRefusals: 3,
      giveUpAfterMs: Number.POSITIVE_INFINITY,
      maxAttemptsPerEpoch: 8,
      lowGasRunwayEpochs: 48,
      minBlocksLeft: 0,
      onUnregistered: 'stop',
      epochStartJitterMs: 0,
      random: Math.random,
      classify: defaultClassify,
      ...options,
    }
    this.log = options.logger ?? silentLogger
    this.metrics = options.metrics ?? noopMetrics
    this.backoff = new Backoff(this.o.backoff)
    if (options.challenges)
      this.responder = new ChallengeResponder({
        port: options.challenges,
        head: async () => (await this.o.chain.recentBlock()).number,
        cursor: options.challengeCursor,
        logger: this.log,
        metrics: this.metrics,
        signal: options.signal,
      })
  }

  get state(): AgentState {
    return this.stateValue
  }

  private to(state: AgentState, info: {epoch?: bigint; reason?: string} = {}): void {
    if (state === this.stateValue && info.reason === undefined) return
    this.log.debug({from: this.stateValue, to: state, epoch: info.epoch?.toString(), reason: info.reason}, 'agent state')
    this.stateValue = state
    this.o.onTransition?.(state, info)
  }

  /**
   * Runs epochs until aborted (returns {stopped: 'aborted'}) or, with `once`, exactly one epoch, or
   * with `epochs`, that many consecutive epochs. A fatal failure throws its UnetError (the command
   * maps it to its exit code).
   */
  async run(options: {once?: boolean; epochs?: number} = {}): Promise<RunResult> {
    const limit = options.once ? 1 : options.epochs
    let done = 0
    const epochs: EpochResult[] = []
    try {
      for (;;) {
        const r = await this.runEpoch()
        epochs.push(r)
        this.o.onEpoch?.(r)
        if (epochs.length > 16) epochs.shift()
        if (limit !== undefined && ++done >= limit) {
          this.to('Stopped', {epoch: r.epoch})
          return {stopped: 'once', epochs}
        }
        await this.waitForEpochAfter(r.epoch)
        const jitter = Math.floor(this.o.random() * this.o.epochStartJitterMs)
        if (jitter > 0) await this.o.clock.sleep(jitter, this.o.signal)
      }
    } catch (error) {
      if (isAborted(error)) {
        this.to('Stopped', {reason: error.message})
        this.log.info({}, 'agent stopped')
        return {stopped: 'aborted', epochs}
      }
      const reason = errorText(error)
      this.to('Stopped', {reason})
      this.log.error({err: reason}, `agent stopped: ${reason}`)
      throw error
    }
  }

  /**
   * One epoch: settle anything in flight → the challenge step → the checks that end the epoch before
   * any attempt (already confirmed, not registered, no gas) → attempts until it is settled. Started in
   * its last blocks, it waits for the next epoch and starts over.
   */
  async runEpoch(): Promise<EpochResult> {
    for (;;) {
      throwIfAborted(this.o.signal)
      await this.settleInFlight()
      const epoch = await this.call(() => this.o.chain.currentEpoch())
      await this.answerChallenges(epoch)
      const existing = this.o.outbox.get(epoch)
      const ended = (await this.alreadyConfirmed(epoch, existing)) ?? (await this.requireRegistered(epoch)) ?? (await this.requireGas(epoch))
      if (ended) return ended
      if (existing?.state !== 'sent' && (await this.tooFewBlocksLeft(epoch))) {
        await this.waitForEpochAfter(epoch)
        continue
      }
      return this.attemptUntilSettled(epoch)
    }
  }

  /**
   * The outbox holds this epoch as confirmed (a restart): nothing to send — if the chain still has that
   * receipt. A confirmation the chain no longer shows (a devnet restored from an older dump, a reorg) is
   * no confirmation: the entry is marked failed and the epoch attempted again.
   */
  private async alreadyConfirmed(epoch: bigint, existing: OutboxEntry | undefined): Promise<EpochResult | undefined> {
    if (existing?.state !== 'confirmed') return undefined
    const {txHash} = existing.confirmed!
    const receipt = await this.call(() => this.o.chain.receipt(txHash))
    if (receipt?.status === 'success') {
      this.to('Confirmed', {epoch})
      return {epoch, result: 'confirmed', txHash, attempts: existing.attempts, recovered: true}
    }
    const reason = `the outbox held epoch ${epoch} as confirmed by ${txHash}, but this chain has no successful receipt for it`
    this.log.warn({epoch: epoch.toString(), tx: txHash}, `${reason}: attempting the epoch again`)
    this.o.outbox.markFailed(epoch, reason)
    return undefined
  }

  /** Unregistered → Registered; not registered: stops the agent (NOT_REGISTERED) or skips the epoch ('wait'). */
  private async requireRegistered(epoch: bigint): Promise<EpochResult | undefined> {
    const registered = await this.call(() => this.o.chain.isRegistered(this.o.identity.hostId))
    if (registered) {
      this.to('Registered', {epoch})
      return undefined
    }
    this.to('Unregistered', {epoch, reason: 'host not registered'})
    const error = new NotRegisteredError(this.o.identity.hostId)
    const skipped = this.journal(epoch, 'skipped', error.message, 0)
    if (this.o.onUnregistered === 'stop') throw error
    return skipped
  }

  /** Not even one heartbeat's gas left: the epoch fails without an attempt. */
  private async requireGas(epoch: bigint): Promise<EpochResult | undefined> {
    const gas = await this.checkGas()
    if (!gas || gas.balance >= gas.costPerHeartbeat) return undefined
    const reason = `gas empty: balance ${formatGas(gas.balance)} < one heartbeat (~${formatGas(gas.costPerHeartbeat)}); fund ${this.o.identity.operator}`
    this.log.error({operator: this.o.identity.operator}, reason)
    this.o.outbox.markFailed(epoch, reason)
    return this.journal(epoch, 'failed', reason, 0)
  }

  /**
   * Started in the last blocks of an epoch (a fresh run): the transaction would likely be mined in the
   * next one and revert (WrongEpoch), wasting gas, so the caller begins with the next epoch instead.
   */
  private async tooFewBlocksLeft(epoch: bigint): Promise<boolean> {
    if (!this.o.chain.blocksLeftInEpoch || this.o.minBlocksLeft <= 0) return false
    const left = await this.call(() => this.o.chain.blocksLeftInEpoch!())
    if (left >= BigInt(this.o.minBlocksLeft)) return false
    this.log.info({epoch: epoch.toString(), blocksLeft: left.toString()}, `only ${left} block(s) left in epoch ${epoch}: starting with the next epoch`)
    return true
  }

  /** Attempts, with backoff between them, until the epoch is confirmed, missed or failed, or a fatal error stops the agent. */
  private async attemptUntilSettled(epoch: bigint): Promise<EpochResult> {
    this.backoff.reset()
    let failures = 0
    let lastReason: string | undefined
    for (;;) {
      throwIfAborted(this.o.signal)
      const now = await this.call(() => this.o.chain.currentEpoch())
      if (now !== epoch) {
        // a tx may still be in flight for the old epoch: settleInFlight picks it up next round
        return this.journal(epoch, 'missed', `epoch ended before a heartbeat was confirmed${lastReason ? `: ${lastReason}` : ''}`, failures)
      }
      try {
        return await this.settleOneAttempt(epoch, failures + 1)
      } catch (error) {
        if (isAborted(error)) throw error
        failures++
        lastReason = errorText(error)
        const gaveUp = await this.afterFailedAttempt(epoch, error, lastReason, failures)
        if (gaveUp) return gaveUp
      }
    }
  }

  /** Waits for the transaction in flight, or makes a fresh attempt; a reverted one throws TX_REJECTED. */
  private async settleOneAttempt(epoch: bigint, attempts: number): Promise<EpochResult> {
    const entry = this.o.outbox.get(epoch)
    const settled = entry?.state === 'sent' ? await this.awaitSettlement(entry) : await this.attempt(epoch)
    if (settled.kind === 'confirmed') return await this.onConfirmed(epoch, settled.receipt, attempts)
    const reason = settled.kind === 'abandoned' ? settled.reason : revertedText(settled.receipt)
    this.o.outbox.markFailed(epoch, reason)
    throw new UnetError(reason, ExitCode.TX_REJECTED)
  }

  /** Fatal: journal and rethrow. Transient: give up after maxAttemptsPerEpoch (the result), else Backoff (undefined: try again). */
  private async afterFailedAttempt(epoch: bigint, error: unknown, reason: string, failures: number): Promise<EpochResult | undefined> {
    if (this.o.classify(error) === 'fatal') {
      if (this.o.outbox.get(epoch)?.state !== 'sent') this.o.outbox.markFailed(epoch, reason)
      this.journal(epoch, 'failed', reason, failures)
      throw error
    }
    this.metrics.heartbeat('retry')
    if (failures >= this.o.maxAttemptsPerEpoch && this.o.outbox.get(epoch)?.state !== 'sent') {
      this.o.outbox.markFailed(epoch, reason)
      return this.journal(epoch, 'failed', `gave up after ${failures} attempts: ${reason}`, failures)
    }
    this.to('Backoff', {epoch, reason})
    const delay = await this.backoff.wait(this.o.clock, this.o.signal)
    this.log.warn({epoch: epoch.toString(), attempt: failures, retryInMs: delay, err: reason}, `heartbeat attempt failed, retrying: ${reason}`)
    return undefined
  }

  /**
   * The challenge step, once per epoch. Runs after settleInFlight, so no heartbeat nonce is pending
   * under the answer; never stops the agent (an unanswered challenge is retried next epoch).
   */
  private async answerChallenges(epoch: bigint): Promise<void> {
    if (!this.responder || this.challengesSteppedIn === epoch) return
    this.challengesSteppedIn = epoch
    try {
      await this.responder.step()
    } catch (error) {
      if (isAborted(error)) throw error
      this.challengesSteppedIn = undefined
      this.log.warn({epoch: epoch.toString(), err: errorText(error)}, `reading challenges failed, trying again next epoch: ${errorText(error)}`)
    }
  }

  /** A fresh attempt of `epoch`: attest → self-check → send → receipt. */
  private async attempt(epoch: bigint): Promise<Settlement> {
    const submission = await this.attest(epoch)
    await this.selfCheck(submission)
    await this.send(submission)
    this.devicesInLastAttempt = submission.devices.length
    return this.awaitSettlement(this.o.outbox.get(epoch)!)
  }

  /** Attesting: a recent block → the challenge → every device's attestation → the host quote over them. */
  private async attest(epoch: bigint): Promise<HeartbeatSubmission> {
    const {chain, engine, devices, clock, identity, signal} = this.o
    this.to('Attesting', {epoch})
    const block = await raceAbort(chain.recentBlock(), signal)
    const challenge = heartbeatChallenge({...identity, epoch, blockNumber: block.number, blockHash: block.hash})
    const attestations = await raceAbort(devices.attestAll(challenge, {epoch, block}), signal)
    const qualifyingData = quoteQualifyingData(challenge, attestations)
    const started = clock.now()
    const hostQuote = await raceAbort(engine.quote(qualifyingData), signal)
    this.metrics.quoteSeconds((clock.now() - started) / 1000)
    return {epoch, block, challenge, qualifyingData, hostQuote, devices: attestations}
  }

  /** Own evidence that does not verify is never sent (EVIDENCE_INVALID: fatal). */
  private async selfCheck(submission: HeartbeatSubmission): Promise<void> {
    const verdict = await raceAbort(this.o.selfVerify.verify(submission), this.o.signal)
    if (!verdict.ok)
      throw new EvidenceInvalidError(`own heartbeat evidence does not verify: ${verdict.reasons.join('; ')}`, verdict.reasons, {
        hint: 'run `unet attest` and `unet verify` on it; `unet doctor` checks the engines',
      })
  }

  /** Submitting: the outbox records the transaction as sent before it is broadcast (restart recovery). */
  private async send(submission: HeartbeatSubmission): Promise<void> {
    const {chain, outbox, signal} = this.o
    const {epoch, block} = submission
    this.to('Submitting', {epoch})
    outbox.prepare(epoch, {number: block.number, hash: block.hash})
    let recorded = false
    const sent = await raceAbort(
      chain.submitHeartbeat(submission, {
        beforeBroadcast: (tx) => {
          outbox.markSent(epoch, tx, block.number)
          recorded = true
        },
      }),
      signal,
    )
    if (!recorded) outbox.markSent(epoch, sent, block.number)
    // the host is always attested; `accelerators` counts the devices with their own key beside it (absent: none)
    const accelerators = submission.devices.length > 0 ? {accelerators: submission.devices.length} : {}
    this.log.info({epoch: epoch.toString(), tx: sent.txHash, nonce: sent.nonce, ...accelerators}, 'heartbeat sent')
  }

  /**
   * Waits until one of the epoch's transactions has a receipt on this chain. RPC errors are retried
   * (until giveUpAfterMs), a stuck transaction is replaced with a fee bump. It abandons the transactions
   * (a result, never a loop) when their epoch is over without a receipt — mined now they could only
   * revert (WrongEpoch), so a bump would spend gas on nothing — or when the node refused maxBumpRefusals
   * bumps in a row (the call reverts now: another chain, a lost registration; or its nonce is taken).
   */
  private async awaitSettlement(start: OutboxEntry): Promise<Settlement> {
    const {clock, outbox, signal} = this.o
    const epoch = start.epoch
    this.to('Submitting', {epoch})
    const rpcBackoff = new Backoff(this.o.backoff)
    const streak = new FailureStreak(clock, this.o.giveUpAfterMs)
    const watch: SettlementWatch = {start, refusals: 0}
    for (;;) {
      throwIfAborted(signal)
      const entry = outbox.get(epoch) ?? start
      try {
        const settled = await this.pollSettlement(entry, watch)
        if (settled) return settled
        rpcBackoff.reset()
        streak.ok()
        await clock.sleep(this.o.receiptPollMs, signal)
      } catch (error) {
        if (isAborted(error)) throw error
        if (streak.exhausted()) throw error
        const delay = await rpcBackoff.wait(clock, signal)
        this.log.warn({epoch: epoch.toString(), retryInMs: delay, err: errorText(error)}, 'waiting for the heartbeat receipt failed, retrying')
      }
    }
  }

  /**
   * One poll of awaitSettlement: a receipt settles the epoch, and so does its end or maxBumpRefusals refused
   * bumps in a row (abandoned); a stuck transaction is bumped. undefined: poll again.
   */
  private async pollSettlement(entry: OutboxEntry, watch: SettlementWatch): Promise<Settlement | undefined> {
    const found = await this.findReceipt(entry)
    if (found) return found
    const head = await raceAbort(this.o.chain.recentBlock(), this.o.signal)
    if (await this.epochEndedAt(head.number, entry.epoch, watch)) return this.lastLookOrAbandon(entry, watch, `abandoned: epoch ${entry.epoch} ended with `)
    if (!this.isStuck(entry, head.number)) return undefined
    const refused = await this.bump(entry, head.number)
    watch.refusals = refused === undefined ? 0 : watch.refusals + 1
    if (refused !== undefined && watch.refusals >= this.o.maxBumpRefusals)
      return this.lastLookOrAbandon(entry, watch, `abandoned after ${watch.refusals} refused fee bumps (${refused}): `)
    return undefined
  }

  /** The newest of the entry's transactions that has a receipt, as a settlement. */
  private async findReceipt(entry: OutboxEntry): Promise<Settlement | undefined> {
    for (const tx of [...entry.txs].reverse()) {
      const receipt = await raceAbort(this.o.chain.receipt(tx.txHash), this.o.signal)
      if (receipt) return receipt.status === 'success' ? {kind: 'confirmed', receipt} : {kind: 'reverted', receipt}
    }
    return undefined
  }

  /** Whether the chain is past `epoch`; the epoch is read once per new head block, not once per poll. */
  private async epochEndedAt(head: bigint, epoch: bigint, watch: SettlementWatch): Promise<boolean> {
    if (watch.epochSeenAt === head) return false
    watch.epochSeenAt = head
    return (await raceAbort(this.o.chain.currentEpoch(), this.o.signal)) > epoch
  }

  /** Stuck: no receipt stuckAfterBlocks blocks or stuckAfterMs after it was sent, and a fee bump is still allowed. */
  private isStuck(entry: OutboxEntry, head: bigint): boolean {
    const byBlocks = entry.sentBlock !== undefined && head - entry.sentBlock >= BigInt(this.o.stuckAfterBlocks)
    const byTime = entry.sentAt !== undefined && this.o.clock.now() - entry.sentAt >= this.o.stuckAfterMs
    return (byBlocks || byTime) && entry.txs.length - 1 < this.o.maxFeeBumps
  }

  /** One more look before abandoning: a transaction may have been mined since the look above (in the epoch's last block, or under the refused bump's nonce). */
  private async lastLookOrAbandon(entry: OutboxEntry, watch: SettlementWatch, why: string): Promise<Settlement> {
    const epoch = entry.epoch
    const found = await this.findReceipt(this.o.outbox.get(epoch) ?? entry)
    if (found) return found
    const hashes = (this.o.outbox.get(epoch) ?? watch.start).txs.map((t) => t.txHash).join(', ')
    return {kind: 'abandoned', reason: `${why}no receipt on this chain for ${hashes}`}
  }

  /** Replaces the newest tx of `entry` with a fee bump; returns why the node refused it, undefined when it took it. */
  private async bump(entry: OutboxEntry, head: bigint): Promise<string | undefined> {
    const previous = entry.txs.at(-1)!
    try {
      const next: SentTx = await raceAbort(
        this.o.chain.replaceWithFeeBump(previous, {beforeBroadcast: (tx) => void this.o.outbox.markSent(entry.epoch, tx, head)}),
        this.o.signal,
      )
      if (!this.o.outbox.get(entry.epoch)?.txs.some((t) => t.txHash === next.txHash)) this.o.outbox.markSent(entry.epoch, next, head)
      this.metrics.feeBump()
      this.log.warn(
        {epoch: entry.epoch.toString(), old: previous.txHash, tx: next.txHash, maxFeePerGas: next.fees.maxFeePerGas.toString()},
        'heartbeat transaction stuck: replaced with a fee bump',
      )
      return undefined
    } catch (error) {
      if (isAborted(error)) throw error
      // typically "nonce too low": the previous one was mined; the next receipt poll finds it
      this.log.warn({epoch: entry.epoch.toString(), err: errorText(error)}, 'fee bump refused')
      return errorText(error)
    }
  }

  /** Restart recovery: every "sent" entry is settled by its tx hashes before anything new is sent. */
  private async settleInFlight(): Promise<void> {
    for (const entry of this.o.outbox.inFlight()) {
      this.log.info({epoch: entry.epoch.toString(), txs: entry.txs.map((t) => t.txHash)}, 'checking a heartbeat sent before the restart')
      const settled = await this.awaitSettlement(entry)
      if (settled.kind === 'confirmed') {
        await this.onConfirmed(entry.epoch, settled.receipt, entry.attempts, true)
      } else if (settled.kind === 'abandoned') {
        this.o.outbox.markFailed(entry.epoch, settled.reason)
        // its epoch still open (refused bumps): runEpoch attempts it afresh, and journals that result
        if ((await this.call(() => this.o.chain.currentEpoch())) > entry.epoch) this.journal(entry.epoch, 'missed', settled.reason, entry.attempts)
      } else {
        const reason = revertedText(settled.receipt)
        this.o.outbox.markFailed(entry.epoch, reason)
        // the epoch may still be open: runEpoch retries it; otherwise this is the final word
        this.journal(entry.epoch, 'failed', reason, entry.attempts)
      }
    }
  }

  private async onConfirmed(epoch: bigint, receipt: TxReceipt, attempts: number, recovered = false): Promise<EpochResult> {
    this.o.outbox.markConfirmed(epoch, receipt.txHash, receipt.blockNumber, receipt.blockHash)
    this.to('Confirmed', {epoch})
    this.metrics.lastSuccess(Math.floor(this.o.clock.now() / 1000))
    if (!recovered) this.metrics.devicesOnline(this.devicesInLastAttempt)
    this.log.info({epoch: epoch.toString(), tx: receipt.txHash, block: receipt.blockNumber.toString(), recovered}, 'heartbeat confirmed')
    const result = this.journal(epoch, 'confirmed', undefined, attempts, receipt.txHash)
    this.o.outbox.prune(epoch)
    await this.checkGas().catch(() => undefined)
    if (this.o.chain.accruedRewards) {
      try {
        this.metrics.accruedRewards(await this.o.chain.accruedRewards())
      } catch (error) {
        this.log.debug({err: errorText(error)}, 'accrued rewards unavailable')
      }
    }
    return {...result, recovered: recovered || undefined, gas: this.lastGas}
  }

  private journal(epoch: bigint, result: JournalResult, reason: string | undefined, attempts: number, txHash?: string): EpochResult {
    this.o.outbox.record({epoch, result, reason, attempts, txHash})
    this.metrics.heartbeat(result)
    if (result !== 'confirmed') this.log.warn({epoch: epoch.toString(), result, reason}, `epoch ${epoch}: ${result}${reason ? ` (${reason})` : ''}`)
    return {epoch, result, reason, attempts, txHash, gas: this.lastGas}
  }

  /** Gas balance → metric, runway, a warning when short. Failures to read it are not fatal. */
  private async checkGas(): Promise<GasInfo | undefined> {
    let gas: GasInfo
    try {
      gas = await raceAbort(this.o.chain.gasBalance(), this.o.signal)
    } catch (error) {
      if (isAborted(error)) throw error
      this.log.debug({err: errorText(error)}, 'gas balance unavailable')
      return undefined
    }
    this.metrics.gasBalance(gas.balance)
    const runwayEpochs = gas.costPerHeartbeat > 0n ? gas.balance / gas.costPerHeartbeat : undefined
    this.lastGas = {balance: gas.balance, runwayEpochs}
    if (runwayEpochs !== undefined && runwayEpochs < BigInt(this.o.lowGasRunwayEpochs))
      this.log.warn(
        {balance: gas.balance.toString(), runwayEpochs: runwayEpochs.toString(), operator: this.o.identity.operator},
        `low gas: about ${runwayEpochs} epochs of heartbeats left; fund ${this.o.identity.operator}`,
      )
    return gas
  }

  /** Calls a bookkeeping port method, retrying transient failures with backoff until it answers. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const b = new Backoff(this.o.backoff)
    const streak = new FailureStreak(this.o.clock, this.o.giveUpAfterMs)
    for (;;) {
      throwIfAborted(this.o.signal)
      try {
        return await raceAbort(fn(), this.o.signal)
      } catch (error) {
        if (isAborted(error) || this.o.classify(error) === 'fatal' || streak.exhausted()) throw error
        const delay = await b.wait(this.o.clock, this.o.signal)
        this.log.warn({retryInMs: delay, err: errorText(error)}, `chain call failed, retrying: ${errorText(error)}`)
      }
    }
  }

  private async waitForEpochAfter(epoch: bigint): Promise<void> {
    for (;;) {
      await this.o.clock.sleep(this.o.epochPollMs, this.o.signal)
      const now = await this.call(() => this.o.chain.currentEpoch())
      if (now > epoch) return
    }
  }
}
