import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {parseFleetSelectors} from '../cli/fleet-selectors.js'
import {requireChainReady} from '../config/index.js'
import {ExitCode, WalletMissingError} from '../errors/index.js'
import {parseAddress} from '../keys/address.js'
import {walletInfo} from '../keys/wallet.js'

export interface DashboardResult {
  url: string
  stopped: string
}

export default class Dashboard extends BaseCommand<typeof Dashboard> {
  static override summary = 'serve a read-only local web page: devices, uptime, earnings per epoch, fleet, alerts'
  static override description =
    'Prints the URL as the first line, then serves until SIGTERM/SIGINT (exit 130). The page and its JSON endpoints (/api/status = `unet status --json`, ' +
    '/api/history = `unet rewards history --json`, /api/fleet = `unet fleet status --json`, /api/earnings, /api/alerts) are read from the chain every --refresh seconds with the ' +
    'same code as those commands; nothing is signed or sent and no passphrase is asked (the operator address is read from the wallet file). ' +
    'GET only (405 otherwise). Listens on 127.0.0.1 by default and answers only to loopback Host names there; another address needs --allow-remote ' +
    '(there is no login). The page loads nothing from elsewhere (a strict Content-Security-Policy). See docs/monitoring.md.'
  static override examples = [
    '<%= config.bin %> dashboard',
    '<%= config.bin %> dashboard --port 0 --fleet-file hosts.txt',
    '<%= config.bin %> dashboard --host 0.0.0.0 --allow-remote --port 8464',
  ]
  static override enableJsonFlag = false
  static override flags = {
    host: Flags.string({description: 'address to listen on (a loopback one unless --allow-remote)', default: '127.0.0.1'}),
    port: Flags.integer({description: 'port to listen on (0: any free one)', default: 8464, min: 0, max: 65535}),
    'allow-remote': Flags.boolean({description: 'allow a non-loopback --host (anyone who reaches it sees this operator’s data)'}),
    refresh: Flags.integer({description: 'seconds between reads of the chain (the page polls as often)', default: 15, min: 2}),
    operator: Flags.string({description: "operator address to show (default: this machine's wallet)"}),
    'fleet-file': Flags.string({
      description: "the fleet table's hosts: a file of operator or payout addresses, one a line (default: this operator and payout)",
    }),
  }

  async run(): Promise<DashboardResult> {
    const {checkBindHost} = await import('../dashboard/bind.js')
    const {remote} = checkBindHost(this.flags.host, this.flags['allow-remote'])
    const operator = this.flags.operator ? parseAddress(this.flags.operator, '--operator') : walletInfo(this.resolved.paths.dataDir)?.address
    if (!operator)
      throw new WalletMissingError('no operator wallet on this machine to show', {hint: 'pass --operator 0x… (or create a wallet: `unet wallet create`)'})
    requireChainReady(this.resolved.profile)
    const [{serveDashboard}, {readSnapshot, cachedSnapshot}, {describeError}] = await Promise.all([
      import('../dashboard/server.js'),
      import('../dashboard/snapshot.js'),
      import('../cli/render-error.js'),
    ])
    const payout = this.resolved.config.payout ?? operator
    // the fleet selectors of `unet fleet status`: a --fleet-file, else this operator and its payout
    const fleet = parseFleetSelectors(this.flags['fleet-file'] === undefined ? {operator: [operator], payout: [payout]} : {file: this.flags['fleet-file']})
    const source = {resolved: this.resolved, operator, payout, fleet}
    const served = await serveDashboard({
      address: {host: this.flags.host, port: this.flags.port},
      snapshot: cachedSnapshot(() => readSnapshot(source), this.flags.refresh * 1000),
      refreshSeconds: this.flags.refresh,
      describeError: (error) => describeError(error).json,
      anyHost: remote,
    })
    this.log(served.url)
    if (remote)
      this.warning(`the dashboard listens on ${this.flags.host} without a login: anyone who reaches ${served.url} sees this operator's devices and earnings`)
    this.statusLine(`dashboard: ${operator} on ${this.resolved.profile.name}, read-only, refreshed every ${this.flags.refresh} s; Ctrl-C stops it`)
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'))
      process.once('SIGINT', () => resolve('SIGINT'))
    })
    await served.close()
    this.statusLine(`dashboard: stopped (${signal})`)
    process.exitCode = ExitCode.INTERRUPTED
    return {url: served.url, stopped: signal}
  }
}
