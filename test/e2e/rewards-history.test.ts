import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {Contract, JsonRpcProvider} from 'ethers'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {loadArtifact} from '../../src/chain/artifacts.js'
import {BIN, makeHome, runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'

interface HistoryJson {
  operator: string
  rows: Array<{epoch: string; block: number; date: string; hostId: string; deviceId: string; role: string; power: string; reward: string; tx: string}>
  total: {reward: string; epochs: number}
  scan: {head: number; cachedTo: number; scannedFrom: number}
}

/** CSV text → one record per row, keyed by the header. */
function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n')
  const keys = header!.split(',')
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i]!, v])))
}

/** Runs the CLI under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function runOnTty(args: string[], env: Record<string, string>): Promise<string> {
  // a pty nobody sized has 0 columns: size it like a terminal window
  const command = 'stty cols 120 rows 40; ' + [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: {PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', ...env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
    child.stdin.end()
  })
}

/** quickstart --epochs 3 on a real devnet, then `unet rewards history` read against the chain's own figures. */
describe('rewards history on the devnet (subprocess, real chain)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  let rpcUrl: string
  let poci: Contract
  let provider: JsonRpcProvider
  let hostId: string
  let confirmed: string[]

  beforeAll(async () => {
    const qs = await runCli(['quickstart', '--epochs', '3', '--port', String(devnet.port), '--json'], {home, timeoutMs: 240_000})
    expect(qs.code, qs.stderr).toBe(0)
    const result = qs.json<{
      devnet: {rpcUrl: string; contracts: {registry: string}}
      registration: {deviceId: string}
      heartbeats: Array<{epoch: string; result: string}>
    }>()
    rpcUrl = result.devnet.rpcUrl
    hostId = result.registration.deviceId.toLowerCase()
    confirmed = result.heartbeats.filter((h) => h.result === 'confirmed').map((h) => h.epoch)
    provider = new JsonRpcProvider(rpcUrl, undefined, {staticNetwork: true})
    poci = new Contract(result.devnet.contracts.registry, loadArtifact('Poci').abi as never, provider)
  }, 300_000)

  afterAll(() => {
    provider?.destroy()
  })

  it('--csv lists each credited epoch with the reward the chain credited for it', async () => {
    const r = await runCli(['rewards', 'history', '--csv'], {home})
    expect(r.code, r.stderr).toBe(0)
    const rows = parseCsv(r.stdout)
    expect(Object.keys(rows[0]!)).toEqual(['epoch', 'block', 'date', 'host', 'device', 'role', 'kind', 'power', 'reward_unc', 'reward_wei', 'tx'])
    expect(rows.map((x) => x.epoch)).toEqual(confirmed)
    // the chain's own figure per epoch: hostInfo's accrued just after the heartbeat's block minus just before it
    const beats = await poci.queryFilter(poci.filters.Heartbeat!(hostId))
    expect(beats.map((b) => String((b as unknown as {args: unknown[]}).args[1]))).toEqual(confirmed)
    for (const b of beats) {
      const row = rows.find((x) => x.tx === b.transactionHash)!
      expect(row, b.transactionHash).toBeDefined()
      const before = (await poci.getFunction('hostInfo').staticCall(hostId, {blockTag: b.blockNumber - 1})) as unknown[]
      const after = (await poci.getFunction('hostInfo').staticCall(hostId, {blockTag: b.blockNumber})) as unknown[]
      expect(BigInt(row.reward_wei!)).toBe((after[7] as bigint) - (before[7] as bigint))
      expect(Number(row.block)).toBe(b.blockNumber)
      expect(row.date).toBe(new Date((await provider.getBlock(b.blockNumber))!.timestamp * 1000).toISOString().replace('.000Z', 'Z'))
      expect(row.device).toBe(hostId)
      expect(row.reward_unc).toMatch(/^\d+(\.\d+)?$/)
    }
    // and the total is what the host holds: accrued (nothing claimed yet)
    const now = (await poci.getFunction('hostInfo').staticCall(hostId)) as unknown[]
    expect(rows.reduce((s, x) => s + BigInt(x.reward_wei!), 0n)).toBe((now[7] as bigint) + (now[8] as bigint))
  })

  it('the second run reads the scanned blocks from the cache and gives the same rows', async () => {
    const first = await runCli(['rewards', 'history', '--json'], {home})
    expect(first.code, first.stderr).toBe(0)
    const second = await runCli(['rewards', 'history', '--json'], {home})
    const a = first.json<HistoryJson>()
    const b = second.json<HistoryJson>()
    expect(b.rows).toEqual(a.rows)
    expect(b.scan.cachedTo).toBeGreaterThan(0)
    expect(b.scan.scannedFrom).toBe(b.scan.cachedTo + 1)
    expect(readdirSync(join(home.cacheDir, 'chain-events'))).toHaveLength(1)
  })

  it('filters: --device, --since / --until, and one-line errors for bad values', async () => {
    const all = (await runCli(['rewards', 'history', '--json'], {home})).json<HistoryJson>()
    const host = await runCli(['rewards', 'history', '--device', hostId, '--json'], {home})
    expect(host.json<HistoryJson>().rows).toEqual(all.rows)
    const other = await runCli(['rewards', 'history', '--device', '0x' + '1'.repeat(64), '--json'], {home})
    expect(other.json<HistoryJson>().rows).toEqual([])
    const second = all.rows[1]!
    const ranged = await runCli(['rewards', 'history', '--since', second.date, '--until', all.rows[2]!.date, '--json'], {home})
    expect(ranged.json<HistoryJson>().rows.map((x) => x.epoch)).toEqual([second.epoch])
    const future = await runCli(['rewards', 'history', '--since', '2999-01-01'], {home})
    expect(future.code).toBe(0)
    expect(future.stdout).toMatch(/no credited epochs in that time range/)

    const bad = await runCli(['rewards', 'history', '--since', '2026-02-30'], {home})
    expect(bad.code).toBe(19)
    expect(bad.stderr).toMatch(/^Error: --since is not a date: "2026-02-30"\nHint: /)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
    const backwards = await runCli(['rewards', 'history', '--since', '2026-12-02', '--until', '2026-12-01'], {home})
    expect(backwards.code).toBe(19)
    const badDevice = await runCli(['rewards', 'history', '--device', 'gpu0'], {home})
    expect(badDevice.code).toBe(19)
    expect(badDevice.stderr).toMatch(/^Error: --device is not a device id/)
    const bare = makeHome()
    const noWallet = await runCli(['rewards', 'history'], {home: {...bare, env: {...bare.env, UNET_CONFIG_DIR: home.configDir}}})
    expect(noWallet.code).toBe(5)
    expect(noWallet.stderr).toMatch(/Hint: pass --operator/)
  })

  it('a long scan shows progress on a terminal only, never in piped output', async () => {
    await provider.send('anvil_mine', ['0x64']) // 100 more blocks: a first scan is long, a warm cache's tail is not
    const piped = await runCli(['rewards', 'history'], {home: {...home, env: {...home.env, UNET_CACHE_DIR: join(home.cacheDir, 'piped')}}})
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stderr).not.toMatch(/scanning/)
    expect(piped.stdout).toMatch(/total [0-9.]+ UNC over 3 credited epoch/)
    const tty = await runOnTty(['rewards', 'history'], {...home.env, UNET_CACHE_DIR: join(home.cacheDir, 'tty')})
    expect(tty).toMatch(/scanning \d+ blocks for reward events|scanning blocks for reward events: \d+\/\d+/)
    expect(tty).toMatch(/total [0-9.]+ UNC over 3 credited epoch/)
    // the same terminal with the cache now warm: nothing to show
    const warm = await runOnTty(['rewards', 'history'], {...home.env, UNET_CACHE_DIR: join(home.cacheDir, 'tty')})
    expect(warm).not.toMatch(/scanning/)
    expect(warm).toMatch(/total [0-9.]+ UNC over 3 credited epoch/)
  }, 180_000)

  it('a reset chain (same chain id and contract address, new genesis) never reuses the cache', async () => {
    const before = (await runCli(['rewards', 'history', '--json'], {home})).json<HistoryJson>()
    expect(before.rows.length).toBe(3)
    expect((await runCli(['devnet', 'stop'], {home})).code).toBe(0)
    const started = await runCli(['devnet', 'start', '--fresh', '--port', String(devnet.port), '--json'], {home, timeoutMs: 120_000})
    expect(started.code, started.stderr).toBe(0)
    expect(started.json<{contracts: {registry: string}}>().contracts.registry.toLowerCase()).toBe((await poci.getAddress()).toLowerCase())
    await provider.send('anvil_mine', ['0x20']) // past the finality depth, so the new chain's scan is cached too
    const after = await runCli(['rewards', 'history', '--json', '--operator', before.operator], {home})
    expect(after.code, after.stderr).toBe(0)
    expect(after.json<HistoryJson>().rows).toEqual([])
    const files = readdirSync(join(home.cacheDir, 'chain-events')).filter((f) => f.endsWith('.json'))
    expect(files).toHaveLength(2)
    // each file names its own deployment
    const keys = files.map((f) => (JSON.parse(readFileSync(join(home.cacheDir, 'chain-events', f), 'utf8')) as {key: string}).key)
    expect(new Set(keys).size).toBe(2)
  })
})
