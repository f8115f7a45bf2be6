import {keccak_256} from '@noble/hashes/sha3.js'

import {InputError} from '../errors/index.js'
import {bytesToHex, concatBytes, hexToBytes} from '../util/hex.js'

/**
 * Challenge derivation shared by the agent, the verifier and the POCI contracts. Every field is
 * packed exactly as Solidity's abi.encodePacked packs it, so the contract recomputes the same
 * 32 bytes (docs/protocol.md §Challenges; vectors in fixtures/vectors/challenges.json).
 */
const utf8 = (s: string) => new TextEncoder().encode(s)
export const HEARTBEAT_DOMAIN = keccak_256(utf8('UNET-POCI-HEARTBEAT-v2'))
export const REGISTER_DOMAIN = keccak_256(utf8('UNET-POCI-REGISTER-v2'))
export const ACTIVATION_DOMAIN = keccak_256(utf8('UNET-POCI-ACTIVATION-v2'))

export interface HeartbeatChallengeInput {
  chainId: bigint
  /** The heartbeat contract's address. */
  contract: string
  operator: string
  /** The host's deviceId (hash of its AK public key). */
  hostId: string
  epoch: bigint
  blockNumber: bigint
  blockHash: string
}

export interface RegisterChallengeInput {
  chainId: bigint
  /** The registry contract's address. */
  contract: string
  operator: string
  payout: string
  deviceId: string
  /** The host the device attaches to; a host names itself. */
  hostId: string
  /** registrationNonce(deviceId) when the registration is sent: an old registration cannot be replayed. */
  nonce: bigint
}

/** Every challenge starts domain ‖ chainId ‖ contract ‖ operator: bound to one chain, one contract, one operator. */
function boundChallenge(domain: Uint8Array, i: {chainId: bigint; contract: string; operator: string}, ...fields: Uint8Array[]): Uint8Array {
  return keccak_256(concatBytes(domain, uint(i.chainId, 32), address(i.contract), address(i.operator), ...fields))
}

export function heartbeatChallenge(i: HeartbeatChallengeInput): Uint8Array {
  return boundChallenge(HEARTBEAT_DOMAIN, i, bytes32(i.hostId, 'hostId'), uint(i.epoch, 8), uint(i.blockNumber, 8), bytes32(i.blockHash, 'blockHash'))
}

export function registerChallenge(i: RegisterChallengeInput): Uint8Array {
  const fields = [address(i.payout), bytes32(i.deviceId, 'deviceId'), bytes32(i.hostId, 'hostId'), uint(i.nonce, 8)]
  return boundChallenge(REGISTER_DOMAIN, i, ...fields)
}

/** registrationId(deviceId, nonce) as the contract computes it: the name approve/reject use. */
export function registrationId(deviceId: string, nonce: bigint): string {
  return bytesToHex(keccak_256(concatBytes(bytes32(deviceId, 'deviceId'), uint(nonce, 8))))
}

/**
 * The commitment the verifier posts with a credential challenge: keccak256(ACTIVATION_DOMAIN ‖ regId ‖
 * secret), secret being the 32 bytes given to MakeCredential(EK, AK name). The contract accepts
 * `activate(regId, secret)` only for the secret behind it, so the transcript is checkable on chain.
 */
export function activationCommitment(regId: string, secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new InputError(`the activation secret must be 32 bytes, got ${secret.length}`)
  return keccak_256(concatBytes(ACTIVATION_DOMAIN, bytes32(regId, 'regId'), secret))
}

export interface DeviceCommitment {
  deviceId: string
  /** keccak256 of the device's canonical evidence encoding (evidence digest). */
  evidenceDigest: string
}

/** Digest of every device's evidence, in the order the heartbeat lists them. */
export function devicesDigest(devices: readonly DeviceCommitment[]): Uint8Array {
  return keccak_256(concatBytes(...devices.flatMap((d) => [bytes32(d.deviceId, 'deviceId'), bytes32(d.evidenceDigest, 'evidenceDigest')])))
}

/** What the host quote's qualifying data (TPMS_ATTEST.extraData) must equal. */
export function quoteQualifyingData(challenge: Uint8Array, devices: readonly DeviceCommitment[]): Uint8Array {
  return keccak_256(concatBytes(challenge, devicesDigest(devices)))
}

/**
 * deviceId = keccak256 of the device public key's raw bytes (see docs/protocol.md §Identities):
 * x‖y for EC keys, the modulus for RSA. A SEC1 uncompressed point (0x04‖x‖y, P-256 or P-384) is
 * reduced to x‖y first, so every producer gets the id the contract computes.
 */
export function deviceIdOf(publicKeyRaw: Uint8Array): Uint8Array {
  return keccak_256(canonicalPublicKey(publicKeyRaw))
}

/** The public key bytes the chain stores: x‖y for EC (SEC1 prefix removed), RSA moduli as they are. */
export function canonicalPublicKey(publicKeyRaw: Uint8Array): Uint8Array {
  if (publicKeyRaw.length === 0) throw new InputError('empty public key')
  const sec1 = (publicKeyRaw.length === 65 || publicKeyRaw.length === 97) && publicKeyRaw[0] === 0x04
  return sec1 ? publicKeyRaw.subarray(1) : publicKeyRaw
}

function uint(value: bigint, bytes: number): Uint8Array {
  if (value < 0n || value >= 1n << BigInt(bytes * 8)) throw new InputError(`value ${value} does not fit in uint${bytes * 8}`)
  return hexToBytes(value.toString(16).padStart(bytes * 2, '0'))
}

function address(value: string): Uint8Array {
  return hexToBytes(value, 'address', 20)
}

function bytes32(value: string, field: string): Uint8Array {
  return hexToBytes(value, field, 32)
}
