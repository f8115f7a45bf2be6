import {Flags} from '@oclif/core'

import type {FleetReport} from '../../insight/fleet.js'
import {BaseCommand} from '../../cli/base-command.js'
import {parseFleetSelectors} from '../../cli/fleet-selectors.js'
import {fleetTable} from '../../cli/render/fleet-table.js'
import {requireChainReady} from '../../config/index.js'

export default class FleetStatus extends BaseCommand<typeof FleetStatus> {
  static override summary = 'many hosts at once, worst first, from the chain'
  static override description =
    'One row per approved host whose operator or payout is selected: online (credited in the current or the previous epoch), ' +
    'devices online/total, uptime over the last 24 epochs from its approval, power (the host and its attached approved devices), ' +
    'UNC claimable and accrued, the last credited epoch. Worst first: offline, then lowest uptime, then least claimable. ' +
    'Chain data only (the reward events, cached in the cache dir, and view calls); no wallet needed. ' +
    'The --json shape is documented in docs/fleet-status.schema.json.'
  static override examples = [
    '<%= config.bin %> fleet status --payout 0xPAYOUT',
    '<%= config.bin %> fleet status --operator 0xOPERATOR_A --operator 0xOPERATOR_B --json',
    '<%= config.bin %> fleet status --file hosts.txt',
  ]
  static override flags = {
    operator: Flags.string({description: 'hosts this operator address runs (repeatable)', multiple: true}),
    payout: Flags.string({description: 'hosts paying this address (repeatable)', multiple: true}),
    file: Flags.string({description: 'a file of operator or payout addresses, one a line (# comments)'}),
  }

  async run(): Promise<FleetReport> {
    const selectors = parseFleetSelectors({operator: this.flags.operator, payout: this.flags.payout, file: this.flags.file})
    const profile = requireChainReady(this.resolved.profile)
    const {withLedger} = await import('../../cli/reward-ledger.js')
    const {fleetOf} = await import('../../insight/fleet.js')
    const from = {cacheDir: this.resolved.paths.cacheDir, progress: await this.steps(), warn: (m: string) => this.warning(m)}
    return withLedger(profile, from, async (client, {set, ledger}) => {
      const report = await fleetOf(client, set, ledger, selectors)
      for (const a of report.unmatched) this.warning(`no approved host has ${a} as its operator or payout`)
      this.log(fleetTable(report, this.style()))
      return report
    })
  }
}
