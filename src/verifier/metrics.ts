/**
 * The verifier service's Prometheus endpoint (`unet verifier run --metrics`), in the agent's style
 * (src/agent/metrics.ts): prom-client loaded only when asked for, a private registry.
 */

import {serveRegistry} from '../util/metrics-http.js'

/** What the service reports; every method is optional work for the caller's registry. */
export interface VerifierMetrics {
  /** One decision or spot-check step, by outcome (approved, rejected, challenged, reverted, …). */
  outcome(outcome: string): void
  /** Registrations waiting for their credential activation or for a retry. */
  pending(n: number): void
  lastScannedBlock(n: number): void
}

export interface VerifierMetricsServer {
  metrics: VerifierMetrics
  url: string
  close(): Promise<void>
}

const OUTCOMES = ['approved', 'rejected', 'challenged', 'reverted', 'spot-opened', 'spot-answered', 'spot-slashed', 'spot-reverted'] as const

export async function startVerifierMetricsServer(address: {host: string; port: number}): Promise<VerifierMetricsServer> {
  const prom = await import('prom-client')
  const registry = new prom.Registry()
  prom.collectDefaultMetrics({register: registry, prefix: 'unet_verifier_'})
  const decisions = new prom.Counter({
    name: 'unet_verifier_decisions_total',
    help: 'Verifier actions by outcome (approved, rejected, challenged, reverted, spot-opened, spot-answered, spot-slashed, spot-reverted)',
    labelNames: ['outcome'],
    registers: [registry],
  })
  for (const o of OUTCOMES) decisions.inc({outcome: o}, 0)
  const pending = new prom.Gauge({
    name: 'unet_verifier_pending_registrations',
    help: 'Registrations waiting for credential activation or a retry',
    registers: [registry],
  })
  const scanned = new prom.Gauge({name: 'unet_verifier_last_scanned_block', help: 'Last block whose events the verifier has processed', registers: [registry]})
  const metrics: VerifierMetrics = {outcome: (outcome) => decisions.inc({outcome}), pending: (n) => pending.set(n), lastScannedBlock: (n) => scanned.set(n)}

  const served = await serveRegistry(registry, address)
  return {metrics, url: served.url, close: served.close}
}
