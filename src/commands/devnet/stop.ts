import {BaseCommand} from '../../cli/base-command.js'
import {stopDevnet} from '../../chain/devnet.js'

export default class DevnetStop extends BaseCommand<typeof DevnetStop> {
  static override summary = 'stop the embedded local chain (kills it by pid, removes the pid file)'

  async run(): Promise<{stopped: boolean; pid?: number}> {
    const result = await stopDevnet(this.resolved.paths.dataDir)
    this.log(result.stopped ? `devnet stopped (pid ${result.pid})` : 'the devnet was not running')
    return result
  }
}
