/**
 * The verifier service's Prometheus endpoint (`unet verifier run --metrics`), like the agent's
 * (src/agent/metrics.ts) on the lazily loaded private registry of src/util/prom-registry.ts.
 */

import {serveRegistry} from '../util/metrics-http.js'
import {promRegistry} from '../util/prom-registry.js'

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
  const r = await promRegistry('unet_verifier_')
  const decisions = r.counter(
    'unet_verifier_decisions_total',
    'Verifier actions by outcome (approved, rejected, challenged, reverted, spot-opened, spot-answered, spot-slashed, spot-reverted)',
    {label: 'outcome', values: OUTCOMES},
  )
  const pending = r.gauge('unet_verifier_pending_registrations', 'Registrations waiting for credential activation or a retry')
  const scanned = r.gauge('unet_verifier_last_scanned_block', 'Last block whose events the verifier has processed')
  const metrics: VerifierMetrics = {outcome: (outcome) => decisions.inc({outcome}), pending: (n) => pending.set(n), lastScannedBlock: (n) => scanned.set(n)}

  const served = await serveRegistry(r.registry, address)
  return {metrics, url: served.url, close: served.close}
}
