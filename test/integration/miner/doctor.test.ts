import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {DoctorReport} from '../../../src/miner/doctor.js'
import {HEARTBEAT_GAS_ESTIMATE} from '../../../src/chain/gas.js'
import {makeHome, runCli, type Home} from '../../helpers/cli.js'
import {startAnvil, type AnvilHandle} from '../../../src/chain/anvil.js'
import {jsonRpc} from '../../../src/chain/rpc.js'
import {swtpm} from '../../helpers/env.js'

/**
 * `unet doctor` as a subprocess against a real anvil of its own (the worker's shared one may have had
 * its clock moved forward by chain tests, which doctor rightly reports as skew) and this worker's swtpm
 * (needs `npm run build`).
 */
let anvil: AnvilHandle

const ADDR = (n: number) => '0x' + n.toString(16).padStart(40, '0')

const rpc = <T>(method: string, params: unknown[]): Promise<T> => jsonRpc<T>(anvil.rpcUrl, method, params, {allowNull: true})

function writeConfig(home: Home, config: Record<string, unknown>): void {
  mkdirSync(home.configDir, {recursive: true})
  writeFileSync(join(home.configDir, 'config.json'), JSON.stringify(config))
}

const byId = (r: DoctorReport) => Object.fromEntries(r.checks.map((c) => [c.id, c]))

describe('unet doctor (subprocess, real anvil + swtpm)', () => {
  afterAll(() => anvil?.stop())

  let home: Home
  let address: string
  let env: Record<string, string>
  let serviceDir: string

  beforeAll(async () => {
    anvil = await startAnvil()
    home = makeHome()
    writeConfig(home, {
      tcti: swtpm().tcti,
      networks: {devnet: {contracts: {registry: ADDR(1), heartbeat: ADDR(1), rewards: ADDR(1), token: ADDR(2)}, blockSeconds: 2}},
    })
    const created = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'doctor-test'}})
    expect(created.code, created.stderr).toBe(0)
    address = created.json<{address: string}>().address
    await rpc('anvil_setBalance', [address, '0x' + (10n ** 18n).toString(16)])
    const pw = join(home.configDir, 'keystore-password')
    writeFileSync(pw, 'doctor-test\n', {mode: 0o600})
    env = {UNET_PASSWORD_FILE: pw}
    serviceDir = join(home.dataDir, 'units')
    const installed = await runCli(['service', 'install', '--platform', 'systemd', '--dir', serviceDir, '--password-file', pw], {home})
    expect(installed.code, installed.stderr).toBe(0)
  })

  it('all prerequisites in place: exit 0, every check passes (NVML absent is only a warning)', async () => {
    const r = await runCli(['doctor', '--json', '--rpc-url', anvil.rpcUrl, '--service-dir', serviceDir, '--platform', 'systemd'], {home, env})
    const report = r.json<DoctorReport>()
    expect(r.code, JSON.stringify(report.checks.filter((c) => c.status === 'fail'))).toBe(0)
    const c = byId(report)
    for (const id of ['config', 'network', 'tss', 'tpm', 'wallet', 'keystore-mode', 'passphrase', 'keystore', 'rpc', 'chain-id', 'clock', 'gas', 'service'])
      expect(c[id]?.status, `${id}: ${c[id]?.detail}`).toBe('pass')
    expect(c.nvml?.status).toBe('warn')
    expect(report.ok).toBe(true)
    expect(c.tpm!.detail).toBe(`swtpm at 127.0.0.1:${swtpm().port} accepts connections`)
    expect(c['chain-id']!.detail).toBe('31337')
    expect(c.wallet!.detail).toContain(address)
    expect(c.keystore!.detail).toMatch(new RegExp(`\\.json decrypts to ${address}$`))
    // 1 ETH at anvil's gas price, at the shared per-heartbeat gas estimate
    const gasPrice = BigInt(await rpc<string>('eth_gasPrice', []))
    expect(c.gas!.detail).toContain(`about ${10n ** 18n / (HEARTBEAT_GAS_ESTIMATE * gasPrice)} heartbeats`)
  })

  it('failures: exit 21 (DOCTOR_FAILED), each with a hint — open keystore, wrong chain id, empty gas', async () => {
    const h2 = makeHome()
    writeConfig(h2, {
      tcti: swtpm().tcti,
      networks: {devnet: {chainId: 1, contracts: {registry: ADDR(1), heartbeat: ADDR(1), rewards: ADDR(1), token: ADDR(2)}}},
    })
    const created = await runCli(['wallet', 'create', '--json'], {home: h2, env: {UNET_PASSWORD: 'x'}})
    chmodSync(created.json<{path: string}>().path, 0o644)
    const r = await runCli(['doctor', '--json', '--rpc-url', anvil.rpcUrl, '--service-dir', join(h2.dataDir, 'none'), '--platform', 'systemd'], {home: h2})
    expect(r.code).toBe(21)
    const c = byId(r.json<DoctorReport>())
    expect(c['keystore-mode']).toMatchObject({status: 'fail', hint: expect.stringMatching(/^chmod 600 /)})
    expect(c['chain-id']).toMatchObject({status: 'fail', detail: `${anvil.rpcUrl} serves chain 31337, the profile "devnet" is chain 1`})
    expect(c.gas).toMatchObject({status: 'fail', hint: `send gas to ${created.json<{address: string}>().address}`})
    expect(c.service?.status).toBe('warn')
    expect(c.passphrase?.status).toBe('warn')
  })

  it('a truncated keystore fails doctor with the path and line:column (and heartbeat says the same); a wrong passphrase fails the decrypt', async () => {
    const h4 = makeHome()
    writeConfig(h4, {tcti: swtpm().tcti, networks: {devnet: {contracts: {registry: ADDR(1), heartbeat: ADDR(1), rewards: ADDR(1), token: ADDR(2)}}}})
    const created = await runCli(['wallet', 'create', '--json'], {home: h4, env: {UNET_PASSWORD: 'right'}})
    const {path} = created.json<{path: string}>()
    const wrong = await runCli(['doctor', '--json'], {home: h4, env: {UNET_PASSWORD: 'wrong'}})
    expect(byId(wrong.json<DoctorReport>()).keystore).toMatchObject({status: 'fail', detail: 'wrong passphrase for the operator keystore'})
    const noPassphrase = await runCli(['doctor', '--json'], {home: h4})
    expect(byId(noPassphrase.json<DoctorReport>()).keystore).toMatchObject({status: 'pass', detail: `${path} parses (not decrypted: no passphrase given)`})

    const text = readFileSync(path, 'utf8')
    writeFileSync(path, text.slice(0, Math.floor(text.length / 2)), {mode: 0o600})
    const r = await runCli(['doctor', '--json'], {home: h4, env: {UNET_PASSWORD: 'right'}})
    expect(r.code).toBe(21)
    const check = byId(r.json<DoctorReport>()).keystore
    expect(check).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`^keystore ${path}:1:\\d+: not valid JSON \\(`)),
      hint: expect.stringMatching(/backup/),
    })
    const hb = await runCli(['heartbeat', '--once', '--engine', 'emulator', '--rpc-url', anvil.rpcUrl], {home: h4, env: {UNET_PASSWORD: 'right'}})
    expect(hb.code).toBe(19)
    expect(hb.stderr).toMatch(new RegExp(`^Error: keystore ${path}:1:\\d+: not valid JSON`, 'm'))
  })

  it('an unreachable RPC and a broken config are reported, not crashed on (human output)', async () => {
    const r = await runCli(['doctor', '--rpc-url', 'http://127.0.0.1:59999'], {home, env})
    expect(r.code).toBe(21)
    expect(r.stdout).toMatch(/^FAIL {2}RPC reachable +http:\/\/127\.0\.0\.1:59999: ECONNREFUSED$/m)
    expect(r.stdout).toMatch(/^SKIP {2}chain id/m)
    expect(r.stdout).toMatch(/\d+ passed, \d+ warnings, \d+ failed/)

    const h3 = makeHome()
    mkdirSync(h3.configDir, {recursive: true})
    writeFileSync(join(h3.configDir, 'config.json'), '{"network": ')
    const b = await runCli(['doctor', '--json'], {home: h3})
    expect(b.code).toBe(21)
    expect(byId(b.json<DoctorReport>()).config).toMatchObject({status: 'fail', detail: expect.stringContaining('not valid JSON')})
  })
})
