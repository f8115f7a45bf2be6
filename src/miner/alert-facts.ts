/**
 * The alert rules' facts (src/alerts/facts.ts) for this machine: the same chain reads as `unet status`
 * (gatherStatus), plus what costs a heartbeat really had (recent receipts), the operator's rejected
 * registrations, and the local device probe (devices gone or faulty).
 */
import type {AlertFacts} from '../alerts/facts.js'
import {HEARTBEAT_GAS_ESTIMATE} from '../chain/gas.js'
import type {ResolvedConfig} from '../config/index.js'
import type {Device} from '../hw/inventory.js'
import {deviceFaults} from '../hw/probe-reasons.js'
import {deviceLocatorOf, ownKeyDevicesOf, probeLocated} from './attest-devices.js'
import type {GpuErrorFault} from './gpu-error-ledger.js'
import type {StatusInputs} from './status-report.js'

/** Heartbeats whose receipts price an epoch (the gas runway); fewer: the estimate. */
const RECENT_HEARTBEATS = 5
/** On-chain kinds of accelerators that attest with their own key: the local probe must find them. */
const OWN_KEY_KINDS = new Set(['rsa2048', 'p384'])

export interface AlertFactsOptions {
  /** Inside the agent process: it is running by definition, so agent-down is not looked at. */
  inAgent?: boolean
  /** What `unet status` read (the host monitor reads it once for the metrics too). */
  inputs?: StatusInputs
  /** The local probe's devices (likewise). */
  probed?: Device[]
  /** Inside the agent: GPUs whose NVML events reported a critical Xid within the clearing window (gpu-error-ledger.ts). */
  gpuErrors?: GpuErrorFault[]
}

export async function gatherAlertFacts(resolved: ResolvedConfig, operator: string | undefined, options: AlertFactsOptions = {}): Promise<AlertFacts> {
  const {gatherStatus} = await import('./status-report.js')
  const inputs = options.inputs ?? (await gatherStatus(resolved, operator, resolved.config.payout ?? operator))
  const probed = options.probed ?? (await probeLocated(deviceLocatorOf(resolved.config)))
  const {connect, disconnect} = await import('../chain/client.js')
  const {requireChainReady} = await import('../config/index.js')
  const client = await connect(requireChainReady(resolved.profile))
  try {
    const {transactionCosts} = await import('../chain/tx-cost.js')
    const recent = [...inputs.history.values()].flatMap((h) => h.slice(-RECENT_HEARTBEATS).map((r) => r.txHash))
    const costs = recent.length > 0 ? await transactionCosts(client, recent) : []
    return {
      ...factsFromStatus(inputs, options),
      gas: gasFacts(inputs, costs),
      rejectedRegistrations: operator ? await rejected(client, operator, inputs) : [],
      ...deviceFacts(probed, inputs, options.gpuErrors ?? []),
    }
  } finally {
    disconnect(client)
  }
}

function approvedHosts(i: StatusInputs): string[] {
  return [...new Set(i.chain.devices.filter((d) => d.approved && d.hostId).map((d) => d.hostId!))]
}

function factsFromStatus(i: StatusInputs, options: AlertFactsOptions): Omit<AlertFacts, 'gas' | 'rejectedRegistrations' | 'lostDevices' | 'unhealthyDevices'> {
  const snapshot = i.local.snapshot
  return {
    network: i.profile.name,
    operator: i.operator,
    now: i.now,
    currentEpoch: i.chain.currentEpoch,
    epochSeconds: Number(i.chain.epochSeconds),
    hosts: approvedHosts(i).map((hostId) => ({hostId, lastCreditedEpoch: i.history.get(hostId)?.at(-1)?.epoch})),
    registeredDevices: i.chain.devices.length,
    agent: options.inAgent
      ? undefined
      : {running: i.local.running, pid: i.local.pid, updatedAt: snapshot?.updatedAt, state: snapshot?.state, lastError: snapshot?.lastError},
    openChallenges: i.challenges
      .filter((c) => c.status === 'open')
      .map((c) => ({challengeId: c.challengeId, deviceId: c.deviceId, epoch: c.epoch, deadline: c.deadline})),
  }
}

/** An epoch costs one heartbeat per host: the mean of the recent receipts, else the estimate at today's fee. */
function gasFacts(i: StatusInputs, costs: bigint[]): AlertFacts['gas'] {
  if (!i.gas) return undefined
  const hosts = BigInt(Math.max(1, approvedHosts(i).length))
  if (costs.length > 0) return {balance: i.gas.balance, costPerEpoch: (costs.reduce((a, b) => a + b, 0n) / BigInt(costs.length)) * hosts, source: 'recent'}
  return {balance: i.gas.balance, costPerEpoch: HEARTBEAT_GAS_ESTIMATE * i.gas.maxFeePerGas * hosts, source: 'estimate'}
}

/** Devices whose latest registration by this operator the verifier rejected (a newer one, pending or approved, clears it). */
async function rejected(client: import('../chain/client.js').ChainClient, operator: string, i: StatusInputs): Promise<AlertFacts['rejectedRegistrations']> {
  const {registrations, registrationState, rejectionReason} = await import('../chain/registrations.js')
  const latest = new Map<string, string>()
  for (const r of await registrations(client, {fromBlock: 0, operator})) latest.set(r.deviceId.toLowerCase(), r.regId)
  const approved = new Set(i.chain.devices.filter((d) => d.approved).map((d) => d.deviceId.toLowerCase()))
  const out: AlertFacts['rejectedRegistrations'] = []
  for (const [deviceId, regId] of latest) {
    if (approved.has(deviceId)) continue
    if ((await registrationState(client, regId)).status !== 'rejected') continue
    out.push({regId, deviceId, reason: await rejectionReason(client, regId)})
  }
  return out
}

/**
 * The local probe: approved own-key accelerators it no longer finds, and accelerators whose probe reports
 * faults or whose recent GPU errors do (a GPU that fell off the bus may be gone from the probe: it keeps
 * the label the watch gave it).
 */
function deviceFacts(all: Device[], i: StatusInputs, gpuErrors: GpuErrorFault[]): Pick<AlertFacts, 'lostDevices' | 'unhealthyDevices'> {
  const present = new Set(ownKeyDevicesOf(all).devices.map((d) => d.deviceId.toLowerCase()))
  const lostDevices = i.chain.devices
    .filter((d) => d.approved && OWN_KEY_KINDS.has(d.kind) && !present.has(d.deviceId.toLowerCase()))
    .map((d) => ({deviceId: d.deviceId, kind: d.kind}))
  const unhealthyDevices: AlertFacts['unhealthyDevices'] = all
    .filter((d) => d.kind !== 'tpm')
    .map((d) => ({id: d.stableId, label: `${d.vendor} ${d.model} ${d.pciAddress ?? d.stableId}`, faults: deviceFaults(d.reasons)}))
  for (const g of gpuErrors) {
    const d = unhealthyDevices.find((u) => u.id === g.device)
    if (d) Object.assign(d, {faults: [...d.faults, ...g.faults], xids: g.xids})
    else unhealthyDevices.push({id: g.device, label: g.label, faults: g.faults, xids: g.xids})
  }
  return {lostDevices, unhealthyDevices: unhealthyDevices.filter((d) => d.faults.length > 0)}
}
