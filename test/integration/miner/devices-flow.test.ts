import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {generateKeyPairSync} from 'node:crypto'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {JsonRpcProvider} from 'ethers'

import type {QuickstartResult} from '../../../src/commands/quickstart.js'
import {keepDeviceEvidence} from '../../../src/miner/attest-devices.js'
import type {StatusReport} from '../../../src/miner/status-report.js'
import {decodeEvidence, deviceIdOf, devicesDigest, evidenceDigestHex, type AcceleratorEvidence} from '../../../src/evidence/index.js'
import {rsaModulus, SOPHGO_REPORT_FORMAT} from '../../../src/hw/sophgo/verify-evidence.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {buildStubs, fixture, rigNvml, tempDir, writeConfig} from '../accelerators/stubs.js'
import {devnetDecisionsWhen} from '../../helpers/decisions.js'
import {makeHome, runCli, type Home} from '../../helpers/cli.js'
import {freePort} from '../../helpers/swtpm.js'

/**
 * A host (emulator engine) with one Sophgo chip (the stub reports a BM1684X chip id; the devnet catalogue
 * lists its key as a BM1684, and that is what its power follows) and an NVIDIA H100 (CC on), on a real devnet
 * (anvil + Poci + the devnet's verifier service) through the real CLI. The chip is the stub libbmlib.so,
 * which signs every challenge with the DEVNET ONLY stand-in chip key fixtures/sophgo-catalogue/devnet-chip0
 * (listed in the devnet's chip catalogue, so the verifier approves it; a random key would be refused as
 * "not listed"), found in the sysfs fixture tree at 0000:5e:00.0. The host registers first and the chip
 * only under the approved host (the contract reverts NotApproved otherwise). The
 * H100 is the stub libnvidia-ml.so.1 replaying nvtrust's recorded SPDM report: its nonce is the
 * recorded one, never our fresh challenge, so it must be refused before any transaction is sent.
 */
const RIG = fixture('sysfs/gpu-asic-rig')
const BDF_5E = 0x5e << 8
/** The DEVNET ONLY stand-in chip key the devnet catalogue lists (fixtures/sophgo-catalogue/PROVENANCE.md). */
const CHIP_KEY = fixture('sophgo-catalogue/devnet-chip0.key')
const CHIP_PUB = fixture('sophgo-catalogue/devnet-chip0.pem')
const CHIP_ID = bytesToHex(deviceIdOf(rsaModulus(readFileSync(CHIP_PUB, 'latin1'))))

interface RegisterJson {
  devices: Array<{
    deviceId: string
    regId?: string
    kind: string
    action: string
    status: string
    approved: boolean
    power: string
    hostId?: string
    reason?: string
  }>
  skipped?: Array<{device: string; reason: string}>
}

describe('host + Sophgo chip + recorded-report H100: register, heartbeat, status (subprocess CLI, real devnet, bmlib/NVML stubs)', () => {
  const home: Home = makeHome()
  let env: Record<string, string>
  const chipId = CHIP_ID
  let unlistedId: string
  let dir: string

  /**
   * One chip (bmlib chip id BM1684X) with the catalogued key (a BM1684 in the catalogue); `present: false` makes the library report no chip;
   * `unlisted` adds a BM1684 at 0000:3b:00.0 signing with a fresh key no catalogue lists.
   */
  function bmlibConfig(name: string, present: boolean, unlisted = false): string {
    if (!present) return writeConfig(dir, name, {device_count: 0, driver_version: (0 << 16) | (4 << 8) | 8})
    const second = {
      'chip1.chipid': 0x1684,
      'chip1.sn': 'HQDZW1TBCJCAJ0777',
      'chip1.domain_bdf': 0x3b << 8,
      'chip1.mem_total_mb': 10694,
      'chip1.p2': join(dir, 'p2_0'),
      'chip1.pubkey': join(dir, 'pubkey_1'),
      'chip1.key': join(dir, 'chip1.key'),
    }
    return writeConfig(dir, name, {
      ...(unlisted ? second : {}),
      device_count: unlisted ? 2 : 1,
      driver_version: (0 << 16) | (4 << 8) | 8,
      'chip0.chipid': 0x1686,
      'chip0.sn': 'HQDZW1TBCJCAJ0008',
      'chip0.domain_bdf': BDF_5E,
      'chip0.mem_total_mb': 10694,
      'chip0.mem_used_mb': 178,
      'chip0.tpu_util': 0,
      'chip0.p2': join(dir, 'p2_0'),
      'chip0.pubkey': CHIP_PUB,
      'chip0.key': CHIP_KEY,
    })
  }

  beforeAll(async () => {
    const stubs = buildStubs()
    const lib = stubs.bmlib
    dir = tempDir('unet-devflow-')
    writeFileSync(join(dir, 'p2_0'), Buffer.alloc(1680, 7))
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    writeFileSync(join(dir, 'chip1.key'), privateKey.export({type: 'pkcs8', format: 'pem'}))
    writeFileSync(join(dir, 'pubkey_1'), publicKey.export({type: 'pkcs1', format: 'pem'}))
    unlistedId = bytesToHex(deviceIdOf(rsaModulus(readFileSync(join(dir, 'pubkey_1'), 'latin1'))))
    env = {
      UNET_PASSWORD: 'devices-flow',
      UNET_ENGINE: 'emulator',
      UNET_SYSFS_ROOT: RIG,
      UNET_BMLIB_PATH: lib,
      UNET_BMLIB_STUB_CONFIG: bmlibConfig('bmlib.conf', true),
      UNET_NVML_PATH: stubs.nvml,
      UNET_NVML_STUB_CONFIG: writeConfig(dir, 'nvml.conf', rigNvml()),
    }
    const wallet = await runCli(['wallet', 'create', '--json'], {home, env})
    expect(wallet.code, wallet.stderr).toBe(0)
    const port = await freePort()
    const devnet = await runCli(['devnet', 'start', '--port', String(port), '--block-time', '1', '--epoch-seconds', '10', '--json'], {
      home,
      env,
      timeoutMs: 120_000,
    })
    expect(devnet.code, devnet.stdout + devnet.stderr).toBe(0)
  }, 180_000)

  afterAll(async () => {
    await runCli(['devnet', 'stop'], {home, env})
  })

  it('register: the host approved first, then the catalogued chip under it; an unlisted chip rejected with the Rejected reason; the H100 refused locally (stale nonce); devices without a key listed as skipped', async () => {
    const withUnlisted = {...env, UNET_BMLIB_STUB_CONFIG: bmlibConfig('bmlib-two.conf', true, true)}
    const r = await runCli(['register', '--json', '--wait', '60'], {home, env: withUnlisted, timeoutMs: 120_000})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const out = r.json<RegisterJson>()
    expect(out.devices).toHaveLength(4)
    const [host] = out.devices
    const byId = (id: string) => out.devices.find((d) => d.deviceId === id)
    expect(host).toMatchObject({
      kind: 'host-emulator',
      action: 'registered',
      status: 'approved',
      approved: true,
      power: '1',
      regId: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    })
    // power by the signed catalogue's model (BM1684: 17), not by the BM1684X chip id the driver (stub) reports
    expect(byId(chipId)).toMatchObject({kind: 'rsa2048', action: 'registered', status: 'approved', approved: true, power: '17', hostId: host!.deviceId})
    expect(byId(chipId)!.regId).not.toBe(host!.regId)
    // a chip no catalogue lists: registered (it signed its challenge), then rejected; the reason is the verifier's, from chain
    expect(byId(unlistedId)).toMatchObject({kind: 'rsa2048', action: 'registered', status: 'rejected', approved: false, power: '0'})
    expect(byId(unlistedId)!.reason).toMatch(new RegExp(`^rejected by the verifier: .*chip ${unlistedId} is not listed in the Sophgo chip catalogue`))
    // the recorded H100 report cannot answer a fresh challenge: refused locally with the reason, nothing sent
    const gpu = out.devices.find((d) => d.kind === 'p384')
    expect(gpu).toMatchObject({action: 'failed', status: 'none', approved: false})
    expect(gpu!.reason).toMatch(/report nonce [0-9a-f]{64} differs from the expected [0-9a-f]{64}/)
    expect(gpu!).not.toHaveProperty('txHash')
    // devices without their own key (RTX 4090 without CC, AMD, Habana, ...) are listed with the reason
    expect(out.skipped?.map((s) => s.device)).toEqual(expect.arrayContaining([expect.stringMatching(/RTX 4090/), expect.stringMatching(/Gaudi2/)]))

    // the verifier's decisions, as the devnet recorded them
    const decisions = await devnetDecisionsWhen<{deviceId: string; approve: boolean; kind: string; power: string; model?: string}>(home.dataDir, (all) =>
      [chipId, unlistedId].every((id) => all.some((d) => d.deviceId === id)),
    )
    expect(decisions.find((d) => d.deviceId === chipId)).toMatchObject({approve: true, kind: 'rsa2048', power: '17', model: 'Sophgo BM1684'})
    expect(decisions.find((d) => d.deviceId === unlistedId)).toMatchObject({approve: false, kind: 'rsa2048'})

    // re-running (the unlisted chip gone) is harmless: both reported as they are, nothing sent
    const again = await runCli(['register', '--json'], {home, env, timeoutMs: 120_000})
    expect(again.code, again.stderr).toBe(0)
    expect(again.json<RegisterJson>().devices.map((d) => [d.kind, d.action, d.approved])).toEqual([
      ['host-emulator', 'already-registered', true],
      ['p384', 'failed', false],
      ['rsa2048', 'already-registered', true],
    ])
  }, 240_000)

  it('heartbeat --once: confirmed with the chip committed and its RSA proof checked on chain; status lists both online', async () => {
    // --once, retried once if the 10-s epoch ended under the first try (a normal `missed`, journaled)
    let hb = await runCli(['heartbeat', '--once', '--json'], {home, env, timeoutMs: 120_000})
    if (hb.code !== 0 && /epoch ended before a heartbeat was confirmed/.test(hb.stdout))
      hb = await runCli(['heartbeat', '--once', '--json'], {home, env, timeoutMs: 120_000})
    expect(hb.code, hb.stdout + hb.stderr).toBe(0)
    const epochs = hb.json<{epochs: Array<{result: string; txHash?: string; reason?: string}>}>().epochs
    expect(
      epochs.map((e) => e.result),
      JSON.stringify(epochs),
    ).toEqual(['confirmed'])
    expect(hb.stderr).toMatch(/"accelerators":1[^\n]*"msg":"heartbeat sent"/)
    const confirmed = hb.json<{epochs: Array<{epoch: string; txHash: string}>}>().epochs[0]!

    // the chip's evidence of that epoch is kept for spot checks, and it is what the heartbeat committed on chain
    const kept = readdirSync(join(home.dataDir, 'evidence', chipId)).filter((f) => f.startsWith(`${confirmed.epoch}-`))
    expect(kept.length).toBeGreaterThan(0)
    const {rpcUrl} = JSON.parse(readFileSync(join(home.dataDir, 'devnet', 'state.json'), 'utf8')) as {rpcUrl: string}
    const provider = new JsonRpcProvider(rpcUrl)
    const receipt = await provider.getTransactionReceipt(confirmed.txHash)
    provider.destroy()
    const committed = '0x' + receipt!.logs.at(-1)!.data.slice(-64)
    const matching = kept.filter((f) => {
      const evidence = decodeEvidence(new Uint8Array(readFileSync(join(home.dataDir, 'evidence', chipId, f))))
      const digest = evidenceDigestHex(evidence)
      expect(f).toBe(`${confirmed.epoch}-${digest}.evidence`)
      expect(evidence.kind).toBe('sophgo')
      return bytesToHex(devicesDigest([{deviceId: chipId, evidenceDigest: digest}])) === committed
    })
    expect(matching).toHaveLength(1)

    const status = await runCli(['status', '--json'], {home, env})
    expect(status.code, status.stderr).toBe(0)
    const s = status.json<StatusReport>()
    const chip = s.devices.find((d) => d.deviceId === chipId)
    const host = s.devices.find((d) => d.deviceId !== chipId)
    expect(host).toMatchObject({kind: 'host-emulator', status: 'approved', online: true})
    expect(chip).toMatchObject({kind: 'rsa2048', status: 'approved', online: true, power: '17', hostId: host!.deviceId})
    // beside the chain's power, the table's for what the registration proves (the verifier's decision recomputed)
    expect(chip!.expected).toEqual({power: '17', model: 'Sophgo BM1684', note: 'Sophgo BM1684 (chip catalogue): 17 dense INT8 TOPS'})
    expect(host!.expected).toMatchObject({power: '1', model: 'host-emulator'})
    expect(s.devices).toHaveLength(2)

    // the registration evidence on chain names the chip key (what anyone re-checking the decision reads)
    const d = JSON.parse(
      readFileSync(join(home.dataDir, 'devnet', 'decisions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .find((l) => l.includes(chipId))!,
    ) as {evidenceDigest: string}
    expect(d.evidenceDigest).toMatch(/^0x[0-9a-f]{64}$/)
  }, 180_000)

  it('the chip attached on chain but gone locally: the heartbeat is not sent and the journal says why', async () => {
    const gone = {...env, UNET_BMLIB_STUB_CONFIG: bmlibConfig('bmlib-empty.conf', false)}
    // two epochs: the current one may already be credited by the previous test; the next one is not
    const hb = await runCli(['heartbeat', '--epochs', '2', '--json'], {home, env: gone, timeoutMs: 120_000})
    const text = hb.stdout + hb.stderr
    expect(text).toContain(`attached device ${chipId} (rsa2048) not found on this machine`)
    expect(text).toContain('DeviceSetMismatch')
    const journal = JSON.parse(readFileSync(join(home.dataDir, 'agent', 'journal.json'), 'utf8')) as
      {entries?: Array<{result: string; reason?: string}>} | Array<{result: string; reason?: string}>
    const rows = Array.isArray(journal) ? journal : (journal.entries ?? [])
    const why = rows.filter((r) => r.reason?.includes(`attached device ${chipId} (rsa2048) not found on this machine`))
    expect(why.length, JSON.stringify(rows)).toBeGreaterThan(0)
    expect(why.every((r) => r.result === 'failed' || r.result === 'missed')).toBe(true)
  }, 180_000)
})

describe('quickstart on a host with a Sophgo chip (subprocess CLI, bmlib stub)', () => {
  const home: Home = makeHome()

  afterAll(async () => {
    await runCli(['devnet', 'stop'], {home})
  })

  it('registers the chip with the host, heartbeats with it committed, reports it', async () => {
    const dir = tempDir('unet-devflow-qs-')
    writeFileSync(join(dir, 'p2_0'), Buffer.alloc(1680, 3))
    const chipId = CHIP_ID
    const env = {
      UNET_SYSFS_ROOT: RIG,
      UNET_BMLIB_PATH: buildStubs().bmlib,
      UNET_BMLIB_STUB_CONFIG: writeConfig(dir, 'bmlib.conf', {
        device_count: 1,
        driver_version: (0 << 16) | (4 << 8) | 8,
        'chip0.chipid': 0x1686,
        'chip0.sn': 'HQDZW1TBCJCAJ0009',
        'chip0.domain_bdf': BDF_5E,
        'chip0.mem_total_mb': 10694,
        'chip0.p2': join(dir, 'p2_0'),
        'chip0.pubkey': CHIP_PUB,
        'chip0.key': CHIP_KEY,
      }),
    }
    const port = await freePort()
    const qs = await runCli(['quickstart', '--epochs', '2', '--port', String(port), '--json'], {home, env, timeoutMs: 180_000})
    expect(qs.code, qs.stdout + qs.stderr).toBe(0)
    const r = qs.json<QuickstartResult>()
    expect(r.registration.approved).toBe(true)
    expect(r.accelerators).toEqual([
      expect.objectContaining({deviceId: chipId, kind: 'rsa2048', action: 'registered', approved: true, hostId: r.registration.deviceId}),
    ])
    expect(r.heartbeats.filter((h) => h.result === 'confirmed').length).toBeGreaterThan(0)
    expect(r.status.devices.find((d) => d.deviceId === chipId)).toMatchObject({status: 'approved', online: true})
  }, 240_000)
})

describe('keepDeviceEvidence', () => {
  it('keeps one file per (epoch, digest), readable back to the same digest, and prunes epochs past the window', () => {
    const dir = tempDir('unet-keep-')
    const id = '0x' + 'ab'.repeat(32)
    const evidenceOf = (n: number): AcceleratorEvidence => ({
      v: 1,
      kind: 'sophgo',
      device: {publicKey: new Uint8Array(256).fill(0x80 + n), certChain: []},
      nonce: {qualifyingData: new Uint8Array(32).fill(n), challenge: new Uint8Array(32).fill(n)},
      producedAt: 1_800_000_000 + n,
      report: {format: SOPHGO_REPORT_FORMAT, body: new Uint8Array(32).fill(n), signature: new Uint8Array(256).fill(n)},
    })
    const paths = [1, 2, 3, 4].map((e) => keepDeviceEvidence(dir, id, BigInt(e), evidenceOf(e), 2))
    expect(paths.map(existsSync)).toEqual([false, false, true, true])
    const back = decodeEvidence(new Uint8Array(readFileSync(paths[3]!)))
    expect(paths[3]!.endsWith(`4-${evidenceDigestHex(back)}.evidence`)).toBe(true)
    expect(evidenceDigestHex(back)).toBe(evidenceDigestHex(evidenceOf(4)))
  })
})
