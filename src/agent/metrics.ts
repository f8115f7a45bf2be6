import {parseListen, serveRegistry, type ListenAddress} from '../util/metrics-http.js'
import type {AgentMetrics} from './ports.js'

/**
 * Optional Prometheus endpoint (`--metrics 127.0.0.1:9464`). prom-client is imported only when the
 * endpoint is asked for, so the CLI's start-up never pays for it. A private registry (not the
 * global one) keeps tests and embedders independent.
 */

export {parseListen, type ListenAddress} from '../util/metrics-http.js'

export interface MetricsServer {
  metrics: AgentMetrics
  /** http://host:port/metrics */
  url: string
  address: ListenAddress
  close(): Promise<void>
}

/** Token amounts (18 decimals) as floating-point units for gauges. */
function units(v: bigint, decimals = 18): number {
  const scale = 10n ** BigInt(decimals)
  return Number(v / scale) + Number(v % scale) / Number(scale)
}

export async function startMetricsServer(listen: string | ListenAddress, options: {tokenDecimals?: number} = {}): Promise<MetricsServer> {
  const address = typeof listen === 'string' ? parseListen(listen) : listen
  const prom = await import('prom-client')
  const registry = new prom.Registry()
  prom.collectDefaultMetrics({register: registry, prefix: 'unet_'})
  const heartbeats = new prom.Counter({
    name: 'unet_heartbeats_total',
    help: 'Heartbeat epochs by result (confirmed, failed, missed, skipped) and retried attempts (retry)',
    labelNames: ['result'],
    registers: [registry],
  })
  for (const r of ['confirmed', 'failed', 'missed', 'skipped', 'retry']) heartbeats.inc({result: r}, 0)
  const lastSuccess = new prom.Gauge({name: 'unet_last_success_timestamp_seconds', help: 'Unix time of the last confirmed heartbeat', registers: [registry]})
  const devices = new prom.Gauge({name: 'unet_devices_online', help: 'Devices in the last confirmed heartbeat', registers: [registry]})
  const rewards = new prom.Gauge({name: 'unet_rewards_accrued_unc', help: 'Accrued, unclaimed rewards (UNC)', registers: [registry]})
  const gas = new prom.Gauge({
    name: 'unet_gas_balance_native',
    help: "Operator gas balance in the chain's native coin (ETH), not UNC",
    registers: [registry],
  })
  const quote = new prom.Histogram({
    name: 'unet_quote_seconds',
    help: 'Host engine quote latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const bumps = new prom.Counter({name: 'unet_fee_bumps_total', help: 'Stuck heartbeat transactions replaced with a fee bump', registers: [registry]})
  const challengesOpen = new prom.Gauge({
    name: 'unet_challenges_open',
    help: 'Open challenges against this host seen in the last challenge step',
    registers: [registry],
  })
  const challenges = new prom.Counter({
    name: 'unet_challenges_total',
    help: 'Challenges against this host by outcome: answered on chain, failed answer (retried next epoch), unanswerable (no kept evidence, or past its deadline)',
    labelNames: ['result'],
    registers: [registry],
  })
  for (const r of ['answered', 'failed', 'unanswerable']) challenges.inc({result: r}, 0)

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

  return {metrics, ...(await serveRegistry(registry, address))}
}
