/**
 * The dashboard page's script (a browser module, served as /assets/app.js): polls the JSON endpoints
 * and draws the sections. Every value from the chain or the local files goes into the page through
 * textContent or an attribute, never as HTML, so a device or error text cannot inject markup.
 */
import type {DashboardAlert, DashboardSnapshot} from '../snapshot.js'
import {chartLayout} from './chart.js'

const SVG = 'http://www.w3.org/2000/svg'
const refreshSeconds = Number(document.body.dataset.refresh) || 15
let polls = 0

type Child = Node | string
/** `e` with its attributes and children: text goes in as text nodes, never as HTML. */
function filled<E extends Element>(e: E, attrs: Record<string, string | number>, children: Child[]): E {
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  e.append(...children)
  return e
}
const el = (tag: string, attrs: Record<string, string> = {}, ...children: Child[]) => filled(document.createElement(tag), attrs, children)
const svg = (tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]) => filled(document.createElementNS(SVG, tag), attrs, children)
const byId = (id: string) => document.getElementById(id)!
/** A table's rows, or one muted row across its `columns` saying why there are none. */
function fillTable(tableId: string, rows: HTMLElement[], columns: number, empty: string): void {
  byId(tableId)
    .querySelector('tbody')!
    .replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', {colspan: String(columns), class: 'muted'}, empty))]))
}
const onlineCell = (online: boolean) => el('td', {class: online ? 'online' : 'offline'}, online ? '● online' : '○ offline')
/** A device or host row: its id attribute, data-online, the online cell first, then `cells`. */
const onlineRow = (id: Record<string, string>, online: boolean, ...cells: HTMLElement[]) =>
  el('tr', {...id, 'data-online': String(online)}, onlineCell(online), ...cells)
/** A long id or address as its head and tail (the whole in the cell's title), so the fleet table fits. */
const short = (id: string) => (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id)
const idCell = (id: string | null | undefined) => el('td', {class: 'id', title: id ?? ''}, id ? short(id) : '–')
const numCell = (value: string) => el('td', {class: 'num'}, value)
const uptimeText = (u: {percent: number; credited: number; window: number}) => `${u.percent}% (${u.credited}/${u.window})`
const time = (unixSeconds: number | null) => (unixSeconds ? new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z') : '')

function renderSummary(s: DashboardSnapshot['status']): void {
  const online = s.devices.filter((d) => d.online).length
  const host = s.devices.find((d) => d.deviceId === d.hostId) ?? s.devices[0]
  const card = (id: string, label: string, value: string) =>
    el('div', {class: 'card', id}, el('div', {class: 'label'}, label), el('div', {class: 'value'}, value))
  byId('summary').replaceChildren(
    card('card-epoch', 'epoch', `${s.epoch.current} (next at block ${s.epoch.endsAtBlock})`),
    card('card-online', 'devices online', `${online} / ${s.devices.length}`),
    card('card-uptime', 'uptime', host ? `${host.uptime.percent}% of ${host.uptime.window}` : '–'),
    card('card-accrued', `accrued ${s.rewards.symbol}`, s.rewards.formatted.accrued),
    card('card-claimable', `claimable ${s.rewards.symbol}`, s.rewards.formatted.claimable),
    card('card-gas', 'gas', s.gas ? `${s.gas.formatted} ${s.gas.symbol}${s.gas.runwayEpochs !== null ? ` (~${s.gas.runwayEpochs} heartbeats)` : ''}` : '–'),
    card('card-agent', 'agent', s.agent.running ? `running (pid ${s.agent.pid}, ${s.agent.state ?? '?'})` : 'not running'),
  )
  byId('network').textContent = `${s.network} · chain ${s.chainId} · operator ${s.operator ?? '–'} · payout ${s.payout ?? '–'}`
}

function renderDevices(s: DashboardSnapshot['status']): void {
  const rows = s.devices.map((d) =>
    onlineRow(
      {'data-device-id': d.deviceId},
      d.online,
      el('td', {class: 'id'}, d.deviceId),
      el('td', {}, d.kind),
      el('td', {class: d.status === 'approved' ? 'online' : d.status === 'pending' ? 'pending' : 'offline'}, d.status),
      numCell(d.power),
      el('td', {class: 'num uptime', 'data-percent': String(d.uptime.percent)}, uptimeText(d.uptime)),
      el('td', {}, d.lastHeartbeat ? `epoch ${d.lastHeartbeat.epoch} ${time(d.lastHeartbeat.time)}` : 'never'),
    ),
  )
  fillTable('devices-table', rows, 7, 'no registered devices')
}

function renderUptime(s: DashboardSnapshot['status']): void {
  const credited = s.history.filter((h) => h.credited).length
  byId('uptime-caption').textContent = s.history.length > 0 ? `${credited} of the last ${s.history.length} epochs credited` : ''
  byId('uptime-strip').replaceChildren(
    ...s.history.map((h) =>
      el('span', {class: `epoch${h.credited ? ' credited' : ''}`, 'data-epoch': h.epoch, title: `epoch ${h.epoch}: ${h.credited ? 'credited' : 'missed'}`}),
    ),
  )
}

function renderChart(earnings: DashboardSnapshot['earnings'], total: DashboardSnapshot['history']['total']): void {
  const c = chartLayout(earnings)
  byId('earnings-caption').textContent =
    `${total.rewardUnc} UNC over ${total.epochs} credited epoch(s)` + (c.hidden > 0 ? `; the latest ${c.bars.length} shown` : '')
  if (c.bars.length === 0) {
    byId('chart').replaceChildren(el('p', {class: 'muted'}, 'no credited epochs yet'))
    return
  }
  const {left, top, right, bottom} = c.plot
  byId('chart').replaceChildren(
    svg(
      'svg',
      {viewBox: `0 0 ${c.width} ${c.height}`, role: 'img', 'aria-label': 'UNC earned per credited epoch', 'data-bars': c.bars.length},
      svg('line', {class: 'axis', x1: left, y1: bottom, x2: right, y2: bottom}),
      svg('line', {class: 'axis', x1: left, y1: top, x2: left, y2: bottom}),
      svg('text', {x: left - 6, y: top + 4, 'text-anchor': 'end'}, c.maxUnc),
      svg('text', {x: left - 6, y: bottom, 'text-anchor': 'end'}, '0'),
      svg('text', {x: 4, y: (top + bottom) / 2}, 'UNC'),
      ...c.ticks.map((t) => svg('text', {x: t.x, y: bottom + 16, 'text-anchor': 'middle'}, t.label)),
      svg('text', {x: right, y: c.height - 2, 'text-anchor': 'end'}, 'epoch'),
      ...c.bars.map((b) =>
        svg(
          'rect',
          {class: 'bar', x: b.x, y: b.y, width: b.width, height: b.height, 'data-epoch': b.epoch, 'data-reward': b.reward, 'data-reward-unc': b.rewardUnc},
          svg('title', {}, `epoch ${b.epoch}: ${b.rewardUnc} UNC${b.date ? ` (${b.date})` : ''}`),
        ),
      ),
    ),
  )
}

function renderFleet(f: DashboardSnapshot['fleet']): void {
  const rows = f.hosts.map((h) =>
    onlineRow(
      {'data-host-id': h.hostId},
      h.online,
      ...[h.hostId, h.operator, h.payout].map(idCell),
      numCell(`${h.devices.online}/${h.devices.total}`),
      numCell(uptimeText(h.uptime)),
      numCell(h.power),
      numCell(h.rewards.formatted.claimable),
      el('td', {}, h.lastCreditedEpoch ?? 'never'),
    ),
  )
  fillTable('fleet-table', rows, 9, 'no approved host selected')
  byId('fleet-note').textContent =
    `${f.totals.online} of ${f.totals.hosts} host(s) online, ${f.totals.formatted.claimable} ${f.rewardToken.symbol} claimable; worst first` +
    (f.unmatched.length > 0 ? `; no approved host for ${f.unmatched.join(', ')}` : '')
}

function renderAlerts(open: DashboardAlert[], explain: string[]): void {
  const items = open.map((a) =>
    el(
      'li',
      {'data-rule': a.rule, 'data-key': a.key},
      el('span', {class: `sev ${a.severity}`}, a.severity),
      el('strong', {}, a.rule),
      ` ${a.summary}`,
      el('span', {class: 'muted'}, a.since ? ` · since ${a.since}` : ' · not recorded by an alert check yet'),
    ),
  )
  byId('alerts-list').replaceChildren(...(items.length > 0 ? items : [el('li', {class: 'muted'}, 'no alert condition is open')]))
  byId('explain-list').replaceChildren(
    ...(explain.length > 0 ? explain.map((e) => el('li', {}, e)) : [el('li', {class: 'muted'}, 'every device is earning and the agent is running')]),
  )
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, {headers: {accept: 'application/json'}})
  const body = (await res.json()) as T & {error?: {message?: string; hint?: string}}
  if (!res.ok) throw new Error(`${body.error?.message ?? res.statusText}${body.error?.hint ? ` (hint: ${body.error.hint})` : ''}`)
  return body
}

async function poll(): Promise<void> {
  try {
    const [status, history, earnings, alerts, fleet] = await Promise.all([
      getJson<DashboardSnapshot['status']>('/api/status'),
      getJson<DashboardSnapshot['history']>('/api/history'),
      getJson<DashboardSnapshot['earnings']>('/api/earnings'),
      getJson<DashboardSnapshot['alerts']>('/api/alerts'),
      getJson<DashboardSnapshot['fleet']>('/api/fleet'),
    ])
    renderSummary(status)
    renderDevices(status)
    renderUptime(status)
    renderChart(earnings, history.total)
    renderFleet(fleet)
    renderAlerts(alerts.open, status.explain)
    byId('error').hidden = true
    byId('updated').textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC, every ${refreshSeconds} s`
    document.body.dataset.state = 'ready'
  } catch (error) {
    // the last good data stays on the page; the banner says why it is not fresh
    byId('error').textContent = `cannot read the chain: ${(error as Error).message}`
    byId('error').hidden = false
    document.body.dataset.state = 'error'
  }
  document.body.dataset.polls = String(++polls)
  setTimeout(() => void poll(), refreshSeconds * 1000)
}

void poll()
