import {ZeroAddress} from 'ethers'

import {DEVICE_STATUS_NAMES} from './artifacts.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView} from './tx.js'

/** What the contract stores now for one host: its device record and its reward slot. */
export interface HostRecord {
  hostId: string
  /** The host key's own status ('approved' while it is bound). */
  status: (typeof DEVICE_STATUS_NAMES)[number]
  operator: string
  /** undefined when the contract holds none (an unbound key). */
  payout?: string
  /** The host itself is approved (Host.active). */
  active: boolean
  /** Aggregate approved power: the host's own plus that of its attached approved devices. */
  power: bigint
  /** Attached approved devices, the host itself not counted. */
  attached: number
  /** The last credited epoch (0: never). */
  lastEpoch: bigint
  /** UNC (smallest unit) accrued and not yet claimed. */
  claimable: bigint
  /** UNC already paid to the payout. */
  claimed: bigint
}

export interface HostRecords {
  currentEpoch: bigint
  hosts: Map<string, HostRecord>
}

const PARALLEL = 8

/**
 * The current epoch and, per host, deviceInfo + hostInfo: view calls only, no log scans. All at
 * `blockTag` when given (the head an event scan ended at, so views and events tell the same moment).
 */
export async function readHostRecords(client: ChainClient, hostIds: readonly string[], blockTag?: number): Promise<HostRecords> {
  const poci = requirePoci(client)
  const at = blockTag === undefined ? [] : [{blockTag}]
  const currentEpoch = await callView<bigint>(poci, 'currentEpoch', at, 'read epoch')
  const hosts = new Map<string, HostRecord>()
  for (let i = 0; i < hostIds.length; i += PARALLEL) {
    const slice = hostIds.slice(i, i + PARALLEL)
    const got = await Promise.all(
      slice.map(async (hostId): Promise<HostRecord> => {
        const [d, h] = await Promise.all([
          callView<{status: bigint; payout: string}>(poci, 'deviceInfo', [hostId, ...at], 'read device'),
          callView<{operator: string; active: boolean; power: bigint; count: bigint; lastEpoch: bigint; accrued: bigint; claimedTotal: bigint}>(
            poci,
            'hostInfo',
            [hostId, ...at],
            'read host',
          ),
        ])
        return {
          hostId,
          status: DEVICE_STATUS_NAMES[Number(d.status)] ?? 'none',
          operator: h.operator,
          ...(d.payout === ZeroAddress ? {} : {payout: d.payout}),
          active: h.active,
          power: h.power,
          attached: Number(h.count),
          lastEpoch: h.lastEpoch,
          claimable: h.accrued,
          claimed: h.claimedTotal,
        }
      }),
    )
    for (const r of got) hosts.set(r.hostId, r)
  }
  return {currentEpoch, hosts}
}
