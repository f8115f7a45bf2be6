import {Flags} from '@oclif/core'

import type {AlertCheckResult} from '../../alerts/check.js'
import {BaseCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../errors/index.js'
import {walletInfo} from '../../keys/wallet.js'

export default class AlertsCheck extends BaseCommand<typeof AlertsCheck> {
  static override summary = 'evaluate the alert rules once and deliver what opened or cleared (for a timer or cron)'
  static override description =
    'Reads the chain (as `unet status` does), the local agent files and the device probes; evaluates the rules (missed-epoch, agent-down, ' +
    'gas-runway-low, device-lost, device-unhealthy, registration-rejected, challenge-open); sends each newly open condition once ("firing") ' +
    'and each cleared one once ("resolved") to the webhook (signed JSON POST, retried) and/or the command hook (JSON on stdin). What was ' +
    'told is kept in <dataDir>/alerts/state.json, so running it every minute sends nothing twice. The agent-down rule needs this command: ' +
    'an agent cannot report its own death. A failed delivery exits 24 and is retried at the next check. See docs/alerts.md.'
  static override examples = ['<%= config.bin %> alerts check', '<%= config.bin %> alerts check --json']
  static override flags = {
    operator: Flags.string({description: "operator address to check (default: this machine's wallet)"}),
  }

  async run(): Promise<AlertCheckResult & {network: string}> {
    const {gatherAlertFacts} = await import('../../miner/alert-facts.js')
    const {runAlertCheck} = await import('../../alerts/check.js')
    const {alertSettings} = await import('../../alerts/settings.js')
    const {parseAddress} = await import('../../keys/address.js')
    const operator = this.flags.operator ? parseAddress(this.flags.operator, '--operator') : walletInfo(this.resolved.paths.dataDir)?.address
    const {thresholds, sinks} = alertSettings(this.resolved)
    const facts = await gatherAlertFacts(this.resolved, operator)
    const result = await runAlertCheck({dataDir: this.resolved.paths.dataDir, facts, thresholds, sinks, logger: await this.logger()})
    if (sinks.length === 0) this.warning('no alert sink is configured (alerts.webhook.url, alerts.command): conditions are recorded, nobody is told')
    for (const c of result.open) this.log(`open   ${c.rule.padEnd(22)} ${c.summary}`)
    if (result.open.length === 0) this.log('no alert condition is open')
    for (const d of result.deliveries)
      this.log(`${d.ok ? 'sent' : 'FAILED'} ${d.event} ${d.rule} → ${d.sink}${d.ok ? ` (${d.attempts} attempt(s))` : `: ${d.error}`}`)
    if (result.deliveries.some((d) => !d.ok)) {
      this.warning('an alert could not be delivered; it is retried at the next check')
      process.exitCode = ExitCode.ALERT_DELIVERY_FAILED
    }
    return {network: facts.network, ...result}
  }
}
