import type {ChainClient} from '../chain/client.js'
import {REWARD_TOKEN, formatUnits} from '../util/units.js'
import {loadRewardEvents, type LoadOptions, type RewardEventSet} from './event-cache.js'
import {creditRows, replayLedger, type CreditFilter, type CreditRow, type HostLedger} from './reward-ledger.js'

/**
 * The credit history as `unet rewards history --json` prints it and the dashboard serves it
 * (/api/history): one shape, built here once for both.
 */

export interface HistoryRowView {
  epoch: string
  block: number
  /** ISO time of the heartbeat's block. */
  date: string
  hostId: string
  deviceId: string
  role: 'host' | 'device'
  kind: string
  power: string
  /** UNC smallest unit, and as UNC. */
  reward: string
  rewardUnc: string
  tx: string
}

export interface HistoryResult {
  chainId: string
  contract: string
  operator: string | null
  device: string | null
  since: string | null
  until: string | null
  rows: HistoryRowView[]
  total: {reward: string; rewardUnc: string; epochs: number}
  scan: {head: number; cachedTo: number; scannedFrom: number}
}

/** The reward events (cached, see event-cache.ts) and their replay into per-host ledgers. */
export async function readRewardLedger(client: ChainClient, options: LoadOptions): Promise<{set: RewardEventSet; ledger: Map<string, HostLedger>}> {
  const set = await loadRewardEvents(client, options)
  return {set, ledger: replayLedger(set.events, set.deployment.rewardPerPowerEpoch, set.times)}
}

/** The filtered rows of a ledger with their total (pure). */
export function historyResult(set: RewardEventSet, ledger: ReadonlyMap<string, HostLedger>, filter: CreditFilter): HistoryResult {
  const rows = creditRows(ledger, filter).map(rowView)
  const total = rows.reduce((sum, r) => sum + BigInt(r.reward), 0n)
  return {
    chainId: set.identity.chainId.toString(),
    contract: set.identity.contract,
    operator: filter.operator ?? null,
    device: filter.device ?? null,
    since: filter.since === undefined ? null : isoTime(filter.since),
    until: filter.until === undefined ? null : isoTime(filter.until),
    rows,
    total: {reward: total.toString(), rewardUnc: exactUnc(total), epochs: new Set(rows.map((r) => `${r.hostId}:${r.epoch}`)).size},
    scan: {head: set.head, cachedTo: set.cachedTo, scannedFrom: set.scanned.fromBlock},
  }
}

/** An amount in UNC with every digit (no rounding: the history is an account statement). */
export const exactUnc = (amount: bigint): string => formatUnits(amount, REWARD_TOKEN.decimals, REWARD_TOKEN.decimals)

function rowView(r: CreditRow): HistoryRowView {
  return {
    epoch: r.epoch.toString(),
    block: r.block,
    date: r.time ? isoTime(r.time) : '',
    hostId: r.hostId,
    deviceId: r.deviceId,
    role: r.role,
    kind: r.kind,
    power: r.power.toString(),
    reward: r.reward.toString(),
    rewardUnc: exactUnc(r.reward),
    tx: r.tx,
  }
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}
