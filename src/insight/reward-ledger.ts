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
  const regs = new Map<string, Registration>()
  const hosts = new Map<string, HostLedger>()
  const hostOf = (hostId: string): HostLedger => {
    let h = hosts.get(hostId)
    if (!h) {
      h = {hostId, operator: '', payout: '', bound: false, approvedBlock: 0, devices: new Map(), credits: [], epochs: [], claimed: 0n, forfeited: 0n}
      hosts.set(hostId, h)
    }
    return h
  }
  const ordered = [...events].sort((a, b) => a.block - b.block || a.logIndex - b.logIndex)
  for (const e of ordered) {
    switch (e.type) {
      case 'registered':
        regs.set(e.regId, {operator: e.operator, payout: e.payout, kind: e.kind})
        break
      case 'approved': {
        const reg = regs.get(e.regId)
        const h = hostOf(e.hostId)
        const device = {power: BigInt(e.power), kind: DEVICE_KIND_NAMES[reg?.kind ?? 0] ?? 'unknown'}
        if (e.deviceId === e.hostId) {
          // a (re)approved host starts from a fresh state slot: nothing attached yet
          h.devices = new Map([[e.deviceId, device]])
          h.bound = true
          h.approvedBlock = e.block
          h.operator = reg?.operator ?? ''
          h.payout = reg?.payout ?? ''
        } else h.devices.set(e.deviceId, device)
        break
      }
      case 'unbound': {
        const h = hostOf(e.hostId)
        h.devices.delete(e.deviceId)
        if (e.deviceId === e.hostId) {
          h.bound = false
          h.devices.clear()
        }
        break
      }
      case 'payout':
        hostOf(e.hostId).payout = e.payout
        break
      case 'heartbeat': {
        const h = hostOf(e.hostId)
        const epoch = BigInt(e.epoch)
        h.epochs.push(epoch)
        for (const [deviceId, d] of h.devices)
          h.credits.push({
            epoch,
            block: e.block,
            time: times.get(e.block) ?? 0,
            hostId: e.hostId,
            deviceId,
            role: deviceId === e.hostId ? 'host' : 'device',
            kind: d.kind,
            power: d.power,
            reward: d.power * rewardPerPowerEpoch,
            tx: e.tx,
            operator: h.operator,
            payout: h.payout,
          })
        break
      }
      case 'claimed':
        hostOf(e.hostId).claimed += BigInt(e.amount)
        break
      case 'slashed':
        hostOf(e.hostId).forfeited += BigInt(e.forfeited)
        break
    }
  }
  return hosts
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
