import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {runAlertCheck} from '../../../src/alerts/check.js'
import type {AlertFacts} from '../../../src/alerts/facts.js'
import {alertStatePath} from '../../../src/alerts/open-alerts.js'
import type {AlertThresholds} from '../../../src/alerts/rules.js'
import {alertSinks} from '../../../src/alerts/sinks.js'
import {ALERT_RULES, type AlertMessage} from '../../../src/alerts/types.js'
import {DEFAULTS} from '../../../src/config/schema.js'
import {startReceiver} from '../../helpers/webhook-receiver.js'

const HOST = '0x' + 'cd'.repeat(32)
const SECRET = 'dedup-secret'
const t: AlertThresholds = {missedEpochs: 1, gasRunwayEpochs: 48, agentStaleEpochs: 3, rules: ALERT_RULES}

function facts(lastCreditedEpoch: bigint, currentEpoch: bigint): AlertFacts {
  return {
    network: 'devnet',
    operator: '0x' + '22'.repeat(20),
    now: 1_800_000_000,
    currentEpoch,
    epochSeconds: 15,
    hosts: [{hostId: HOST, lastCreditedEpoch}],
    registeredDevices: 1,
    lostDevices: [],
    unhealthyDevices: [],
    rejectedRegistrations: [],
    openChallenges: [],
  }
}

describe('alert check: dedup, resolved, retried delivery (real receiver and hook)', () => {
  it('one firing per open condition however often it is checked, one resolved when it clears', async () => {
    const rx = await startReceiver()
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-alerts-'))
    const hookOut = join(dataDir, 'hook.jsonl')
    const sinks = alertSinks({
      alerts: {
        ...DEFAULTS.alerts,
        webhook: {url: rx.url, secret: SECRET},
        command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(hookOut)}, require('fs').readFileSync(0, 'utf8') + '\\n')`],
      },
      configFile: join(dataDir, 'none.json'),
      webhook: {backoff: {baseMs: 10, maxMs: 20}},
    })
    try {
      const check = (f: AlertFacts, now: number) => runAlertCheck({dataDir, facts: f, thresholds: t, sinks, now})
      await check(facts(5n, 6n), 1000) // healthy
      const first = await check(facts(5n, 7n), 2000) // epoch 6 missed
      expect(first.open.map((c) => c.rule)).toEqual(['missed-epoch'])
      await check(facts(5n, 7n), 3000)
      await check(facts(5n, 8n), 4000) // still open (two missed now): the same alert, not a new one
      await check(facts(8n, 8n), 5000) // credited again
      await check(facts(8n, 9n), 6000)

      const got = rx.accepted<AlertMessage>(SECRET)
      expect(rx.posts).toHaveLength(2)
      expect(got.map((m) => [m.event, m.rule])).toEqual([
        ['firing', 'missed-epoch'],
        ['resolved', 'missed-epoch'],
      ])
      expect(got[0]!.id).toBe(got[1]!.id)
      expect(got[0]!).toMatchObject({version: 1, key: `missed-epoch:${HOST}`, severity: 'critical', network: 'devnet', since: new Date(2000).toISOString()})
      const hooked = readFileSync(hookOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AlertMessage)
      expect(hooked.map((m) => m.event)).toEqual(['firing', 'resolved'])
      expect(statSync(alertStatePath(dataDir)).mode & 0o777).toBe(0o600)
    } finally {
      await rx.close()
    }
  })

  it('a delivery that failed is retried at the next check, to that sink only; a condition that cleared untold is never resolved', async () => {
    const rx = await startReceiver([500, 500]) // retries: 1 → the first check fails both attempts
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-alerts-'))
    const hookOut = join(dataDir, 'hook.jsonl')
    const sinks = alertSinks({
      alerts: {
        ...DEFAULTS.alerts,
        webhook: {url: rx.url, secret: SECRET, retries: 1},
        command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(hookOut)}, require('fs').readFileSync(0, 'utf8') + '\\n')`],
      },
      configFile: join(dataDir, 'none.json'),
      webhook: {backoff: {baseMs: 10, maxMs: 20}},
    })
    try {
      const check = (f: AlertFacts, now: number) => runAlertCheck({dataDir, facts: f, thresholds: t, sinks, now})
      const failed = await check(facts(5n, 7n), 1000)
      expect(failed.deliveries.map((d) => [d.sink, d.ok, d.attempts])).toEqual([
        ['webhook', false, 2],
        ['command', true, 1],
      ])
      const retried = await check(facts(5n, 7n), 2000)
      expect(retried.deliveries.map((d) => [d.sink, d.event, d.ok])).toEqual([['webhook', 'firing', true]])
      expect(rx.accepted<AlertMessage>(SECRET).map((m) => m.event)).toEqual(['firing'])
      expect(readFileSync(hookOut, 'utf8').trim().split('\n')).toHaveLength(1)

      // no sink at all while a condition opens and clears: nothing is owed afterwards
      const quiet = mkdtempSync(join(tmpdir(), 'unet-alerts-'))
      await runAlertCheck({dataDir: quiet, facts: facts(5n, 7n), thresholds: t, sinks: [], now: 1})
      await runAlertCheck({dataDir: quiet, facts: facts(7n, 7n), thresholds: t, sinks: [], now: 2})
      const later = await runAlertCheck({dataDir: quiet, facts: facts(7n, 7n), thresholds: t, sinks, now: 3})
      expect(later.deliveries).toEqual([])
    } finally {
      await rx.close()
    }
  })
})

describe('one alert check at a time', () => {
  it('a check while another holds the lock is skipped; a lock held past 10 minutes (a hung check) is taken over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-alerts-'))
    // a live process that is not this one holds the lock
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {stdio: 'ignore'})
    try {
      const lock = (acquiredAt: number) => writeFileSync(join(dataDir, 'alerts.lock'), JSON.stringify({pid: holder.pid, hostname: 'x', acquiredAt}))
      const now = 1_800_000_000_000
      lock(now - 60_000)
      const skipped = await runAlertCheck({dataDir, facts: facts(5n, 7n), thresholds: t, sinks: [], now})
      expect(skipped).toEqual({open: [], deliveries: [], skipped: 'another alert check is running'})
      lock(now - 10 * 60_000 - 1)
      const taken = await runAlertCheck({dataDir, facts: facts(5n, 7n), thresholds: t, sinks: [], now})
      expect(taken.skipped).toBeUndefined()
      expect(taken.open.map((c) => c.rule)).toEqual(['missed-epoch'])
      expect(existsSync(join(dataDir, 'alerts.lock'))).toBe(false)
    } finally {
      holder.kill()
    }
  })
})
