import {parseListen, serveRegistry, type ListenAddress} from '../util/metrics-http.js'
import {promRegistry, type PromRegistry} from '../util/prom-registry.js'
import type {AgentMetrics} from './ports.js'

/**
 * Optional Prometheus endpoint (`--metrics 127.0.0.1:9464`): the agent's metrics, on the lazily
 * loaded private registry of src/util/prom-registry.ts.
 */

export {parseListen, type ListenAddress} from '../util/metrics-http.js'

export interface MetricsServer {
  metrics: AgentMetrics
  /** Per-device series, set by whoever watches the host (src/miner/host-monitor.ts) after each look. */
  devices: DeviceMetrics
  /** http://host:port/metrics */
  url: string
  address: ListenAddress
  close(): Promise<void>
}

/** An on-chain device of this operator, as the chain last said (label device_id = the 0x bytes32 id). */
export interface ChainDeviceReading {
  deviceId: string
  kind: string
  /** Approved power (0 while pending). */
  power: number
  /** Credited in this epoch or the last one. */
  online: boolean
  lastCreditedEpoch?: number
}

/** A local accelerator, as its probe last said (management queries only; absent fields: the driver does not give them). */
export interface LocalDeviceReading {
  /** Stable id (UUID/serial, PCI address). */
  device: string
  vendor: string
  model: string
  healthy: boolean
  temperatureCelsius?: number
  utilisationPercent?: number
  powerDrawWatts?: number
  memoryUsedBytes?: number
}

export interface DeviceMetrics {
  chain(currentEpoch: bigint, devices: ChainDeviceReading[]): void
  local(devices: LocalDeviceReading[]): void
  /** Open alert conditions by rule (src/alerts). */
  alertsOpen(byRule: Record<string, number>): void
  /** One more Xid NVML reported on a local GPU (device = its stable id), application Xids included. */
  xid(device: string, xid: number): void
}

/** Token amounts (18 decimals) as floating-point units for gauges. */
function units(v: bigint, decimals = 18): number {
  const scale = 10n ** BigInt(decimals)
  return Number(v / scale) + Number(v % scale) / Number(scale)
}

export async function startMetricsServer(listen: string | ListenAddress, options: {tokenDecimals?: number} = {}): Promise<MetricsServer> {
  const address = typeof listen === 'string' ? parseListen(listen) : listen
  const r = await promRegistry('unet_')
  const heartbeats = r.counter('unet_heartbeats_total', 'Heartbeat epochs by result (confirmed, failed, missed, skipped) and retried attempts (retry)', {
    label: 'result',
    values: ['confirmed', 'failed', 'missed', 'skipped', 'retry'],
  })
  const lastSuccess = r.gauge('unet_last_success_timestamp_seconds', 'Unix time of the last confirmed heartbeat')
  const devices = r.gauge('unet_devices_online', 'Devices in the last confirmed heartbeat')
  const rewards = r.gauge('unet_rewards_accrued_unc', 'Accrued, unclaimed rewards (UNC)')
  const gas = r.gauge('unet_gas_balance_native', "Operator gas balance in the chain's native coin (ETH), not UNC")
  const quote = new r.prom.Histogram({
    name: 'unet_quote_seconds',
    help: 'Host engine quote latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [r.registry],
  })
  const bumps = r.counter('unet_fee_bumps_total', 'Stuck heartbeat transactions replaced with a fee bump')
  const challengesOpen = r.gauge('unet_challenges_open', 'Open challenges against this host seen in the last challenge step')
  const challenges = r.counter(
    'unet_challenges_total',
    'Challenges against this host by outcome: answered on chain, failed answer (retried next epoch), unanswerable (no kept evidence, or past its deadline)',
    {label: 'result', values: ['answered', 'failed', 'unanswerable']},
  )

  const metrics: AgentMetrics = {
    heartbeat: (result) => heartbeats.inc({result}),
    lastSuccess: (s) => lastSuccess.set(s),
    devicesOnline: (n) => devices.set(n),
    accruedRewards: (v) => rewards.set(units(v, options.tokenDecimals ?? 18)),
    gasBalance: (wei) => gas.set(units(wei)),
    quoteSeconds: (s) => quote.observe(s),
    feeBump: () => bumps.inc(),
    challengesOpen: (n) => challengesOpen.set(n),
    challenge: (result) => challenges.inc({result}),
  }

  return {metrics, devices: deviceMetrics(r), ...(await serveRegistry(r.registry, address))}
}

/**
 * The per-device gauges. Each look replaces the whole set (reset, then set), so a device that is gone
 * stops being exported instead of repeating its last value.
 */
function deviceMetrics({prom, registry, gauge}: PromRegistry): DeviceMetrics {
  const onChain = ['device_id', 'kind']
  const local = ['device', 'vendor', 'model']
  const epoch = gauge('unet_current_epoch', "The heartbeat contract's current epoch, as last read")
  const power = gauge('unet_device_power', 'Approved power of each on-chain device of this operator (0 while pending)', onChain)
  const online = gauge('unet_device_online', 'Whether each on-chain device was credited in this epoch or the last one (1) or not (0)', onChain)
  const credited = gauge('unet_device_last_credited_epoch', 'Last epoch a heartbeat credited each on-chain device', onChain)
  const healthy = gauge('unet_device_healthy', 'Whether the probe of each local accelerator reports no fault (1) or a fault (0)', local)
  const temperature = gauge('unet_device_temperature_celsius', 'Temperature of each local accelerator, where the driver gives it', local)
  const utilisation = gauge('unet_device_utilisation_percent', 'Utilisation of each local accelerator, where the driver gives it', local)
  const draw = gauge('unet_device_power_draw_watts', 'Board power draw of each local accelerator, where the driver gives it', local)
  const memory = gauge('unet_device_memory_used_bytes', 'Memory in use on each local accelerator, where the driver gives it', local)
  const alerts = gauge('unet_alerts_open', 'Open alert conditions by rule', ['rule'])
  // a counter, not replaced by each look: Xids are events, and rate() over it shows when they came
  const xids = new prom.Counter({
    name: 'unet_device_xid_total',
    help: 'Xid errors NVML reported on each local GPU since the agent started, by Xid (application faults included)',
    labelNames: ['device', 'xid'],
    registers: [registry],
  })
  return {
    chain(current, devices) {
      epoch.set(Number(current))
      for (const g of [power, online, credited]) g.reset()
      for (const d of devices) {
        const labels = {device_id: d.deviceId, kind: d.kind}
        power.set(labels, d.power)
        online.set(labels, d.online ? 1 : 0)
        if (d.lastCreditedEpoch !== undefined) credited.set(labels, d.lastCreditedEpoch)
      }
    },
    local(devices) {
      for (const g of [healthy, temperature, utilisation, draw, memory]) g.reset()
      for (const d of devices) {
        const labels = {device: d.device, vendor: d.vendor, model: d.model}
        healthy.set(labels, d.healthy ? 1 : 0)
        if (d.temperatureCelsius !== undefined) temperature.set(labels, d.temperatureCelsius)
        if (d.utilisationPercent !== undefined) utilisation.set(labels, d.utilisationPercent)
        if (d.powerDrawWatts !== undefined) draw.set(labels, d.powerDrawWatts)
        if (d.memoryUsedBytes !== undefined) memory.set(labels, d.memoryUsedBytes)
      }
    },
    alertsOpen(byRule) {
      alerts.reset()
      for (const [rule, n] of Object.entries(byRule)) alerts.set({rule}, n)
    },
    xid: (device, xid) => xids.inc({device, xid: String(xid)}),
  }
}
