/**
 * `unet register`, accelerators: every local device with its own key is registered under the host
 * (same operator and payout), with its proof of possession over its own registration challenge
 * (hostId and the device's registration nonce) and its evidence v1 for the verifier; then every
 * registration id is awaited. The contract takes devices only under an APPROVED host, so this runs
 * after the host's approval. Sequential, one result per device; re-running is harmless (a bound device
 * is reported, a pending registration under the host's current registration is resumed).
 */
import {DEVICE_KIND_NAMES} from '../chain/artifacts.js'
import {deviceState, type DeviceState} from '../chain/device-state.js'
import {register, registrationNonce} from '../chain/register.js'
import {rejectionReason, type Registration, type RegistrationState} from '../chain/registrations.js'
import {encodeEvidence, registerChallenge} from '../evidence/index.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {attestOwnKeyDevice, ownKeyDevices, type DeviceLocator, type OwnKeyDevice} from './attest-devices.js'
import {awaitRegistrations, type AwaitApprovalOptions} from './await-approval.js'
import type {MinerSession} from './miner-session.js'
import {operatorRegistrations, pendingRegistrationOf} from './pending-registration.js'

export interface DeviceRegisterOutcome {
  deviceId: string
  /** The registration this run sent or resumed, or the one that bound the device. */
  regId?: string
  /** On-chain kind name (rsa2048, p384). */
  kind: string
  /** What the device is: "Sophgo BM1684X HQDZW1TBCJCAJ0008:0". */
  device: string
  hostId: string
  /** bound-elsewhere: the device is bound under another host or operator, so it earns nothing here. */
  action: 'registered' | 'resumed' | 'already-registered' | 'bound-elsewhere' | 'failed'
  /** The registration's status after this run ('none': nothing was sent; bound-elsewhere: the other binding's). */
  status: RegistrationState['status']
  approved: boolean
  power: string
  txHash?: string
  /** Why it failed, was rejected (the verifier's reason from its Rejected event), or is bound elsewhere. */
  reason?: string
}

export interface DeviceRegisterResult {
  devices: DeviceRegisterOutcome[]
  /** Local accelerators without their own key (committed by the host quote only), with the reason. */
  skipped: Array<{device: string; reason: string}>
}

export type RegisterDevicesOptions = AwaitApprovalOptions

/** Registers the host's own-key accelerators; the host must be approved (the contract reverts NotApproved otherwise). */
export async function registerDevices(session: MinerSession, locator: DeviceLocator, options: RegisterDevicesOptions): Promise<DeviceRegisterResult> {
  const {client, hostId} = session
  const host = await deviceState(client, hostId)
  if (host.status !== 'approved' || host.operator?.toLowerCase() !== session.operator.toLowerCase())
    throw new UnetError('accelerators register only under an approved host of this operator', ExitCode.NOT_REGISTERED, {
      hint: 'run `unet register` until the host is approved',
    })
  options.onProgress?.('probing accelerators')
  const {devices, skipped} = await ownKeyDevices(locator)
  const mine = devices.length > 0 ? await operatorRegistrations(client, session.operator) : []
  const outcomes: Outcome[] = []
  for (const target of devices) {
    options.onProgress?.(`registering ${target.label}`)
    outcomes.push(await registerOne(session, target, locator, {hostRegId: host.regId!, payout: host.payout ?? session.payout, mine}, options))
  }
  const waiting = outcomes.filter((o) => o.status === 'pending' && o.regId)
  const states = await awaitRegistrations(
    client,
    waiting.map((o) => o.regId!),
    options,
  )
  for (const o of waiting) {
    const state = states.get(o.regId!)!
    o.status = state.status
    o.approved = state.status === 'approved'
    if (o.approved) o.power = (await deviceState(client, o.deviceId)).power.toString()
    if (state.status === 'rejected') o.reason = `rejected by the verifier: ${(await rejectionReason(client, o.regId!, o.fromBlock)) ?? 'no reason given'}`
  }
  return {devices: outcomes.map(({fromBlock: _fromBlock, ...o}) => o), skipped: skipped.map((s) => ({device: s.label, reason: s.reason}))}
}

/** A device's outcome, with the block to look for its Rejected event from (dropped from the result). */
type Outcome = DeviceRegisterOutcome & {fromBlock?: number}
/** What one step decided: the outcome less the device's own fields. */
type Decided = Omit<Outcome, 'deviceId' | 'kind' | 'device' | 'hostId'>

/**
 * One device: reported when already bound, resumed when a registration under the host's current one
 * is pending, else registered afresh. A failure is its outcome, not a throw (the other devices go on),
 * unless the run was aborted.
 */
async function registerOne(
  session: MinerSession,
  target: OwnKeyDevice,
  locator: DeviceLocator,
  /** The host's current registration and on-chain payout (a device must name the same payout). */
  host: {hostRegId: string; payout: string; mine: readonly Registration[]},
  options: RegisterDevicesOptions,
): Promise<Outcome> {
  const base = {deviceId: target.deviceId, kind: DEVICE_KIND_NAMES[target.chainKind] ?? String(target.chainKind), device: target.label, hostId: session.hostId}
  try {
    const state = await deviceState(session.client, target.deviceId)
    if (state.status === 'approved') return {...base, ...alreadyBound(state, session)}
    const pending = await pendingUnderHost(session, target, host)
    if (pending) {
      options.onProgress?.(`${target.label}: resuming the pending registration ${pending.state.regId}`)
      return {
        ...base,
        regId: pending.state.regId,
        action: 'resumed',
        status: 'pending',
        approved: false,
        power: '0',
        fromBlock: pending.registration.blockNumber,
      }
    }
    return {...base, ...(await registerAfresh(session, target, locator, host.payout, options))}
  } catch (error) {
    if (options.signal?.aborted) throw error
    return {...base, action: 'failed', status: 'none', approved: false, power: '0', reason: failureReason(error)}
  }
}

/**
 * A device already bound: nothing is sent. Bound under this host it is approved here; bound under another
 * host or operator it is not approved for this one (it earns there, not here), and the reason says where
 * to release it.
 */
function alreadyBound(state: DeviceState, session: MinerSession): Decided {
  const sameOperator = state.operator?.toLowerCase() === session.operator.toLowerCase()
  const mine = sameOperator && state.hostId?.toLowerCase() === session.hostId.toLowerCase()
  if (mine) return {regId: state.regId, action: 'already-registered', status: 'approved', approved: true, power: state.power.toString()}
  return {
    regId: state.regId,
    action: 'bound-elsewhere',
    status: 'approved',
    approved: false,
    power: '0',
    reason: `bound to ${sameOperator ? 'this operator' : `operator ${state.operator}`} on host ${state.hostId}: release it there first`,
  }
}

/** The device's pending registration under this host's current registration, if any. */
function pendingUnderHost(session: MinerSession, target: OwnKeyDevice, host: {hostRegId: string; mine: readonly Registration[]}) {
  // a pending registration under an earlier registration of the host can never be approved (HostChanged)
  const {client, hostId} = session
  return pendingRegistrationOf(client, host.mine, target.deviceId, (s) => s.hostId.toLowerCase() === hostId.toLowerCase() && s.hostRegId === host.hostRegId)
}

/** Signs the device's registration challenge with its own key and sends `register` (with the deposit). */
async function registerAfresh(
  session: MinerSession,
  target: OwnKeyDevice,
  locator: DeviceLocator,
  payout: string,
  options: RegisterDevicesOptions,
): Promise<Decided> {
  const {client, hostId, operator} = session
  options.onProgress?.(`${target.label}: signing the registration challenge`)
  const nonce = await registrationNonce(client, target.deviceId)
  const challenge = registerChallenge({chainId: client.chainId, contract: client.pociAddress!, operator, payout, deviceId: target.deviceId, hostId, nonce})
  const attested = await attestOwnKeyDevice(target, challenge, locator)
  options.onProgress?.(`${target.label}: sending the register transaction (with the registration deposit)`)
  const result = await register(client, {
    kind: target.chainKind,
    publicKey: target.publicKey,
    payout,
    hostId,
    proof: attested.registerProof,
    evidence: encodeEvidence(attested.evidence),
  })
  return {regId: result.regId, action: 'registered', status: 'pending', approved: false, power: '0', txHash: result.txHash, fromBlock: result.blockNumber}
}

/** A device's failure in one line: the error's message, with its hint when it is a UnetError. */
function failureReason(error: unknown): string {
  return error instanceof UnetError ? `${error.message}${error.hint ? ` (${error.hint})` : ''}` : (error as Error).message
}
