import type {StatusReport} from '../miner/status-report.js'

/** One host of the fleet table: the host and its accelerators together. */
export interface FleetHostRow {
  hostId: string
  operator: string | null
  /** Devices bound to the host (the host itself included), and how many of them are online. */
  devices: number
  online: number
  /** The host's uptime over the status window (credited epochs / epochs). */
  uptime: {percent: number; window: number; credited: number}
  lastCreditedEpoch: string | null
}

export interface FleetView {
  /** "local": the hosts of this machine's operator only (no fleet file). */
  source: 'local'
  hosts: FleetHostRow[]
}

/** The operator's hosts from the status report (pure): the fleet as this machine sees it. */
export function localFleet(status: StatusReport): FleetView {
  const hosts = new Map<string, StatusReport['devices']>()
  for (const d of status.devices) {
    const hostId = d.hostId ?? d.deviceId
    hosts.set(hostId, [...(hosts.get(hostId) ?? []), d])
  }
  return {
    source: 'local',
    hosts: [...hosts].map(([hostId, devices]) => {
      const host = devices.find((d) => d.deviceId === hostId) ?? devices[0]!
      return {
        hostId,
        operator: status.operator,
        devices: devices.length,
        online: devices.filter((d) => d.online).length,
        uptime: host.uptime,
        lastCreditedEpoch: host.lastHeartbeat?.epoch ?? null,
      }
    }),
  }
}
