import {ZeroAddress, type Contract} from 'ethers'

import {DEVICE_KIND_NAMES, DEVICE_STATUS_NAMES, isHostKind} from './artifacts.js'
import {challengeBlock} from './block.js'
import {requirePoci, type ChainClient} from './client.js'
import {pociEvents, type PociEvent} from './events.js'
import {registrationState} from './registrations.js'
import {callView, toUnetError} from './tx.js'

export interface DeviceStatusView {
  deviceId: string
  kind: string
  status: (typeof DEVICE_STATUS_NAMES)[number]
  registered: boolean
  approved: boolean
  operator?: string
  payout?: string
  hostId?: string
  power: bigint
  /** The last epoch a heartbeat of its host credited this device (undefined: never). */
  lastHeartbeatEpoch?: bigint
  lastHeartbeatBlock?: bigint
  lastHeartbeatTx?: string
  /** Unix seconds of the block of that heartbeat. */
  lastHeartbeatTime?: number
  /** UNC earned by this device's power since its approval (power × rate × credited epochs). */
  accrued: bigint
  /** Host-level: UNC the host can claim now (paid to the payout). */
  claimable: bigint
  /** Host-level: UNC already paid to the payout. */
  claimed: bigint
}

export interface ChainStatus {
  chainId: bigint
  contract: string
  currentEpoch: bigint
  epochBlocks: bigint
  /** First block of the next epoch. */
  epochEndBlock: bigint
  /** Wall-time estimates (the profile's blockSeconds × blocks). */
  epochSeconds: bigint
  epochEndsAt: bigint
  rewardPerPowerEpoch: bigint
  allowEmulator: boolean
  verifier: string
  devices: DeviceStatusView[]
}

export interface StatusParams {
  /** Every device registered by this operator (found through Registered events). */
  operator?: string
  deviceIds?: string[]
  /** First block to scan for events (default 0). */
  fromBlock?: number
}

/** operator, kind, status, power, hostId, payout, regId */
type DeviceInfo = [string, bigint, bigint, bigint, string, string, string]
/** operator, active, power, count, setHash, lastEpoch, lastBlock, accrued, claimed, ekId */
type HostInfo = [string, boolean, bigint, bigint, string, bigint, bigint, bigint, bigint, string]

export async function getStatus(client: ChainClient, params: StatusParams = {}): Promise<ChainStatus> {
  const poci = requirePoci(client)
  const fromBlock = params.fromBlock ?? 0
  const [epoch, timing, rate, allowEmulator, verifier] = await Promise.all([
    callView<bigint>(poci, 'currentEpoch', [], 'read epoch'),
    challengeBlock(client),
    callView<bigint>(poci, 'rewardPerPowerEpoch', [], 'read reward rate'),
    callView<boolean>(poci, 'allowEmulator', [], 'read allowEmulator'),
    callView<string>(poci, 'verifier', [], 'read verifier'),
  ])
  const {ids, latestReg} = await devicesToRead(client, params, fromBlock)
  const read: StatusRead = {client, poci, operator: params.operator, fromBlock, rate, latestReg, hosts: new Map()}
  const devices: DeviceStatusView[] = []
  // one device after the other: a host read for its first device serves the next ones
  for (const deviceId of ids) {
    const view = await deviceStatus(read, deviceId)
    if (view) devices.push(view)
  }
  return {
    chainId: client.chainId,
    contract: client.pociAddress!,
    currentEpoch: epoch,
    epochBlocks: timing.epochBlocks,
    epochEndBlock: timing.epochEndBlock,
    epochSeconds: timing.epochSeconds,
    epochEndsAt: timing.epochEndsAt,
    rewardPerPowerEpoch: rate,
    allowEmulator,
    verifier,
    devices,
  }
}

/** What every device's reads share: the chain, the operator asked for, the reward rate, one read per host. */
interface StatusRead {
  client: ChainClient
  poci: Contract
  /** Only this operator's devices (any device asked for when undefined). */
  operator?: string
  /** The operator's latest registration of each device: a key that is not bound may be waiting for the verifier. */
  latestReg: Map<string, string>
  fromBlock: number
  rate: bigint
  hosts: Map<string, HostRecord>
}

interface HostRecord {
  info: HostInfo
  beats: PociEvent[]
}

/** The ids asked for, and every device the operator's Registered events name (with its latest regId). */
async function devicesToRead(client: ChainClient, params: StatusParams, fromBlock: number): Promise<{ids: Set<string>; latestReg: Map<string, string>}> {
  const ids = new Set((params.deviceIds ?? []).map((d) => d.toLowerCase()))
  const latestReg = new Map<string, string>()
  if (params.operator) {
    for (const {args} of await pociEvents(client, 'Registered', {fromBlock}, [null, null, params.operator])) {
      const id = (args[1] as string).toLowerCase()
      ids.add(id)
      latestReg.set(id, args[0] as string)
    }
  }
  return {ids, latestReg}
}

/** One device's view; undefined when an operator was asked for and the device is not (or no longer) theirs. */
async function deviceStatus(read: StatusRead, deviceId: string): Promise<DeviceStatusView | undefined> {
  const info = [...(await callView<DeviceInfo>(read.poci, 'deviceInfo', [deviceId], 'read device'))] as DeviceInfo
  // bound to another operator: checked before the registration read, which only a key not bound needs
  if (read.operator && Number(info[2]) !== 0 && info[0].toLowerCase() !== read.operator.toLowerCase()) return undefined
  const status = await withPendingRegistration(read.client, info, read.latestReg.get(deviceId))
  if (read.operator && status === 0) return undefined
  const view = deviceView(deviceId, info, status)
  if (status === 2) await addEarnings(read, view, info)
  return view
}

/**
 * The device's status; a key not bound (0) whose latest registration waits for the verifier reads as
 * pending (1), with that registration's operator, kind, host and payout written into `info`.
 */
async function withPendingRegistration(client: ChainClient, info: DeviceInfo, regId: string | undefined): Promise<number> {
  const status = Number(info[2])
  if (status !== 0 || !regId) return status
  const reg = await registrationState(client, regId)
  if (reg.status !== 'pending') return status
  info[0] = reg.operator
  info[1] = BigInt(reg.kind)
  info[4] = reg.hostId
  info[5] = reg.payout
  return 1
}

/** The view of what deviceInfo (or the pending registration) says; earnings start at 0. */
function deviceView(deviceId: string, info: DeviceInfo, status: number): DeviceStatusView {
  const view: DeviceStatusView = {
    deviceId,
    kind: DEVICE_KIND_NAMES[Number(info[1])] ?? 'none',
    status: DEVICE_STATUS_NAMES[status] ?? 'none',
    registered: status !== 0,
    approved: status === 2,
    power: info[3],
    accrued: 0n,
    claimable: 0n,
    claimed: 0n,
  }
  if (status !== 0) {
    view.operator = info[0]
    view.payout = info[5] === ZeroAddress ? undefined : info[5]
    view.hostId = info[4]
  }
  return view
}

/** An approved device's earnings: the host's heartbeats that credited it since its latest approval, the host's amounts. */
async function addEarnings(read: StatusRead, view: DeviceStatusView, info: DeviceInfo): Promise<void> {
  const host = await hostRecord(read, info[4])
  const approvals = await pociEvents(read.client, 'Approved', {fromBlock: read.fromBlock}, [null, view.deviceId])
  const since = approvals.at(-1)?.blockNumber ?? 0
  // a heartbeat in the approval's own block counts for a host, not for an attached device
  const credited = host.beats.filter((b) => b.blockNumber > since || (b.blockNumber === since && isHostKind(Number(info[1]))))
  view.accrued = info[3] * read.rate * BigInt(credited.length)
  view.claimable = host.info[7]
  view.claimed = host.info[8]
  const last = credited.at(-1)
  if (last) await addLastHeartbeat(read.client, view, last)
}

/** hostInfo and the Heartbeat events of a host, read once for all its devices. */
async function hostRecord(read: StatusRead, hostId: string): Promise<HostRecord> {
  let host = read.hosts.get(hostId)
  if (!host) {
    const info = await callView<HostInfo>(read.poci, 'hostInfo', [hostId], 'read host')
    const beats = await pociEvents(read.client, 'Heartbeat', {fromBlock: read.fromBlock}, [hostId])
    host = {info, beats}
    read.hosts.set(hostId, host)
  }
  return host
}

async function addLastHeartbeat(client: ChainClient, view: DeviceStatusView, last: PociEvent): Promise<void> {
  view.lastHeartbeatEpoch = last.args[1] as bigint
  view.lastHeartbeatBlock = BigInt(last.blockNumber)
  view.lastHeartbeatTx = last.txHash
  try {
    view.lastHeartbeatTime = (await client.provider.getBlock(last.blockNumber))?.timestamp
  } catch (error) {
    throw toUnetError(error, 'read block')
  }
}
