import {InputError} from '../errors/index.js'
import {canonicalPublicKey} from '../evidence/nonce.js'
import {bytesToHex, concatBytes} from '../util/hex.js'
import {requirePoci, type ChainClient} from './client.js'
import {receiptEvent} from './events.js'
import {prepareCall, type CallRequest} from './signed-tx.js'
import {sendTx, type TxResult} from './tx.js'

export interface HeartbeatDevice {
  deviceId: string
  /** keccak256 of the device's canonical evidence (committed in the host quote). */
  evidenceDigest: string
  kind: number
  /**
   * Own-key devices, over SHA-256 of the per-device challenge (heartbeatChallenge with the deviceId in
   * the hostId field): P-256/emulator x‖y‖r‖s (128 bytes), secp256k1 r‖s‖v (65), RSA-2048
   * modulus‖signature (512). P-384 devices: none.
   */
  proof?: Uint8Array
}

export interface HeartbeatParams {
  epoch: bigint
  blockNumber: bigint
  blockHash: string
  /** Host AK public key, x‖y (64 bytes) or the SEC1 point; hostId = keccak256(x‖y). */
  akPublicKey: Uint8Array
  /** TPMS_ATTEST bytes the host key signed. */
  attest: Uint8Array
  signature: {r: Uint8Array; s: Uint8Array}
  /** Exactly the host's approved devices, in hostDevices() order. */
  devices: HeartbeatDevice[]
}

export interface HeartbeatResult extends TxResult {
  hostId: string
  epoch: bigint
  reward: bigint
  devicesDigest: string
}

/** The heartbeat call's arguments, as Poci.heartbeat takes them (shared by send and sign-only paths). */
export function heartbeatCallArgs(params: HeartbeatParams): unknown[] {
  const ak = canonicalPublicKey(params.akPublicKey)
  if (ak.length !== 64) throw new InputError('the host key must be 64 bytes (x‖y) or a SEC1 point')
  if (params.signature.r.length !== 32 || params.signature.s.length !== 32) throw new InputError('the quote signature must be r and s of 32 bytes each')
  const commits = params.devices.flatMap((d) => [d.deviceId, d.evidenceDigest])
  const kinds = Uint8Array.from(params.devices.map((d) => d.kind))
  const proofs = concatBytes(...params.devices.map((d) => d.proof ?? new Uint8Array()))
  return [
    params.epoch,
    params.blockNumber,
    params.blockHash,
    bytesToHex(ak.subarray(0, 32)),
    bytesToHex(ak.subarray(32)),
    bytesToHex(params.attest),
    bytesToHex(params.signature.r),
    bytesToHex(params.signature.s),
    commits,
    bytesToHex(kinds),
    bytesToHex(proofs),
  ]
}

export async function heartbeat(client: ChainClient, params: HeartbeatParams): Promise<HeartbeatResult> {
  const poci = requirePoci(client)
  const result = await sendTx(client, poci, 'heartbeat', heartbeatCallArgs(params), 'heartbeat')
  const event = receiptEvent(client, result.receipt, 'Heartbeat')!
  const hostId = event[0] as string
  // The credit is power × rate as of this block (the event stays small to keep the heartbeat cheap).
  const blockTag = result.blockNumber
  const [host, rate] = await Promise.all([
    poci.getFunction('hostInfo').staticCall(hostId, {blockTag}) as Promise<unknown[]>,
    poci.getFunction('rewardPerPowerEpoch').staticCall({blockTag}) as Promise<bigint>,
  ])
  return {...result, hostId, epoch: event[1] as bigint, reward: (host[2] as bigint) * rate, devicesDigest: event[2] as string}
}

/** The heartbeat call, encoded and gas-estimated, ready to sign (the agent signs before it broadcasts). */
export async function heartbeatRequest(client: ChainClient, params: HeartbeatParams): Promise<CallRequest> {
  return prepareCall(client, requirePoci(client), 'heartbeat', heartbeatCallArgs(params), 'heartbeat')
}

/** The same call again from its calldata (a fee-bump replacement after a restart). */
export async function heartbeatRequestFromData(client: ChainClient, data: string): Promise<CallRequest> {
  const poci = requirePoci(client)
  return prepareCall(client, poci, 'heartbeat', [...poci.interface.decodeFunctionData('heartbeat', data)], 'heartbeat')
}
