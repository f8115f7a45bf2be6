import {Flags} from '@oclif/core'

import type {StatusReport} from '../miner/status-report.js'
import {BaseCommand} from '../cli/base-command.js'
import type {Style} from '../cli/style.js'
import {epochChart} from '../cli/render/chart.js'
import {formatUnits} from '../util/units.js'
import {walletInfo} from '../keys/wallet.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'devices online, uptime and earnings, from the chain'
  static override description =
    'The chain is the source of truth: per device online (credited this or last epoch), last heartbeat, uptime over the last 24 epochs, power; ' +
    'rewards accrued / claimable / claimed in the smallest unit (and formatted); payout; gas balance and runway; the local agent state; ' +
    'open challenges against the hosts with their answer deadline (block and estimated time). The epoch is counted in blocks (seconds are ' +
    'estimates from networks.<name>.blockSeconds). --explain says why a device is not earning. The --json shape is documented in docs/status.schema.json.'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --explain',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --watch',
  ]
  static override flags = {
    explain: Flags.boolean({description: 'say why each device is (not) earning'}),
    watch: Flags.integer({description: 'refresh every N seconds until interrupted', min: 1}),
    operator: Flags.string({description: "operator address to show (default: this machine's wallet)"}),
  }

  async run(): Promise<StatusReport> {
    const {buildStatusReport, gatherStatus} = await import('../miner/status-report.js')
    const {parseAddress} = await import('../keys/address.js')
    const operator = this.flags.operator ? parseAddress(this.flags.operator, '--operator') : walletInfo(this.resolved.paths.dataDir)?.address
    const payout = this.resolved.config.payout ?? operator
    for (;;) {
      const report = buildStatusReport(await gatherStatus(this.resolved, operator, payout), formatUnits)
      if (!this.flags.watch || this.jsonEnabled()) {
        this.log(render(report, this.flags.explain, this.style()))
        return report
      }
      process.stdout.write('\x1b[2J\x1b[H' + render(report, this.flags.explain, this.style()) + '\n')
      await new Promise((r) => setTimeout(r, this.flags.watch! * 1000))
    }
  }
}

function render(r: StatusReport, explain: boolean, style: Style): string {
  const ends = new Date(r.epoch.endsAt * 1000).toISOString()
  const lines = [
    `network ${r.network} (chain ${r.chainId})  epoch ${r.epoch.current} (${r.epoch.blocks} blocks, ~${r.epoch.seconds} s; next at block ${r.epoch.endsAtBlock}, ~${ends})`,
    `operator ${r.operator ?? '-'}  payout ${r.payout ?? '-'}`,
    '',
  ]
  if (r.devices.length === 0) lines.push('no registered devices')
  for (const d of r.devices) {
    const last = d.lastHeartbeat ? `last epoch ${d.lastHeartbeat.epoch}` : 'no heartbeat yet'
    lines.push(
      `${d.online ? style.state('online', '● online ') : style.state('offline', '○ offline')}  ${d.kind.padEnd(14)} ${d.deviceId.slice(0, 18)}…  ${style.state(d.status, d.status.padEnd(8))} power ${d.power.padStart(4)} (table ${(d.expected?.power ?? '-').padStart(4)})  uptime ${d.uptime.percent}% of ${d.uptime.window}  ${last}`,
    )
  }
  for (const c of r.challenges)
    lines.push(
      `${style.state('warn', '⚠ challenge')} ${c.challengeId.slice(0, 18)}…  device ${c.deviceId.slice(0, 18)}…  epoch ${c.epoch}  answer by block ${c.deadline} (~${new Date(c.deadlineAt * 1000).toISOString()})`,
    )
  lines.push(
    '',
    `rewards  accrued ${r.rewards.formatted.accrued} ${r.rewards.symbol}  claimable ${r.rewards.formatted.claimable}  claimed ${r.rewards.formatted.claimed}`,
  )
  if (r.gas) lines.push(`gas      ${r.gas.formatted} ${r.gas.symbol}${r.gas.runwayEpochs !== null ? `  (~${r.gas.runwayEpochs} heartbeats)` : ''}`)
  lines.push(
    `agent    ${r.agent.running ? `${style.state('online', 'running')} (pid ${r.agent.pid}, ${r.agent.state ?? '?'})` : style.state('offline', 'not running')}${r.agent.lastError ? `  last error: ${r.agent.lastError}` : ''}`,
  )
  if (r.history.length > 0)
    lines.push(
      '',
      ...epochChart(
        r.history.map((h) => ({epoch: BigInt(h.epoch), earned: BigInt(h.earned), credited: h.credited})),
        undefined,
        style,
      ),
    )
  // explain is empty only when every device earns and nothing (the agent included) stands in the way
  if (explain) lines.push('', ...(r.explain.length > 0 ? r.explain.map((e) => `why: ${e}`) : ['why: every device is earning and the agent is running']))
  return lines.join('\n')
}
