import {join} from 'node:path'

import {challengeBlock} from '../chain/block.js'
import {readChainIdentity} from '../chain/chain-identity.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {deviceLocatorOf} from './attest-devices.js'
import {Backoff, realClock} from '../agent/backoff.js'
import {liveChainPort, liveChallengePort, liveDevicesPort, liveEnginePort, liveSelfVerifyPort} from './live-ports.js'
import type {MinerSession} from './miner-session.js'
import {silentAgentLogger, type AgentLogger} from '../agent/ports.js'
import {startHostMonitor} from './host-monitor.js'
import {runAgent, type RunAgentOptions, type RunAgentResult} from '../agent/run-agent.js'

export interface RunMinerOptions {
  once?: boolean
  epochs?: number
  metricsListen?: string
  logger?: AgentLogger
  onMetrics?: (url: string) => void
  /** Progress of a foreground run: each state change, each settled epoch. */
  onState?: RunAgentOptions['onState']
  onEpoch?: RunAgentOptions['onEpoch']
}

/** Blocks a heartbeat needs to land (sign, broadcast, get mined); the agent does not open an epoch with fewer left. */
const MIN_BLOCKS_LEFT = 3

/**
 * The heartbeat agent on live ports. The contract counts epochs in blocks; polling and backoff scale
 * with the epoch's wall-time estimate (epochBlocks × the profile's blockSeconds): a retry never waits
 * longer than a fifth of an epoch, so a short outage costs a retry, not the epoch.
 */
export async function runMinerAgent(session: MinerSession, options: RunMinerOptions): Promise<RunAgentResult> {
  const {client, identity, operator, hostId, resolved} = session
  const cb = await readWithRetries(() => challengeBlock(client), options.logger)
  const chainIdentity = await readWithRetries(() => readChainIdentity(client), options.logger)
  const epochMs = Number(cb.epochSeconds) * 1000
  const evidenceDir = join(resolved.paths.dataDir, 'evidence')
  const monitor = startHostMonitor(resolved, operator, options.logger ?? silentAgentLogger)
  try {
    return await runAgent({
      dataDir: resolved.paths.dataDir,
      chainIdentity,
      // the kept device evidence answers this chain's challenges only
      chainStatePaths: [evidenceDir],
      once: options.once,
      epochs: options.epochs,
      metricsListen: options.metricsListen,
      onMetrics: (url, server) => {
        monitor.attachMetrics(server)
        options.onMetrics?.(url)
      },
      onState: (state, info) => {
        monitor.onTransition(state)
        options.onState?.(state, info)
      },
      onEpoch: options.onEpoch,
      logger: options.logger,
      identity: {chainId: client.chainId, contract: client.pociAddress!, operator, hostId},
      chain: liveChainPort(client, identity, operator),
      engine: liveEnginePort(session.engine),
      devices: liveDevicesPort(client, hostId, {operator, locator: deviceLocatorOf(resolved.config), evidenceDir}),
      challenges: liveChallengePort(client, hostId, {evidenceDir}),
      selfVerify: liveSelfVerifyPort(identity, resolved.profile.allowEmulator, resolved.profile.name),
      backoff: {baseMs: Math.min(1000, epochMs / 50), maxMs: Math.min(60_000, epochMs / 5)},
      // a bounded run (--once, --epochs) ends when the chain has not answered for an epoch; the service waits it out
      ...(options.once || options.epochs ? {giveUpAfterMs: epochMs} : {}),
      // a heartbeat must be mined inside the epoch of its challenge block; an epoch of N blocks has at most N − 1 after B
      minBlocksLeft: Math.min(MIN_BLOCKS_LEFT, Math.max(0, Number(cb.epochBlocks) - 1)),
      receiptPollMs: Math.min(2000, Math.max(200, epochMs / 40)),
      // a fifth of the idle CPU goal at a 30 s epoch is spent per currentEpoch poll (eth_call + wake-up, ~3-8 ms of
      // CPU on a busy 2-core box: npm run bench, docs/benchmarks.md); a tenth of the epoch (3 s at 30 s, 5 s cap)
      // halves it, and a new epoch is still seen within its first tenth
      epochPollMs: Math.min(5000, Math.max(250, epochMs / 10)),
    })
  } finally {
    await monitor.close()
  }
}

/** A start-up read that rides out a short RPC outage instead of failing the service start. */
async function readWithRetries<T>(read: () => Promise<T>, logger?: AgentLogger, attempts = 6): Promise<T> {
  const backoff = new Backoff({baseMs: 250, maxMs: 4000})
  for (let i = 1; ; i++) {
    try {
      return await read()
    } catch (error) {
      if (i >= attempts || !(error instanceof UnetError) || error.exitCode !== ExitCode.RPC_UNREACHABLE) throw error
      const ms = await backoff.wait(realClock)
      logger?.warn({err: error.message, retriedAfterMs: ms}, `chain read failed at start-up, retrying: ${error.message}`)
    }
  }
}
