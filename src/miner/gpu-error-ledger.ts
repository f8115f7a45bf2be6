/**
 * The GPU errors the agent's Xid watch saw (src/hw/nvidia/xid-watch.ts), kept per device by epoch: a
 * device with a critical Xid (or a double-bit ECC event) stays faulty until `clearAfterEpochs` whole
 * epochs pass without a new one (config alerts.xidClearEpochs), then "device-unhealthy" resolves.
 * Application Xids never make a device faulty. In memory only: the agent's event set sees only what
 * happens while it runs, so a restarted agent starts with a clean ledger.
 */
import type {GpuErrorEvent} from '../hw/nvidia/xid-watch.js'

export interface GpuErrorFault {
  device: string
  label: string
  /** One line per error, e.g. "Xid 79 (GPU has fallen off the bus), 2× since epoch 12, last in epoch 12". */
  faults: string[]
  /** The Xid numbers among them. */
  xids: number[]
}

interface Seen {
  xid?: number
  meaning: string
  count: number
  firstEpoch: bigint
  lastEpoch: bigint
}

export class GpuErrorLedger {
  private readonly devices = new Map<string, {label: string; errors: Map<string, Seen>}>()

  constructor(private readonly clearAfterEpochs: number) {}

  /** Notes the unhealthy ones of `events`, seen in `epoch`. */
  record(events: readonly GpuErrorEvent[], epoch: bigint): void {
    for (const e of events) {
      if (!e.unhealthy) continue
      const d = this.devices.get(e.device) ?? {label: e.label, errors: new Map<string, Seen>()}
      this.devices.set(e.device, d)
      const key = e.xid === undefined ? e.meaning : `xid:${e.xid}`
      const seen = d.errors.get(key)
      if (seen) {
        seen.count++
        seen.lastEpoch = epoch
      } else d.errors.set(key, {xid: e.xid, meaning: e.meaning, count: 1, firstEpoch: epoch, lastEpoch: epoch})
    }
  }

  /** The devices still faulty in `epoch`; errors older than the clearing window are forgotten. */
  faults(epoch: bigint): GpuErrorFault[] {
    const out: GpuErrorFault[] = []
    for (const [device, d] of this.devices) {
      for (const [key, s] of d.errors) if (epoch - s.lastEpoch > BigInt(this.clearAfterEpochs)) d.errors.delete(key)
      if (d.errors.size === 0) {
        this.devices.delete(device)
        continue
      }
      const errors = [...d.errors.values()]
      out.push({
        device,
        label: d.label,
        faults: errors.map(describe),
        xids: errors.flatMap((s) => (s.xid === undefined ? [] : [s.xid])),
      })
    }
    return out
  }
}

function describe(s: Seen): string {
  const what = s.xid === undefined ? s.meaning : `Xid ${s.xid} (${s.meaning})`
  return s.count === 1 ? `${what} in epoch ${s.lastEpoch}` : `${what}, ${s.count}× since epoch ${s.firstEpoch}, last in epoch ${s.lastEpoch}`
}
