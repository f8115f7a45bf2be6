import type {AlertCondition, AlertRule} from '../alerts/types.js'
import type {ResolvedConfig} from '../config/index.js'
import type {FleetReport, FleetSelectors} from '../insight/fleet.js'
import type {HistoryResult} from '../insight/reward-history.js'
import type {StatusReport} from '../miner/status-report.js'
import {formatUnits} from '../util/units.js'
import {earningsPerEpoch, type EpochEarning} from './earnings.js'

/**
 * Everything the page shows, read in one go so the endpoints the page polls agree with each other.
 * Each part is what the CLI prints with --json, made by the same functions: /api/status is
 * `unet status --json`, /api/history `unet rewards history --json`, /api/fleet `unet fleet status
 * --json` (one scan of the reward events serves both); the alerts are the rules of
 * `unet alerts check` evaluated on the same facts, but nothing is delivered or recorded.
 */
export interface DashboardSnapshot {
  status: StatusReport
  history: HistoryResult
  earnings: EpochEarning[]
  alerts: AlertsView
  fleet: FleetReport
}

export interface DashboardAlert extends AlertCondition {
  /** ISO time an alert check (the agent's or a timer's) first recorded it open; null: not recorded yet. */
  since: string | null
  /** Sinks that were told it fired. */
  toldTo: string[]
}

export interface AlertsView {
  /** The conditions open now. */
  open: DashboardAlert[]
  /** The rules evaluated (config alerts.rules). */
  rules: readonly AlertRule[]
}

export interface SnapshotSource {
  resolved: ResolvedConfig
  /** The operator shown (its hosts' devices, history and alerts) and its payout. */
  operator: string
  payout: string
  /** The fleet table's hosts (default: this operator's and this payout's). */
  fleet: FleetSelectors
}

export async function readSnapshot(s: SnapshotSource): Promise<DashboardSnapshot> {
  const [{gatherStatus, buildStatusReport}, {gatherAlertFacts}, {evaluateRules}, {alertThresholds}, {readAlertState}] = await Promise.all([
    import('../miner/status-report.js'),
    import('../miner/alert-facts.js'),
    import('../alerts/rules.js'),
    import('../alerts/settings.js'),
    import('../alerts/open-alerts.js'),
  ])
  const inputs = await gatherStatus(s.resolved, s.operator, s.payout)
  const status = buildStatusReport(inputs, formatUnits)
  const thresholds = alertThresholds(s.resolved)
  const conditions = evaluateRules(await gatherAlertFacts(s.resolved, s.operator, {inputs}), thresholds)
  const recorded = readAlertState(s.resolved.paths.dataDir).open
  const {history, fleet} = await readLedgerViews(s)
  return {
    status,
    history,
    earnings: earningsPerEpoch(history),
    alerts: {
      open: conditions.map((c) => {
        const r = recorded[c.key]
        return {...c, since: r ? new Date(r.since).toISOString() : null, toldTo: r?.deliveredTo ?? []}
      }),
      rules: thresholds.rules,
    },
    fleet,
  }
}

/** The credit history and the fleet rows from one (cached) scan of the reward events. */
async function readLedgerViews(s: SnapshotSource): Promise<{history: HistoryResult; fleet: FleetReport}> {
  const [{withClient}, {readRewardLedger, historyResult}, {fleetOf}, {requireChainReady}] = await Promise.all([
    import('../chain/client.js'),
    import('../insight/reward-history.js'),
    import('../insight/fleet.js'),
    import('../config/index.js'),
  ])
  return withClient(requireChainReady(s.resolved.profile), async (client) => {
    const {set, ledger} = await readRewardLedger(client, {cacheDir: s.resolved.paths.cacheDir})
    return {history: historyResult(set, ledger, {operator: s.operator.toLowerCase()}), fleet: await fleetOf(client, set, ledger, s.fleet)}
  })
}

/**
 * The snapshot at most `ttlMs` old: the page's four requests of one poll (and several open tabs)
 * share one read of the chain. A failed read is kept as long (the page shows the error) so a
 * dead node is not asked again on every request.
 */
export function cachedSnapshot(read: () => Promise<DashboardSnapshot>, ttlMs: number, now = Date.now): () => Promise<DashboardSnapshot> {
  // settledAt is undefined while the read is in flight: every request waits for that same read
  let last: {value: Promise<DashboardSnapshot>; settledAt?: number} | undefined
  return () => {
    if (!last || (last.settledAt !== undefined && now() - last.settledAt >= ttlMs)) {
      const entry: NonNullable<typeof last> = {value: read()}
      const settle = () => void (entry.settledAt = now())
      entry.value.then(settle, settle) // a rejection is handled by whoever awaits it; never an unhandled one
      last = entry
    }
    return last.value
  }
}
