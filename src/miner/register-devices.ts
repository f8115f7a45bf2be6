/**
 * `unet register`, accelerators: every local device with its own key is registered attached to the
 * host (same operator and payout), with its proof of possession over its registration challenge and
 * its evidence v1 for the verifier; then the verifier's decisions are awaited. Sequential, one
 * result per device; re-running is harmless (a device already bound is reported, not re-sent).
 */
import {DEVICE_KIND_NAMES} from '../chain/artifacts.js'
import {deviceState, type DeviceState} from '../chain/device-state.js'
import {register} from '../chain/register.js'
import {encodeEvidence, registerChallenge} from '../evidence/index.js'
import {UnetError} from '../errors/index.js'
import {attestOwnKeyDevice, ownKeyDevices, type DeviceLocator, type OwnKeyDevice} from './attest-devices.js'
import {awaitApproval, type AwaitApprovalOptions} from './await-approval.js'
import type {MinerSession} from './miner-session.js'

export interface DeviceRegisterOutcome {
  deviceId: string
  /** On-chain kind name (rsa2048, p384). */
  kind: string
  /** What the device is: "Sophgo BM1684X HQDZW1TBCJCAJ0008:0". */
  device: string
  hostId: string
  action: 'registered' | 'already-registered' | 'failed'
  /** On-chain status after this run; 'none' after a registration means the verifier rejected it. */
  status: DeviceState['status']
  approved: boolean
  power: string
  txHash?: string
  /** Why it failed, was rejected, or is bound elsewhere. */
  reason?: string
}

export interface DeviceRegisterResult {
  devices: DeviceRegisterOutcome[]
  /** Local accelerators without their own key (committed by the host quote only), with the reason. */
  skipped: Array<{device: string; reason: string}>
}

export type RegisterDevicesOptions = AwaitApprovalOptions

/** Registers the host's own-key accelerators; call it after the host is registered (approved or pending). */
export async function registerDevices(session: MinerSession, locator: DeviceLocator, options: RegisterDevicesOptions): Promise<DeviceRegisterResult> {
  const {client} = session
  options.onProgress?.('probing accelerators')
  const {devices, skipped} = await ownKeyDevices(locator)
  const outcomes: DeviceRegisterOutcome[] = []
  for (const target of devices) {
    options.onProgress?.(`registering ${target.label}`)
    outcomes.push(await registerOne(session, target, locator, options))
  }
  const states = await awaitApproval(client, outcomes.filter((o) => o.status === 'pending').map((o) => o.deviceId), options)
  for (const o of outcomes) {
    const state = states.get(o.deviceId)
    if (!state) continue
    Object.assign(o, summarize(state))
    if (state.status === 'none') o.reason = 'rejected by the verifier (the Rejected event and the devnet decisions.jsonl give the reasons)'
  }
  return {devices: outcomes, skipped: skipped.map((s) => ({device: s.label, reason: s.reason}))}
}

function summarize(state: DeviceState): Pick<DeviceRegisterOutcome, 'status' | 'approved' | 'power'> {
  return {status: state.status, approved: state.status === 'approved', power: state.power.toString()}
}

async function registerOne(session: MinerSession, target: OwnKeyDevice, locator: DeviceLocator, options: RegisterDevicesOptions): Promise<DeviceRegisterOutcome> {
  const {client, hostId, operator, payout} = session
  const base = {deviceId: target.deviceId, kind: DEVICE_KIND_NAMES[target.chainKind] ?? String(target.chainKind), device: target.label, hostId}
  try {
    const state = await deviceState(client, target.deviceId)
    if (state.status !== 'none') {
      const mine = state.operator?.toLowerCase() === operator.toLowerCase() && state.hostId?.toLowerCase() === hostId.toLowerCase()
      return {
        ...base,
        action: 'already-registered',
        ...summarize(state),
        reason: mine ? undefined : `bound to ${state.operator === undefined || state.operator.toLowerCase() === operator.toLowerCase() ? 'this operator' : `operator ${state.operator}`} on host ${state.hostId}: release it there first`,
      }
    }
    options.onProgress?.(`${target.label}: signing the registration challenge`)
    const challenge = registerChallenge({chainId: client.chainId, contract: client.pociAddress!, operator, payout, deviceId: target.deviceId})
    const attested = await attestOwnKeyDevice(target, challenge, locator)
    options.onProgress?.(`${target.label}: sending the register transaction`)
    const result = await register(client, {
      kind: target.chainKind,
      publicKey: target.publicKey,
      payout,
      hostId,
      proof: attested.registerProof,
      evidence: encodeEvidence(attested.evidence),
    })
    return {...base, action: 'registered', ...summarize(await deviceState(client, target.deviceId)), txHash: result.txHash}
  } catch (error) {
    if (options.signal?.aborted) throw error
    const message = error instanceof UnetError ? `${error.message}${error.hint ? ` (${error.hint})` : ''}` : (error as Error).message
    return {...base, action: 'failed', status: 'none', approved: false, power: '0', reason: message}
  }
}
