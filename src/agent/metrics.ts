import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {InputError, ExitCode, UnetError} from '../errors/index.js'
import type {AgentMetrics} from './ports.js'

/**
 * Optional Prometheus endpoint (`--metrics 127.0.0.1:9464`). prom-client is imported only when the
 * endpoint is asked for, so the CLI's start-up never pays for it. A private registry (not the
 * global one) keeps tests and embedders independent.
 */

export interface ListenAddress {
  host: string
  port: number
}

/** "127.0.0.1:9464", "[::1]:9464", "localhost:0", or ":9464" (loopback). */
export function parseListen(spec: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(spec.trim())
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || port > 65535) throw new InputError(`--metrics "${spec}" is not host:port`, {hint: 'e.g. --metrics 127.0.0.1:9464'})
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

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
  const gas = new prom.Gauge({name: 'unet_gas_balance_native', help: 'Operator gas balance in the chain\'s native unit (ETH on the devnet)', registers: [registry]})
  const quote = new prom.Histogram({
    name: 'unet_quote_seconds',
    help: 'Host engine quote latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const bumps = new prom.Counter({name: 'unet_fee_bumps_total', help: 'Stuck heartbeat transactions replaced with a fee bump', registers: [registry]})
  const challengesOpen = new prom.Gauge({name: 'unet_challenges_open', help: 'Open challenges against this host seen in the last challenge step', registers: [registry]})
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

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found: try /metrics\n')
      return
    }
    registry.metrics().then(
      (body) => res.writeHead(200, {'content-type': registry.contentType}).end(body),
      (error: unknown) => res.writeHead(500, {'content-type': 'text/plain'}).end(String(error)),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UnetError(`metrics endpoint cannot listen on ${address.host}:${address.port} (${error.code ?? error.message})`, ExitCode.USAGE, {
        hint: 'pick a free port: --metrics 127.0.0.1:9465',
      })),
    )
    server.listen(address.port, address.host, () => resolve())
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  return {
    metrics,
    address: {host: bound.address, port: bound.port},
    url: `http://${host}:${bound.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
