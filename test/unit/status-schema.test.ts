import {readFileSync} from 'node:fs'

import {Ajv2020} from 'ajv/dist/2020.js'
import {describe, expect, it} from 'vitest'

import type {LocalAgentStatus} from '../../src/agent/agent-status.js'
import type {JournalEntry} from '../../src/agent/outbox.js'
import {UPTIME_WINDOW, buildStatusReport, type StatusInputs, type StatusReport} from '../../src/miner/status-report.js'
import {DEVICE_KIND_NAMES, DEVICE_STATUS_NAMES} from '../../src/chain/artifacts.js'
import {HEARTBEAT_GAS_ESTIMATE as HEARTBEAT_GAS} from '../../src/chain/gas.js'
import type {HeartbeatRecord} from '../../src/chain/history.js'
import type {ChallengeState} from '../../src/chain/challenge.js'
import type {ChainStatus, DeviceStatusView} from '../../src/chain/status.js'
import {REWARD_TOKEN as TOKEN, formatUnits} from '../../src/util/units.js'
import type {NetworkProfile} from '../../src/config/schema.js'

const schema = JSON.parse(readFileSync(new URL('../../docs/status.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>
/** A value inside the schema by dotted path. */
const at = (path: string): unknown => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], schema)
const ajv = new Ajv2020({strict: true, allErrors: true})
const validate = ajv.compile(schema)

function expectValid(report: StatusReport): void {
  // Through JSON, exactly as `unet status --json` prints it (undefined keys vanish, bigints would throw).
  const printed = JSON.parse(JSON.stringify(report)) as unknown
  const ok = validate(printed)
  expect(ok, ajv.errorsText(validate.errors)).toBe(true)
}

const NOW = 1_767_000_000
const OPERATOR = '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b'
const PAYOUT = '0x1111111111111111111111111111111111111111'
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const RATE = 10n ** 15n
const id = (n: number) => '0x' + n.toString(16).padStart(64, '0')
const tx = (n: number) => '0x' + (0xabc000 + n).toString(16).padStart(64, '0')

function profile(name: string, allowEmulator: boolean): NetworkProfile {
  return {name, chainId: 31337, rpcUrls: ['http://127.0.0.1:8545'], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator}
}

function chain(devices: DeviceStatusView[], currentEpoch: bigint, allowEmulator = true): ChainStatus {
  return {
    chainId: 31337n,
    contract: CONTRACT,
    currentEpoch,
    epochBlocks: 30n,
    // the epoch ends at block 30·currentEpoch + 1 (genesis block 1), 15 blocks of 2 s from now
    epochEndBlock: 30n * currentEpoch + 1n,
    epochSeconds: 60n,
    epochEndsAt: BigInt(NOW + 30),
    rewardPerPowerEpoch: RATE,
    allowEmulator,
    verifier: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    devices,
  }
}

function device(over: Partial<DeviceStatusView> & Pick<DeviceStatusView, 'deviceId' | 'kind' | 'status'>): DeviceStatusView {
  const registered = over.status !== 'none'
  return {
    registered,
    approved: over.status === 'approved',
    operator: registered ? OPERATOR : undefined,
    power: 100n,
    accrued: 0n,
    claimable: 0n,
    claimed: 0n,
    ...over,
  }
}

function beats(hostId: string, epochs: number[]): HeartbeatRecord[] {
  return epochs.map((e, i) => ({hostId, epoch: BigInt(e), blockNumber: 100 + i, txHash: tx(e), devicesDigest: id(0)}))
}

function inputs(over: Partial<StatusInputs> & Pick<StatusInputs, 'chain'>): StatusInputs {
  const local: LocalAgentStatus = {running: false}
  return {profile: profile('devnet', true), operator: OPERATOR, payout: PAYOUT, history: new Map(), local, journal: [], challenges: [], now: NOW, ...over}
}

const gas = (balance: bigint, latestTimestamp = NOW - 2) => ({balance, maxFeePerGas: 10n ** 9n, latestTimestamp})

/** A local agent that is running (the explanations that do not depend on it stay alone). */
const RUNNING: LocalAgentStatus = {running: true, pid: 7, snapshot: {pid: 7, state: 'Confirmed', updatedAt: NOW * 1000}}

describe('docs/status.schema.json', () => {
  it("is a draft 2020-12 schema whose enums and limits are the code's", () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect([...(at('$defs.device.properties.kind.enum') as string[])].sort()).toEqual([...Object.values(DEVICE_KIND_NAMES), 'none'].sort())
    expect(at('$defs.device.properties.status.enum')).toEqual([...DEVICE_STATUS_NAMES])
    expect(at('properties.history.maxItems')).toBe(UPTIME_WINDOW)
    expect(at('$defs.device.properties.uptime.properties.window.maximum')).toBe(UPTIME_WINDOW)
    expect(at('properties.rewards.properties.symbol.const')).toBe(TOKEN.symbol)
    expect(at('properties.rewards.properties.decimals.const')).toBe(TOKEN.decimals)
  })

  it('rejects what the shape forbids (a number amount, an extra key, a missing key)', () => {
    const report = buildStatusReport(inputs({chain: chain([], 5n), gas: gas(10n ** 18n)}), formatUnits)
    const printed = JSON.parse(JSON.stringify(report)) as Record<string, Record<string, unknown>>
    expect(validate(printed)).toBe(true)
    expect(validate({...printed, rewards: {...printed.rewards, accrued: 5}})).toBe(false)
    expect(validate({...printed, extra: true})).toBe(false)
    const {explain: _explain, ...missing} = printed
    expect(validate(missing)).toBe(false)
    expect(validate({...printed, gas: {...printed.gas, balance: '-1'}})).toBe(false)
  })

  it('the epoch in blocks, with wall-time estimates', () => {
    const report = buildStatusReport(inputs({chain: chain([], 5n)}), formatUnits)
    expectValid(report)
    expect(report.epoch).toEqual({current: '5', blocks: '30', endsAtBlock: '151', seconds: 60, endsAt: NOW + 30})
    expect(validate({...JSON.parse(JSON.stringify(report)), epoch: {current: '5', seconds: 60, endsAt: NOW + 30}})).toBe(false)
  })

  it('open challenges against the host: listed with their deadline block and estimated time, explained; closed ones are not listed', () => {
    const host = id(0x66)
    const gpu = id(0x67)
    const hostDevice = device({deviceId: host, kind: 'host-tpm', status: 'approved', hostId: host, lastHeartbeatEpoch: 10n})
    const accel = device({deviceId: gpu, kind: 'p384', status: 'approved', hostId: host, lastHeartbeatEpoch: 10n})
    const ch = (n: number, over: Partial<ChallengeState>): ChallengeState => ({
      challengeId: id(0xc0 + n),
      hostId: host,
      deviceId: gpu,
      epoch: 9n,
      challenger: PAYOUT,
      deadline: 400n,
      status: 'open',
      evidenceDigest: id(0xd0 + n),
      nonce: id(0xe0 + n),
      ...over,
    })
    const challenges = [ch(1, {}), ch(2, {status: 'answered'}), ch(3, {status: 'slashed'}), ch(4, {epoch: 4n, deadline: 250n})]
    const base = {chain: chain([hostDevice, accel], 10n), history: new Map([[host, beats(host, [9, 10])]]), gas: gas(10n ** 18n), challenges}
    const running = buildStatusReport(
      inputs({...base, local: {running: true, pid: 7, snapshot: {pid: 7, state: 'Confirmed', updatedAt: NOW * 1000}}}),
      formatUnits,
    )
    expectValid(running)
    // the epoch ends at block 301 at NOW + 30, 2 s a block: block 400 is 99 blocks later
    expect(running.challenges).toEqual([
      {challengeId: id(0xc1), hostId: host, deviceId: gpu, epoch: '9', challenger: PAYOUT, deadline: '400', deadlineAt: NOW + 30 + 198},
      {challengeId: id(0xc4), hostId: host, deviceId: gpu, epoch: '4', challenger: PAYOUT, deadline: '250', deadlineAt: NOW + 30 - 102},
    ])
    const at = (t: number) => new Date(t * 1000).toISOString()
    expect(running.explain).toEqual([
      `challenge 0x00000000… against device 0x00000000… (epoch 9): open, the agent must answer it by block 400 (~${at(NOW + 228)})`,
      `challenge 0x00000000… against device 0x00000000… (epoch 4): unanswered past its deadline block 250 (~${at(NOW - 72)}); the host can be slashed`,
    ])
    const stopped = buildStatusReport(inputs({...base, challenges: [ch(1, {})]}), formatUnits)
    expectValid(stopped)
    expect(stopped.explain).toEqual([
      expect.stringMatching(/: open, the agent must answer it by block 400 \(~.*\); the agent is not running on this machine, so nobody will$/),
      expect.stringContaining('the heartbeat agent is not running on this machine'),
    ])
  })

  it('no devices and no wallet: valid; says to create a wallet and register', () => {
    const report = buildStatusReport(inputs({chain: chain([], 3n), operator: undefined, payout: undefined}), formatUnits)
    expectValid(report)
    expect(report).toMatchObject({operator: null, payout: null, gas: null, devices: [], history: []})
    expect(report.rewards).toMatchObject({accrued: '0', claimable: '0', claimed: '0', formatted: {accrued: '0'}})
    expect(report.explain).toEqual([
      expect.stringContaining('no operator wallet on this machine'),
      expect.stringContaining('no device is registered for this operator: run `unet register`'),
    ])
  })

  it('one approved device online with history: valid; uptime, per-epoch earnings, rewards and gas add up; nothing to explain', () => {
    const host = id(0x11)
    const credited = [3, 4, 5, 7, 8, 9, 10] // epoch 6 missed
    const d = device({
      deviceId: host,
      kind: 'host-tpm',
      status: 'approved',
      hostId: host,
      power: 100n,
      accrued: 100n * RATE * 7n,
      claimable: 100n * RATE * 5n,
      claimed: 100n * RATE * 2n,
      lastHeartbeatEpoch: 10n,
      lastHeartbeatBlock: 106n,
      lastHeartbeatTx: tx(10),
      lastHeartbeatTime: NOW - 20,
    })
    const report = buildStatusReport(
      inputs({
        chain: chain([d], 10n),
        history: new Map([[host, beats(host, credited)]]),
        gas: gas(10n ** 18n),
        local: {running: true, pid: 4242, snapshot: {pid: 4242, state: 'Confirmed', lastSuccessEpoch: '10', updatedAt: NOW * 1000}},
      }),
      formatUnits,
    )
    expectValid(report)
    expect(report.devices).toEqual([
      {
        deviceId: host,
        kind: 'host-tpm',
        status: 'approved',
        online: true,
        power: '100',
        expected: null,
        hostId: host,
        lastHeartbeat: {epoch: '10', time: NOW - 20, tx: tx(10)},
        uptime: {percent: 87.5, window: 8, credited: 7},
      },
    ])
    expect(report.rewards).toMatchObject({accrued: (700n * RATE).toString(), claimable: (500n * RATE).toString(), claimed: (200n * RATE).toString()})
    expect(report.rewards.formatted).toEqual({accrued: '0.7', claimable: '0.5', claimed: '0.2'})
    expect(report.history).toHaveLength(10)
    expect(report.history.filter((h) => h.credited).map((h) => Number(h.epoch))).toEqual(credited)
    expect(report.history.find((h) => h.epoch === '6')).toEqual({epoch: '6', credited: false, earned: '0'})
    expect(report.history.find((h) => h.epoch === '7')!.earned).toBe((100n * RATE).toString())
    const cost = HEARTBEAT_GAS * 10n ** 9n
    expect(report.gas).toEqual({
      balance: (10n ** 18n).toString(),
      formatted: '1',
      symbol: 'ETH',
      costPerHeartbeat: cost.toString(),
      runwayEpochs: Number(10n ** 18n / cost),
    })
    expect(report.agent).toEqual({running: true, pid: 4242, state: 'Confirmed', lastError: null, lastSuccessEpoch: '10'})
    expect(report.explain).toEqual([])
  })

  it("the power table's expected power beside the chain's; a difference is explained (another table approved it)", () => {
    const host = id(0x67)
    const d = device({deviceId: host, kind: 'host-tpm', status: 'approved', hostId: host, power: 100n, lastHeartbeatEpoch: 5n})
    const expected = new Map([[host, {power: 10n, model: 'host-tpm', note: 'host-tpm: 10, the TPM host baseline'}]])
    const base = {chain: chain([d], 5n), history: new Map([[host, beats(host, [4, 5])]]), gas: gas(10n ** 18n), local: RUNNING}
    const report = buildStatusReport(inputs({...base, expected}), formatUnits)
    expectValid(report)
    expect(report.devices[0]).toMatchObject({power: '100', expected: {power: '10', model: 'host-tpm', note: 'host-tpm: 10, the TPM host baseline'}})
    expect(report.explain).toEqual([
      `host-tpm ${host.slice(0, 10)}…: approved with power 100, this unet's power table gives 10 (host-tpm: 10, the TPM host baseline)`,
    ])
    const same = buildStatusReport(inputs({...base, expected: new Map([[host, {power: 100n, note: 'x'}]])}), formatUnits)
    expectValid(same)
    expect(same.devices[0]!.expected).toEqual({power: '100', model: null, note: 'x'})
    expect(same.explain).toEqual([])
  })

  it('every device online but the agent not running: explained, never "every device is earning"', () => {
    const host = id(0x66)
    const d = device({deviceId: host, kind: 'host-emulator', status: 'approved', hostId: host, lastHeartbeatEpoch: 5n})
    const base = {chain: chain([d], 5n), history: new Map([[host, beats(host, [4, 5])]]), gas: gas(10n ** 18n)}
    const stopped = buildStatusReport(inputs(base), formatUnits)
    expectValid(stopped)
    expect(stopped.devices[0]!.online).toBe(true)
    expect(stopped.explain).toEqual([
      expect.stringMatching(/^the heartbeat agent is not running on this machine: the devices online now earn no further epoch/),
    ])
    // the same chain with the agent running: nothing stands in the way
    expect(buildStatusReport(inputs({...base, local: RUNNING}), formatUnits).explain).toEqual([])
  })

  it('a pending device: valid; explained as waiting for the verifier', () => {
    const host = id(0x22)
    const d = device({deviceId: host, kind: 'host-tpm', status: 'pending', hostId: host})
    const report = buildStatusReport(inputs({chain: chain([d], 4n), gas: gas(10n ** 18n)}), formatUnits)
    expectValid(report)
    expect(report.devices[0]).toMatchObject({status: 'pending', online: false, lastHeartbeat: null, uptime: {percent: 0, window: 4, credited: 0}})
    expect(report.explain).toEqual([expect.stringMatching(/^host-tpm 0x00000000…: waiting for the verifier to approve the registration$/)])
    // not running is no reason while nothing is approved
    expect(report.explain.join('\n')).not.toMatch(/not running/)
  })

  it("a host whose accelerator is still pending: the host's rewards count, whichever device the chain lists first", () => {
    const host = id(0x33)
    const accel = device({deviceId: id(0x34), kind: 'p384', status: 'pending', hostId: host})
    const hostDevice = device({deviceId: host, kind: 'host-tpm', status: 'approved', hostId: host, claimable: 3n * RATE, claimed: RATE, lastHeartbeatEpoch: 6n})
    for (const devices of [
      [accel, hostDevice],
      [hostDevice, accel],
    ]) {
      const report = buildStatusReport(
        inputs({chain: chain(devices, 6n), history: new Map([[host, beats(host, [5, 6])]]), gas: gas(10n ** 18n), local: RUNNING}),
        formatUnits,
      )
      expectValid(report)
      expect(report.rewards).toMatchObject({claimable: (3n * RATE).toString(), claimed: RATE.toString(), accrued: (4n * RATE).toString()})
      expect(report.explain).toEqual([expect.stringContaining('p384 0x00000000…: waiting for the verifier')])
    }
  })

  it('an emulator device on a network that refuses the emulator, agent stopped, gas empty: valid; every reason given', () => {
    const host = id(0x44)
    const d = device({
      deviceId: host,
      kind: 'host-emulator',
      status: 'approved',
      hostId: host,
      lastHeartbeatEpoch: 2n,
      lastHeartbeatTx: tx(2),
      lastHeartbeatTime: NOW - 600,
    })
    const journal: JournalEntry[] = [
      {epoch: 8n, result: 'confirmed', txHash: tx(8), at: NOW * 1000 - 120_000},
      {epoch: 9n, result: 'failed', reason: 'quote: TPM_RC_LOCKOUT', at: NOW * 1000 - 60_000},
    ]
    const report = buildStatusReport(
      inputs({
        profile: profile('testnet', false),
        chain: chain([d], 10n, false),
        history: new Map([[host, beats(host, [1, 2])]]),
        gas: gas(0n),
        local: {running: false, pid: 999, snapshot: {pid: 999, state: 'Backoff', lastError: 'rpc: ECONNREFUSED', updatedAt: NOW * 1000}},
        journal,
      }),
      formatUnits,
    )
    expectValid(report)
    expect(report.network).toBe('testnet')
    expect(report.devices[0]).toMatchObject({
      online: false,
      lastHeartbeat: {epoch: '2', time: NOW - 600, tx: tx(2)},
      uptime: {window: 10, credited: 2, percent: 20},
    })
    expect(report.gas).toMatchObject({balance: '0', formatted: '0', runwayEpochs: 0})
    expect(report.agent).toEqual({running: false, pid: 999, state: 'Backoff', lastError: 'rpc: ECONNREFUSED', lastSuccessEpoch: null})
    expect(report.explain).toEqual([
      'host-emulator 0x00000000…: offline (last credited epoch 2, now 10); last journaled failure in epoch 9: quote: TPM_RC_LOCKOUT',
      'host-emulator 0x00000000…: emulator devices earn nothing on network "testnet"',
      expect.stringContaining('the heartbeat agent is not running on this machine'),
      "the agent's last error: rpc: ECONNREFUSED",
      `gas empty: the operator ${OPERATOR} cannot pay for a heartbeat; fund it`,
    ])
  })

  it('clock skew and low gas are explained; a devnet idle behind the clock is not skew', () => {
    const host = id(0x55)
    const d = device({deviceId: host, kind: 'host-tpm', status: 'approved', hostId: host, lastHeartbeatEpoch: 5n})
    const base = {chain: chain([d], 5n), history: new Map([[host, beats(host, [5])]]), local: RUNNING}
    const low = buildStatusReport(inputs({...base, profile: profile('testnet', false), gas: gas(HEARTBEAT_GAS * 10n ** 9n * 3n, NOW - 120)}), formatUnits)
    expectValid(low)
    expect(low.explain).toEqual([
      `gas low: about 3 heartbeats left; fund ${OPERATOR}`,
      "clock skew: this machine's clock is 120 s off the chain's latest block; fix NTP",
    ])
    const idleDevnet = buildStatusReport(inputs({...base, gas: gas(10n ** 18n, NOW - 120)}), formatUnits)
    expect(idleDevnet.explain).toEqual([])
    const ahead = buildStatusReport(inputs({...base, gas: gas(10n ** 18n, NOW + 120)}), formatUnits)
    expect(ahead.explain).toEqual(["clock skew: this machine's clock is -120 s off the chain's latest block; fix NTP"])
  })
})
