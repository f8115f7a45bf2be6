import {spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Ajv2020} from 'ajv/dist/2020.js'
import {Contract, JsonRpcProvider} from 'ethers'
import {describe, expect, it} from 'vitest'

import {loadArtifact} from '../../src/chain/artifacts.js'
import type {FleetReport} from '../../src/insight/fleet.js'
import {buildStubs, fixture, rigNvml, tempDir, writeConfig} from '../integration/accelerators/stubs.js'
import {BIN, makeHome, runCli, type CliResult, type Home} from '../helpers/cli.js'
import {devnetSuite, type DevnetSuite} from '../helpers/devnet-suite.js'
import {suiteWorld} from '../helpers/suite-world.js'
import {until} from '../helpers/until.js'

const schema = JSON.parse(readFileSync(new URL('../../docs/fleet-status.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>
const ajv = new Ajv2020({strict: true, allErrors: true})
const validate = ajv.compile(schema)

interface RegisterJson {
  devices: Array<{deviceId: string; kind: string; status: string; approved: boolean; power: string; hostId?: string}>
}

/** heartbeat --once, retried once when the epoch ended under the first try (a normal `missed`). */
async function heartbeatOnce(home: Home, env: Record<string, string>): Promise<CliResult> {
  let hb = await runCli(['heartbeat', '--once', '--json'], {home, env, timeoutMs: 120_000})
  if (hb.code !== 0 && /epoch ended before a heartbeat was confirmed/.test(hb.stdout))
    hb = await runCli(['heartbeat', '--once', '--json'], {home, env, timeoutMs: 120_000})
  return hb
}

/** Host A's machine: the emulator engine, a GPU + ASIC rig's sysfs, its Sophgo chip through the bmlib stub and the NVML stub. */
function hostAEnv(): Record<string, string> {
  const stubs = buildStubs()
  const dir = tempDir('unet-fleet-')
  writeFileSync(join(dir, 'p2_0'), Buffer.alloc(1680, 7))
  return {
    UNET_PASSWORD: 'fleet-a',
    UNET_ENGINE: 'emulator',
    UNET_SYSFS_ROOT: fixture('sysfs/gpu-asic-rig'),
    UNET_BMLIB_PATH: stubs.bmlib,
    UNET_BMLIB_STUB_CONFIG: writeConfig(dir, 'bmlib.conf', {
      device_count: 1,
      driver_version: (0 << 16) | (4 << 8) | 8,
      'chip0.chipid': 0x1686,
      'chip0.sn': 'HQDZW1TBCJCAJ0008',
      'chip0.domain_bdf': 0x5e << 8,
      'chip0.mem_total_mb': 10694,
      'chip0.mem_used_mb': 178,
      'chip0.tpu_util': 0,
      'chip0.p2': join(dir, 'p2_0'),
      'chip0.pubkey': fixture('sophgo-catalogue/devnet-chip0.pem'),
      'chip0.key': fixture('sophgo-catalogue/devnet-chip0.key'),
    }),
    UNET_NVML_PATH: stubs.nvml,
    UNET_NVML_STUB_CONFIG: writeConfig(dir, 'nvml.conf', rigNvml()),
  }
}

/**
 * The suite's two hosts on the devnet that A starts (`devnet start --port`): both registered, B credited
 * once, and A's agent left running until A is credited two epochs past B. What it started is stopped
 * again if a step fails.
 */
async function startFleet(devnet: DevnetSuite) {
  const a = devnet.home
  const b = makeHome()
  const envA = hostAEnv()
  const envB = {UNET_PASSWORD: 'fleet-b', UNET_ENGINE: 'emulator', UNET_SYSFS_ROOT: mkdtempSync(join(tmpdir(), 'unet-sysfs-'))}
  const walletA = await runCli(['wallet', 'create', '--json'], {home: a, env: envA})
  expect(walletA.code, walletA.stderr).toBe(0)
  const operatorA = walletA.json<{address: string}>().address
  const start = await runCli(['devnet', 'start', '--port', String(devnet.port), '--block-time', '1', '--epoch-seconds', '6', '--json'], {
    home: a,
    env: envA,
    timeoutMs: 120_000,
  })
  expect(start.code, start.stdout + start.stderr).toBe(0)
  const started = start.json<{rpcUrl: string; contracts: {registry: string}}>()
  const provider = new JsonRpcProvider(started.rpcUrl, undefined, {staticNetwork: true})
  let agentA: ChildProcess | undefined
  try {
    const poci = new Contract(started.contracts.registry, loadArtifact('Poci').abi as never, provider)

    // B: another machine on the same devnet, its own wallet (funded here, as a faucet would) and the payout of A
    const walletB = await runCli(['wallet', 'create', '--json'], {home: b, env: envB})
    expect(walletB.code, walletB.stderr).toBe(0)
    const operatorB = walletB.json<{address: string}>().address
    mkdirSync(b.configDir, {recursive: true})
    copyFileSync(join(a.configDir, 'config.json'), join(b.configDir, 'config.json'))
    expect((await runCli(['config', 'set', 'payout', operatorA], {home: b, env: envB})).code).toBe(0)
    await provider.send('anvil_setBalance', [operatorB, '0x' + (10n ** 20n).toString(16)])

    const regA = await runCli(['register', '--json', '--wait', '60'], {home: a, env: envA, timeoutMs: 120_000})
    expect(regA.code, regA.stdout + regA.stderr).toBe(0)
    const devicesA = regA.json<RegisterJson>().devices
    const hostA = devicesA[0]!.deviceId.toLowerCase()
    const chip = devicesA.find((d) => d.kind === 'rsa2048')!
    expect(chip).toMatchObject({approved: true, power: '17'})
    const regB = await runCli(['register', '--json', '--wait', '60'], {home: b, env: envB, timeoutMs: 120_000})
    expect(regB.code, regB.stdout + regB.stderr).toBe(0)
    const hostB = regB.json<RegisterJson>().devices[0]!.deviceId.toLowerCase()
    expect(regB.json<RegisterJson>().devices).toHaveLength(1)

    // B is credited once, then stops; A's agent runs on (as a miner's service would) until it is two epochs past B
    const hbB = await heartbeatOnce(b, envB)
    expect(hbB.code, hbB.stdout + hbB.stderr).toBe(0)
    const agent = spawn(process.execPath, [BIN, 'heartbeat'], {env: {...process.env, ...a.env, ...envA}, stdio: ['ignore', 'ignore', 'pipe']})
    agentA = agent
    let log = ''
    agent.stderr!.on('data', (c: Buffer) => (log += c.toString()))
    const lastEpoch = async (hostId: string) => ((await poci.getFunction('hostInfo').staticCall(hostId)) as unknown[])[5] as bigint
    const lastB = await lastEpoch(hostB)
    await until(
      () => `host A credited two epochs past B:\n${log.slice(-3000)}`,
      async () => {
        if ((await lastEpoch(hostA)) >= lastB + 2n) return true
        if (agent.exitCode !== null) throw new Error(`host A's agent exited (${agent.exitCode}) before it was credited two epochs past B:\n${log.slice(-3000)}`)
        return undefined
      },
      {timeoutMs: 120_000, everyMs: 500},
    )
    return {a, b, envB, provider, poci, operatorA, operatorB, hostA, hostB, agentA}
  } catch (e) {
    await stopFleet({provider, agentA})
    throw e
  }
}

/** Stops A's agent (SIGTERM, as its service would be stopped) and closes the ethers provider. */
async function stopFleet({provider, agentA}: {provider: JsonRpcProvider; agentA?: ChildProcess}): Promise<void> {
  if (agentA && agentA.exitCode === null) {
    agentA.kill('SIGTERM')
    await new Promise((r) => agentA.once('close', r))
  }
  provider.destroy()
}

/**
 * Two hosts of two operators on one real devnet, paying one payout address: host A (emulator engine +
 * the catalogued Sophgo chip through the bmlib stub: power 1 + 17) keeps heartbeating, host B (emulator,
 * power 1) is credited once and then misses epochs. `unet fleet status` must list B first (offline) and
 * A online, and every figure must be what the contract itself says, read here with ethers directly.
 */
describe('fleet status on the devnet: two operators, one payout, one host missing epochs (subprocess CLI, real chain)', () => {
  const devnet = devnetSuite()
  const fleet = suiteWorld(() => startFleet(devnet), stopFleet, 420_000)

  /** What the contract says at `block`, read with ethers alone. */
  async function chainView(hostId: string, block: number) {
    const {poci} = fleet
    const view = (name: string, ...args: unknown[]) => poci.getFunction(name).staticCall(...args, {blockTag: block}) as Promise<unknown[]>
    const current = (await poci.getFunction('currentEpoch').staticCall({blockTag: block})) as bigint
    const info = await view('hostInfo', hostId)
    const approvals = await poci.queryFilter(poci.filters.Approved!(null, null, hostId), 0, block)
    let power = 0n
    for (const e of approvals) {
      const d = await view('deviceInfo', (e as unknown as {args: unknown[]}).args[1])
      if (d[2] === 2n) power += d[3] as bigint
    }
    const beats = await poci.queryFilter(poci.filters.Heartbeat!(hostId), 0, block)
    const hostApproval = approvals.find((e) => String((e as unknown as {args: unknown[]}).args[1]).toLowerCase() === hostId)!
    const genesis = (await poci.getFunction('genesisBlock').staticCall()) as bigint
    const epochBlocks = (await poci.getFunction('epochBlocks').staticCall()) as bigint
    const approvedEpoch = (BigInt(hostApproval.blockNumber) - genesis) / epochBlocks + 1n
    return {
      current,
      lastEpoch: info[5] as bigint,
      claimable: info[7] as bigint,
      claimed: info[8] as bigint,
      power,
      devices: approvals.length,
      credited: beats.map((e) => (e as unknown as {args: unknown[]}).args[1] as bigint),
      approvedEpoch,
    }
  }

  it('--payout: both hosts, the one missing epochs first; online, power, claimable and uptime are the chain’s', async () => {
    const r = await runCli(['fleet', 'status', '--payout', fleet.operatorA, '--json'], {home: fleet.b})
    expect(r.code, r.stderr).toBe(0)
    const f = r.json<FleetReport>()
    expect(validate(f), ajv.errorsText(validate.errors)).toBe(true)
    expect(f.hosts.map((h) => h.hostId)).toEqual([fleet.hostB, fleet.hostA])
    expect(f.hosts.map((h) => h.online)).toEqual([false, true])
    expect(f.hosts.map((h) => h.operator)).toEqual([fleet.operatorB, fleet.operatorA])
    expect(f.hosts.every((h) => h.payout === fleet.operatorA)).toBe(true)
    expect(f.unmatched).toEqual([])

    for (const row of f.hosts) {
      const c = await chainView(row.hostId, f.head)
      expect(f.epoch.current).toBe(c.current.toString())
      expect(row.online).toBe(c.lastEpoch > 0n && c.lastEpoch + 1n >= c.current)
      expect(row.lastCreditedEpoch).toBe(c.lastEpoch.toString())
      expect(row.power).toBe(c.power.toString())
      expect(row.rewards.claimable).toBe(c.claimable.toString())
      expect(row.rewards.accrued).toBe((c.claimable + c.claimed).toString())
      expect(row.devices.total).toBe(c.devices)
      expect(row.approvedEpoch).toBe(c.approvedEpoch.toString())
      // uptime: credited epochs from the first epoch after the approval up to the current one
      const from = c.approvedEpoch + 1n
      const span = Number(c.current - from + 1n)
      const credited = new Set(c.credited.filter((e) => e >= from)).size
      expect(row.uptime).toEqual({percent: Math.round((credited / span) * 1000) / 10, window: span, credited})
    }
    const [rowB, rowA] = f.hosts
    expect(rowA!.power).toBe('18')
    expect(rowA!.devices).toEqual({online: 2, total: 2})
    expect(rowB!.power).toBe('1')
    expect(rowB!.devices).toEqual({online: 0, total: 1})
    expect(BigInt(rowA!.rewards.claimable)).toBeGreaterThan(BigInt(rowB!.rewards.claimable))
    expect(f.totals).toMatchObject({hosts: 2, online: 1, power: '19'})
    expect(BigInt(f.totals.claimable)).toBe(BigInt(rowA!.rewards.claimable) + BigInt(rowB!.rewards.claimable))
  })

  it('--operator selects only that operator’s host (repeatable); --file with comments selects by operator or payout', async () => {
    const onlyB = (await runCli(['fleet', 'status', '--operator', fleet.operatorB, '--json'], {home: fleet.a})).json<FleetReport>()
    expect(onlyB.hosts.map((h) => h.hostId)).toEqual([fleet.hostB])
    const both = (
      await runCli(['fleet', 'status', '--operator', fleet.operatorA.toLowerCase(), '--operator', fleet.operatorB, '--json'], {home: fleet.a})
    ).json<FleetReport>()
    expect(both.hosts.map((h) => [h.hostId, h.online])).toEqual([
      [fleet.hostB, false],
      [fleet.hostA, true],
    ])

    const list = join(tempDir('unet-fleet-list-'), 'hosts.txt')
    writeFileSync(list, `# the fleet\n${fleet.operatorB}  # rack 2\n\n${fleet.operatorA.toLowerCase()}\n`)
    const byFile = (await runCli(['fleet', 'status', '--file', list, '--json'], {home: fleet.a})).json<FleetReport>()
    expect(byFile.selectors).toEqual({operators: [], payouts: [], addresses: [fleet.operatorB.toLowerCase(), fleet.operatorA.toLowerCase()]})
    expect(byFile.hosts.map((h) => [h.hostId, h.online])).toEqual([
      [fleet.hostB, false],
      [fleet.hostA, true],
    ])

    // an address with no host: named in a warning and in `unmatched`, the rest still shown
    const stranger = '0x00000000000000000000000000000000000000a1'
    const mixed = await runCli(['fleet', 'status', '--payout', stranger, '--operator', fleet.operatorB, '--json'], {home: fleet.a})
    expect(mixed.code, mixed.stderr).toBe(0)
    expect(mixed.json<FleetReport>().unmatched).toEqual([stranger])
    expect(mixed.stderr).toMatch(new RegExp(`^Warning: no approved host has ${stranger} as its operator or payout$`, 'm'))
  })

  it('the table: one line per host, worst first, offline marked; piped output has no colour', async () => {
    const r = await runCli(['fleet', 'status', '--payout', fleet.operatorA], {home: fleet.b})
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    const iB = lines.findIndex((l) => l.includes(fleet.hostB.slice(0, 12)))
    const iA = lines.findIndex((l) => l.includes(fleet.hostA.slice(0, 12)))
    expect(iB).toBeGreaterThan(0)
    expect(iA).toBe(iB + 1)
    expect(lines[iB]).toMatch(/^○ offline 0x/)
    expect(lines[iA]).toMatch(/^● online {2}0x/)
    expect(lines[iA]).toMatch(/ 2\/2 .* 18 /)
    expect(r.stdout).toMatch(/^chain 31337 {2}epoch \d+ {2}2 host\(s\), 1 online {2}\(worst first\)$/m)
    expect(r.stdout).toMatch(/^total {4}power 19 {2}claimable [0-9.]+ UNC/m)
    expect(r.stdout).not.toMatch(/\x1b\[/)
  })

  it('a claim moves the claimable amount to claimed: the row follows the chain, accrued unchanged', async () => {
    const before = (await runCli(['fleet', 'status', '--operator', fleet.operatorB, '--json'], {home: fleet.a})).json<FleetReport>().hosts[0]!
    expect(BigInt(before.rewards.claimable)).toBeGreaterThan(0n)
    const claim = await runCli(['rewards', 'claim', '--json'], {home: fleet.b, env: fleet.envB, timeoutMs: 120_000})
    expect(claim.code, claim.stdout + claim.stderr).toBe(0)
    const paid = claim.json<{claims: Array<{hostId: string; amount: string}>}>().claims.find((c) => c.hostId.toLowerCase() === fleet.hostB)!
    expect(paid.amount).toBe(before.rewards.claimable)
    const f = (await runCli(['fleet', 'status', '--payout', fleet.operatorA, '--json'], {home: fleet.a})).json<FleetReport>()
    const after = f.hosts.find((h) => h.hostId === fleet.hostB)!
    expect(after.rewards).toMatchObject({claimable: '0', claimed: paid.amount, accrued: before.rewards.accrued})
    const c = await chainView(fleet.hostB, f.head)
    expect(after.rewards.claimed).toBe(c.claimed.toString())
    // still offline, so still first
    expect(f.hosts[0]!.hostId).toBe(fleet.hostB)
  })

  it('bad selectors: one line, a hint, the documented exit code, no stack', async () => {
    const none = await runCli(['fleet', 'status'], {home: fleet.a})
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^Error: no hosts selected: give --operator, --payout or --file\nHint: /)
    const bad = await runCli(['fleet', 'status', '--payout', 'not-an-address'], {home: fleet.a})
    expect(bad.code).toBe(19)
    expect(bad.stderr).toMatch(/^Error: --payout is not an address: "not-an-address"\nHint: expected 0x followed by 40 hex digits\n$/)
    const list = join(tempDir('unet-fleet-list-'), 'bad.txt')
    writeFileSync(list, `${fleet.operatorA}\n0xdead\n`)
    const badLine = await runCli(['fleet', 'status', '--file', list, '--json'], {home: fleet.a})
    expect(badLine.code).toBe(19)
    expect(badLine.json<{error: {message: string}}>().error.message).toBe(`${list}:2 is not an address: "0xdead"`)
    for (const r of [none, bad]) expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
