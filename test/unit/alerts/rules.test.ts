import {describe, expect, it} from 'vitest'

import type {AlertFacts} from '../../../src/alerts/facts.js'
import {evaluateRules, type AlertThresholds} from '../../../src/alerts/rules.js'
import {ALERT_RULES} from '../../../src/alerts/types.js'

const HOST = '0x' + 'ab'.repeat(32)
const t: AlertThresholds = {missedEpochs: 1, gasRunwayEpochs: 48, agentStaleEpochs: 3, rules: ALERT_RULES}
const NOW = 1_800_000_000

function facts(over: Partial<AlertFacts> = {}): AlertFacts {
  return {
    network: 'devnet',
    operator: '0x' + '11'.repeat(20),
    now: NOW,
    currentEpoch: 10n,
    epochSeconds: 15,
    hosts: [{hostId: HOST, lastCreditedEpoch: 10n}],
    registeredDevices: 1,
    agent: {running: true, pid: 42, updatedAt: NOW * 1000, state: 'Confirmed'},
    gas: {balance: 1000n, costPerEpoch: 10n, source: 'recent'},
    lostDevices: [],
    unhealthyDevices: [],
    rejectedRegistrations: [],
    openChallenges: [],
    ...over,
  }
}
const rules = (f: AlertFacts, th = t) => evaluateRules(f, th).map((c) => c.key)

describe('alert rules', () => {
  it('a healthy host has no open condition', () => {
    expect(rules(facts())).toEqual([])
  })

  it('missed-epoch: only a whole past epoch without a credit counts, not the one still open', () => {
    expect(rules(facts({hosts: [{hostId: HOST, lastCreditedEpoch: 9n}]}))).toEqual([]) // credited last epoch; this one is under way
    const c = evaluateRules(facts({hosts: [{hostId: HOST, lastCreditedEpoch: 8n}]}), t)
    expect(c.map((x) => x.key)).toEqual([`missed-epoch:${HOST}`])
    expect(c[0]!.details).toMatchObject({lastCreditedEpoch: '8', currentEpoch: '10', missedEpochs: 1})
    expect(rules(facts({hosts: [{hostId: HOST, lastCreditedEpoch: 8n}]}), {...t, missedEpochs: 2})).toEqual([])
    expect(rules(facts({hosts: [{hostId: HOST, lastCreditedEpoch: 7n}]}), {...t, missedEpochs: 2})).toEqual([`missed-epoch:${HOST}`])
    // never credited: not this rule's call (agent-down and `unet status --explain` say why)
    expect(rules(facts({hosts: [{hostId: HOST}]}))).toEqual([])
  })

  it('agent-down: no lock holder, or a state file older than the threshold; never inside the agent', () => {
    expect(rules(facts({agent: {running: false}}))).toEqual(['agent-down:local'])
    const stale = (ageSeconds: number) => facts({agent: {running: true, updatedAt: (NOW - ageSeconds) * 1000}})
    expect(rules(stale(60))).toEqual([]) // 3 epochs of 15 s = 45 s, but never under a minute
    expect(rules(stale(61))).toEqual(['agent-down:local'])
    expect(rules(facts({epochSeconds: 600, agent: {running: true, updatedAt: (NOW - 1799) * 1000}}))).toEqual([])
    expect(rules(facts({agent: undefined}))).toEqual([])
    // nothing registered: there is no agent to expect
    expect(rules(facts({agent: {running: false}, registeredDevices: 0}))).toEqual([])
  })

  it('gas-runway-low: balance over the recent cost per epoch under the threshold; critical when not one epoch is left', () => {
    expect(rules(facts({gas: {balance: 480n, costPerEpoch: 10n, source: 'recent'}}))).toEqual([])
    const low = evaluateRules(facts({gas: {balance: 479n, costPerEpoch: 10n, source: 'recent'}}), t)
    expect(low.map((c) => [c.key, c.severity, c.details.runwayEpochs])).toEqual([[`gas-runway-low:${facts().operator}`, 'warning', 47]])
    expect(evaluateRules(facts({gas: {balance: 9n, costPerEpoch: 10n, source: 'estimate'}}), t)[0]!.severity).toBe('critical')
  })

  it('device, registration and challenge conditions are one per subject', () => {
    const f = facts({
      lostDevices: [{deviceId: '0x01', kind: 'p384'}],
      unhealthyDevices: [{id: 'GPU-1', label: 'NVIDIA H100', faults: ['utilisation: GPU fell off the bus']}],
      rejectedRegistrations: [{regId: '0xr1', deviceId: '0x02', reason: 'EK not trusted'}],
      openChallenges: [
        {challengeId: '0xc1', deviceId: '0x01', epoch: 9n, deadline: 200n},
        {challengeId: '0xc2', deviceId: '0x01', epoch: 9n, deadline: 210n},
      ],
    })
    expect(rules(f)).toEqual(['device-lost:0x01', 'device-unhealthy:GPU-1', 'registration-rejected:0xr1', 'challenge-open:0xc1', 'challenge-open:0xc2'])
    expect(rules(f, {...t, rules: ['challenge-open']})).toEqual(['challenge-open:0xc1', 'challenge-open:0xc2'])
  })

  it('device-unhealthy: a critical Xid names its number and meaning; probe faults alone carry no xid', () => {
    const xid = evaluateRules(
      facts({
        unhealthyDevices: [
          {id: 'GPU-9', label: 'NVIDIA RTX 4090 0000:65:00.0', faults: ['Xid 79 (GPU has fallen off the bus) in epoch 10'], xids: [79]},
          {id: 'pci:0000:83:00.0', label: 'x y 0000:83:00.0', faults: ['driver not loaded']},
        ],
      }),
      t,
    )
    expect(xid.map((c) => c.key)).toEqual(['device-unhealthy:GPU-9', 'device-unhealthy:pci:0000:83:00.0'])
    expect(xid[0]!.summary).toBe('device NVIDIA RTX 4090 0000:65:00.0 is unhealthy: Xid 79 (GPU has fallen off the bus) in epoch 10')
    expect(xid[0]!.details).toMatchObject({device: 'GPU-9', xid: '79'})
    expect(xid[1]!.details).not.toHaveProperty('xid')
    expect(rules(facts({unhealthyDevices: [{id: 'GPU-9', label: 'l', faults: ['Xid 79 (x)'], xids: [79]}]}), {...t, rules: ['device-lost']})).toEqual([])
  })
})
