import {Flags} from '@oclif/core'

import type {HistoryResult, HistoryRowView} from '../../insight/reward-history.js'
import {BaseCommand} from '../../cli/base-command.js'
import {REWARD_TOKEN, formatUnits} from '../../util/units.js'
import {csvLine} from '../../cli/render/csv.js'
import {requireChainReady} from '../../config/index.js'
import {InputError, WalletMissingError} from '../../errors/index.js'
import {parseAddress} from '../../keys/address.js'
import {walletInfo} from '../../keys/wallet.js'
import {parseDateBound} from '../../util/dates.js'

export default class RewardsHistory extends BaseCommand<typeof RewardsHistory> {
  static override summary = 'credited rewards per device and epoch, from the chain'
  static override description =
    'Replays the contract events (Registered, Approved, Revoked, Released, Heartbeat): each heartbeat credits power × rewardPerPowerEpoch, ' +
    'one row per device bound to the host then (the host itself included), so the rows of an epoch add up to the host credit. ' +
    'Scanned blocks are cached in the cache dir per chain id, contract and genesis block (a reset devnet never reuses them); ' +
    'a progress line shows on a terminal during long scans. Dates are block times (UTC); --until with a bare date includes that day.'
  static override examples = [
    '<%= config.bin %> rewards history',
    '<%= config.bin %> rewards history --since 2026-12-01 --csv > rewards.csv',
    '<%= config.bin %> rewards history --device 0x3eb2…f8 --json',
  ]
  static override flags = {
    device: Flags.string({description: 'only this device (a host id also selects its devices)'}),
    operator: Flags.string({description: "hosts of this operator address (default: this machine's wallet)"}),
    since: Flags.string({description: 'from this date or time (inclusive), e.g. 2026-12-01'}),
    until: Flags.string({description: 'up to this date (inclusive) or time (exclusive)'}),
    csv: Flags.boolean({description: 'CSV on stdout (header + one row per device and epoch)', exclusive: ['json']}),
  }

  async run(): Promise<HistoryResult> {
    const profile = requireChainReady(this.resolved.profile)
    const filter = this.filter()
    const {withLedger} = await import('../../cli/reward-ledger.js')
    const {historyResult} = await import('../../insight/reward-history.js')
    const from = {cacheDir: this.resolved.paths.cacheDir, progress: await this.steps(), warn: (m: string) => this.warning(m)}
    return withLedger(profile, from, (_client, {set, ledger}) => {
      const result = historyResult(set, ledger, filter)
      if (this.flags.csv) process.stdout.write(renderCsv(result.rows))
      else this.log(renderTable(result))
      return result
    })
  }

  private filter(): {operator?: string; device?: string; since?: number; until?: number} {
    const device = this.flags.device?.toLowerCase()
    if (device !== undefined && !/^0x[0-9a-f]{64}$/.test(device))
      throw new InputError(`--device is not a device id (0x and 64 hex digits): ${JSON.stringify(this.flags.device)}`, {hint: '`unet status` lists the ids'})
    const since = this.flags.since === undefined ? undefined : parseDateBound(this.flags.since, '--since')
    const until = this.flags.until === undefined ? undefined : parseDateBound(this.flags.until, '--until', true)
    if (since !== undefined && until !== undefined && until <= since)
      throw new InputError(`--until ${this.flags.until} is not after --since ${this.flags.since}`, {hint: 'swap them'})
    let operator: string | undefined
    if (this.flags.operator) {
      operator = parseAddress(this.flags.operator, '--operator').toLowerCase()
    } else if (device === undefined) {
      const wallet = walletInfo(this.resolved.paths.dataDir)
      if (!wallet) throw new WalletMissingError('no operator wallet on this machine to read the history of', {hint: 'pass --operator 0x… or --device 0x…'})
      operator = wallet.address.toLowerCase()
    }
    return {operator, device, since, until}
  }
}

const CSV_COLUMNS = ['epoch', 'block', 'date', 'host', 'device', 'role', 'kind', 'power', 'reward_unc', 'reward_wei', 'tx']

function renderCsv(rows: HistoryRowView[]): string {
  const lines = [csvLine(CSV_COLUMNS)]
  for (const r of rows) lines.push(csvLine([r.epoch, String(r.block), r.date, r.hostId, r.deviceId, r.role, r.kind, r.power, r.rewardUnc, r.reward, r.tx]))
  return lines.join('\n') + '\n'
}

function renderTable(h: HistoryResult): string {
  if (h.rows.length === 0) return 'no credited epochs' + (h.since || h.until ? ' in that time range' : '')
  const lines = [
    `${'epoch'.padEnd(7)}${'block'.padEnd(9)}${'date (UTC)'.padEnd(22)}${'device'.padEnd(16)}${'role'.padEnd(8)}${'power'.padStart(6)}  ${'reward UNC'.padStart(12)}  tx`,
  ]
  for (const r of h.rows)
    lines.push(
      `${r.epoch.padEnd(7)}${String(r.block).padEnd(9)}${r.date.padEnd(22)}${(r.deviceId.slice(0, 12) + '…').padEnd(16)}${r.role.padEnd(8)}${r.power.padStart(6)}  ${formatUnits(BigInt(r.reward), REWARD_TOKEN.decimals).padStart(12)}  ${r.tx}`,
    )
  lines.push('', `total ${formatUnits(BigInt(h.total.reward), REWARD_TOKEN.decimals)} UNC over ${h.total.epochs} credited epoch(s)`)
  return lines.join('\n')
}
