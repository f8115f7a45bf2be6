import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {startAnvil} from '../../src/chain/anvil.js'
import {BIN, makeHome, runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'
import {freePort} from '../helpers/swtpm.js'

interface StatusJson {
  devices: Array<{deviceId: string; online: boolean; status: string; lastHeartbeat: {epoch: string; tx: string} | null}>
  rewards: {accrued: string; claimable: string; claimed: string}
  explain: string[]
}

/** The whole job as a miner runs it: every step a real subprocess against a real devnet. */
describe('miner flow end to end (subprocess, real devnet)', () => {
  const devnet = devnetSuite()
  const home = devnet.home

  it('quickstart → status online with rewards → claim pays the payout', async () => {
    const qs = await runCli(['quickstart', '--epochs', '2', '--port', String(devnet.port), '--json'], {home, timeoutMs: 180_000})
    expect(qs.code, qs.stderr).toBe(0)
    const result = qs.json<{
      engine: string
      wallet: {created: boolean; passphraseFile: string}
      heartbeats: Array<{result: string}>
      registration: {approved: boolean}
    }>()
    expect(result.wallet.created).toBe(true)
    expect(result.registration.approved).toBe(true)
    expect(result.heartbeats.map((h) => h.result)).toEqual(['confirmed', 'confirmed'])
    // no TPM on this machine: the emulator is used and announced, never silently
    expect(result.engine).toBe('emulator')
    expect(qs.stderr).toMatch(/Warning: .*EMULATOR/)

    const status = await runCli(['status', '--json'], {home})
    expect(status.code, status.stderr).toBe(0)
    const s = status.json<StatusJson>()
    expect(s.devices.some((d) => d.online)).toBe(true)
    expect(BigInt(s.rewards.accrued)).toBeGreaterThan(0n)
    expect(s.rewards.claimed).toBe('0')

    const claim = await runCli(['rewards', 'claim', '--json'], {home})
    expect(claim.code, claim.stderr).toBe(0)
    const after = (await runCli(['status', '--json'], {home})).json<StatusJson>()
    expect(BigInt(after.rewards.claimed)).toBeGreaterThan(0n)
    expect(after.rewards.claimable).toBe('0')

    // re-running register is harmless and reports the state
    const again = await runCli(['register', '--json'], {home})
    expect(again.code, again.stderr).toBe(0)
    expect(again.json<{devices: Array<{action: string; approved: boolean}>}>().devices[0]).toMatchObject({action: 'already-registered', approved: true})
  })

  it('kill -9 right after a heartbeat is sent: the restart neither loses nor duplicates it', async () => {
    const agent = spawn(process.execPath, [BIN, 'heartbeat'], {env: {...process.env, ...home.env}, stdio: ['ignore', 'pipe', 'pipe']})
    let sentTx: string | undefined
    let sentEpoch: string | undefined
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no heartbeat was sent within 60 s')), 60_000)
      let buffer = ''
      agent.stderr.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        const m = /"epoch":"(\d+)","tx":"(0x[0-9a-f]{64})"[^\n]*"msg":"heartbeat sent"/.exec(buffer)
        if (m && !sentTx) {
          sentEpoch = m[1]
          sentTx = m[2]
          agent.kill('SIGKILL')
          clearTimeout(timer)
          resolve()
        }
      })
    })
    await new Promise((r) => agent.once('close', r))
    const restart = await runCli(['heartbeat', '--once', '--json'], {home, timeoutMs: 120_000})
    expect(restart.code, restart.stderr).toBe(0)
    // the killed epoch's transaction is the one on record: found by hash, not sent again
    const journal = JSON.parse(readFileSync(join(home.dataDir, 'agent', 'journal.json'), 'utf8')) as
      {entries?: Array<{epoch: string; result: string; txHash?: string}>} | Array<{epoch: string; result: string; txHash?: string}>
    const rows = Array.isArray(journal) ? journal : (journal.entries ?? [])
    const killed = rows.filter((r) => String(r.epoch) === sentEpoch)
    expect(killed).toHaveLength(1)
    expect(killed[0]).toMatchObject({result: 'confirmed', txHash: sentTx})
  })

  it('an RPC outage mid-run (dropped and garbled answers): retries and recovers', async () => {
    const state = JSON.parse(readFileSync(join(home.dataDir, 'devnet', 'state.json'), 'utf8')) as {rpcUrl: string}
    let requests = 0
    let sabotaged = 0
    // Answers the first ten calls (start-up and the first epoch under way), then drops or garbles the next four.
    const proxy: Server = createServer(async (req, res) => {
      const body = await new Promise<string>((r) => {
        let b = ''
        req.on('data', (c: Buffer) => (b += c.toString()))
        req.on('end', () => r(b))
      })
      requests++
      if (requests > 10 && sabotaged < 4) {
        sabotaged++
        if (sabotaged % 2 === 1) return req.socket.destroy()
        res.writeHead(200, {'content-type': 'application/json'})
        return res.end('{"jsonrpc":"2.0","id":')
      }
      const upstream = await fetch(state.rpcUrl, {method: 'POST', headers: {'content-type': 'application/json'}, body})
      res.writeHead(upstream.status, {'content-type': 'application/json'})
      res.end(await upstream.text())
    })
    const proxyPort = await freePort()
    await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r))
    try {
      // two epochs: the current one may already be credited; the next one needs the chain for sure
      const r = await runCli(['heartbeat', '--epochs', '2', '--json', '--rpc-url', `http://127.0.0.1:${proxyPort}`], {home, timeoutMs: 120_000})
      expect(sabotaged, r.stdout + r.stderr).toBe(4)
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(r.json<{epochs: Array<{result: string}>}>().epochs.map((e) => e.result)).toEqual(['confirmed', 'confirmed'])
      expect(r.stderr).toMatch(/retrying/)
    } finally {
      proxy.close()
    }
  })

  it('an RPC endpoint of another chain is refused before anything is signed', async () => {
    const other = await startAnvil({extraArgs: ['--chain-id', '999']})
    try {
      const r = await runCli(['heartbeat', '--once', '--rpc-url', other.rpcUrl], {home})
      expect(r.code).toBe(9)
      expect(r.stderr).toMatch(/^Error: .*chain id 999/m)
    } finally {
      other.stop()
    }
  })
})

describe('unet register outside the devnet: payout = operator (subprocess)', () => {
  it('is refused with exit 19 and the hint before the wallet is unlocked; --allow-operator-payout passes with a warning', async () => {
    const home = makeHome()
    const created = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'register-payout'}})
    expect(created.code, created.stderr).toBe(0)
    const operator = created.json<{address: string}>().address
    const args = ['register', '--network', 'testnet', '--engine', 'tpm2', '--tcti', 'device:/nonexistent/tpmrm0']

    // no passphrase in the environment: the refusal comes before any unlock, chain or TPM
    const refused = await runCli(args, {home})
    expect(refused.code, refused.stderr).toBe(19)
    expect(refused.stderr).toMatch(
      new RegExp(`^Error: payout ${operator} is the operator address on network "testnet": whoever steals the operator key would hold the rewards too$`, 'm'),
    )
    expect(refused.stderr).toMatch(/^Hint: .*--allow-operator-payout to accept the risk$/m)

    // forced: a warning, then the ordinary checks (the placeholder testnet profile has no chain)
    const forced = await runCli([...args, '--allow-operator-payout'], {home, env: {UNET_PASSWORD: 'register-payout'}})
    expect(forced.stderr).toMatch(/^Warning: payout is the operator address on network "testnet" \(--allow-operator-payout\)/m)
    expect(forced.code, forced.stderr).toBe(18)
    expect(forced.stderr).toMatch(/^Error: network profile "testnet" is not configured/m)
  })
})
