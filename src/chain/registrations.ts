import {hexToBytes} from '../util/hex.js'
import {REGISTRATION_STATUS_NAMES} from './artifacts.js'
import {requirePoci, type ChainClient} from './client.js'
import {pociEvents, type BlockRange, type PociEvent} from './events.js'
import {callViewRecord, toUnetError} from './tx.js'

export interface Registration {
  regId: string
  deviceId: string
  operator: string
  hostId: string
  kind: number
  payout: string
  nonce: bigint
  publicKey: Uint8Array
  proof: Uint8Array
  /** Canonical evidence bytes the operator attached (may be empty). */
  evidence: Uint8Array
  blockNumber: number
  /** The registration block's hash (unknown before that block exists: OCSP nonces are bound to it). */
  blockHash: string
  txHash: string
}

/** Registered events in [fromBlock, toBlock], oldest first (optionally of one operator). */
export async function registrations(client: ChainClient, params: BlockRange & {operator?: string}): Promise<Registration[]> {
  const events = await pociEvents(client, 'Registered', params, params.operator ? [null, null, params.operator] : [])
  return events.map(({args: a, blockNumber, blockHash, txHash}) => ({
    regId: a[0] as string,
    deviceId: a[1] as string,
    operator: a[2] as string,
    hostId: a[3] as string,
    kind: Number(a[4]),
    payout: a[5] as string,
    nonce: a[6] as bigint,
    publicKey: hexToBytes(a[7] as string),
    proof: hexToBytes(a[8] as string),
    evidence: hexToBytes(a[9] as string),
    blockNumber,
    blockHash,
    txHash,
  }))
}

export interface RegistrationState {
  regId: string
  deviceId: string
  operator: string
  hostId: string
  hostRegId: string
  kind: number
  status: (typeof REGISTRATION_STATUS_NAMES)[number]
  payout: string
  /** Host TPMs: the operator answered the credential challenge. */
  activated: boolean
  /** Host TPMs: the verifier's commitment to the credential secret (zero: no challenge posted yet). */
  commitment: string
}

export async function registrationState(client: ChainClient, regId: string): Promise<RegistrationState> {
  type Info = Omit<RegistrationState, 'regId' | 'kind' | 'status'> & {kind: bigint; status: bigint}
  const r = await callViewRecord<Info>(requirePoci(client), 'registrationInfo', [regId], 'read registration')
  return {regId, ...r, kind: Number(r.kind), status: REGISTRATION_STATUS_NAMES[Number(r.status)] ?? 'none'}
}

export interface CredentialChallengeEvent {
  regId: string
  credentialBlob: Uint8Array
  encryptedSecret: Uint8Array
  commitment: string
  blockNumber: number
  txHash: string
}

/** The verifier's credential-activation challenges (of one registration, or all in a range), oldest first. */
export async function credentialChallenges(client: ChainClient, params: BlockRange & {regId?: string}): Promise<CredentialChallengeEvent[]> {
  const events = await pociEvents(client, 'CredentialChallenge', params, params.regId ? [params.regId] : [])
  return events.map(({args: a, blockNumber, txHash}) => ({
    regId: a[0] as string,
    credentialBlob: hexToBytes(a[1] as string),
    encryptedSecret: hexToBytes(a[2] as string),
    commitment: a[3] as string,
    blockNumber,
    txHash,
  }))
}

export interface DecisionEvent {
  regId: string
  deviceId: string
  hostId: string
  approved: boolean
  power?: bigint
  /** The Approved event's identityId: the EK id of a host-tpm, the chip id of an NVIDIA device, else zero. */
  ekId?: string
  reason?: string
  verifier: string
  blockNumber: number
  txHash: string
}

/** Approved and Rejected events in a range, in chain order: what `unet verifier audit` compares. */
export async function decisions(client: ChainClient, params: BlockRange): Promise<DecisionEvent[]> {
  const [approved, rejected] = await Promise.all([pociEvents(client, 'Approved', params), pociEvents(client, 'Rejected', params)])
  const out: Array<DecisionEvent & {logIndex: number}> = []
  // both events start with (regId, deviceId, hostId) and end with the verifier
  const push = ({args, blockNumber, txHash, logIndex}: PociEvent, fields: Pick<DecisionEvent, 'approved' | 'power' | 'ekId' | 'reason'>) => {
    const base = {regId: args[0] as string, deviceId: args[1] as string, hostId: args[2] as string, verifier: args[args.length - 1] as string}
    out.push({...base, ...fields, blockNumber, txHash, logIndex})
  }
  for (const e of approved) push(e, {approved: true, power: e.args[3] as bigint, ekId: e.args[4] as string})
  for (const e of rejected) push(e, {approved: false, reason: e.args[3] as string})
  out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)
  return out.map(({logIndex: _logIndex, ...d}) => d)
}

/** The verifier's reason for rejecting one registration (its Rejected event), or undefined if none was emitted. */
export async function rejectionReason(client: ChainClient, regId: string, fromBlock = 0): Promise<string | undefined> {
  const events = await pociEvents(client, 'Rejected', {fromBlock}, [regId])
  return events.at(-1)?.args[3] as string | undefined
}

export async function latestBlockNumber(client: ChainClient): Promise<number> {
  try {
    return await client.provider.getBlockNumber()
  } catch (error) {
    throw toUnetError(error, 'read the block number')
  }
}
