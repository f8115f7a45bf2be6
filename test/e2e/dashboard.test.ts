import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {chromium, type Browser} from 'playwright-core'
import {describe, expect, it} from 'vitest'

import {BIN, makeHome, runCli, type Home} from '../helpers/cli.js'
import {devnetSuite, type DevnetSuite} from '../helpers/devnet-suite.js'
import {suiteWorld} from '../helpers/suite-world.js'

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

interface StatusJson {
  epoch: {current: string}
  operator: string
  payout: string
  devices: Array<{deviceId: string; hostId?: string; online: boolean; status: string; uptime: {percent: number; credited: number; window: number}}>
  agent: {lastError: string | null}
}
interface FleetJson {
  hosts: Array<{hostId: string; online: boolean; devices: {online: number; total: number}; uptime: {percent: number}}>
  selectors: {operators: string[]; payouts: string[]; addresses: string[]}
  unmatched: string[]
  scan: unknown
}
interface HistoryJson {
  rows: Array<{epoch: string; reward: string; deviceId: string}>
  total: {reward: string; rewardUnc: string; epochs: number}
}

interface Dashboard {
  child: ChildProcess
  url: string
  stderr: () => string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

/** Starts `unet dashboard` as a subprocess and reads the URL from its first stdout line. */
function startDashboard(args: string[], home: Home): Promise<Dashboard> {
  const child = spawn(process.execPath, [BIN, 'dashboard', ...args], {
    env: {PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...home.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.once('close', (code, signal) => resolve({code, signal})))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL line within 30 s; stderr:\n${stderr}`)), 30_000)
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.includes('\n')) {
        clearTimeout(timer)
        resolve({child, url: stdout.split('\n')[0]!, stderr: () => stderr, exited})
      }
    })
    void exited.then((e) => reject(new Error(`dashboard exited (${e.code ?? e.signal}) before printing its URL:\n${stderr}`)))
  })
}

/** A raw request (fetch cannot set Host or send every method). */
function raw(
  url: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<{status: number; headers: Record<string, string | string[] | undefined>; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers}, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body}))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Width and height from a PNG's IHDR, after checking the signature. */
function pngSize(file: string): {width: number; height: number; bytes: number} {
  const b = readFileSync(file)
  expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  expect(b.subarray(12, 16).toString('ascii')).toBe('IHDR')
  return {width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length}
}

/** Markup an attacker might get into a free-text field (an RPC error or revert reason ends up in the agent's lastError). */
const INJECTED = '<img src=x onerror="window.__injected=1"><script>window.__injected=2</script>'

/**
 * What the suite reads: quickstart --epochs 3 on the devnet (then held still) with INJECTED as the agent's
 * last error; what `unet status`, `unet rewards history` and `unet fleet status` say of it; and `unet
 * dashboard` open in Chromium, its console errors and requests elsewhere recorded. What it started is
 * closed again if a step fails.
 */
async function openDashboard(devnet: DevnetSuite) {
  const home = devnet.home
  const qs = await runCli(['quickstart', '--epochs', '3', '--port', String(devnet.port), '--json'], {home, timeoutMs: 240_000})
  expect(qs.code, qs.stderr).toBe(0)
  const result = qs.json<{devnet: {rpcUrl: string}; registration: {deviceId: string}}>()
  const hostId = result.registration.deviceId.toLowerCase()
  // hold the chain still: the page, its API and the CLI are then read at the same epoch
  await fetch(result.devnet.rpcUrl, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: '{"jsonrpc":"2.0","id":1,"method":"evm_setIntervalMining","params":[0]}',
  })
  // a free-text field the page shows: the agent's last error (chain revert reasons and RPC errors land there)
  const stateFile = join(home.dataDir, 'agent', 'state.json')
  writeFileSync(stateFile, JSON.stringify({...JSON.parse(readFileSync(stateFile, 'utf8')), lastError: INJECTED}) + '\n', {mode: 0o600})
  const cliJson = async <T>(args: string[]): Promise<T> => {
    const r = await runCli(args, {home})
    expect(r.code, r.stderr).toBe(0)
    return r.json<T>()
  }
  const status = await cliJson<StatusJson>(['status', '--json'])
  const history = await cliJson<HistoryJson>(['rewards', 'history', '--json'])
  const fleet = await cliJson<FleetJson>(['fleet', 'status', '--operator', status.operator, '--payout', status.payout, '--json'])
  expect(status.agent.lastError).toBe(INJECTED)
  expect(history.rows.length).toBeGreaterThanOrEqual(3)

  const dash = await startDashboard(['--port', '0', '--refresh', '2'], home)
  const consoleErrors: string[] = []
  const foreignRequests: string[] = []
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS})
    const page = await browser.newPage({viewport: {width: 1200, height: 900}})
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())))
    page.on('pageerror', (e) => void consoleErrors.push(e.message))
    page.on('request', (r) => void (!r.url().startsWith(dash.url) && foreignRequests.push(r.url())))
    await page.goto(dash.url)
    await page.waitForSelector('body[data-state="ready"]', {timeout: 60_000})
    return {hostId, status, history, fleet, dash, browser, page, consoleErrors, foreignRequests}
  } catch (e) {
    await closeDashboard({dash, browser})
    throw e
  }
}

/** Closes the browser and kills the dashboard if it still runs (the last test stops it with SIGTERM itself). */
async function closeDashboard({dash, browser}: {dash: Dashboard; browser?: Browser}): Promise<void> {
  await browser?.close()
  if (dash.child.exitCode === null) dash.child.kill('SIGKILL')
}

/**
 * quickstart --epochs 3 on a real devnet, then `unet dashboard` read in Debian's Chromium: the DOM
 * holds the chain's device ids, the uptime `unet status` gives, one chart bar per credited epoch with
 * the amounts `unet rewards history --json` gives, the fleet row and the open alerts.
 */
describe('unet dashboard on the devnet (subprocess, real chain, headless Chromium)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  const shots = mkdtempSync(join(tmpdir(), 'unet-dashboard-'))
  const world = suiteWorld(() => openDashboard(devnet), closeDashboard, 360_000)

  it('prints its loopback URL first and serves the page with a strict Content-Security-Policy', async () => {
    expect(world.dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const r = await raw(world.dash.url, 'GET', {host: new URL(world.dash.url).host})
    expect(r.status).toBe(200)
    expect(r.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    // no inline script or style, nothing from elsewhere
    expect(r.body).not.toMatch(/<script(?![^>]*\bsrc="\/assets\/)/)
    expect(r.body).not.toMatch(/<style|style=|https?:\/\//)
  })

  it('shows the chain’s devices with the uptime `unet status` gives', async () => {
    const rows = await world.page.$$eval('#devices-table tbody tr[data-device-id]', (trs) =>
      trs.map((tr) => ({id: tr.getAttribute('data-device-id'), text: tr.textContent, uptime: tr.querySelector('.uptime')!.getAttribute('data-percent')})),
    )
    expect(rows.map((r) => r.id)).toEqual(world.status.devices.map((d) => d.deviceId))
    expect(rows.map((r) => r.id)).toContain(world.hostId)
    for (const [i, d] of world.status.devices.entries()) {
      expect(rows[i]!.uptime).toBe(String(d.uptime.percent))
      expect(rows[i]!.text).toContain(`${d.uptime.percent}% (${d.uptime.credited}/${d.uptime.window})`)
      expect(rows[i]!.text).toContain(d.status)
    }
    expect(world.status.devices.find((d) => d.deviceId === world.hostId)!.uptime.credited).toBe(3)
    expect(await world.page.textContent('#card-uptime .value')).toBe(`${world.status.devices[0]!.uptime.percent}% of ${world.status.devices[0]!.uptime.window}`)
    expect(await world.page.$$('#uptime-strip .epoch.credited')).toHaveLength(3)
  })

  it('draws one chart bar per credited epoch with the amounts of `unet rewards history --json`', async () => {
    const perEpoch = new Map<string, bigint>()
    for (const r of world.history.rows) perEpoch.set(r.epoch, (perEpoch.get(r.epoch) ?? 0n) + BigInt(r.reward))
    const bars = await world.page.$$eval('#chart svg rect.bar', (rects) =>
      rects.map((r) => ({
        epoch: r.getAttribute('data-epoch'),
        reward: r.getAttribute('data-reward'),
        height: Number(r.getAttribute('height')),
        title: r.textContent,
      })),
    )
    expect(bars.map((b) => b.epoch)).toEqual([...perEpoch.keys()])
    expect(bars.map((b) => b.reward)).toEqual([...perEpoch.values()].map(String))
    // heights follow the amounts: the tallest fills the plot, equal amounts are equal bars
    const max = [...perEpoch.values()].reduce((m, v) => (v > m ? v : m))
    const tallest = Math.max(...bars.map((b) => b.height))
    expect(tallest).toBeGreaterThan(100)
    for (const b of bars) expect(b.height).toBeCloseTo((Number((BigInt(b.reward!) * 1000n) / max) / 1000) * tallest, 0)
    expect(bars[0]!.title).toMatch(/^epoch \d+: [0-9.]+ UNC/)
    expect(await world.page.textContent('#earnings-caption')).toContain(
      `${world.history.total.rewardUnc} UNC over ${world.history.total.epochs} credited epoch(s)`,
    )
  })

  it('serves the same JSON as the CLI (/api/status, /api/history) and the fleet and alerts sections', async () => {
    const api = async <T>(path: string) => (await fetch(new URL(path, world.dash.url))).json() as Promise<T>
    expect(await api<StatusJson>('/api/status')).toEqual(world.status)
    const served = await api<HistoryJson & {scan: unknown}>('/api/history')
    expect(served.rows).toEqual(world.history.rows)
    expect(served.total).toEqual(world.history.total)

    // the fleet: what `unet fleet status` gives for this operator and payout (the scan's cache figures aside)
    const {scan: _scan, ...servedFleet} = await api<FleetJson>('/api/fleet')
    const {scan: _cliScan, ...cliFleet} = world.fleet
    expect(servedFleet).toEqual(cliFleet)
    expect(world.fleet.hosts.map((h) => h.hostId)).toEqual([world.hostId])
    const fleetRows = await world.page.$$eval('#fleet-table tbody tr[data-host-id]', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-host-id'),
        text: tr.textContent,
        titles: [...tr.querySelectorAll('td[title]')].map((td) => td.getAttribute('title')),
      })),
    )
    expect(fleetRows.map((r) => r.id)).toEqual([world.hostId])
    expect(fleetRows[0]!.titles.map((t) => t!.toLowerCase())).toEqual([world.hostId, world.status.operator.toLowerCase(), world.status.payout.toLowerCase()])
    expect(fleetRows[0]!.text).toContain(`${world.status.operator.slice(0, 8)}…${world.status.operator.slice(-4)}`)
    expect(fleetRows[0]!.text).toContain(`${world.fleet.hosts[0]!.devices.online}/${world.fleet.hosts[0]!.devices.total}`)
    expect(fleetRows[0]!.text).toContain(`${world.fleet.hosts[0]!.uptime.percent}%`)

    // the agent is not running after quickstart: the rules of `unet alerts check` find it down
    const rules = await world.page.$$eval('#alerts-list li[data-rule]', (lis) => lis.map((li) => li.getAttribute('data-rule')))
    expect(rules).toContain('agent-down')
    const alerts = await api<{open: Array<{rule: string}>}>('/api/alerts')
    expect(alerts.open.map((a) => a.rule)).toEqual(rules)
  })

  it('shows injected markup as text: no element made, no script run', async () => {
    const agentDown = await world.page.textContent('#alerts-list li[data-rule="agent-down"]')
    expect(agentDown).toContain(INJECTED)
    expect(await world.page.textContent('#explain-list')).toContain(INJECTED)
    expect(await world.page.evaluate(() => (window as unknown as {__injected?: number}).__injected)).toBeUndefined()
    expect(await world.page.$$('img')).toHaveLength(0)
    expect(await world.page.$$('script')).toHaveLength(1) // the page's own module
  })

  it('takes a screenshot of the rendered page (a real PNG), with no console error and no request elsewhere', async () => {
    const file = join(shots, 'dashboard.png')
    await world.page.screenshot({path: file, fullPage: true})
    const png = pngSize(file)
    expect(png.width).toBe(1200)
    expect(png.height).toBeGreaterThanOrEqual(900)
    expect(png.bytes).toBeGreaterThan(20_000)
    expect(world.consoleErrors).toEqual([])
    expect(world.foreignRequests).toEqual([])
  })

  it('is read-only: every method but GET is 405; a foreign Host (DNS rebinding) is 421; unknown paths 404', async () => {
    for (const path of ['/', '/api/status', '/api/history'])
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
        const r = await raw(new URL(path, world.dash.url).href, method)
        expect(r.status, `${method} ${path}`).toBe(405)
        expect(r.headers.allow).toBe('GET')
      }
    const port = new URL(world.dash.url).port
    expect((await raw(new URL('/api/status', world.dash.url).href, 'GET', {host: `evil.example:${port}`})).status).toBe(421)
    expect((await raw(new URL('/api/status', world.dash.url).href, 'GET', {host: `localhost:${port}`})).status).toBe(200)
    expect((await raw(new URL('/api/sign', world.dash.url).href, 'GET')).status).toBe(404)
  })

  it('refuses a non-loopback --host without --allow-remote (exit 2, one line and a hint)', async () => {
    const r = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0'], {home})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: --host 0\.0\.0\.0 is not a loopback address[^\n]*\nHint: [^\n]*--allow-remote[^\n]*\n$/)
    const v6 = await runCli(['dashboard', '--host', '::', '--port', '0'], {home})
    expect(v6.code).toBe(2)
  })

  it('with --allow-remote binds it, warns, and answers any Host name', async () => {
    const d = await startDashboard(['--host', '0.0.0.0', '--allow-remote', '--port', '0'], home)
    try {
      expect(d.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/)
      const port = new URL(d.url).port
      const r = await raw(`http://127.0.0.1:${port}/`, 'GET', {host: `miner.lan:${port}`})
      expect(r.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(d.stderr()).toMatch(/^Warning: the dashboard listens on 0\.0\.0\.0 without a login/m)
    } finally {
      d.child.kill('SIGTERM')
      expect((await d.exited).code).toBe(130)
    }
  })

  it('a port in use is one line with a hint (exit 2)', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as {port: number}).port
    try {
      const r = await runCli(['dashboard', '--port', String(port)], {home})
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`Error: the dashboard cannot listen on 127.0.0.1:${port} (EADDRINUSE)\nHint: pick a free port: --port 0 takes any free one\n`)
    } finally {
      taken.close()
    }
  })

  it('without a wallet or --operator: exit 5', async () => {
    const bare = makeHome()
    const r = await runCli(['dashboard', '--port', '0'], {home: {...bare, env: {...bare.env, UNET_CONFIG_DIR: home.configDir}}})
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^Error: no operator wallet on this machine to show\nHint: pass --operator/)
  })

  it('--fleet-file picks the fleet table’s hosts (the `fleet status --file` format); a bad line is exit 19 at start', async () => {
    const other = '0x' + 'ab'.repeat(20)
    const file = join(shots, 'hosts.txt')
    writeFileSync(file, `# the fleet\n${world.status.operator}\n\n${other}  # not ours\n`)
    const d = await startDashboard(['--port', '0', '--fleet-file', file], home)
    try {
      const served = (await (await fetch(new URL('/api/fleet', d.url))).json()) as FleetJson
      expect(served.selectors).toEqual({operators: [], payouts: [], addresses: [world.status.operator.toLowerCase(), other]})
      expect(served.hosts.map((h) => h.hostId)).toEqual([world.hostId])
      expect(served.unmatched).toEqual([other])
    } finally {
      d.child.kill('SIGTERM')
      expect((await d.exited).code).toBe(130)
    }
    writeFileSync(file, 'not-an-address\n')
    const bad = await runCli(['dashboard', '--port', '0', '--fleet-file', file], {home})
    expect(bad.code).toBe(19)
    expect(bad.stderr).toMatch(/^Error: [^\n]*hosts\.txt:1[^\n]*\n/)
  })

  it('keeps the last data on the page and says why when the chain cannot be read', async () => {
    expect((await runCli(['devnet', 'stop'], {home})).code).toBe(0)
    await world.page.waitForSelector('body[data-state="error"]', {timeout: 30_000})
    expect(await world.page.textContent('#error')).toMatch(/^cannot read the chain: .+/)
    expect(await world.page.$$('#chart svg rect.bar')).toHaveLength(world.history.total.epochs)
    const r = await fetch(new URL('/api/status', world.dash.url))
    expect(r.status).toBe(503)
    const body = (await r.json()) as {error: {code: string; exitCode: number; message: string}}
    expect(body.error.exitCode).toBe(8)
    expect(body.error.code).toBe('RPC_UNREACHABLE')
  })

  it('stops on SIGTERM with exit 130, even with the browser still connected, and frees the port', async () => {
    world.dash.child.kill('SIGTERM')
    const e = await world.dash.exited
    expect(e.code).toBe(130)
    expect(world.dash.stderr()).toMatch(/dashboard: stopped \(SIGTERM\)\n$/)
    expect(world.dash.stderr()).not.toMatch(/\n\s+at /)
    await expect(fetch(world.dash.url)).rejects.toThrow()
  })
})
