import {BaseCommand} from '../../cli/base-command.js'
import {
  commandLineHas,
  devnetEpochBlocks,
  devnetPaths,
  isAlive,
  logTail,
  readDevnetState,
  readPid,
  type DevnetPaths,
  type DevnetState,
} from '../../chain/devnet.js'
import {savedChain} from '../../chain/devnet-chain.js'
import {jsonRpc} from '../../chain/rpc.js'
import {ExitCode, UnetError} from '../../errors/index.js'

export interface DevnetStatusResult {
  running: boolean
  /** Running: this run restored the saved chain (false: it started a fresh one). */
  restored?: boolean
  /** The chain's genesis hash (running, or saved for the next start). */
  genesisHash?: string
  /** When the chain was created (its first start). */
  chainCreatedAt?: string
  /** Not running: a saved chain the next `devnet start` restores. */
  saved?: boolean
  rpcUrl?: string
  chainId?: number
  contracts?: DevnetState['contracts']
  /** The contract counts epochs in blocks; epochSeconds is the wall-time estimate (blocks × block time). */
  epochBlocks?: number
  epochSeconds?: number
  pid?: number
  blockNumber?: number
  /** The epoch of the latest block and the blocks still to come in it. */
  epoch?: number
  blocksLeft?: number
  logFile: string
}

export default class DevnetStatus extends BaseCommand<typeof DevnetStatus> {
  static override summary = 'is the embedded local chain running, and where'

  async run(): Promise<DevnetStatusResult> {
    const {dataDir} = this.resolved.paths
    const paths = devnetPaths(dataDir)
    const pid = readPid(paths.pidFile)
    const state = readDevnetState(dataDir)
    if (!pid && !state) return this.notRunning(paths)
    assertRunning(pid, state, dataDir, paths.logFile)
    const blockNumber = await blockNumberOf(state.rpcUrl)
    if (blockNumber === undefined)
      throw new UnetError(`the devnet node at ${state.rpcUrl} does not answer`, ExitCode.DEVNET_ERROR, {hint: `see ${paths.logFile}`})
    return this.running(state, blockNumber, paths.logFile)
  }

  /** No devnet runs: says whether a saved chain waits for the next start. */
  private notRunning(paths: DevnetPaths): DevnetStatusResult {
    const saved = savedChain(paths.chain)
    this.log(
      saved
        ? `the devnet is not running; its chain (genesis ${saved.genesisHash}, created ${saved.createdAt}) is saved: \`unet devnet start\` restores it, \`--fresh\` starts over`
        : 'the devnet is not running (start it with `unet devnet start`)',
    )
    return {
      running: false,
      saved: saved !== undefined,
      ...(saved ? {genesisHash: saved.genesisHash, chainCreatedAt: saved.createdAt} : {}),
      logFile: paths.logFile,
    }
  }

  /** The running devnet at blockNumber: where it is, its chain and contracts, and the epoch it is in. */
  private async running(s: DevnetState, blockNumber: number, logFile: string): Promise<DevnetStatusResult> {
    const {epochBlocks, epoch, blocksLeft} = await epochAt(s, blockNumber)
    this.log(
      `devnet running at ${s.rpcUrl} (chain ${s.chainId}, block ${blockNumber}, epoch ${epoch}: ${epochBlocks} blocks ≈ ${s.epochSeconds} s, ${blocksLeft} left, pid ${s.pid})`,
    )
    this.log(`  chain   ${s.restored ? 'restored' : 'fresh'} (genesis ${s.genesisHash}, created ${s.chainCreatedAt})`)
    this.log(`  POCI    ${s.contracts.heartbeat}`)
    this.log(`  UNC     ${s.contracts.token}`)
    return {
      running: true,
      restored: s.restored ?? false,
      genesisHash: s.genesisHash,
      chainCreatedAt: s.chainCreatedAt,
      rpcUrl: s.rpcUrl,
      chainId: s.chainId,
      contracts: s.contracts,
      epochBlocks,
      epochSeconds: s.epochSeconds,
      pid: s.pid,
      blockNumber,
      epoch: Number(epoch),
      blocksLeft: Number(blocksLeft),
      logFile,
    }
  }
}

/** The supervisor (a devnet process) and its anvil must be alive: a pid file or state left without them is a devnet that died. */
function assertRunning(pid: number | undefined, state: DevnetState | undefined, dataDir: string, logFile: string): asserts state is DevnetState {
  if (isAlive(pid) && commandLineHas(pid!, 'devnet') && state !== undefined && isAlive(state.anvilPid)) return
  throw new UnetError(`the devnet died (pid ${pid ?? state?.pid})`, ExitCode.DEVNET_ERROR, {
    hint: `see ${logFile}; \`unet devnet start\` restores its chain from the last dump (\`--fresh\`: a new chain)`,
    details: {log: logTail(dataDir, 600)},
  })
}

/** The epoch of blockNumber, its length in blocks and the blocks still to come in it. */
async function epochAt(s: DevnetState, blockNumber: number): Promise<{epochBlocks: number; epoch: bigint; blocksLeft: bigint}> {
  // the contract's genesisBlock is its deployment block (block.js is loaded here: it brings ethers along)
  const {epochOfBlock} = await import('../../chain/block.js')
  const epochBlocks = devnetEpochBlocks(s.epochSeconds, s.blockTime)
  const epoch = epochOfBlock({epochBlocks: BigInt(epochBlocks), genesisBlock: BigInt(s.deployBlock)}, BigInt(blockNumber))
  const blocksLeft = BigInt(s.deployBlock) + epoch * BigInt(epochBlocks) - BigInt(blockNumber) - 1n
  return {epochBlocks, epoch, blocksLeft}
}

/** The node's latest block number; undefined when it does not answer. */
async function blockNumberOf(rpcUrl: string): Promise<number | undefined> {
  try {
    return Number(BigInt(await jsonRpc<string>(rpcUrl, 'eth_blockNumber', [], {timeoutMs: 3000})))
  } catch {
    return undefined
  }
}
