/** The agent layer's public API (see docs/service.md and the report for the port contracts). */
export * from './backoff.js'
export * from './ports.js'
export * from './outbox.js'
export * from './lock.js'
export * from './agent-status.js'
export * from './heartbeat-machine.js'
export * from './run-agent.js'
export {parseListen, startMetricsServer, type ListenAddress, type MetricsServer} from './metrics.js'
