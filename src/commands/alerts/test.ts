import {BaseCommand} from '../../cli/base-command.js'
import type {DeliveryRecord} from '../../alerts/check.js'
import {ConfigError, ExitCode} from '../../errors/index.js'
import {walletInfo} from '../../keys/wallet.js'

export default class AlertsTest extends BaseCommand<typeof AlertsTest> {
  static override summary = 'send one "test" alert to every configured sink (webhook, command hook)'
  static override description = 'Checks the alert wiring end to end: the signed webhook POST (with its retries) and the command hook. Nothing is recorded.'
  static override examples = ['<%= config.bin %> alerts test']

  async run(): Promise<{deliveries: DeliveryRecord[]}> {
    const {alertSettings} = await import('../../alerts/settings.js')
    const {sendTestAlert} = await import('../../alerts/check.js')
    const {sinks} = alertSettings(this.resolved)
    if (sinks.length === 0)
      throw new ConfigError('no alert sink is configured', {hint: 'set alerts.webhook.url (and its secret) or alerts.command; docs/alerts.md'})
    const deliveries = await sendTestAlert(sinks, {network: this.resolved.profile.name, operator: walletInfo(this.resolved.paths.dataDir)?.address})
    for (const d of deliveries) this.log(`${d.ok ? 'sent' : 'FAILED'} test → ${d.sink}${d.ok ? ` (${d.attempts} attempt(s))` : `: ${d.error}`}`)
    if (deliveries.some((d) => !d.ok)) process.exitCode = ExitCode.ALERT_DELIVERY_FAILED
    return {deliveries}
  }
}
