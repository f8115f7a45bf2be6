/**
 * The embedded devnet: a local anvil (the binary, not the JS wrapper), the POCI contracts deployed on
 * it, and the files that let `unet devnet status|stop` find it again (under <dataDir>/devnet/).
 * The supervisor process (`unet devnet start --attach`) owns anvil and runs the verifier role. The chain
 * itself persists across stops and crashes (devnet-chain.ts) unless started with `--fresh`.
 */
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {updateConfigFile} from '../config/index.js'
import type {NetworkProfile} from '../config/schema.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {writeFileAtomic} from '../util/files.js'
import {startAnvil, type AnvilHandle} from './anvil.js'
import {readChainIdentity} from './chain-identity.js'
import {connect, disconnect, type ChainClient} from './client.js'
import {deploy} from './deploy.js'
import {
  DEVNET_STATE_INTERVAL_SECONDS,
  devnetChainFiles,
  freshGenesisTimestamp,
  restorableChain,
  setAsideChain,
  writeDevnetChain,
  type DevnetChain,
  type DevnetChainFiles,
} from './devnet-chain.js'

export const DEVNET_CHAIN_ID = 31337
export const DEVNET_DEFAULT_PORT = 8545
export const DEVNET_DEFAULT_EPOCH_SECONDS = 15
/** anvil's first dev account (publicly known key): deployer and verifier role of the devnet. */
export const DEVNET_DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
/** What `devnet start` gives the operator wallet: 1000 ETH for gas. */
const DEVNET_OPERATOR_FUNDS = 1000n * 10n ** 18n

export interface DevnetPaths {
  dir: string
  /** The supervisor's pid (it owns anvil). */
  pidFile: string
  /** Supervisor + anvil output (a file: a detached process must not write to a pipe). */
  logFile: string
  /** DevnetState as JSON. */
  stateFile: string
  /** One JSON line per verifier decision. */
  decisionsFile: string
  /** The chain that outlives the process: anvil's state and what it is. */
  chain: DevnetChainFiles
}

export function devnetPaths(dataDir: string): DevnetPaths {
  const dir = join(dataDir, 'devnet')
  return {
    dir,
    pidFile: join(dir, 'devnet.pid'),
    logFile: join(dir, 'devnet.log'),
    stateFile: join(dir, 'state.json'),
    decisionsFile: join(dir, 'decisions.jsonl'),
    chain: devnetChainFiles(dir),
  }
}

export interface DevnetContracts {
  registry: string
  heartbeat: string
  rewards: string
  token: string
}

export interface DevnetState {
  rpcUrl: string
  chainId: number
  contracts: DevnetContracts
  epochSeconds: number
  blockTime?: number
  port: number
  /** Supervisor pid. */
  pid: number
  anvilPid: number
  deployBlock: number
  verifier: string
  operator?: string
  /** Hash of block 0: the chain's identity (with chain id and POCI address). */
  genesisHash?: string
  /** The chain was restored from the saved state (false: a fresh chain was deployed). */
  restored?: boolean
  /** When the chain itself was created (its first start). */
  chainCreatedAt?: string
  startedAt: string
  /** Set by the supervisor when anvil died under it. */
  diedAt?: string
  anvilExitCode?: number | null
}

export function readDevnetState(dataDir: string): DevnetState | undefined {
  const {stateFile} = devnetPaths(dataDir)
  if (!existsSync(stateFile)) return undefined
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as DevnetState
  } catch {
    return undefined
  }
}

export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** Whether the process runs. A zombie (exited, not yet reaped: orphans wait for pid 1) counts as dead. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
    } catch {
      return false
    }
  }
  return true
}

export function devnetProfile(rpcUrl: string, contracts?: DevnetContracts): NetworkProfile {
  return {
    name: 'devnet',
    chainId: DEVNET_CHAIN_ID,
    rpcUrls: [rpcUrl],
    contracts: contracts ?? {},
    trustRoots: {tpm: [], nvidia: []},
    allowEmulator: true,
    blockSeconds: 1,
  }
}

export interface BootOptions {
  /** <dataDir>/devnet: where the chain's state is kept. */
  devnetDir: string
  /** Set the saved chain aside and deploy a new one. */
  fresh?: boolean
  port?: number
  blockTime?: number
  epochSeconds?: number
  anvilPath?: string
  /** Funded for gas when given (the operator wallet of this data dir). */
  operator?: string
}

export interface BootedDevnet {
  anvil: AnvilHandle
  client: ChainClient
  contracts: DevnetContracts
  chain: DevnetChain
  /** The saved chain was restored (false: a new one was deployed). */
  restored: boolean
}

/**
 * The contract counts epochs in blocks; the devnet is asked for seconds. With a block every
 * `blockTime` seconds that is epochSeconds / blockTime blocks (at least 1, at most 256); without a
 * block time (mining on demand) one block stands for one second.
 */
export function devnetEpochBlocks(epochSeconds: number, blockTime?: number): number {
  return Math.min(256, Math.max(1, Math.round(epochSeconds / (blockTime ?? 1))))
}

/**
 * Starts anvil on 127.0.0.1 with its state kept in the devnet dir. The saved chain is restored (and
 * checked: same genesis, the contract has code) unless `fresh` or there is none; otherwise POCI is
 * deployed (emulator allowed) on a new chain. The operator is funded on a new chain, and on a restored
 * one when it has nothing (a wallet created since).
 */
export async function bootDevnet(options: BootOptions): Promise<BootedDevnet> {
  const files = devnetChainFiles(options.devnetDir)
  const saved = options.fresh ? undefined : restorableChain(files)
  // A restored chain starts anvil at its own genesis time: anvil makes a genesis block at every start and
  // dumps it beside the loaded one, and which block 0 the next load keeps depends on their order in the
  // file (seen: a second restore came up with another genesis). With the saved time both are one block;
  // the clock is then set to now (anvil would otherwise count on from the genesis time).
  const timestamp = saved ? saved.genesisTimestamp : freshGenesisTimestamp(setAsideChain(files), Math.floor(Date.now() / 1000))
  const blockTime = saved ? saved.blockTime : options.blockTime
  let anvil: AnvilHandle
  try {
    anvil = await startAnvil({
      port: options.port ?? DEVNET_DEFAULT_PORT,
      blockTime,
      anvilPath: options.anvilPath,
      extraArgs: [
        ...['--chain-id', String(DEVNET_CHAIN_ID), '--state', files.anvilState, '--state-interval', String(DEVNET_STATE_INTERVAL_SECONDS)],
        ...(timestamp === undefined ? [] : ['--timestamp', String(timestamp)]),
      ],
    })
  } catch (error) {
    // an anvil that exits at once with a saved state could not load it; a missing binary or a taken port is not that
    const unloadable = saved && error instanceof UnetError && /^anvil exited/.test(error.message)
    const said = String((error as UnetError).details?.output ?? '')
      .split('\n')
      .find((l) => /error/i.test(l))
    throw unloadable ? notRestored(files, said ? `anvil cannot load it (${said.trim()})` : (error as UnetError).message) : error
  }
  let client: ChainClient | undefined
  try {
    client = await connect(devnetProfile(anvil.rpcUrl, saved?.contracts), {privateKey: DEVNET_DEPLOYER_KEY})
    const anvilRpc = (method: string, params: unknown[]) =>
      (client!.provider as unknown as {send(m: string, p: unknown[]): Promise<unknown>}).send(method, params)
    const booted = saved ? await restoreChain(client, saved, files) : await deployChain(client, options, blockTime)
    if (saved) await anvilRpc('anvil_setTime', [Math.floor(Date.now() / 1000)])
    if (options.operator && (!saved || (await client.provider.getBalance(options.operator)) === 0n))
      await anvilRpc('anvil_setBalance', [options.operator, '0x' + DEVNET_OPERATOR_FUNDS.toString(16)])
    return {anvil, client, contracts: booted.contracts, chain: booted, restored: saved !== undefined}
  } catch (error) {
    if (client) disconnect(client)
    anvil.stop()
    throw error instanceof UnetError ? error : new UnetError(`devnet deployment failed: ${(error as Error).message}`, ExitCode.DEVNET_ERROR)
  }
}

async function deployChain(client: ChainClient, options: BootOptions, blockTime: number | undefined): Promise<DevnetChain> {
  const epochSeconds = options.epochSeconds ?? DEVNET_DEFAULT_EPOCH_SECONDS
  const deployed = await deploy(client, {verifier: client.signer!.address, epochBlocks: devnetEpochBlocks(epochSeconds, blockTime), allowEmulator: true})
  const genesis = await client.provider.getBlock(0)
  const chain: DevnetChain = {
    version: 1,
    chainId: DEVNET_CHAIN_ID,
    genesisHash: genesis!.hash!.toLowerCase(),
    genesisTimestamp: genesis!.timestamp,
    contracts: {registry: deployed.poci, heartbeat: deployed.poci, rewards: deployed.poci, token: deployed.token},
    deployBlock: deployed.blockNumber,
    epochSeconds,
    blockTime,
    verifier: client.signer!.address,
    createdAt: new Date().toISOString(),
  }
  writeDevnetChain(devnetChainFiles(options.devnetDir), chain)
  return chain
}

/** The restored chain must be the saved one: same genesis block, the contract still there. */
async function restoreChain(client: ChainClient, saved: DevnetChain, files: DevnetChainFiles): Promise<DevnetChain> {
  const identity = await readChainIdentity(client)
  if (identity.genesisHash !== saved.genesisHash.toLowerCase())
    throw notRestored(files, `anvil came up with genesis ${identity.genesisHash}, the saved chain is ${saved.genesisHash}`)
  if ((await client.provider.getCode(saved.contracts.heartbeat)) === '0x')
    throw notRestored(files, `no contract at ${saved.contracts.heartbeat} in the restored state`)
  return saved
}

function notRestored(files: DevnetChainFiles, why: string): UnetError {
  return new UnetError(`cannot restore the devnet chain from ${files.anvilState}: ${why}`, ExitCode.DEVNET_ERROR, {
    hint: '`unet devnet start --fresh` starts a new chain (the old state is kept as anvil-state.previous.json)',
  })
}

/** Writes networks.devnet.* into the user's config file, so every other command finds the devnet. */
export function writeDevnetProfile(configFile: string, state: Pick<DevnetState, 'rpcUrl' | 'chainId' | 'contracts' | 'blockTime'>): void {
  updateConfigFile(configFile, 'networks.devnet.rpcUrls', [state.rpcUrl])
  updateConfigFile(configFile, 'networks.devnet.chainId', state.chainId)
  for (const [name, address] of Object.entries(state.contracts)) updateConfigFile(configFile, `networks.devnet.contracts.${name}`, address)
  updateConfigFile(configFile, 'networks.devnet.blockSeconds', state.blockTime ?? 1)
  updateConfigFile(configFile, 'networks.devnet.allowEmulator', true)
}

export function writeDevnetState(dataDir: string, state: DevnetState): void {
  writeFileAtomic(devnetPaths(dataDir).stateFile, JSON.stringify(state, null, 2) + '\n')
}

export function clearDevnetFiles(dataDir: string): void {
  const p = devnetPaths(dataDir)
  rmSync(p.pidFile, {force: true})
  rmSync(p.stateFile, {force: true})
}

export function logTail(dataDir: string, bytes = 4000): string {
  const {logFile} = devnetPaths(dataDir)
  if (!existsSync(logFile)) return ''
  const text = readFileSync(logFile, 'utf8')
  return text.slice(-bytes)
}

export interface StopResult {
  stopped: boolean
  pid?: number
}

/** Stops the supervisor (SIGTERM; it stops anvil), then anvil itself if it outlived it; removes the pid file. */
export async function stopDevnet(dataDir: string, timeoutMs = 10_000): Promise<StopResult> {
  const paths = devnetPaths(dataDir)
  const pid = readPid(paths.pidFile)
  const state = readDevnetState(dataDir)
  if (!pid && !state) return {stopped: false}
  // only processes that are still ours: after a reboot a pid in a stale file may belong to anything
  const targets = [
    [pid, 'devnet'],
    [state?.anvilPid, 'anvil'],
  ]
    .filter((t): t is [number, string] => isAlive(t[0] as number | undefined) && commandLineHas(t[0] as number, t[1] as string))
    .map(([p]) => p)
  for (const p of targets) signal(p, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (targets.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  for (const p of targets) if (isAlive(p)) signal(p, 'SIGKILL')
  clearDevnetFiles(dataDir)
  return {stopped: targets.length > 0, pid}
}

/** On Linux, whether /proc/<pid>/cmdline mentions `marker`; elsewhere (no procfs) assume it does. */
export function commandLineHas(pid: number, marker: string): boolean {
  if (process.platform !== 'linux') return true
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return false
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // gone already
  }
}
