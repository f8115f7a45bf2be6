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

/** A condition as its rule finds it; evaluateRules keys it "<rule>:<subject>", so one subject is one alert. */
type Finding = Omit<AlertCondition, 'key' | 'rule'> & {subject: string}

/** Each rule's findings in the facts, in this order (the order of the conditions and so of the messages). */
const RULES: {[R in AlertRule]: (f: AlertFacts, t: AlertThresholds) => Finding[]} = {
  'missed-epoch': (f, t) =>
    f.hosts.flatMap((h) => {
      // the current epoch is still open: only the ones before it can have been missed
      if (h.lastCreditedEpoch === undefined) return []
      const missed = f.currentEpoch - 1n - h.lastCreditedEpoch
      if (missed < BigInt(t.missedEpochs)) return []
      return [
        {
          subject: h.hostId,
          severity: 'critical',
          summary: `host ${short(h.hostId)} missed ${missed} epoch(s): last credited epoch ${h.lastCreditedEpoch}, now ${f.currentEpoch}`,
          details: {hostId: h.hostId, lastCreditedEpoch: h.lastCreditedEpoch.toString(), currentEpoch: f.currentEpoch.toString(), missedEpochs: Number(missed)},
        },
      ]
    }),

  'agent-down': (f, t) => {
    if (!f.agent || f.registeredDevices <= 0) return []
    const staleAfter = Math.max(60, t.agentStaleEpochs * f.epochSeconds)
    const age = f.agent.updatedAt === undefined ? undefined : f.now - Math.floor(f.agent.updatedAt / 1000)
    const why = !f.agent.running
      ? 'no agent process holds the lock'
      : age === undefined || age > staleAfter
        ? `agent/state.json not updated for ${age ?? '∞'} s`
        : undefined
    if (!why) return []
    return [
      {
        subject: 'local',
        severity: 'critical',
        summary: `the heartbeat agent is down: ${why}${f.agent.lastError ? `; last error: ${f.agent.lastError}` : ''}`,
        details: {
          running: f.agent.running,
          pid: f.agent.pid ?? null,
          stateAgeSeconds: age ?? null,
          state: f.agent.state ?? null,
          lastError: f.agent.lastError ?? null,
        },
      },
    ]
  },

  'gas-runway-low': (f, t) => {
    if (!f.gas || f.gas.costPerEpoch <= 0n || f.hosts.length === 0) return []
    const runway = f.gas.balance / f.gas.costPerEpoch
    if (runway >= BigInt(t.gasRunwayEpochs)) return []
    return [
      {
        subject: f.operator ?? 'operator',
        severity: runway < 1n ? 'critical' : 'warning',
        summary: `gas runway low: about ${runway} epoch(s) of heartbeats left (threshold ${t.gasRunwayEpochs}); fund ${f.operator ?? 'the operator'}`,
        details: {
          operator: f.operator ?? null,
          balanceWei: f.gas.balance.toString(),
          costPerEpochWei: f.gas.costPerEpoch.toString(),
          costFrom: f.gas.source,
          runwayEpochs: Number(runway),
        },
      },
    ]
  },

  'device-lost': (f) =>
    f.lostDevices.map((d) => ({
      subject: d.deviceId,
      severity: 'critical',
      summary: `device ${short(d.deviceId)} (${d.kind}) is approved on chain but this host no longer finds it`,
      details: {deviceId: d.deviceId, kind: d.kind},
    })),

  'device-unhealthy': (f) =>
    f.unhealthyDevices.map((d) => ({
      subject: d.id,
      severity: 'warning',
      summary: `device ${d.label} is unhealthy: ${d.faults.join('; ')}`,
      details: {device: d.id, label: d.label, faults: d.faults.join('; '), ...(d.xids?.length ? {xid: d.xids.join(', ')} : {})},
    })),

  'registration-rejected': (f) =>
    f.rejectedRegistrations.map((r) => ({
      subject: r.regId,
      severity: 'critical',
      summary: `the verifier rejected the registration of device ${short(r.deviceId)}${r.reason ? `: ${r.reason}` : ''}`,
      details: {regId: r.regId, deviceId: r.deviceId, reason: r.reason ?? null},
    })),

  'challenge-open': (f) =>
    f.openChallenges.map((c) => ({
      subject: c.challengeId,
      severity: 'critical',
      summary: `challenge ${short(c.challengeId)} is open against device ${short(c.deviceId)} (epoch ${c.epoch}): answer by block ${c.deadline}`,
      details: {challengeId: c.challengeId, deviceId: c.deviceId, epoch: c.epoch.toString(), deadline: c.deadline.toString()},
    })),
}

/**
 * Every condition open now, one per subject. Pure: the same facts give the same conditions, and the
 * open-alert store (open-alerts.ts) turns their appearance and disappearance into messages.
 */
export function evaluateRules(f: AlertFacts, t: AlertThresholds): AlertCondition[] {
  const on = new Set(t.rules)
  return (Object.keys(RULES) as AlertRule[])
    .filter((rule) => on.has(rule))
    .flatMap((rule) => RULES[rule](f, t).map(({subject, ...found}) => ({key: `${rule}:${subject}`, rule, ...found})))
}
