import type {ResolvedConfig} from '../config/index.js'
import type {AlertThresholds} from './rules.js'
import {alertSinks, type AlertSink, type SinkContext} from './sinks.js'

/** The rules' thresholds and the sinks, from the resolved config (keys alerts.*). */
export function alertSettings(resolved: ResolvedConfig, webhook?: SinkContext['webhook']): {thresholds: AlertThresholds; sinks: AlertSink[]} {
  const a = resolved.config.alerts
  return {
    thresholds: alertThresholds(resolved),
    sinks: alertSinks({alerts: a, secretSource: resolved.sources['alerts.webhook.secret'], configFile: resolved.paths.configFile, webhook}),
  }
}

/** The rules' thresholds alone (the dashboard evaluates the rules but delivers nothing: no sink is built). */
export function alertThresholds(resolved: ResolvedConfig): AlertThresholds {
  const a = resolved.config.alerts
  return {missedEpochs: a.missedEpochs, gasRunwayEpochs: a.gasRunwayEpochs, agentStaleEpochs: a.agentStaleEpochs, rules: a.rules}
}
