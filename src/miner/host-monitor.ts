/**
 * The agent's own look at its host, once per epoch (when an epoch starts) and after each credit:
 * the chain as `unet status` reads it, the local device probe and the GPU errors NVML reported since the
 * last look (gpu-errors.ts) feed the per-device metrics and the alert rules (src/alerts), delivered from
 * inside the agent process. It rides on the heartbeat
 * loop's transitions and never blocks or fails it: a look runs in the background, one at a time
 * (a transition during a look asks for one more after it), and its errors are logged.
 */
import type {AgentState} from '../agent/heartbeat-machine.js'
import type {MetricsServer} from '../agent/metrics.js'
import type {AgentLogger} from '../agent/ports.js'
import type {ResolvedConfig} from '../config/index.js'
import type {Device} from '../hw/inventory.js'
import {deviceFaults} from '../hw/probe-reasons.js'
import type {GpuErrorFault} from './gpu-error-ledger.js'
import {gpuErrorSource, type GpuErrorSource} from './gpu-errors.js'
import type {StatusInputs} from './status-report.js'

export interface HostMonitor {
  onTransition(state: AgentState): void
  /** The metrics endpoint to feed, once it listens. */
  attachMetrics(server: MetricsServer): void
  /** Resolves once no look is under way or asked for. */
  idle(): Promise<void>
  /** Waits for the look under way (at most `timeoutMs`) before the agent exits. */
  close(timeoutMs?: number): Promise<void>
}

/** The transitions after which the host is looked at: a new epoch began, or a heartbeat was credited. */
const LOOK_ON: ReadonlySet<AgentState> = new Set(['Registered', 'Confirmed'])

export function startHostMonitor(resolved: ResolvedConfig, operator: string, logger: AgentLogger): HostMonitor {
  let metrics: MetricsServer | undefined
  let running: Promise<void> | undefined
  let again = false
  const gpuErrors = gpuErrorSource(resolved.config.nvmlPath, resolved.config.alerts.xidClearEpochs, logger)
  // metrics is read at each use, not once per look: a server attached during a look is fed by it
  const look = () => lookAtHost({resolved, operator, logger, gpuErrors}, () => metrics)

  const schedule = () => {
    if (running) {
      again = true
      return
    }
    running = look()
      .catch((error: unknown) => logger.warn({err: (error as Error).message}, `host check (metrics, alerts) failed: ${(error as Error).message}`))
      .finally(() => {
        running = undefined
        if (again) {
          again = false
          schedule()
        }
      })
  }

  return {
    onTransition: (state) => {
      if (LOOK_ON.has(state)) schedule()
    },
    attachMetrics: (server) => {
      metrics = server
    },
    async idle() {
      while (running) await running
    },
    async close(timeoutMs = 30_000) {
      again = false
      if (running) await waitAtMost(running, timeoutMs)
      gpuErrors.close()
    },
  }
}

interface HostLook {
  resolved: ResolvedConfig
  operator: string
  logger: AgentLogger
  gpuErrors: GpuErrorSource
}

/**
 * One look: the chain status, the local probe and the GPU errors since the last look feed the device
 * metrics (when a server is attached) and the alert check (when a sink is configured); neither: no look.
 */
async function lookAtHost({resolved, operator, logger, gpuErrors}: HostLook, metrics: () => MetricsServer | undefined): Promise<void> {
  const {alertSettings} = await import('../alerts/settings.js')
  const {sinks, thresholds} = alertSettings(resolved)
  if (sinks.length === 0 && !metrics()) return
  const {gatherStatus, buildStatusReport} = await import('./status-report.js')
  const {probeLocated, deviceLocatorOf} = await import('./attest-devices.js')
  const inputs = await gatherStatus(resolved, operator, resolved.config.payout ?? operator)
  const probed = await probeLocated(deviceLocatorOf(resolved.config))
  const errors = await gpuErrors.look(probed, inputs.chain.currentEpoch, metrics()?.devices)
  const {gatherAlertFacts} = await import('./alert-facts.js')
  const facts = await gatherAlertFacts(resolved, operator, {inAgent: true, inputs, probed, gpuErrors: errors})
  const server = metrics()
  if (server) feedDeviceMetrics(server, inputs, probed, errors, buildStatusReport)
  if (sinks.length === 0) return
  const {runAlertCheck} = await import('../alerts/check.js')
  const result = await runAlertCheck({dataDir: resolved.paths.dataDir, facts, thresholds, sinks, logger})
  metrics()?.devices.alertsOpen(countByRule(result.open.map((c) => c.rule)))
}

/** Waits for `work`, but no longer than `timeoutMs` (the timer is cleared either way). */
async function waitAtMost(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))])
  clearTimeout(timer)
}

function countByRule(rules: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of rules) out[r] = (out[r] ?? 0) + 1
  return out
}

function feedDeviceMetrics(
  server: MetricsServer,
  inputs: StatusInputs,
  probed: Device[],
  gpuErrors: GpuErrorFault[],
  buildStatusReport: typeof import('./status-report.js').buildStatusReport,
): void {
  const erring = new Set(gpuErrors.map((g) => g.device))
  const report = buildStatusReport(inputs, (v) => v.toString())
  server.devices.chain(
    inputs.chain.currentEpoch,
    report.devices.map((d) => ({
      deviceId: d.deviceId,
      kind: d.kind,
      power: Number(d.power),
      online: d.online,
      lastCreditedEpoch: d.lastHeartbeat ? Number(d.lastHeartbeat.epoch) : undefined,
    })),
  )
  server.devices.local(
    probed
      .filter((d) => d.kind !== 'tpm')
      .map((d) => ({
        device: d.stableId,
        vendor: d.vendor,
        model: d.model,
        healthy: deviceFaults(d.reasons).length === 0 && !erring.has(d.stableId),
        temperatureCelsius: d.sensors?.temperatureCelsius,
        utilisationPercent: d.busy.utilisationPercent,
        powerDrawWatts: d.sensors?.powerDrawWatts,
        memoryUsedBytes: d.memoryUsedBytes,
      })),
  )
}
