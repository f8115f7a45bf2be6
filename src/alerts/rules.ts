import type {AlertFacts} from './facts.js'
import type {AlertCondition, AlertRule} from './types.js'

/** The thresholds of the rules (config keys alerts.*, docs/alerts.md). */
export interface AlertThresholds {
  /** Whole epochs without a credit before "missed-epoch" opens (default 1). */
  missedEpochs: number
  /** "gas-runway-low" opens below this many epochs of heartbeats (default 48). */
  gasRunwayEpochs: number
  /** agent/state.json older than this many epochs of wall time: "agent-down" (default 3). */
  agentStaleEpochs: number
  /** Rules that are evaluated (default: all). */
  rules: readonly AlertRule[]
}

const short = (id: string) => `${id.slice(0, 10)}…`

/**
 * Every condition open now, one per subject. Pure: the same facts give the same conditions, and the
 * open-alert store (open-alerts.ts) turns their appearance and disappearance into messages.
 */
export function evaluateRules(f: AlertFacts, t: AlertThresholds): AlertCondition[] {
  const out: AlertCondition[] = []
  const on = new Set(t.rules)

  if (on.has('missed-epoch'))
    for (const h of f.hosts) {
      // the current epoch is still open: only the ones before it can have been missed
      if (h.lastCreditedEpoch === undefined) continue
      const missed = f.currentEpoch - 1n - h.lastCreditedEpoch
      if (missed < BigInt(t.missedEpochs)) continue
      out.push({
        key: `missed-epoch:${h.hostId}`,
        rule: 'missed-epoch',
        severity: 'critical',
        summary: `host ${short(h.hostId)} missed ${missed} epoch(s): last credited epoch ${h.lastCreditedEpoch}, now ${f.currentEpoch}`,
        details: {hostId: h.hostId, lastCreditedEpoch: h.lastCreditedEpoch.toString(), currentEpoch: f.currentEpoch.toString(), missedEpochs: Number(missed)},
      })
    }

  if (on.has('agent-down') && f.agent && f.registeredDevices > 0) {
    const staleAfter = Math.max(60, t.agentStaleEpochs * f.epochSeconds)
    const age = f.agent.updatedAt === undefined ? undefined : f.now - Math.floor(f.agent.updatedAt / 1000)
    const why = !f.agent.running
      ? 'no agent process holds the lock'
      : age === undefined || age > staleAfter
        ? `agent/state.json not updated for ${age ?? '∞'} s`
        : undefined
    if (why)
      out.push({
        key: 'agent-down:local',
        rule: 'agent-down',
        severity: 'critical',
        summary: `the heartbeat agent is down: ${why}${f.agent.lastError ? `; last error: ${f.agent.lastError}` : ''}`,
        details: {
          running: f.agent.running,
          pid: f.agent.pid ?? null,
          stateAgeSeconds: age ?? null,
          state: f.agent.state ?? null,
          lastError: f.agent.lastError ?? null,
        },
      })
  }

  if (on.has('gas-runway-low') && f.gas && f.gas.costPerEpoch > 0n && f.hosts.length > 0) {
    const runway = f.gas.balance / f.gas.costPerEpoch
    if (runway < BigInt(t.gasRunwayEpochs))
      out.push({
        key: `gas-runway-low:${f.operator ?? 'operator'}`,
        rule: 'gas-runway-low',
        severity: runway < 1n ? 'critical' : 'warning',
        summary: `gas runway low: about ${runway} epoch(s) of heartbeats left (threshold ${t.gasRunwayEpochs}); fund ${f.operator ?? 'the operator'}`,
        details: {
          operator: f.operator ?? null,
          balanceWei: f.gas.balance.toString(),
          costPerEpochWei: f.gas.costPerEpoch.toString(),
          costFrom: f.gas.source,
          runwayEpochs: Number(runway),
        },
      })
  }

  if (on.has('device-lost'))
    for (const d of f.lostDevices)
      out.push({
        key: `device-lost:${d.deviceId}`,
        rule: 'device-lost',
        severity: 'critical',
        summary: `device ${short(d.deviceId)} (${d.kind}) is approved on chain but this host no longer finds it`,
        details: {deviceId: d.deviceId, kind: d.kind},
      })

  if (on.has('device-unhealthy'))
    for (const d of f.unhealthyDevices)
      out.push({
        key: `device-unhealthy:${d.id}`,
        rule: 'device-unhealthy',
        severity: 'warning',
        summary: `device ${d.label} is unhealthy: ${d.faults.join('; ')}`,
        details: {device: d.id, label: d.label, faults: d.faults.join('; '), ...(d.xids?.length ? {xid: d.xids.join(', ')} : {})},
      })

  if (on.has('registration-rejected'))
    for (const r of f.rejectedRegistrations)
      out.push({
        key: `registration-rejected:${r.regId}`,
        rule: 'registration-rejected',
        severity: 'critical',
        summary: `the verifier rejected the registration of device ${short(r.deviceId)}${r.reason ? `: ${r.reason}` : ''}`,
        details: {regId: r.regId, deviceId: r.deviceId, reason: r.reason ?? null},
      })

  if (on.has('challenge-open'))
    for (const c of f.openChallenges)
      out.push({
        key: `challenge-open:${c.challengeId}`,
        rule: 'challenge-open',
        severity: 'critical',
        summary: `challenge ${short(c.challengeId)} is open against device ${short(c.deviceId)} (epoch ${c.epoch}): answer by block ${c.deadline}`,
        details: {challengeId: c.challengeId, deviceId: c.deviceId, epoch: c.epoch.toString(), deadline: c.deadline.toString()},
      })

  return out
}
