import {ZeroAddress} from 'ethers'

import {DEVICE_KIND_NAMES, DEVICE_STATUS_NAMES, isHostKind} from './artifacts.js'
import {challengeBlock} from './block.js'
import {requirePoci, type ChainClient} from './client.js'
import {pociEvents, type PociEvent} from './events.js'
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
const REG_PENDING = 1n

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
  const ids = new Set((params.deviceIds ?? []).map((d) => d.toLowerCase()))
  /** The operator's latest registration of each device: a key that is not bound may be waiting for the verifier. */
  const latestReg = new Map<string, string>()
  if (params.operator) {
    for (const {args} of await pociEvents(client, 'Registered', {fromBlock}, [null, null, params.operator])) {
      const id = (args[1] as string).toLowerCase()
      ids.add(id)
      latestReg.set(id, args[0] as string)
    }
  }
  const devices: DeviceStatusView[] = []
  const hostCache = new Map<string, {info: HostInfo; beats: PociEvent[]}>()
  for (const deviceId of ids) {
    const info = [...(await callView<DeviceInfo>(poci, 'deviceInfo', [deviceId], 'read device'))] as DeviceInfo
    let status = Number(info[2])
    if (params.operator && status !== 0 && info[0].toLowerCase() !== params.operator.toLowerCase()) continue
    const regId = latestReg.get(deviceId)
    if (status === 0 && regId) {
      const reg = await callView<unknown[]>(poci, 'registrationInfo', [regId], 'read registration')
      if (reg[5] === REG_PENDING) {
        status = 1
        info[0] = reg[1] as string
        info[1] = reg[4] as bigint
        info[4] = reg[2] as string
        info[5] = reg[6] as string
      }
    }
    if (params.operator && status === 0) continue
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
    if (status === 2) {
      const hostId = info[4]
      let host = hostCache.get(hostId)
      if (!host) {
        const hostInfo = await callView<HostInfo>(poci, 'hostInfo', [hostId], 'read host')
        const beats = await pociEvents(client, 'Heartbeat', {fromBlock}, [hostId])
        host = {info: hostInfo, beats}
        hostCache.set(hostId, host)
      }
      const approvals = await pociEvents(client, 'Approved', {fromBlock}, [null, deviceId])
      const since = approvals.at(-1)?.blockNumber ?? 0
      const credited = host.beats.filter((b) => b.blockNumber > since || (b.blockNumber === since && isHostKind(Number(info[1]))))
      view.accrued = info[3] * rate * BigInt(credited.length)
      view.claimable = host.info[7]
      view.claimed = host.info[8]
      const last = credited.at(-1)
      if (last) {
        view.lastHeartbeatEpoch = last.args[1] as bigint
        view.lastHeartbeatBlock = BigInt(last.blockNumber)
        view.lastHeartbeatTx = last.txHash
        try {
          view.lastHeartbeatTime = (await client.provider.getBlock(last.blockNumber))?.timestamp
        } catch (error) {
          throw toUnetError(error, 'read block')
        }
      }
    }
    devices.push(view)
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
