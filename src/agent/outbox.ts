import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../util/files.js'
import {silentAgentLogger as silentLogger, type AgentLogger as Logger, type SentTx} from './ports.js'

/**
 * The agent's memory across crashes. One small JSON file per epoch under <dataDir>/agent/outbox,
 * always replaced atomically (temp + fsync + rename), walks prepared → sent → confirmed | failed.
 *
 * The rule that makes restarts safe: a transaction's hash and nonce are written ("sent") BEFORE it
 * is broadcast (ChainPort.submitHeartbeat calls `beforeBroadcast`), so after a crash the agent
 * always knows every transaction it may have sent for an epoch and checks them by hash before it
 * sends anything new. A "prepared" entry means nothing was broadcast yet: safe to redo.
 *
 * A journal (<dataDir>/agent/journal.json) keeps the result and reason of the last N epochs, for
 * `unet status --explain`. Unreadable files are moved aside (`*.corrupt-<time>`) with a warning;
 * the loop never crashes on them.
 */

export type OutboxState = 'prepared' | 'sent' | 'confirmed' | 'failed'

export interface BlockRefLite {
  number: bigint
  hash: string
}

export interface OutboxEntry {
  epoch: bigint
  state: OutboxState
  /** The challenge block of the latest attempt. */
  block?: BlockRefLite
  preparedAt: number
  /** Attempts made this epoch (each prepare counts). */
  attempts: number
  /** Every transaction signed for this epoch, original first, fee bumps after. */
  txs: SentTx[]
  /** When the newest tx was signed (ms) and the chain head then, for stuck detection. */
  sentAt?: number
  sentBlock?: bigint
  /** blockHash: absent in entries written before it was recorded. */
  confirmed?: {txHash: string; blockNumber: bigint; blockHash?: string; at: number}
  failure?: {reason: string; at: number}
}

export type JournalResult = 'confirmed' | 'failed' | 'missed' | 'skipped'

export interface JournalEntry {
  epoch: bigint
  result: JournalResult
  /** Why it failed / was missed / was skipped; absent on success. */
  reason?: string
  txHash?: string
  /** When the result was recorded (ms since the Unix epoch). */
  at: number
  attempts?: number
}

export interface OutboxOptions {
  logger?: Logger
  /** Outbox files older than this many epochs behind the current one are pruned (default 64). */
  keepEpochs?: number
  /** Journal length (default 500 epochs). */
  journalSize?: number
  /** ms clock for timestamps (default Date.now). */
  now?: () => number
}

export class Outbox {
  readonly dir: string
  readonly journalPath: string
  private readonly logger: Logger
  private readonly keepEpochs: bigint
  private readonly journalSize: number
  private readonly now: () => number
  /** This process is the only writer (the agent lock), so what it read or wrote stays true. */
  private readonly cache = new Map<bigint, OutboxEntry>()
  private journalCache?: JournalEntry[]

  constructor(dataDir: string, options: OutboxOptions = {}) {
    this.dir = join(dataDir, 'agent', 'outbox')
    this.journalPath = join(dataDir, 'agent', 'journal.json')
    this.logger = options.logger ?? silentLogger
    this.keepEpochs = BigInt(options.keepEpochs ?? 64)
    this.journalSize = options.journalSize ?? 500
    this.now = options.now ?? Date.now
    mkdirSync(this.dir, {recursive: true, mode: 0o700})
    this.removeTempFiles()
  }

  /** A crash between temp write and rename leaves a *.tmp: it never held the only copy, so it goes. */
  private removeTempFiles(): void {
    for (const dir of [this.dir, join(this.dir, '..')]) for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) tryUnlink(join(dir, name))
  }

  pathOf(epoch: bigint): string {
    return join(this.dir, `epoch-${epoch.toString().padStart(12, '0')}.json`)
  }

  get(epoch: bigint): OutboxEntry | undefined {
    const cached = this.cache.get(epoch)
    if (cached) return cached
    const path = this.pathOf(epoch)
    const raw = this.readJson(path)
    if (raw === undefined) return undefined
    const entry = decodeEntry(raw)
    if (!entry || entry.epoch !== epoch) return this.quarantine(path, 'not a valid outbox entry')
    this.cache.set(epoch, entry)
    return entry
  }

  /** Entries that may have a transaction in flight ("sent"), oldest epoch first. */
  inFlight(): OutboxEntry[] {
    return this.epochs()
      .map((e) => this.get(e))
      .filter((e): e is OutboxEntry => e?.state === 'sent')
  }

  /** Epochs that have an outbox file, ascending. */
  epochs(): bigint[] {
    return readdirSync(this.dir)
      .map((n) => /^epoch-(\d+)\.json$/.exec(n)?.[1])
      .filter((x): x is string => x !== undefined)
      .map((x) => BigInt(x))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  /**
   * Records that an attempt for `epoch` is about to start with this challenge block. Refuses while a
   * transaction may be in flight: the caller must settle the "sent" entry by hash first.
   */
  prepare(epoch: bigint, block: BlockRefLite): OutboxEntry {
    const old = this.get(epoch)
    if (old?.state === 'sent') throw new Error(`outbox: epoch ${epoch} has a transaction in flight (${old.txs.at(-1)?.txHash}); settle it first`)
    if (old?.state === 'confirmed') throw new Error(`outbox: epoch ${epoch} is already confirmed`)
    const entry: OutboxEntry = {epoch, state: 'prepared', block, preparedAt: this.now(), attempts: (old?.attempts ?? 0) + 1, txs: old?.txs ?? []}
    this.write(entry)
    return entry
  }

  /** Records a signed transaction (first send or fee bump) before it is broadcast. */
  markSent(epoch: bigint, tx: SentTx, sentBlock?: bigint): OutboxEntry {
    const old = this.require(epoch)
    const txs = old.txs.some((t) => t.txHash === tx.txHash) ? old.txs : [...old.txs, tx]
    const entry: OutboxEntry = {...old, state: 'sent', txs, sentAt: this.now(), sentBlock}
    delete entry.failure
    this.write(entry)
    return entry
  }

  markConfirmed(epoch: bigint, txHash: string, blockNumber: bigint, blockHash?: string): OutboxEntry {
    const old = this.require(epoch)
    const entry: OutboxEntry = {...old, state: 'confirmed', confirmed: {txHash, blockNumber, ...(blockHash ? {blockHash} : {}), at: this.now()}}
    delete entry.failure
    this.write(entry)
    return entry
  }

  /** The attempt failed and nothing is in flight any more (reverted, or never broadcast). */
  markFailed(epoch: bigint, reason: string): OutboxEntry {
    const old = this.get(epoch) ?? {epoch, state: 'prepared' as const, preparedAt: this.now(), attempts: 0, txs: []}
    const entry: OutboxEntry = {...old, state: 'failed', failure: {reason, at: this.now()}}
    this.write(entry)
    return entry
  }

  /** Removes outbox files of epochs older than current − keepEpochs that are settled (never a "sent" one). */
  prune(currentEpoch: bigint): number {
    let removed = 0
    for (const epoch of this.epochs()) {
      if (epoch + this.keepEpochs >= currentEpoch) continue
      if (this.get(epoch)?.state === 'sent') continue
      tryUnlink(this.pathOf(epoch))
      this.cache.delete(epoch)
      removed++
    }
    return removed
  }

  /** Adds (or replaces) the journal line of an epoch; keeps the newest `journalSize` epochs. */
  record(entry: Omit<JournalEntry, 'at'> & {at?: number}): JournalEntry {
    const full: JournalEntry = {...entry, at: entry.at ?? this.now()}
    const rows = this.journal().filter((r) => r.epoch !== full.epoch)
    rows.push(full)
    rows.sort((a, b) => (a.epoch < b.epoch ? -1 : a.epoch > b.epoch ? 1 : 0))
    const kept = rows.slice(-this.journalSize)
    writeFileAtomic(this.journalPath, JSON.stringify({version: 1, entries: kept.map(encodeJournal)}) + '\n', 0o600)
    this.journalCache = kept
    return full
  }

  /** The journal, oldest first; `last` limits it to the newest N. */
  journal(last?: number): JournalEntry[] {
    if (!this.journalCache) {
      const raw = this.readJson(this.journalPath)
      let rows = raw === undefined ? [] : decodeJournal(raw)
      if (!rows) {
        this.quarantine(this.journalPath, 'not a valid journal')
        rows = []
      }
      this.journalCache = rows
    }
    const rows = [...this.journalCache]
    return last === undefined ? rows : rows.slice(-last)
  }

  private require(epoch: bigint): OutboxEntry {
    const e = this.get(epoch)
    if (!e) throw new Error(`outbox: epoch ${epoch} was never prepared`)
    return e
  }

  private write(entry: OutboxEntry): void {
    this.cache.delete(entry.epoch)
    writeFileAtomic(this.pathOf(entry.epoch), JSON.stringify(encodeEntry(entry), null, 1) + '\n', 0o600)
    this.cache.set(entry.epoch, entry)
  }

  private readJson(path: string): unknown {
    if (!existsSync(path)) return undefined
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      this.logger.warn({path, err: (error as Error).message}, 'outbox file unreadable')
      return undefined
    }
    try {
      return JSON.parse(text) as unknown
    } catch {
      return this.quarantine(path, 'not valid JSON')
    }
  }

  private quarantine(path: string, why: string): undefined {
    const aside = `${path}.corrupt-${this.now()}`
    try {
      renameSync(path, aside)
      this.logger.warn({path, movedTo: aside, why}, `corrupt agent state file moved aside: ${why}`)
    } catch (error) {
      this.logger.warn({path, why, err: (error as Error).message}, 'corrupt agent state file could not be moved aside')
    }
    return undefined
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    /* already gone */
  }
}

// ---- encoding: bigints as decimal strings, validated on the way in ----

const HASH = /^0x[0-9a-fA-F]{64}$/
const big = (v: unknown): bigint | undefined => (typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : undefined)
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function encodeTx(t: SentTx): Record<string, unknown> {
  return {
    txHash: t.txHash,
    nonce: t.nonce,
    fees: {maxFeePerGas: t.fees.maxFeePerGas.toString(), maxPriorityFeePerGas: t.fees.maxPriorityFeePerGas.toString()},
    ...(t.to === undefined ? {} : {to: t.to}),
    ...(t.data === undefined ? {} : {data: t.data}),
  }
}

function decodeTx(v: unknown): SentTx | undefined {
  if (!isObj(v) || typeof v.txHash !== 'string' || !HASH.test(v.txHash) || num(v.nonce) === undefined || !isObj(v.fees)) return undefined
  const maxFeePerGas = big(v.fees.maxFeePerGas)
  const maxPriorityFeePerGas = big(v.fees.maxPriorityFeePerGas)
  if (maxFeePerGas === undefined || maxPriorityFeePerGas === undefined) return undefined
  const tx: SentTx = {txHash: v.txHash, nonce: v.nonce as number, fees: {maxFeePerGas, maxPriorityFeePerGas}}
  if (typeof v.to === 'string') tx.to = v.to
  if (typeof v.data === 'string') tx.data = v.data
  return tx
}

function encodeEntry(e: OutboxEntry): Record<string, unknown> {
  return {
    version: 1,
    epoch: e.epoch.toString(),
    state: e.state,
    block: e.block && {number: e.block.number.toString(), hash: e.block.hash},
    preparedAt: e.preparedAt,
    attempts: e.attempts,
    txs: e.txs.map(encodeTx),
    sentAt: e.sentAt,
    sentBlock: e.sentBlock?.toString(),
    confirmed: e.confirmed && {
      txHash: e.confirmed.txHash,
      blockNumber: e.confirmed.blockNumber.toString(),
      ...(e.confirmed.blockHash ? {blockHash: e.confirmed.blockHash} : {}),
      at: e.confirmed.at,
    },
    failure: e.failure,
  }
}

const STATES: readonly OutboxState[] = ['prepared', 'sent', 'confirmed', 'failed']

function decodeEntry(v: unknown): OutboxEntry | undefined {
  if (!isObj(v) || v.version !== 1) return undefined
  const epoch = big(v.epoch)
  if (epoch === undefined || !STATES.includes(v.state as OutboxState) || num(v.preparedAt) === undefined || num(v.attempts) === undefined) return undefined
  if (!Array.isArray(v.txs)) return undefined
  const txs = v.txs.map(decodeTx)
  if (txs.some((t) => t === undefined)) return undefined
  const e: OutboxEntry = {epoch, state: v.state as OutboxState, preparedAt: v.preparedAt as number, attempts: v.attempts as number, txs: txs as SentTx[]}
  if (v.block !== undefined) {
    if (!isObj(v.block) || big(v.block.number) === undefined || typeof v.block.hash !== 'string') return undefined
    e.block = {number: big(v.block.number)!, hash: v.block.hash}
  }
  if (v.sentAt !== undefined) e.sentAt = num(v.sentAt)
  if (v.sentBlock !== undefined) e.sentBlock = big(v.sentBlock)
  if (v.confirmed !== undefined) {
    const c = v.confirmed
    if (!isObj(c) || typeof c.txHash !== 'string' || big(c.blockNumber) === undefined || num(c.at) === undefined) return undefined
    e.confirmed = {txHash: c.txHash, blockNumber: big(c.blockNumber)!, at: c.at as number}
    if (typeof c.blockHash === 'string' && HASH.test(c.blockHash)) e.confirmed.blockHash = c.blockHash
  }
  if (v.failure !== undefined) {
    const f = v.failure
    if (!isObj(f) || typeof f.reason !== 'string' || num(f.at) === undefined) return undefined
    e.failure = {reason: f.reason, at: f.at as number}
  }
  if (e.state === 'sent' && e.txs.length === 0) return undefined
  if (e.state === 'confirmed' && !e.confirmed) return undefined
  return e
}

const RESULTS: readonly JournalResult[] = ['confirmed', 'failed', 'missed', 'skipped']

function encodeJournal(j: JournalEntry): Record<string, unknown> {
  return {...j, epoch: j.epoch.toString()}
}

function decodeJournal(v: unknown): JournalEntry[] | undefined {
  if (!isObj(v) || v.version !== 1 || !Array.isArray(v.entries)) return undefined
  const out: JournalEntry[] = []
  for (const r of v.entries) {
    if (!isObj(r)) return undefined
    const epoch = big(r.epoch)
    if (epoch === undefined || !RESULTS.includes(r.result as JournalResult) || num(r.at) === undefined) return undefined
    const row: JournalEntry = {epoch, result: r.result as JournalResult, at: r.at as number}
    if (typeof r.reason === 'string') row.reason = r.reason
    if (typeof r.txHash === 'string') row.txHash = r.txHash
    if (num(r.attempts) !== undefined) row.attempts = r.attempts as number
    out.push(row)
  }
  return out
}

/** Reads the journal without an Outbox instance (for `unet status --explain`); never throws, never moves files. */
export function readJournal(dataDir: string, last?: number): JournalEntry[] {
  const path = join(dataDir, 'agent', 'journal.json')
  try {
    const rows = decodeJournal(JSON.parse(readFileSync(path, 'utf8')))
    if (!rows) return []
    return last === undefined ? rows : rows.slice(-last)
  } catch {
    return []
  }
}
