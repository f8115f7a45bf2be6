import {ZeroHash} from 'ethers'

import {InputError} from '../errors/index.js'
import {canonicalPublicKey, deviceIdOf} from '../evidence/nonce.js'
import {bytesToHex} from '../util/hex.js'
import {isHostKind, type DeviceKindValue} from './artifacts.js'
import {requirePoci, type ChainClient} from './client.js'
import {receiptEvent} from './events.js'
import {callView, sendTx, type TxResult} from './tx.js'

export interface RegisterParams {
  kind: DeviceKindValue
  /** Raw public key: P-256/secp256k1 x‖y (64 bytes), RSA-2048 modulus (256), P-384 x‖y (96); a SEC1 point is accepted. */
  publicKey: Uint8Array
  payout: string
  /** The host this device attaches to (omit for a host). */
  hostId?: string
  /**
   * Proof of possession over registerChallenge(operator, payout, deviceId, hostId, nonce) with the nonce
   * registrationTicket() returned: hosts attest‖r‖s of a quote whose extraData is the challenge;
   * P-256/emulator r‖s; secp256k1 r‖s‖v; RSA the signature; P-384 the report the verifier checks off chain.
   */
  proof: Uint8Array
  /** Canonical evidence (src/evidence encodeEvidence) for the verifier; emitted, not parsed, by the contract. */
  evidence?: Uint8Array
}

export interface RegisterResult extends TxResult {
  deviceId: string
  /** The registration's id: the verifier's approve/reject and the agent's activation name it. */
  regId: string
  nonce: bigint
}

/** What a registration must sign: the device's next registration nonce (it changes with every registration). */
export async function registrationNonce(client: ChainClient, deviceId: string): Promise<bigint> {
  return callView<bigint>(requirePoci(client), 'registrationNonce', [deviceId], 'read registration nonce')
}

export async function register(client: ChainClient, params: RegisterParams): Promise<RegisterResult> {
  const poci = requirePoci(client)
  if (!isHostKind(params.kind) && !params.hostId) throw new InputError('a device must name the host it attaches to (hostId)')
  const deposit = await callView<bigint>(poci, 'registrationDeposit', [], 'read registration deposit')
  const publicKey = canonicalPublicKey(params.publicKey)
  const result = await sendTx(
    client,
    poci,
    'register',
    [params.kind, bytesToHex(publicKey), params.payout, params.hostId ?? ZeroHash, bytesToHex(params.proof), bytesToHex(params.evidence ?? new Uint8Array())],
    'register',
    {value: deposit},
  )
  const event = receiptEvent(client, result.receipt, 'Registered')
  if (!event) return {...result, deviceId: bytesToHex(deviceIdOf(publicKey)), regId: ZeroHash, nonce: 0n}
  return {...result, regId: event[0] as string, deviceId: event[1] as string, nonce: event[6] as bigint}
}
