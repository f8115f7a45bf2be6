import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'

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
