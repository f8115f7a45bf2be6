/**
 * `unet fleet status` and the dashboard's fleet table: many hosts, chosen by operator and/or payout
 * address, one row each, from chain data only. The event scan (event-cache.ts, replayed by
 * reward-ledger.ts) finds the hosts and their credited epochs; view calls at the scan's head
 * (chain/host-records.ts) give what the contract holds now: power, last credited epoch, claimable.
 * buildFleet is pure, so the rows, the order and the JSON shape (docs/fleet-status.schema.json) are
 * tested without a chain; fleetOf does the reading (after the event scan its caller made).
 */
import type {ChainClient} from '../chain/client.js'
import type {HostRecord, HostRecords} from '../chain/host-records.js'
import type {ChainIdentity} from '../util/chain-identity.js'
import {REWARD_TOKEN, formatUnits} from '../util/units.js'
import type {RewardEventSet} from './event-cache.js'
import type {HostLedger} from './reward-ledger.js'
import {UPTIME_WINDOW, uptimeOf, type Uptime} from './uptime.js'

/** Which hosts to show; lower-case addresses. A host matching any of them is shown once. */
export interface FleetSelectors {
  /** Hosts these addresses operate. */
  operators: string[]
  /** Hosts that pay these addresses. */
  payouts: string[]
  /** Hosts these addresses operate or that pay them (the lines of a --file list). */
  addresses: string[]
}

export interface FleetAmounts {
  /** UNC smallest unit: earned since approval (claimable + claimed), not yet claimed, paid out. */
  accrued: string
  claimable: string
  claimed: string
  formatted: {accrued: string; claimable: string; claimed: string}
}

export interface FleetHostRow {
  hostId: string
  operator: string
  payout: string | null
  /** Credited in the current or the previous epoch (and approved now). */
  online: boolean
  /** Bound devices, the host itself included; online: credited in the current or the previous epoch. */
  devices: {online: number; total: number}
  /** Credited epochs over the last UPTIME_WINDOW epochs, counted from the first epoch after the host's approval. */
  uptime: Uptime
  /** The host's aggregate approved power (its own + its attached approved devices'). */
  power: string
  rewards: FleetAmounts
  /** The contract's last credited epoch; null: never credited. */
  lastCreditedEpoch: string | null
  /** The epoch of the host's latest approval. */
  approvedEpoch: string
}

export interface FleetReport {
  chainId: string
  contract: string
  /** The chain head the rows were read at. */
  head: number
  epoch: {current: string}
  uptimeWindow: number
  selectors: FleetSelectors
  rewardToken: {symbol: string; decimals: number}
  /** Worst first: offline, then lowest uptime, then least claimable (then host id). */
  hosts: FleetHostRow[]
  totals: {hosts: number; online: number; power: string} & FleetAmounts
  /** Selector addresses no shown host matched (a typo, or nothing approved yet). */
  unmatched: string[]
  scan: {cachedTo: number; scannedFrom: number}
}

export interface FleetInputs {
  identity: ChainIdentity
  head: number
  scan: FleetReport['scan']
  ledger: ReadonlyMap<string, HostLedger>
  chain: HostRecords
  /** The epoch of each host's latest approval. */
  approvedEpochs: ReadonlyMap<string, bigint>
  selectors: FleetSelectors
}

/**
 * Host ids the selectors pick from the replayed events: hosts bound now whose operator or payout
 * (of their latest binding, or a later PayoutChanged) is selected. A released or revoked host is left
 * out: unbinding a host pays out what it accrued, so nothing of it is left to watch.
 */
export function selectHosts(ledger: ReadonlyMap<string, HostLedger>, selectors: FleetSelectors): string[] {
  return [...ledger.values()].filter((h) => h.bound && matchedBy(selectors, h.operator, h.payout).length > 0).map((h) => h.hostId)
}

/** The selector addresses a host with this operator and payout matches. */
function matchedBy(s: FleetSelectors, operator: string, payout: string | undefined): string[] {
  const op = operator.toLowerCase()
  const pay = payout?.toLowerCase()
  const out: string[] = []
  for (const a of s.operators) if (a.toLowerCase() === op) out.push(a)
  for (const a of s.payouts) if (a.toLowerCase() === pay) out.push(a)
  for (const a of s.addresses) if (a.toLowerCase() === op || a.toLowerCase() === pay) out.push(a)
  return out
}

export function buildFleet(i: FleetInputs): FleetReport {
  const current = i.chain.currentEpoch
  const rows: FleetHostRow[] = []
  const matched = new Set<string>()
  for (const [hostId, rec] of i.chain.hosts) {
    const ledger = i.ledger.get(hostId)
    // the chain has the last word: a host the events call bound but the contract does not is not shown
    if (!ledger || rec.status !== 'approved') continue
    const by = matchedBy(i.selectors, rec.operator, rec.payout)
    if (by.length === 0) continue
    for (const a of by) matched.add(a.toLowerCase())
    rows.push(hostRow(rec, ledger, current, i.approvedEpochs.get(hostId)))
  }
  rows.sort(worstFirst)
  const sum = (pick: (r: FleetHostRow) => string) => rows.reduce((s, r) => s + BigInt(pick(r)), 0n)
  const all = [...i.selectors.operators, ...i.selectors.payouts, ...i.selectors.addresses]
  return {
    chainId: i.identity.chainId.toString(),
    contract: i.identity.contract,
    head: i.head,
    epoch: {current: current.toString()},
    uptimeWindow: UPTIME_WINDOW,
    selectors: i.selectors,
    rewardToken: {symbol: REWARD_TOKEN.symbol, decimals: REWARD_TOKEN.decimals},
    hosts: rows,
    totals: {
      hosts: rows.length,
      online: rows.filter((r) => r.online).length,
      power: sum((r) => r.power).toString(),
      ...amounts(
        sum((r) => r.rewards.claimable),
        sum((r) => r.rewards.claimed),
      ),
    },
    unmatched: [...new Set(all.filter((a) => !matched.has(a.toLowerCase())))],
    scan: i.scan,
  }
}

/** Online: approved, active, and credited in the current epoch or the one before (as `unet status`). */
export function isOnline(rec: Pick<HostRecord, 'status' | 'active' | 'lastEpoch'>, current: bigint): boolean {
  return rec.status === 'approved' && rec.active && rec.lastEpoch > 0n && rec.lastEpoch + 1n >= current
}

function hostRow(rec: HostRecord, ledger: HostLedger, current: bigint, approvedEpoch: bigint | undefined): FleetHostRow {
  const online = isOnline(rec, current)
  const lastCredit = new Map<string, bigint>()
  for (const c of ledger.credits) lastCredit.set(c.deviceId, c.epoch)
  const devicesOnline = online ? [...ledger.devices.keys()].filter((d) => (lastCredit.get(d) ?? 0n) + 1n >= current).length : 0
  return {
    hostId: rec.hostId,
    operator: rec.operator,
    payout: rec.payout ?? null,
    online,
    devices: {online: devicesOnline, total: ledger.devices.size},
    // the approval's own epoch is not counted: an approval late in an epoch leaves no time to heartbeat in it
    uptime: uptimeOf(ledger.epochs, current, UPTIME_WINDOW, approvedEpoch === undefined ? undefined : approvedEpoch + 1n),
    power: rec.power.toString(),
    rewards: amounts(rec.claimable, rec.claimed),
    lastCreditedEpoch: rec.lastEpoch > 0n ? rec.lastEpoch.toString() : null,
    approvedEpoch: (approvedEpoch ?? 0n).toString(),
  }
}

function amounts(claimable: bigint, claimed: bigint): FleetAmounts {
  const accrued = claimable + claimed
  const f = (v: bigint) => formatUnits(v, REWARD_TOKEN.decimals)
  return {
    accrued: accrued.toString(),
    claimable: claimable.toString(),
    claimed: claimed.toString(),
    formatted: {accrued: f(accrued), claimable: f(claimable), claimed: f(claimed)},
  }
}

/** The fleet order: offline first, then the lowest uptime, then the least claimable, then host id. */
export function worstFirst(a: FleetHostRow, b: FleetHostRow): number {
  if (a.online !== b.online) return a.online ? 1 : -1
  if (a.uptime.percent !== b.uptime.percent) return a.uptime.percent - b.uptime.percent
  const ca = BigInt(a.rewards.claimable)
  const cb = BigInt(b.rewards.claimable)
  if (ca !== cb) return ca < cb ? -1 : 1
  return a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0
}

/** The fleet from an event set already read (the command's, with its progress line): the view calls and the rows. */
export async function fleetOf(
  client: ChainClient,
  set: RewardEventSet,
  ledger: ReadonlyMap<string, HostLedger>,
  selectors: FleetSelectors,
): Promise<FleetReport> {
  const {readHostRecords} = await import('../chain/host-records.js')
  const {epochOfBlock} = await import('../chain/block.js')
  const hostIds = selectHosts(ledger, selectors)
  const chain = await readHostRecords(client, hostIds, set.head)
  const timing = {epochBlocks: set.deployment.epochBlocks, genesisBlock: BigInt(set.deployment.deployBlock)}
  const approvedEpochs = new Map(hostIds.map((h) => [h, epochOfBlock(timing, BigInt(ledger.get(h)!.approvedBlock))]))
  return buildFleet({
    identity: set.identity,
    head: set.head,
    scan: {cachedTo: set.cachedTo, scannedFrom: set.scanned.fromBlock},
    ledger,
    chain,
    approvedEpochs,
    selectors,
  })
}
