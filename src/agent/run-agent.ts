import {realClock, type Clock} from './backoff.js'
import {fileChallengeCursor} from './challenge-cursor.js'
import {writeAgentStatus, type AgentStatusSnapshot} from './agent-status.js'
import {HeartbeatMachine, type HeartbeatMachineOptions, type RunResult} from './heartbeat-machine.js'
import {bindStateToChain} from './chain-state.js'
import {acquireLock} from './lock.js'
import {startMetricsServer, type MetricsServer} from './metrics.js'
import {Outbox} from './outbox.js'
import {noopMetrics, silentAgentLogger, type AgentLogger} from './ports.js'
import type {ChainIdentity} from '../util/chain-identity.js'

/**
 * Everything around the state machine that a real agent process needs, in one call, so the
 * `unet heartbeat` command only builds the ports:
 *   lock (one agent per data dir) → the state bound to this chain (chain-state.ts: another chain's is
 *   archived) → outbox → optional metrics endpoint → SIGTERM/SIGINT → AbortSignal
 *   → machine.run() → agent/state.json on every transition → release everything. With a challenge
 *   port, the challenge step's cursor lives in agent/challenge-cursor.json.
 */
export interface RunAgentOptions extends Omit<HeartbeatMachineOptions, 'outbox' | 'clock' | 'metrics' | 'signal' | 'logger' | 'onTransition'> {
  dataDir: string
  /** The chain the node is (src/chain/chain-identity.ts readChainIdentity): the agent state is kept per chain. */
  chainIdentity: ChainIdentity
  /** Per-chain state outside <dataDir>/agent (absolute paths, e.g. the kept device evidence): archived with it. */
  chainStatePaths?: string[]
  once?: boolean
  /** Stop after this many epochs (quickstart's demo). */
  epochs?: number
  /** "127.0.0.1:9464": serve Prometheus metrics there while running. */
  metricsListen?: string
  clock?: Clock
  logger?: AgentLogger
  /** Extra stop signal (tests); SIGTERM/SIGINT are always handled unless handleSignals is false. */
  signal?: AbortSignal
  handleSignals?: boolean
  /** Called once the metrics endpoint listens (its URL, and the server for per-device series), for the command to announce. */
  onMetrics?: (url: string, server: MetricsServer) => void
  /** Called on every state change, after agent/state.json is written (a foreground command's progress, the host monitor). */
  onState?: HeartbeatMachineOptions['onTransition']
}

export interface RunAgentResult extends RunResult {
  /** Set when a SIGTERM/SIGINT ended the run. */
  signal?: NodeJS.Signals
}

export async function runAgent(options: RunAgentOptions): Promise<RunAgentResult> {
  const {
    dataDir,
    chainIdentity,
    chainStatePaths,
    once,
    epochs,
    metricsListen,
    clock = realClock,
    logger = silentAgentLogger,
    handleSignals = true,
    onMetrics,
    onState,
    ...machineOptions
  } = options
  const lock = acquireLock(dataDir)
  try {
    bindStateToChain(dataDir, chainIdentity, {extraPaths: chainStatePaths, logger, now: () => clock.now()})
  } catch (error) {
    lock.release()
    throw error
  }
  const controller = new AbortController()
  let stoppedBy: NodeJS.Signals | undefined
  const onSignal = (sig: NodeJS.Signals) => {
    stoppedBy = sig
    logger.info({signal: sig}, `${sig}: stopping after the current step`)
    controller.abort(`stopped by ${sig}`)
  }
  const onExternalAbort = () => controller.abort(options.signal?.reason ?? 'stopped')
  if (options.signal?.aborted) onExternalAbort()
  options.signal?.addEventListener('abort', onExternalAbort, {once: true})
  if (handleSignals) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  let server: MetricsServer | undefined
  try {
    if (metricsListen) {
      server = await startMetricsServer(metricsListen)
      logger.info({url: server.url}, `metrics on ${server.url}`)
      onMetrics?.(server.url, server)
    }
    const outbox = new Outbox(dataDir, {logger, now: () => clock.now()})
    const snapshot: AgentStatusSnapshot = {pid: process.pid, state: 'Unregistered', updatedAt: clock.now()}
    const machine = new HeartbeatMachine({
      ...machineOptions,
      challengeCursor: machineOptions.challengeCursor ?? (machineOptions.challenges ? fileChallengeCursor(dataDir) : undefined),
      clock,
      outbox,
      logger,
      metrics: server?.metrics ?? noopMetrics,
      signal: controller.signal,
      onTransition: (state, info) => {
        snapshot.state = state
        snapshot.updatedAt = clock.now()
        if (info.epoch !== undefined) snapshot.epoch = info.epoch.toString()
        if (state === 'Confirmed') {
          snapshot.lastSuccessEpoch = snapshot.epoch
          snapshot.lastSuccessAt = clock.now()
          delete snapshot.lastError
        } else if (info.reason && !controller.signal.aborted) snapshot.lastError = info.reason
        try {
          writeAgentStatus(dataDir, snapshot)
        } catch (error) {
          logger.warn({err: (error as Error).message}, 'cannot write agent/state.json')
        }
        onState?.(state, info)
      },
    })
    const result = await machine.run({once, epochs})
    return {...result, signal: stoppedBy}
  } finally {
    if (handleSignals) {
      process.removeListener('SIGTERM', onSignal)
      process.removeListener('SIGINT', onSignal)
    }
    options.signal?.removeEventListener('abort', onExternalAbort)
    await server?.close()
    lock.release()
  }
}
