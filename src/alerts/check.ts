import {randomUUID} from 'node:crypto'
import {rmSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {acquireLock, readLock, type AgentLock} from '../agent/lock.js'
import {ExitCode, UnetError} from '../errors/index.js'

import type {AgentLogger} from '../agent/ports.js'
import type {AlertFacts} from './facts.js'
import {pendingDeliveries, pruneResolved, readAlertState, reconcile, writeAlertState} from './open-alerts.js'
import {evaluateRules, type AlertThresholds} from './rules.js'
import type {AlertSink} from './sinks.js'
import type {AlertCondition, AlertMessage} from './types.js'

export interface DeliveryRecord {
  id: string
  event: AlertMessage['event']
  rule: AlertMessage['rule']
  key: string
  sink: AlertSink['name']
  ok: boolean
  attempts: number
  error?: string
}

export interface AlertCheckResult {
  open: AlertCondition[]
  deliveries: DeliveryRecord[]
  /** Set when another check (the agent's, or a timer's) held the alert lock: this one did nothing. */
  skipped?: string
}

/**
 * One check: facts → rules → the open-alert store (dedup, resolved) → every message still owed,
 * to each sink that still owes it → the store, saved after each delivery so a crash tells nobody twice.
 */
export async function runAlertCheck(o: {
  dataDir: string
  facts: AlertFacts
  thresholds: AlertThresholds
  sinks: AlertSink[]
  logger?: AgentLogger
  now?: number
}): Promise<AlertCheckResult> {
  // one check at a time per data dir (the agent's and a timer's share alerts/state.json): the other one is skipped, not queued
  const lock = takeCheckLock(o.dataDir, o.now ?? Date.now())
  if (!lock) return {open: [], deliveries: [], skipped: 'another alert check is running'}
  try {
    return await checkLocked(o)
  } finally {
    lock.release()
  }
}

/** A check holding the lock longer than this is hung (a frozen or stuck agent): its lock is taken over, so agent-down still gets out. */
const CHECK_LOCK_STALE_MS = 10 * 60_000

function takeCheckLock(dataDir: string, now: number): AgentLock | undefined {
  const path = join(dataDir, 'alerts.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return acquireLock(dataDir, {path})
    } catch (error) {
      if (!(error instanceof UnetError) || error.exitCode !== ExitCode.ALREADY_RUNNING) throw error
      const holder = readLock(path)
      if (!holder || now - holder.acquiredAt < CHECK_LOCK_STALE_MS) return undefined
      rmSync(path, {force: true})
    }
  }
  return undefined
}

async function checkLocked(o: Parameters<typeof runAlertCheck>[0]): Promise<AlertCheckResult> {
  const now = o.now ?? Date.now()
  const open = evaluateRules(o.facts, o.thresholds)
  const state = reconcile(readAlertState(o.dataDir), open, now)
  writeAlertState(o.dataDir, state)
  const names = o.sinks.map((s) => s.name)
  const deliveries: DeliveryRecord[] = []
  for (const p of pendingDeliveries(state, names, {network: o.facts.network, operator: o.facts.operator}, now)) {
    for (const sink of o.sinks.filter((s) => p.sinks.includes(s.name))) {
      const r = await sink.deliver(p.message)
      const m = p.message
      deliveries.push({id: m.id, event: m.event, rule: m.rule, key: m.key, sink: sink.name, ok: r.ok, attempts: r.attempts, error: r.ok ? undefined : r.error})
      if (r.ok) {
        p.delivered(sink.name)
        writeAlertState(o.dataDir, state)
        o.logger?.info({alert: m.key, event: m.event, sink: sink.name, attempts: r.attempts}, `alert ${m.event}: ${m.summary}`)
      } else
        o.logger?.warn(
          {alert: m.key, event: m.event, sink: sink.name, err: r.error},
          `alert delivery to ${sink.name} failed (retried at the next check): ${r.error}`,
        )
    }
  }
  pruneResolved(state, names)
  writeAlertState(o.dataDir, state)
  return {open, deliveries}
}

/** `unet alerts test`: one "test" message to every sink, outside the store (nothing is deduplicated or resolved). */
export async function sendTestAlert(sinks: AlertSink[], context: {network: string; operator?: string}): Promise<DeliveryRecord[]> {
  const at = new Date().toISOString()
  const message: AlertMessage = {
    version: 1,
    id: `test-${randomUUID()}`,
    event: 'test',
    rule: 'test',
    key: 'test',
    severity: 'warning',
    summary: `test alert from unet on ${hostname()}`,
    details: {host: hostname()},
    network: context.network,
    operator: context.operator ?? null,
    since: at,
    at,
  }
  const out: DeliveryRecord[] = []
  for (const sink of sinks) {
    const r = await sink.deliver(message)
    out.push({id: message.id, event: 'test', rule: 'test', key: 'test', sink: sink.name, ok: r.ok, attempts: r.attempts, error: r.ok ? undefined : r.error})
  }
  return out
}
