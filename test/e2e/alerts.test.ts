import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {AlertMessage} from '../../src/alerts/types.js'
import {BIN, makeHome, runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'
import {until} from '../helpers/until.js'
import {startReceiver} from '../helpers/webhook-receiver.js'

const SECRET = 'e2e-shared-secret'

interface CheckJson {
  open: Array<{rule: string; key: string}>
  deliveries: Array<{event: string; rule: string; sink: string; ok: boolean}>
}

/**
 * The acceptance test of the alerts: a real devnet, the real agent (`unet heartbeat`, which checks the
 * rules itself after each credit), `unet alerts check` as a timer would run it, and a real HTTP
 * receiver that checks every signature. The agent is frozen (SIGSTOP) long enough for its host to miss
 * an epoch, so the timer's check tells; thawed, the agent sends the next heartbeat, and whichever check
 * comes first tells the condition resolved: the receiver gets each message exactly once.
 */
describe('alerts end to end (devnet, real agent, real webhook receiver)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  // an empty sysfs: no accelerator of this machine can open a device alert
  const env = {UNET_ALERTS_WEBHOOK_SECRET: SECRET, UNET_SYSFS_ROOT: mkdtempSync(join(tmpdir(), 'unet-sysfs-'))}
  let rx: Awaited<ReturnType<typeof startReceiver>>
  let agent: ChildProcess | undefined

  beforeAll(async () => {
    rx = await startReceiver()
  })

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGCONT')
      agent.kill('SIGTERM')
      await new Promise((r) => agent!.once('close', r))
    }
    await rx?.close()
  })

  const check = async () => {
    const r = await runCli(['alerts', 'check', '--json'], {home, env, timeoutMs: 90_000})
    expect(r.code, r.stderr).toBe(0)
    return r.json<CheckJson>()
  }

  it('a missed epoch: exactly one signed "missed-epoch" alert, and after the next credit exactly one "resolved"', async () => {
    const qs = await runCli(['quickstart', '--epochs', '1', '--port', String(devnet.port), '--epoch-seconds', '8', '--json'], {home, timeoutMs: 180_000})
    expect(qs.code, qs.stderr).toBe(0)
    for (const [key, value] of [
      ['alerts.webhook.url', rx.url],
      ['alerts.agentStaleEpochs', '30'],
    ]) {
      const set = await runCli(['config', 'set', key!, value!], {home})
      expect(set.code, set.stderr).toBe(0)
    }

    agent = spawn(process.execPath, [BIN, 'heartbeat'], {env: {...process.env, ...home.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
    let agentLog = ''
    agent.stderr!.on('data', (c: Buffer) => (agentLog += c.toString()))
    const statePath = join(home.dataDir, 'agent', 'state.json')
    const readState = () => {
      try {
        return JSON.parse(readFileSync(statePath, 'utf8')) as {state: string; pid: number; lastSuccessEpoch?: string}
      } catch {
        return undefined
      }
    }
    await until(
      'the agent to confirm a heartbeat',
      async () => {
        const s = readState()
        return s && s.pid === agent!.pid && s.state === 'Confirmed' ? s : undefined
      },
      {timeoutMs: 60_000, everyMs: 500},
    )

    // healthy: nothing open, nothing sent
    expect((await check()).open).toEqual([])
    expect(rx.posts).toHaveLength(0)

    // frozen outside its own alert check (a frozen holder would make every other check skip for 10 minutes)
    const checkLock = join(home.dataDir, 'alerts.lock')
    await until(
      'the agent frozen outside its alert check',
      async () => {
        if (existsSync(checkLock)) return undefined
        agent!.kill('SIGSTOP')
        if (!existsSync(checkLock)) return true
        agent!.kill('SIGCONT')
        return undefined
      },
      {timeoutMs: 30_000, everyMs: 500},
    )
    const fired = await until(
      'missed-epoch to open',
      async () => {
        const c = await check()
        return c.open.some((o) => o.rule === 'missed-epoch') ? c : undefined
      },
      {timeoutMs: 90_000, everyMs: 500},
    )
    expect(fired.deliveries).toEqual([expect.objectContaining({event: 'firing', rule: 'missed-epoch', sink: 'webhook', ok: true})])
    // checked again while it stays open: nothing new
    expect((await check()).deliveries).toEqual([])

    agent.kill('SIGCONT')
    // thawed, the agent is credited again; its own check after the credit, or the timer's, tells the receiver it resolved
    await until(
      'the resolved message',
      async () => {
        if (rx.posts.length < 2) await check()
        return rx.posts.length >= 2 ? true : undefined
      },
      {timeoutMs: 90_000, everyMs: 500},
    )
    const after = await check()
    expect(after.open).toEqual([])
    expect(after.deliveries).toEqual([])
    await new Promise((r) => setTimeout(r, 2000)) // an agent check still under way would show now

    // the receiver's view: two posts, both signed with the shared secret, one occurrence fired and resolved
    expect(rx.posts).toHaveLength(2)
    const got = rx.accepted<AlertMessage>(SECRET)
    expect(got.map((m) => [m.event, m.rule])).toEqual([
      ['firing', 'missed-epoch'],
      ['resolved', 'missed-epoch'],
    ])
    expect(got[0]!.id).toBe(got[1]!.id)
    expect(got[0]!.summary).toMatch(/missed 1 epoch\(s\)/)
    // a receiver with another secret accepts none of them
    expect(rx.accepted('not-the-secret')).toEqual([])
    // the secret reached no log line or output
    expect(agentLog).not.toContain(SECRET)
  }, 420_000)

  it('`unet alerts test` reaches the receiver; a failing receiver exits 24; the secret is never shown', async () => {
    const before = rx.posts.length
    const ok = await runCli(['alerts', 'test', '--json'], {home, env})
    expect(ok.code, ok.stderr).toBe(0)
    expect(rx.accepted<AlertMessage>(SECRET).slice(-1)[0]).toMatchObject({event: 'test', rule: 'test'})
    expect(rx.posts.length).toBe(before + 1)

    const down = await startReceiver([500, 500, 500, 500, 500, 500])
    try {
      const r = await runCli(['alerts', 'test', '--json'], {home, env: {...env, UNET_ALERTS_WEBHOOK_URL: down.url, UNET_ALERTS_WEBHOOK_RETRIES: '1'}})
      expect(r.code).toBe(24)
      expect(r.json<{deliveries: Array<{ok: boolean; error: string}>}>().deliveries).toEqual([expect.objectContaining({ok: false, error: 'HTTP 500'})])
      expect(down.posts).toHaveLength(2)
    } finally {
      await down.close()
    }

    const list = await runCli(['config', 'list', '--json'], {home, env})
    expect(list.stdout).not.toContain(SECRET)
    expect(list.stdout).toContain('[set, hidden]')
    const set = await runCli(['config', 'set', 'alerts.webhook.secret', 'on-the-command-line'], {home})
    expect(set.code).toBe(19)
    expect(set.stderr).toMatch(/^Error: alerts\.webhook\.secret is a secret/m)

    // piped in, it is kept in the 0600 config file and shown only as set
    const other = makeHome()
    const piped = await runCli(['config', 'set', 'alerts.webhook.secret'], {home: other, input: 'piped-secret\n'})
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout + piped.stderr).not.toContain('piped-secret')
    const file = join(other.configDir, 'config.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({alerts: {webhook: {secret: 'piped-secret'}}})
    const get = await runCli(['config', 'get', 'alerts.webhook.secret'], {home: other})
    expect(get.stdout.trim()).toBe('[set, hidden]')
  })
})
