import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {jsonRpc} from '../../src/chain/rpc.js'
import {BIN, runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'

/**
 * Issue 12's two restart sequences, as a user runs them: every step a real `bin/run.js` subprocess,
 * the chain a real anvil under `unet devnet`. (a) quickstart → devnet stop → devnet start keeps the
 * chain (registrations, rewards) → devnet start --fresh → quickstart --epochs 1; (b) the devnet
 * SIGKILLed between "heartbeat sent" and "confirmed" under a running agent, then restarted. Nothing
 * is reported confirmed that this chain has no receipt for, the next epoch is credited on the chain,
 * `heartbeat --once` ends within its epoch, and every exit code is docs/exit-codes.md's.
 */

const EPOCH_SECONDS = 6

interface StatusJson {
  devices: Array<{deviceId: string; status: string; lastHeartbeat: {epoch: string; tx: string} | null}>
  rewards: {accrued: string}
  agent: {lastSuccessEpoch: string | null}
}
interface DevnetJson {
  running?: boolean
  restored: boolean
  genesisHash: string
  rpcUrl: string
  pid: number
  epochBlocks: number
}
interface QuickstartJson {
  devnet: {restored: boolean; alreadyRunning: boolean}
  registration: {approved: boolean; action?: string}
  heartbeats: Array<{epoch: string; result: string; txHash?: string}>
}
interface LogLine {
  msg?: string
  epoch?: string
  tx?: string
}

const logLines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine
      } catch {
        return {}
      }
    })

describe('the agent across devnet restarts (issue 12, subprocess CLI, real anvil)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  let rpcUrl: string

  const cli = (args: string[], timeoutMs = 120_000) => runCli(args, {home, timeoutMs})
  const status = async () => {
    const r = await cli(['status', '--json'])
    expect(r.code, r.stderr).toBe(0)
    return r.json<StatusJson>()
  }
  const devnetStatus = async () => {
    const r = await cli(['devnet', 'status', '--json'])
    expect(r.code, r.stderr).toBe(0)
    return r.json<DevnetJson>()
  }
  /** The receipt of `tx` on the chain now, and whether its block is the chain's block at that height. */
  const receiptOnChain = async (tx: string) => {
    const r = await jsonRpc<{status: string; blockNumber: string; blockHash: string} | null>(rpcUrl, 'eth_getTransactionReceipt', [tx], {allowNull: true})
    if (!r) return undefined
    const block = await jsonRpc<{hash: string}>(rpcUrl, 'eth_getBlockByNumber', [r.blockNumber, false])
    return {ok: r.status === '0x1', canonical: block.hash === r.blockHash}
  }
  /** `heartbeat --once`: exit 0, its epoch credited on this chain, and done before that epoch is over. */
  const onceEndsInItsEpoch = async () => {
    const started = Date.now()
    const r = await cli(['heartbeat', '--once', '--json'])
    const seconds = (Date.now() - started) / 1000
    expect(r.code, r.stderr).toBe(0)
    const [beat] = r.json<{epochs: Array<{epoch: string; result: string; txHash: string}>}>().epochs
    expect(beat!.result).toBe('confirmed')
    expect(await receiptOnChain(beat!.txHash)).toEqual({ok: true, canonical: true})
    // the chain's head when it returned is still in the heartbeat's epoch, or in the next one's first blocks (the CLI's exit)
    const head = await devnetStatus()
    expect(BigInt((head as unknown as {epoch: number}).epoch)).toBeLessThanOrEqual(BigInt(beat!.epoch) + 1n)
    // it may wait out an epoch's last blocks (fewer than 3 left), then beats in the next: two epochs and start-up at most
    expect(seconds).toBeLessThan(2 * EPOCH_SECONDS + 30)
    const s = await status()
    expect(s.devices[0]!.lastHeartbeat?.epoch).toBe(beat!.epoch)
    return beat!
  }

  it("(a) quickstart, devnet stop: a plain start restores the chain; --fresh and quickstart --epochs 1 never report the old chain's confirmations", async () => {
    const first = await cli(['quickstart', '--epochs', '1', '--epoch-seconds', String(EPOCH_SECONDS), '--port', String(devnet.port), '--json'], 240_000)
    expect(first.code, first.stderr).toBe(0)
    const q1 = first.json<QuickstartJson>()
    expect(q1.devnet.restored).toBe(false)
    expect(q1.heartbeats.map((h) => h.result)).toEqual(['confirmed'])
    const oldTxs = q1.heartbeats.map((h) => h.txHash!)
    const chain1 = await devnetStatus()
    rpcUrl = chain1.rpcUrl
    const before = await status()
    expect(before.devices[0]!.status).toBe('approved')
    const accrued = BigInt(before.rewards.accrued)
    expect(accrued).toBeGreaterThan(0n)

    // a plain stop/start keeps the chain: same genesis, the registration and the rewards are still there
    expect((await cli(['devnet', 'stop'])).code).toBe(0)
    const stopped = await cli(['devnet', 'status', '--json'])
    expect(stopped.code).toBe(0)
    expect(stopped.json()).toMatchObject({running: false, saved: true, genesisHash: chain1.genesisHash})
    const restart = await cli(['devnet', 'start', '--port', String(devnet.port), '--json'])
    expect(restart.code, restart.stderr).toBe(0)
    expect(restart.json<DevnetJson>()).toMatchObject({restored: true, genesisHash: chain1.genesisHash})
    expect(await devnetStatus()).toMatchObject({running: true, restored: true, genesisHash: chain1.genesisHash})
    const kept = await status()
    expect(kept.devices[0]).toMatchObject({deviceId: before.devices[0]!.deviceId, status: 'approved'})
    expect(BigInt(kept.rewards.accrued)).toBe(accrued)
    expect(kept.agent.lastSuccessEpoch).toBe(q1.heartbeats[0]!.epoch)
    expect(await receiptOnChain(oldTxs[0]!)).toEqual({ok: true, canonical: true})

    // a fresh chain: same chain id, same contract address, another genesis; nothing registered
    expect((await cli(['devnet', 'stop'])).code).toBe(0)
    const fresh = await cli(['devnet', 'start', '--fresh', '--epoch-seconds', String(EPOCH_SECONDS), '--port', String(devnet.port), '--json'])
    expect(fresh.code, fresh.stderr).toBe(0)
    const chain2 = fresh.json<DevnetJson>()
    expect(chain2.restored).toBe(false)
    expect(chain2.genesisHash).not.toBe(chain1.genesisHash)
    expect((await devnetStatus()).restored).toBe(false)
    expect(existsSync(join(home.dataDir, 'devnet', 'anvil-state.previous.json'))).toBe(true)
    expect(await receiptOnChain(oldTxs[0]!)).toBeUndefined()
    // status reads the chain it talks to: the old chain's agent files are not this chain's news
    const before2 = await status()
    expect(before2.devices).toEqual([])
    expect(before2.agent.lastSuccessEpoch).toBeNull()

    // quickstart shows agent log lines only with a log level set; the archive line is a warning
    const again = await cli(['quickstart', '--epochs', '1', '--port', String(devnet.port), '--json', '--log-level', 'warn'], 240_000)
    expect(again.code, again.stderr).toBe(0)
    const q2 = again.json<QuickstartJson>()
    expect(q2.devnet.alreadyRunning).toBe(true)
    expect(q2.registration.approved).toBe(true)
    expect(q2.heartbeats).toHaveLength(1)
    const [beat] = q2.heartbeats
    expect(beat!.result).toBe('confirmed')
    // no confirmation of the old chain's transaction: a new one, with its receipt on this chain
    expect(oldTxs).not.toContain(beat!.txHash)
    for (const old of oldTxs) expect(again.stdout + again.stderr).not.toContain(old)
    expect(await receiptOnChain(beat!.txHash!)).toEqual({ok: true, canonical: true})
    expect((await status()).devices[0]!.lastHeartbeat?.epoch).toBe(beat!.epoch)
    // the old chain's agent state was moved aside, once, with one log line
    const archive = join(home.dataDir, 'agent', 'archive')
    expect(readdirSync(archive)).toHaveLength(1)
    const archived = join(archive, readdirSync(archive)[0]!)
    expect(readdirSync(join(archived, 'agent', 'outbox')).length).toBeGreaterThan(0)
    expect(JSON.parse(readFileSync(join(archived, 'agent', 'chain.json'), 'utf8'))).toMatchObject({genesisHash: chain1.genesisHash})
    expect(logLines(again.stderr).filter((l) => /archived to/.test(l.msg ?? ''))).toHaveLength(1)

    await onceEndsInItsEpoch()
  }, 600_000)

  it('(b) the devnet SIGKILLed between "sent" and "confirmed", restarted: no false "confirmed", no fee-bump loop, the next epoch credited', async () => {
    const devnetState = JSON.parse(readFileSync(join(home.dataDir, 'devnet', 'state.json'), 'utf8')) as {pid: number; anvilPid: number; genesisHash: string}
    const agent: ChildProcess = spawn(process.execPath, [BIN, 'heartbeat'], {env: {...process.env, ...home.env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    agent.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((r) => agent.once('close', (code) => r(code)))
    const waitFor = async (what: string, test: () => boolean, ms: number) => {
      const deadline = Date.now() + ms
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms; agent log:\n${stderr.slice(-4000)}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    try {
      // the moment the heartbeat is broadcast, the devnet dies: supervisor and anvil, no chance to dump
      await waitFor('a heartbeat sent', () => logLines(stderr).some((l) => l.msg === 'heartbeat sent'), 60_000)
      process.kill(devnetState.anvilPid, 'SIGKILL')
      process.kill(devnetState.pid, 'SIGKILL')
      const sent = logLines(stderr).find((l) => l.msg === 'heartbeat sent')!
      const sentLines = logLines(stderr).length
      await new Promise((r) => setTimeout(r, 3000))

      // restarted from the last periodic dump: the same chain, maybe without the last blocks
      const restarted = await cli(['devnet', 'start', '--port', String(devnet.port), '--json'])
      expect(restarted.code, restarted.stderr).toBe(0)
      expect(restarted.json<DevnetJson>()).toMatchObject({restored: true, genesisHash: devnetState.genesisHash})

      // the running agent rides it out: a later epoch confirmed on this chain
      await waitFor(
        'a heartbeat confirmed for a later epoch',
        () => logLines(stderr).some((l) => l.msg === 'heartbeat confirmed' && BigInt(l.epoch!) > BigInt(sent.epoch!)),
        8 * EPOCH_SECONDS * 1000,
      )
      const refused = logLines(stderr).filter((l) => l.msg === 'fee bump refused')
      // maxBumpRefusals (3) per transaction, then it is abandoned: never a loop
      expect(refused.length).toBeLessThanOrEqual(6)
      // every "confirmed" it logged after the crash has its receipt on the restored chain
      for (const line of logLines(stderr)
        .slice(sentLines)
        .filter((l) => l.msg === 'heartbeat confirmed'))
        expect(await receiptOnChain(line.tx!), `tx ${line.tx} epoch ${line.epoch}`).toEqual({ok: true, canonical: true})
      // the killed epoch: confirmed only if the restored chain holds that very transaction
      const sentReceipt = await receiptOnChain(sent.tx!)
      const journal = JSON.parse(readFileSync(join(home.dataDir, 'agent', 'journal.json'), 'utf8')) as {
        entries: Array<{epoch: string; result: string; txHash?: string}>
      }
      const killedEpoch = journal.entries.find((e) => e.epoch === sent.epoch)
      if (killedEpoch?.result === 'confirmed' && killedEpoch.txHash === sent.tx) expect(sentReceipt).toEqual({ok: true, canonical: true})
    } finally {
      agent.kill('SIGTERM')
    }
    // SIGTERM: a clean stop, exit 130 (docs/exit-codes.md INTERRUPTED)
    expect(await exited, stderr.slice(-2000)).toBe(130)

    await onceEndsInItsEpoch()
  }, 600_000)
})
