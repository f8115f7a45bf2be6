/** The verifier role's and the operator's transactions on a registration (docs/protocol.md §5–6). */
import {ZeroHash} from 'ethers'

import {bytesToHex} from '../util/hex.js'
import {requirePoci, type ChainClient} from './client.js'
import {sendTx, type TxResult} from './tx.js'

export interface ApproveParams {
  regId: string
  power: bigint
  /** Host TPMs: keccak256 of the EK's TPM2B_PUBLIC as the evidence carries it (one EK, one active host). */
  ekId?: string
  /** NVIDIA (p384): the chip id, keccak256 of the device identity certificate's key (one chip, one active device). */
  chipId?: string
}

/** Verifier role: approve one pending registration with its power and the identity behind it (Poci's identityId). */
export async function approve(client: ChainClient, params: ApproveParams): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'approve', [params.regId, params.power, params.ekId ?? params.chipId ?? ZeroHash], 'approve')
}

export interface RejectParams {
  regId: string
  reason: string
}

/** Verifier role: refuse a pending registration (its deposit pays the verifier). */
export async function reject(client: ChainClient, params: RejectParams): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'reject', [params.regId, params.reason.slice(0, 200)], 'reject')
}

/** Verifier role: revoke an approved device (unbinds it). */
export async function revoke(client: ChainClient, params: {deviceId: string; reason: string}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'revoke', [params.deviceId, params.reason.slice(0, 200)], 'revoke')
}

/** Operator: release a device so another miner may bind it. */
export async function release(client: ChainClient, params: {deviceId: string}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'release', [params.deviceId], 'release')
}

export interface CredentialChallengeParams {
  regId: string
  /** TPM2B_ID_OBJECT body and TPM2B_ENCRYPTED_SECRET body from MakeCredential(EK, AK name, secret). */
  credentialBlob: Uint8Array
  encryptedSecret: Uint8Array
  /** activationCommitment(regId, secret). */
  commitment: string
}

/** Verifier role: post a credential-activation challenge for a pending TPM host. */
export async function challengeCredential(client: ChainClient, params: CredentialChallengeParams): Promise<TxResult> {
  return sendTx(
    client,
    requirePoci(client),
    'challengeCredential',
    [params.regId, bytesToHex(params.credentialBlob), bytesToHex(params.encryptedSecret), params.commitment],
    'post the credential challenge',
  )
}

/** Operator: answer the credential challenge with the secret the TPM's ActivateCredential recovered. */
export async function activate(client: ChainClient, params: {regId: string; secret: Uint8Array}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'activate', [params.regId, bytesToHex(params.secret)], 'answer the credential challenge')
}
