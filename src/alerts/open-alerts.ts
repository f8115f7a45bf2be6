import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../util/files.js'
import type {AlertCondition, AlertEvent, AlertMessage} from './types.js'

/**
 * Deduplication: the alerts open now, which sinks were told, and the "resolved" messages still owed,
 * kept in <dataDir>/alerts/state.json (0600) across checks and restarts. A condition that stays open
 * is told once per sink; one that clears owes a "resolved" to exactly the sinks that were told it fired;
 * a delivery that failed is retried at the next check, to that sink only.
 */

export interface OpenAlert {
  id: string
  condition: AlertCondition
  /** ms since the Unix epoch the condition was first seen. */
  since: number
  /** Sinks that accepted the "firing" message. */
  deliveredTo: string[]
}

export interface ResolvedAlert extends OpenAlert {
  resolvedAt: number
  /** Sinks that accepted the "resolved" message (out of deliveredTo). */
  resolvedTo: string[]
}

export interface AlertState {
  version: 1
  open: Record<string, OpenAlert>
  resolved: ResolvedAlert[]
}

export const emptyAlertState = (): AlertState => ({version: 1, open: {}, resolved: []})

export function alertStatePath(dataDir: string): string {
  return join(dataDir, 'alerts', 'state.json')
}

/** An unreadable or foreign file starts afresh (at worst an alert is told again), never stops a check. */
export function readAlertState(dataDir: string): AlertState {
  try {
    const s = JSON.parse(readFileSync(alertStatePath(dataDir), 'utf8')) as AlertState
    if (s.version === 1 && s.open && typeof s.open === 'object' && Array.isArray(s.resolved)) return s
  } catch {
    /* missing or corrupt: start afresh */
  }
  return emptyAlertState()
}

export function writeAlertState(dataDir: string, state: AlertState): void {
  writeFileAtomic(alertStatePath(dataDir), JSON.stringify(state, null, 2) + '\n', 0o600)
}

function occurrenceId(key: string, since: number): string {
  return createHash('sha256').update(`${key}\n${since}`).digest('hex').slice(0, 32)
}

/** The next state: new conditions open, open ones not seen any more move to `resolved` (if anyone was told). */
export function reconcile(state: AlertState, conditions: AlertCondition[], now: number): AlertState {
  const next: AlertState = {version: 1, open: {}, resolved: [...state.resolved]}
  for (const c of conditions) {
    const known = state.open[c.key]
    next.open[c.key] = known ? {...known, condition: c} : {id: occurrenceId(c.key, now), condition: c, since: now, deliveredTo: []}
  }
  for (const [key, a] of Object.entries(state.open))
    if (!next.open[key] && a.deliveredTo.length > 0) next.resolved.push({...a, resolvedAt: now, resolvedTo: []})
  return next
}

export interface PendingDelivery {
  message: AlertMessage
  /** Sinks still to tell. */
  sinks: string[]
  /** Marks the message delivered to `sink` in the state. */
  delivered(sink: string): void
}

/** What is still owed to which of `sinks` (names of the configured sinks). */
export function pendingDeliveries(state: AlertState, sinks: string[], context: {network: string; operator?: string}, now: number): PendingDelivery[] {
  const out: PendingDelivery[] = []
  for (const a of Object.values(state.open)) {
    const owed = sinks.filter((s) => !a.deliveredTo.includes(s))
    if (owed.length > 0) out.push({message: alertMessage(a, 'firing', context, now), sinks: owed, delivered: (s) => void a.deliveredTo.push(s)})
  }
  for (const r of state.resolved) {
    const owed = r.deliveredTo.filter((s) => sinks.includes(s) && !r.resolvedTo.includes(s))
    if (owed.length > 0) out.push({message: alertMessage(r, 'resolved', context, now), sinks: owed, delivered: (s) => void r.resolvedTo.push(s)})
  }
  return out
}

/** Drops resolved alerts every (still configured) sink has been told about. */
export function pruneResolved(state: AlertState, sinks: string[]): void {
  state.resolved = state.resolved.filter((r) => r.deliveredTo.some((s) => sinks.includes(s) && !r.resolvedTo.includes(s)))
}

export function alertMessage(a: OpenAlert, event: AlertEvent, context: {network: string; operator?: string}, now: number): AlertMessage {
  const c = a.condition
  return {
    version: 1,
    id: a.id,
    event,
    rule: c.rule,
    key: c.key,
    severity: c.severity,
    summary: event === 'resolved' ? `resolved: ${c.summary}` : c.summary,
    details: c.details,
    network: context.network,
    operator: context.operator ?? null,
    since: new Date(a.since).toISOString(),
    at: new Date(now).toISOString(),
  }
}
