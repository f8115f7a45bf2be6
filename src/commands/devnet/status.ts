import {BaseCommand} from '../../cli/base-command.js'
import {commandLineHas, devnetEpochBlocks, devnetPaths, isAlive, logTail, readDevnetState, readPid, type DevnetState} from '../../chain/devnet.js'
import {jsonRpc} from '../../chain/rpc.js'
import {ExitCode, UnetError} from '../../errors/index.js'

export interface DevnetStatusResult {
  running: boolean
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
    if (!pid && !state) {
      this.log('the devnet is not running (start it with `unet devnet start`)')
      return {running: false, logFile: paths.logFile}
    }
    const alive = isAlive(pid) && commandLineHas(pid!, 'devnet') && state !== undefined && isAlive(state.anvilPid)
    if (!alive)
      throw new UnetError(`the devnet died (pid ${pid ?? state?.pid})`, ExitCode.DEVNET_ERROR, {
        hint: `see ${paths.logFile}; \`unet devnet stop\` cleans up, \`unet devnet start\` starts a new one`,
        details: {log: logTail(dataDir, 600)},
      })
    const blockNumber = await blockNumberOf(state!.rpcUrl)
    if (blockNumber === undefined)
      throw new UnetError(`the devnet node at ${state!.rpcUrl} does not answer`, ExitCode.DEVNET_ERROR, {hint: `see ${paths.logFile}`})
    const s = state!
    // the contract's genesisBlock is its deployment block (block.js is loaded here: it brings ethers along)
    const {epochOfBlock} = await import('../../chain/block.js')
    const epochBlocks = devnetEpochBlocks(s.epochSeconds, s.blockTime)
    const epoch = epochOfBlock({epochBlocks: BigInt(epochBlocks), genesisBlock: BigInt(s.deployBlock)}, BigInt(blockNumber))
    const blocksLeft = BigInt(s.deployBlock) + epoch * BigInt(epochBlocks) - BigInt(blockNumber) - 1n
    this.log(
      `devnet running at ${s.rpcUrl} (chain ${s.chainId}, block ${blockNumber}, epoch ${epoch}: ${epochBlocks} blocks ≈ ${s.epochSeconds} s, ${blocksLeft} left, pid ${s.pid})`,
    )
    this.log(`  POCI    ${s.contracts.heartbeat}`)
    this.log(`  UNC     ${s.contracts.token}`)
    return {
      running: true,
      rpcUrl: s.rpcUrl,
      chainId: s.chainId,
      contracts: s.contracts,
      epochBlocks,
      epochSeconds: s.epochSeconds,
      pid: s.pid,
      blockNumber,
      epoch: Number(epoch),
      blocksLeft: Number(blocksLeft),
      logFile: paths.logFile,
    }
  }
}

/** The node's latest block number; undefined when it does not answer. */
async function blockNumberOf(rpcUrl: string): Promise<number | undefined> {
  try {
    return Number(BigInt(await jsonRpc<string>(rpcUrl, 'eth_blockNumber', [], {timeoutMs: 3000})))
  } catch {
    return undefined
  }
}
