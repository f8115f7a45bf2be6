import {ZeroAddress} from 'ethers'

import {DEVICE_KIND_NAMES, DEVICE_STATUS_NAMES} from './artifacts.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView} from './tx.js'

export interface DeviceState {
  deviceId: string
  status: (typeof DEVICE_STATUS_NAMES)[number]
  kind: string
  operator?: string
  payout?: string
  hostId?: string
  /** The registration that bound the key. */
  regId?: string
  power: bigint
  /** Host-level figures (for a host, or the host a device is attached to). */
  lastEpoch: bigint
  /** UNC accrued and not yet claimed. */
  claimable: bigint
  /** UNC already paid to the payout. */
  claimed: bigint
}

/** One device's on-chain record and its host's reward figures: two view calls, no log scans. */
export async function deviceState(client: ChainClient, deviceId: string): Promise<DeviceState> {
  const poci = requirePoci(client)
  const d = await callView<{operator: string; kind: bigint; status: bigint; power: bigint; hostId: string; payout: string; regId: string}>(
    poci,
    'deviceInfo',
    [deviceId],
    'read device',
  )
  const status = DEVICE_STATUS_NAMES[Number(d.status)] ?? 'none'
  const state: DeviceState = {deviceId, status, kind: DEVICE_KIND_NAMES[Number(d.kind)] ?? 'none', power: d.power, lastEpoch: 0n, claimable: 0n, claimed: 0n}
  if (status === 'none') return state
  state.operator = d.operator
  state.regId = d.regId
  state.payout = d.payout === ZeroAddress ? undefined : d.payout
  const hostId = /^0x0{64}$/.test(d.hostId) ? deviceId : d.hostId
  state.hostId = hostId
  const h = await callView<{lastEpoch: bigint; accrued: bigint; claimedTotal: bigint}>(poci, 'hostInfo', [hostId], 'read host')
  state.lastEpoch = h.lastEpoch
  state.claimable = h.accrued
  state.claimed = h.claimedTotal
  return state
}
