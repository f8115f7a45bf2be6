import type {RewardEvent} from '../chain/reward-events.js'
import {DEVICE_KIND_NAMES} from '../evidence/device-kinds.js'

/**
 * Who earned what, replayed from the contract's events (pure). A heartbeat credits its host
 * power × rewardPerPowerEpoch (Poci.heartbeat), where the host's power is the sum of its own approved
 * power and that of its attached approved devices at that moment: Approved adds a device with its
 * power, Revoked/Released removes it. So each heartbeat becomes one row per device then bound, whose
 * rewards add up to the host's credit for that epoch.
 */

export interface CreditRow {
  epoch: bigint
  block: number
  /** Unix seconds of the heartbeat's block (0 when unknown). */
  time: number
  hostId: string
  deviceId: string
  /** The host itself or an accelerator attached to it. */
  role: 'host' | 'device'
  kind: string
  power: bigint
  /** UNC smallest unit credited to this device's power in this epoch. */
  reward: bigint
  tx: string
  /** The host's operator and payout when it was credited. */
  operator: string
  payout: string
}

export interface HostLedger {
  hostId: string
  /** The host's operator and payout of its latest binding ('' when the registration was not seen). */
  operator: string
  payout: string
  /** Whether the host is bound now (not released or revoked). */
  bound: boolean
  /** The block of the host's latest approval (0 when it was not seen). */
  approvedBlock: number
  /** Bound devices now, the host itself included: deviceId → power and kind name. */
  devices: Map<string, {power: bigint; kind: string}>
  credits: CreditRow[]
  /** Credited epochs, oldest first. */
  epochs: bigint[]
  claimed: bigint
  forfeited: bigint
}

interface Registration {
  operator: string
  payout: string
  kind: number
}

export function replayLedger(
  events: readonly RewardEvent[],
  rewardPerPowerEpoch: bigint,
  times: ReadonlyMap<number, number> = new Map(),
): Map<string, HostLedger> {
  const replay: Replay = {regs: new Map(), hosts: new Map(), rewardPerPowerEpoch, times}
  // the contract's order: block, then log index within the block
  const ordered = [...events].sort((a, b) => a.block - b.block || a.logIndex - b.logIndex)
  for (const e of ordered) applyEvent(replay, e)
  return replay.hosts
}

/** The replay's state: registrations seen so far (by regId) and the ledger of each host. */
interface Replay {
  regs: Map<string, Registration>
  hosts: Map<string, HostLedger>
  rewardPerPowerEpoch: bigint
  times: ReadonlyMap<number, number>
}

type EventOf<T extends RewardEvent['type']> = Extract<RewardEvent, {type: T}>

function applyEvent(r: Replay, e: RewardEvent): void {
  switch (e.type) {
    case 'registered':
      r.regs.set(e.regId, {operator: e.operator, payout: e.payout, kind: e.kind})
      break
    case 'approved':
      approve(r, e)
      break
    case 'unbound':
      unbind(hostOf(r.hosts, e.hostId), e.deviceId)
      break
    case 'payout':
      hostOf(r.hosts, e.hostId).payout = e.payout
      break
    case 'heartbeat':
      credit(r, e)
      break
    case 'claimed':
      hostOf(r.hosts, e.hostId).claimed += BigInt(e.amount)
      break
    case 'slashed':
      hostOf(r.hosts, e.hostId).forfeited += BigInt(e.forfeited)
      break
  }
}

/** The host's ledger, started empty on its first event. */
function hostOf(hosts: Map<string, HostLedger>, hostId: string): HostLedger {
  let h = hosts.get(hostId)
  if (!h) {
    h = {hostId, operator: '', payout: '', bound: false, approvedBlock: 0, devices: new Map(), credits: [], epochs: [], claimed: 0n, forfeited: 0n}
    hosts.set(hostId, h)
  }
  return h
}

/** Approved binds a device with its power, under the kind its registration named. */
function approve(r: Replay, e: EventOf<'approved'>): void {
  const reg = r.regs.get(e.regId)
  const h = hostOf(r.hosts, e.hostId)
  const device = {power: BigInt(e.power), kind: DEVICE_KIND_NAMES[reg?.kind ?? 0] ?? 'unknown'}
  if (e.deviceId === e.hostId) {
    // a (re)approved host starts from a fresh state slot: nothing attached yet
    h.devices = new Map([[e.deviceId, device]])
    h.bound = true
    h.approvedBlock = e.block
    h.operator = reg?.operator ?? ''
    h.payout = reg?.payout ?? ''
  } else h.devices.set(e.deviceId, device)
}

/** Revoked/Released removes a device; the host's own unbinding removes everything attached to it. */
function unbind(h: HostLedger, deviceId: string): void {
  h.devices.delete(deviceId)
  if (deviceId === h.hostId) {
    h.bound = false
    h.devices.clear()
  }
}

/** A heartbeat: one credit row for each device bound to the host at that moment. */
function credit(r: Replay, e: EventOf<'heartbeat'>): void {
  const h = hostOf(r.hosts, e.hostId)
  const epoch = BigInt(e.epoch)
  h.epochs.push(epoch)
  for (const [deviceId, d] of h.devices)
    h.credits.push({
      epoch,
      block: e.block,
      time: r.times.get(e.block) ?? 0,
      hostId: e.hostId,
      deviceId,
      role: deviceId === e.hostId ? 'host' : 'device',
      kind: d.kind,
      power: d.power,
      reward: d.power * r.rewardPerPowerEpoch,
      tx: e.tx,
      operator: h.operator,
      payout: h.payout,
    })
}

export interface CreditFilter {
  /** Rows of hosts this operator ran when they were credited (lower-case address). */
  operator?: string
  /** A device id or a host id (a host id selects its devices' rows too). */
  device?: string
  /** Unix seconds, inclusive. */
  since?: number
  /** Unix seconds, exclusive. */
  until?: number
}

/** Credit rows of every host, filtered, oldest first. */
export function creditRows(ledger: ReadonlyMap<string, HostLedger>, filter: CreditFilter = {}): CreditRow[] {
  const rows: CreditRow[] = []
  for (const h of ledger.values())
    for (const r of h.credits) {
      if (filter.operator && r.operator !== filter.operator) continue
      if (filter.device && r.deviceId !== filter.device && r.hostId !== filter.device) continue
      if (filter.since !== undefined && r.time < filter.since) continue
      if (filter.until !== undefined && r.time >= filter.until) continue
      rows.push(r)
    }
  return rows.sort(
    (a, b) => a.block - b.block || (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0) || (a.role === 'host' ? -1 : b.role === 'host' ? 1 : 0),
  )
}
