import {realClock, type Clock} from './backoff.js'
import {fileChallengeCursor} from './challenge-cursor.js'
import {writeAgentStatus, type AgentStatusSnapshot} from './agent-status.js'
import {HeartbeatMachine, type HeartbeatMachineOptions, type RunResult} from './heartbeat-machine.js'
import {bindStateToChain, type BindOptions} from './chain-state.js'
import {acquireLock, type AgentLock} from './lock.js'
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
  const lock = lockStateOfChain(dataDir, chainIdentity, {extraPaths: chainStatePaths, logger, now: () => clock.now()})
  const stop = stopControl(options.signal, handleSignals, logger)
  let server: MetricsServer | undefined
  try {
    if (metricsListen) server = await serveMetrics(metricsListen, logger, onMetrics)
    const outbox = new Outbox(dataDir, {logger, now: () => clock.now()})
    const onTransition = statusWriter(dataDir, {clock, logger, stopped: stop.signal, onState})
    const machine = new HeartbeatMachine({
      ...machineOptions,
      challengeCursor: machineOptions.challengeCursor ?? (machineOptions.challenges ? fileChallengeCursor(dataDir) : undefined),
      clock,
      outbox,
      logger,
      metrics: server?.metrics ?? noopMetrics,
      signal: stop.signal,
      onTransition,
    })
    const result = await machine.run({once, epochs})
    return {...result, signal: stop.stoppedBy}
  } finally {
    stop.dispose()
    await server?.close()
    lock.release()
  }
}

/** The data dir's lock, with the agent state bound to this chain; a failed binding releases the lock again. */
function lockStateOfChain(dataDir: string, chainIdentity: ChainIdentity, bind: BindOptions): AgentLock {
  const lock = acquireLock(dataDir)
  try {
    bindStateToChain(dataDir, chainIdentity, bind)
  } catch (error) {
    lock.release()
    throw error
  }
  return lock
}

interface StopControl {
  /** Aborted by SIGTERM/SIGINT or the caller's signal: the machine stops after its current step. */
  signal: AbortSignal
  /** The process signal that stopped the run, if one did. */
  stoppedBy?: NodeJS.Signals
  /** Removes the listeners this added. */
  dispose: () => void
}

/** One abort signal for the machine, fed by the caller's signal and (unless handleSignals is false) SIGTERM/SIGINT. */
function stopControl(external: AbortSignal | undefined, handleSignals: boolean, logger: AgentLogger): StopControl {
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    stop.stoppedBy = sig
    logger.info({signal: sig}, `${sig}: stopping after the current step`)
    controller.abort(`stopped by ${sig}`)
  }
  const onExternalAbort = () => controller.abort(external?.reason ?? 'stopped')
  const stop: StopControl = {
    signal: controller.signal,
    dispose: () => {
      if (handleSignals) {
        process.removeListener('SIGTERM', onSignal)
        process.removeListener('SIGINT', onSignal)
      }
      external?.removeEventListener('abort', onExternalAbort)
    },
  }
  if (external?.aborted) onExternalAbort()
  external?.addEventListener('abort', onExternalAbort, {once: true})
  if (handleSignals) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  return stop
}

async function serveMetrics(listen: string, logger: AgentLogger, onMetrics: RunAgentOptions['onMetrics']): Promise<MetricsServer> {
  const server = await startMetricsServer(listen)
  logger.info({url: server.url}, `metrics on ${server.url}`)
  onMetrics?.(server.url, server)
  return server
}

/**
 * The machine's onTransition: agent/state.json on every change, for `unet status` and the service
 * monitor (a write that fails is logged, not fatal), then the caller's onState.
 */
function statusWriter(
  dataDir: string,
  o: {clock: Clock; logger: AgentLogger; stopped: AbortSignal; onState: RunAgentOptions['onState']},
): NonNullable<HeartbeatMachineOptions['onTransition']> {
  const {clock, logger, stopped, onState} = o
  const snapshot: AgentStatusSnapshot = {pid: process.pid, state: 'Unregistered', updatedAt: clock.now()}
  return (state, info) => {
    snapshot.state = state
    snapshot.updatedAt = clock.now()
    if (info.epoch !== undefined) snapshot.epoch = info.epoch.toString()
    if (state === 'Confirmed') {
      snapshot.lastSuccessEpoch = snapshot.epoch
      snapshot.lastSuccessAt = clock.now()
      delete snapshot.lastError
    } else if (info.reason && !stopped.aborted) snapshot.lastError = info.reason
    try {
      writeAgentStatus(dataDir, snapshot)
    } catch (error) {
      logger.warn({err: (error as Error).message}, 'cannot write agent/state.json')
    }
    onState?.(state, info)
  }
}
