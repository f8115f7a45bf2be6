import {BaseCommand} from '../../cli/base-command.js'
import {commandLineHas, devnetPaths, isAlive, logTail, readDevnetState, readPid, type DevnetState} from '../../chain/devnet.js'
import {ExitCode, UnetError} from '../../errors/index.js'

export interface DevnetStatusResult {
  running: boolean
  rpcUrl?: string
  chainId?: number
  contracts?: DevnetState['contracts']
  epochSeconds?: number
  pid?: number
  blockNumber?: number
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
    this.log(`devnet running at ${s.rpcUrl} (chain ${s.chainId}, block ${blockNumber}, epoch ${s.epochSeconds} s, pid ${s.pid})`)
    this.log(`  POCI    ${s.contracts.heartbeat}`)
    this.log(`  UNC     ${s.contracts.token}`)
    return {running: true, rpcUrl: s.rpcUrl, chainId: s.chainId, contracts: s.contracts, epochSeconds: s.epochSeconds, pid: s.pid, blockNumber, logFile: paths.logFile}
  }
}

async function blockNumberOf(rpcUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: []}),
      signal: AbortSignal.timeout(3000),
    })
    const body = (await response.json()) as {result?: string}
    return body.result ? Number(BigInt(body.result)) : undefined
  } catch {
    return undefined
  }
}
