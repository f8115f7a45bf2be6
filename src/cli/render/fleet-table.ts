/**
 * `unet fleet status` for a person: one line per host, worst first, then the totals. Pure string
 * building (tests read it); colour only through the Style.
 */
import type {FleetHostRow, FleetReport} from '../../insight/fleet.js'
import type {Style} from '../style.js'

const short = (address: string | null): string => (address ? `${address.slice(0, 6)}…${address.slice(-4)}` : '-')

/** The columns, in order: heading, width, cell, alignment. */
const COLUMNS: Array<[string, number, (r: FleetHostRow) => string, 'left' | 'right']> = [
  ['host', 15, (r) => `${r.hostId.slice(0, 12)}…`, 'left'],
  ['operator', 13, (r) => short(r.operator), 'left'],
  ['payout', 13, (r) => short(r.payout), 'left'],
  ['devices', 8, (r) => `${r.devices.online}/${r.devices.total}`, 'right'],
  ['uptime', 14, (r) => `${r.uptime.percent}% of ${r.uptime.window}`, 'right'],
  ['power', 7, (r) => r.power, 'right'],
  ['claimable UNC', 15, (r) => r.rewards.formatted.claimable, 'right'],
  ['accrued UNC', 15, (r) => r.rewards.formatted.accrued, 'right'],
  ['last epoch', 11, (r) => r.lastCreditedEpoch ?? 'never', 'right'],
]

const cell = (text: string, width: number, align: 'left' | 'right') => (align === 'left' ? text.padEnd(width) : text.padStart(width))

export function fleetTable(f: FleetReport, style: Style): string {
  const lines = [`chain ${f.chainId}  epoch ${f.epoch.current}  ${f.totals.hosts} host(s), ${f.totals.online} online  (worst first)`, '']
  if (f.hosts.length === 0) lines.push('no approved host matches the selected addresses')
  else {
    lines.push(['state    ', ...COLUMNS.map(([h, w, , a]) => cell(h, w, a))].join(' '))
    for (const r of f.hosts) {
      const state = r.online ? style.state('online', '● online ') : style.state('offline', '○ offline')
      lines.push([state, ...COLUMNS.map(([, w, value, a]) => cell(value(r), w, a))].join(' '))
    }
  }
  const t = f.totals
  lines.push(
    '',
    `total    power ${t.power}  claimable ${t.formatted.claimable} ${f.rewardToken.symbol}  accrued ${t.formatted.accrued}  claimed ${t.formatted.claimed}`,
  )
  return lines.join('\n')
}
