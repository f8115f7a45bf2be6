/**
 * The verifier service (`unet verifier run`; the devnet supervisor runs the same code): scans Registered
 * events from a persisted cursor, decides each pending registration (decideRegistration, pure), posts
 * the credential challenge of TPM hosts and approves them once activated, approves or rejects the rest.
 * What a decision needs from outside the chain (p384: RIM files, OCSP answers) is gathered just before it
 * (facts.ts) and written into its record.
 * Each registration is isolated: a decision whose transaction reverts is recorded with the revert name
 * and never tried again; a transient failure (RPC, funds) is retried with backoff without holding up the
 * others. Optional random spot checks challenge committed (P-384) heartbeats and slash unanswered ones.
 * SIGTERM-safe: the abort signal is looked at between transactions, and the cursor is saved after each.
 */
import {randomBytes} from 'node:crypto'

import {keccak_256} from '@noble/hashes/sha3.js'

import {approve, challengeCredential, reject} from '../chain/approve.js'
import {epochTiming} from '../chain/block.js'
import {readChainIdentity} from '../chain/chain-identity.js'
import {challengeState, openChallenge, slashChallenge} from '../chain/challenge.js'
import type {ChainClient} from '../chain/client.js'
import {latestBlockNumber, registrations, registrationState, type Registration} from '../chain/registrations.js'
import {blockAt, heartbeatCall, heartbeatEvents} from '../chain/verifier-reads.js'
import {DeviceKind} from '../evidence/device-kinds.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {credentialChallengeFor} from '../hw/tpm2/activation.js'
import {bytesToHex, concatBytes, hexToBytes} from '../util/hex.js'
import {loadCursor, rewindCursor, saveCursor, type VerifierCursor, type WaitingActivation} from './cursor.js'
import {decideRegistration, type VerifierDecision, type VerifierPolicy} from './decide.js'
import {gatherRegistrationFacts} from './facts.js'
import type {VerifierMetrics} from './metrics.js'

/** Epochs of blocks an operator has to answer the credential challenge before the registration is rejected. */
const DEFAULT_ACTIVATION_TIMEOUT_EPOCHS = 20
export const ACTIVATION_TIMEOUT_REASON = 'credential activation not answered'

const ZERO32 = '0x' + '00'.repeat(32)

export type DecisionOutcome = 'approved' | 'rejected' | 'challenged' | 'reverted'

/** One line of the decisions log: the decision as decide.ts made it (power as a decimal string), and what became of it. */
export type DecisionRecord = Omit<VerifierDecision, 'power' | 'needsActivation'> & {
  type: 'decision'
  power: string
  /** The verifier's transaction (approve, reject or challengeCredential). */
  onChainTx?: string
  outcome: DecisionOutcome
  /** The custom error of a reverted transaction. */
  revert?: string
  at: string
}

export interface SpotCheckRecord {
  type: 'spot-check'
  hostId: string
  epoch: string
  deviceId?: string
  heartbeatTx?: string
  challengeId?: string
  onChainTx?: string
  outcome: 'spot-opened' | 'spot-answered' | 'spot-slashed' | 'spot-reverted'
  revert?: string
  at: string
}

export type VerifierRecord = DecisionRecord | SpotCheckRecord

export interface RunVerifierOptions {
  policy: VerifierPolicy
  /** Where the cursor lives (`<dataDir>/verifier/cursor.json`). */
  cursorFile: string
  /** First block to scan when there is no cursor for this chain and contract. */
  fromBlock: number
  /** Per OCSP request (default 5000 ms). */
  ocspTimeoutMs?: number
  pollMs?: number
  /** Blocks after the credential challenge before an unanswered registration is rejected (default 20 epochs). */
  activationTimeoutBlocks?: number
  /** Probability a committed heartbeat is challenged; 0 (default here) turns spot checks off. */
  spotCheckRate?: number
  /** Blocks per getLogs request. */
  logChunkBlocks?: number
  signal?: AbortSignal
  /** One pass over what is there now, then return (tests). */
  once?: boolean
  onRecord?: (record: VerifierRecord) => void
  onError?: (error: UnetError) => void
  metrics?: VerifierMetrics
}

/** Whether a failure is the contract refusing this particular transaction (never worth retrying). */
function revertName(error: unknown): string | undefined {
  if (!(error instanceof UnetError) || error.exitCode !== ExitCode.TX_REJECTED) return undefined
  const name = typeof error.details?.error === 'string' ? error.details.error : 'reverted'
  // a verifier without the role is a configuration problem, not a verdict on the registration
  return name === 'NotVerifier' ? undefined : name
}

const asUnetError = (error: unknown) => (error instanceof UnetError ? error : new UnetError(String((error as Error)?.message ?? error)))

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(t)
      resolve()
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** Runs until the signal aborts (or one pass with `once`); the cursor is saved before it returns (its next block is returned). */
export async function runVerifier(client: ChainClient, options: RunVerifierOptions): Promise<{nextBlock: number}> {
  const service = await VerifierService.open(client, options)
  const pollMs = options.pollMs ?? 1000
  let failures = 0
  while (!options.signal?.aborted) {
    try {
      await service.pass()
      failures = 0
    } catch (error) {
      failures++
      options.onError?.(asUnetError(error))
    } finally {
      service.save()
    }
    if (options.once) break
    await sleep(Math.min(pollMs * 2 ** Math.min(failures, 6), 60_000), options.signal)
  }
  service.save()
  return {nextBlock: service.nextBlock}
}

class VerifierService {
  private constructor(
    private readonly client: ChainClient,
    private readonly options: RunVerifierOptions,
    private readonly cursor: VerifierCursor,
    private readonly timing: {epochBlocks: bigint; genesisBlock: bigint},
  ) {}

  static async open(client: ChainClient, options: RunVerifierOptions): Promise<VerifierService> {
    const timing = await epochTiming(client)
    const loaded = loadCursor(options.cursorFile, await readChainIdentity(client), options.fromBlock)
    const {cursor, rewound} = rewindCursor(loaded, await latestBlockNumber(client))
    if (rewound)
      options.onError?.(
        new UnetError(
          `the chain is behind the verifier's cursor (block ${loaded.nextBlock - 1} was scanned, the head is ${cursor.nextBlock - 1}): rescanning from ${cursor.nextBlock}`,
        ),
      )
    return new VerifierService(client, options, cursor, timing)
  }

  get nextBlock(): number {
    return this.cursor.nextBlock
  }

  private get aborted(): boolean {
    return this.options.signal?.aborted ?? false
  }

  save(): void {
    saveCursor(this.options.cursorFile, this.cursor)
    this.options.metrics?.pending(Object.keys(this.cursor.waiting).length + Object.keys(this.cursor.retry).length)
    this.options.metrics?.lastScannedBlock(this.cursor.nextBlock - 1)
  }

  private record(r: VerifierRecord): void {
    this.options.metrics?.outcome(r.outcome)
    this.options.onRecord?.(r)
  }

  async pass(): Promise<void> {
    const latest = await latestBlockNumber(this.client)
    const chunk = this.options.logChunkBlocks ?? 5000
    while (this.cursor.nextBlock <= latest && !this.aborted) {
      const from = this.cursor.nextBlock
      const to = Math.min(latest, from + chunk - 1)
      for (const reg of await registrations(this.client, {fromBlock: from, toBlock: to})) {
        if (this.aborted) return
        await this.handle(reg)
        this.save()
      }
      if (this.spotRate > 0)
        for (const beat of await heartbeatEvents(this.client, {fromBlock: from, toBlock: to}))
          this.cursor.spot.pending.push({hostId: beat.hostId, epoch: beat.epoch.toString(), blockNumber: beat.blockNumber, txHash: beat.txHash})
      this.cursor.nextBlock = to + 1
      this.save()
    }
    await this.retries()
    await this.activations(latest)
    if (this.spotRate > 0) await this.spotChecks(latest)
  }

  private get spotRate(): number {
    return this.options.spotCheckRate ?? 0
  }

  /** One registration, isolated: a revert closes it, a transient failure schedules a retry. */
  private async handle(reg: Registration): Promise<void> {
    if (this.cursor.closed[reg.regId] || this.cursor.waiting[reg.regId]) return
    try {
      await this.decide(reg)
      delete this.cursor.retry[reg.regId]
    } catch (error) {
      const previous = this.cursor.retry[reg.regId]
      const attempts = (previous?.attempts ?? 0) + 1
      this.cursor.retry[reg.regId] = {
        blockNumber: reg.blockNumber,
        attempts,
        notBefore: Date.now() + Math.min((this.options.pollMs ?? 1000) * 2 ** attempts, 300_000),
      }
      this.options.onError?.(
        new UnetError(`registration ${reg.regId}: ${asUnetError(error).message} (retry ${attempts})`, asUnetError(error).exitCode, {cause: error}),
      )
    }
  }

  private async decide(reg: Registration): Promise<void> {
    const state = await registrationState(this.client, reg.regId)
    if (state.status !== 'pending') return // decided already (by us before a restart, or released meanwhile)
    const block = await blockAt(this.client, reg.blockNumber)
    const now = new Date((block?.timestamp ?? Math.floor(Date.now() / 1000)) * 1000)
    // network facts first (OCSP, RIM files), so the decision itself stays pure and recomputable
    const facts = await gatherRegistrationFacts(reg, this.options.policy, {now, timeoutMs: this.options.ocspTimeoutMs})
    const decision = decideRegistration(reg, {...this.options.policy, chainId: this.client.chainId, contract: this.client.pociAddress!, now}, facts)
    if (!decision.approve || !decision.needsActivation) return this.act(decision, decision.approve)
    let challengedAt = await latestBlockNumber(this.client)
    if (state.commitment === ZERO32) {
      let made
      try {
        made = credentialChallengeFor(
          hexToBytes(decision.needsActivation.ekPublic),
          hexToBytes(decision.needsActivation.akPublic),
          Uint8Array.from(randomBytes(32)),
          reg.regId,
        )
      } catch (error) {
        return this.act({...decision, approve: false, reasons: [(error as Error).message]}, false)
      }
      const tx = await this.transact(decision, () =>
        challengeCredential(this.client, {
          regId: reg.regId,
          credentialBlob: made.credentialBlob,
          encryptedSecret: made.encryptedSecret,
          commitment: bytesToHex(made.commitment!),
        }),
      )
      if (!tx) return
      challengedAt = tx.blockNumber
      this.record(this.decisionRecord(decision, 'challenged', tx.txHash))
    }
    const {regId: _r, deviceId, approve: _a, needsActivation: _n, power, ...rest} = decision
    this.cursor.waiting[reg.regId] = {deviceId, blockNumber: reg.blockNumber, challengedAt, decision: {...rest, power: power.toString()}}
  }

  /** Sends the verdict; a revert is recorded (and closes the registration), anything else throws. */
  private async act(decision: VerifierDecision, approved: boolean): Promise<void> {
    const tx = await this.transact(decision, () =>
      approved
        ? approve(this.client, {regId: decision.regId, power: decision.power, ekId: decision.ekId, chipId: decision.chipId})
        : reject(this.client, {regId: decision.regId, reason: decision.reasons.join('; ') || 'refused'}),
    )
    if (tx) this.record(this.decisionRecord({...decision, approve: approved}, approved ? 'approved' : 'rejected', tx.txHash))
  }

  private async transact<T>(decision: VerifierDecision, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await send()
    } catch (error) {
      const name = revertName(error)
      if (!name) throw error
      this.cursor.closed[decision.regId] = name
      delete this.cursor.waiting[decision.regId]
      this.record({...this.decisionRecord(decision, 'reverted'), revert: name})
      return undefined
    }
  }

  private decisionRecord(d: VerifierDecision, outcome: DecisionOutcome, onChainTx?: string): DecisionRecord {
    // MakeCredential's inputs are for the challenge transaction, not the log
    const {power, needsActivation: _inputs, ...decision} = d
    return {type: 'decision', ...decision, power: power.toString(), ...(onChainTx ? {onChainTx} : {}), outcome, at: new Date().toISOString()}
  }

  private async retries(): Promise<void> {
    for (const [regId, entry] of Object.entries(this.cursor.retry)) {
      if (this.aborted) return
      if (entry.notBefore > Date.now()) continue
      let reg: Registration | undefined
      try {
        reg = (await registrations(this.client, {fromBlock: entry.blockNumber, toBlock: entry.blockNumber})).find((r) => r.regId === regId)
      } catch (error) {
        this.options.onError?.(asUnetError(error))
        continue
      }
      if (!reg)
        delete this.cursor.retry[regId] // gone with a reorg
      else await this.handle(reg)
      this.save()
    }
  }

  /** Host TPMs with a posted challenge: approve once activated, reject after the timeout. */
  private async activations(latest: number): Promise<void> {
    const timeout = this.options.activationTimeoutBlocks ?? DEFAULT_ACTIVATION_TIMEOUT_EPOCHS * Number(this.timing.epochBlocks)
    for (const [regId, w] of Object.entries(this.cursor.waiting)) {
      if (this.aborted) return
      try {
        const state = await registrationState(this.client, regId)
        const decision = waitingDecision(regId, w)
        if (state.status !== 'pending') delete this.cursor.waiting[regId]
        else if (state.activated) {
          await this.act(decision, true)
          delete this.cursor.waiting[regId]
        } else if (latest - w.challengedAt >= timeout) {
          await this.act({...decision, approve: false, reasons: [`${ACTIVATION_TIMEOUT_REASON} within ${timeout} blocks`]}, false)
          delete this.cursor.waiting[regId]
        }
      } catch (error) {
        this.options.onError?.(asUnetError(error))
      }
      this.save()
    }
  }

  /**
   * Spot checks: a heartbeat is drawn when keccak256(hash of the first block of the next epoch ‖ its tx
   * hash) falls below rate · 2^256 — a block nobody knew when the heartbeat was sent — and, if it holds
   * committed (P-384) devices, one of them (chosen by the same draw) is challenged. Unanswered
   * challenges are slashed after their deadline.
   */
  private async spotChecks(latest: number): Promise<void> {
    const keep = []
    for (const c of this.cursor.spot.pending) {
      const drawBlock = Number(this.timing.genesisBlock + BigInt(c.epoch) * this.timing.epochBlocks)
      if (this.aborted || drawBlock > latest) {
        keep.push(c)
        continue
      }
      try {
        if (!(await this.spotCheck(c, drawBlock))) keep.push(c)
      } catch (error) {
        keep.push(c)
        this.options.onError?.(asUnetError(error))
      }
    }
    this.cursor.spot.pending = keep
    const open = []
    for (const o of this.cursor.spot.open) {
      if (this.aborted || BigInt(latest) <= BigInt(o.deadline)) {
        open.push(o)
        continue
      }
      try {
        const state = await challengeState(this.client, o.challengeId)
        const base = {
          type: 'spot-check',
          hostId: o.hostId,
          epoch: o.epoch,
          deviceId: o.deviceId,
          challengeId: o.challengeId,
          at: new Date().toISOString(),
        } as const
        if (state.status === 'open') {
          try {
            const tx = await slashChallenge(this.client, o.challengeId)
            this.record({...base, outcome: 'spot-slashed', onChainTx: tx.txHash})
          } catch (error) {
            const name = revertName(error)
            if (!name) throw error
            this.record({...base, outcome: 'spot-reverted', revert: name})
          }
        } else if (state.status === 'answered') this.record({...base, outcome: 'spot-answered'})
      } catch (error) {
        open.push(o)
        this.options.onError?.(asUnetError(error))
      }
    }
    this.cursor.spot.open = open
  }

  /** True when the candidate is dealt with (not drawn, nothing committed, challenged or refused). */
  private async spotCheck(c: {hostId: string; epoch: string; txHash: string}, drawBlock: number): Promise<boolean> {
    const block = await blockAt(this.client, drawBlock)
    if (!block) return false
    const draw = BigInt(bytesToHex(keccak_256(concatBytes(hexToBytes(block.hash), hexToBytes(c.txHash)))))
    if (!spotDrawn(draw, this.spotRate)) return true
    const call = await heartbeatCall(this.client, c.txHash)
    if (!call) return true
    const committed = [...call.kinds].flatMap((k, i) => (k === DeviceKind.P384 ? [i] : []))
    if (committed.length === 0) return true
    const index = committed[Number(draw % BigInt(committed.length))]!
    const deviceId = call.commits[2 * index]!
    const base = {type: 'spot-check', hostId: c.hostId, epoch: c.epoch, deviceId, heartbeatTx: c.txHash, at: new Date().toISOString()} as const
    try {
      const opened = await openChallenge(this.client, {
        hostId: c.hostId,
        epoch: BigInt(c.epoch),
        deviceId,
        blockNumber: call.blockNumber,
        blockHash: call.blockHash,
        operator: call.operator,
        commits: call.commits,
        kinds: call.kinds,
        index,
      })
      this.cursor.spot.open.push({challengeId: opened.challengeId, hostId: c.hostId, deviceId, epoch: c.epoch, deadline: opened.deadline.toString()})
      this.record({...base, challengeId: opened.challengeId, outcome: 'spot-opened', onChainTx: opened.txHash})
    } catch (error) {
      const name = revertName(error)
      if (!name) throw error
      this.record({...base, outcome: 'spot-reverted', revert: name})
    }
    return true
  }
}

/** Whether a 256-bit draw falls below rate · 2^256. */
export function spotDrawn(draw: bigint, rate: number): boolean {
  if (rate >= 1) return true
  if (rate <= 0) return false
  return draw < BigInt(Math.floor(rate * 2 ** 53)) << 203n
}

function waitingDecision(regId: string, w: WaitingActivation): VerifierDecision {
  return {regId, deviceId: w.deviceId, approve: true, ...w.decision, power: BigInt(w.decision.power)}
}

/** A record as one JSON line. */
export function recordJson(record: VerifierRecord): string {
  return JSON.stringify(record)
}
