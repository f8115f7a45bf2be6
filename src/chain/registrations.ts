import type {Contract, Log, Result} from 'ethers'

import {hexToBytes} from '../util/hex.js'
import {REGISTRATION_STATUS_NAMES} from './artifacts.js'
import {requirePoci, type ChainClient} from './client.js'
import {callView, toUnetError} from './tx.js'

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
  txHash: string
}

interface Range {
  fromBlock: number
  toBlock?: number
}

async function eventLogs(client: ChainClient, event: string, args: unknown[], range: Range): Promise<{poci: Contract; logs: Log[]}> {
  const poci = requirePoci(client)
  try {
    const topics = await poci.filters[event]!(...args).getTopicFilter()
    const logs = await client.provider.getLogs({address: client.pociAddress, topics, fromBlock: range.fromBlock, toBlock: range.toBlock ?? 'latest'})
    return {poci, logs}
  } catch (error) {
    throw toUnetError(error, `read ${event} events`)
  }
}

/** Registered events in [fromBlock, toBlock], oldest first (optionally of one operator). */
export async function registrations(client: ChainClient, params: Range & {operator?: string}): Promise<Registration[]> {
  const {poci, logs} = await eventLogs(client, 'Registered', params.operator ? [null, null, params.operator] : [], params)
  return logs.map((log) => {
    const e = poci.interface.parseLog(log)!
    return {
      regId: e.args[0] as string,
      deviceId: e.args[1] as string,
      operator: e.args[2] as string,
      hostId: e.args[3] as string,
      kind: Number(e.args[4]),
      payout: e.args[5] as string,
      nonce: e.args[6] as bigint,
      publicKey: hexToBytes(e.args[7] as string),
      proof: hexToBytes(e.args[8] as string),
      evidence: hexToBytes(e.args[9] as string),
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
    }
  })
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
  const r = await callView<unknown[]>(requirePoci(client), 'registrationInfo', [regId], 'read registration')
  return {
    regId,
    deviceId: r[0] as string,
    operator: r[1] as string,
    hostId: r[2] as string,
    hostRegId: r[3] as string,
    kind: Number(r[4]),
    status: REGISTRATION_STATUS_NAMES[Number(r[5])] ?? 'none',
    payout: r[6] as string,
    activated: r[7] as boolean,
    commitment: r[8] as string,
  }
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
export async function credentialChallenges(client: ChainClient, params: Range & {regId?: string}): Promise<CredentialChallengeEvent[]> {
  const {poci, logs} = await eventLogs(client, 'CredentialChallenge', params.regId ? [params.regId] : [], params)
  return logs.map((log) => {
    const e = poci.interface.parseLog(log)!
    return {
      regId: e.args[0] as string,
      credentialBlob: hexToBytes(e.args[1] as string),
      encryptedSecret: hexToBytes(e.args[2] as string),
      commitment: e.args[3] as string,
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
    }
  })
}

export interface DecisionEvent {
  regId: string
  deviceId: string
  hostId: string
  approved: boolean
  power?: bigint
  ekId?: string
  reason?: string
  verifier: string
  blockNumber: number
  txHash: string
}

/** Approved and Rejected events in a range, in chain order: what `unet verifier audit` compares. */
export async function decisions(client: ChainClient, params: Range): Promise<DecisionEvent[]> {
  const [approved, rejected] = await Promise.all([eventLogs(client, 'Approved', [], params), eventLogs(client, 'Rejected', [], params)])
  const out: Array<DecisionEvent & {logIndex: number}> = []
  // both events start with (regId, deviceId, hostId) and end with the verifier
  const push = (poci: Contract, log: Log, fields: (args: Result) => Pick<DecisionEvent, 'approved' | 'power' | 'ekId' | 'reason'>) => {
    const args = poci.interface.parseLog(log)!.args
    const base = {regId: args[0] as string, deviceId: args[1] as string, hostId: args[2] as string, verifier: args[args.length - 1] as string}
    out.push({...base, ...fields(args), blockNumber: log.blockNumber, txHash: log.transactionHash, logIndex: log.index})
  }
  for (const log of approved.logs) push(approved.poci, log, (a) => ({approved: true, power: a[3] as bigint, ekId: a[4] as string}))
  for (const log of rejected.logs) push(rejected.poci, log, (a) => ({approved: false, reason: a[3] as string}))
  out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)
  return out.map(({logIndex: _logIndex, ...d}) => d)
}

/** The verifier's reason for rejecting one registration (its Rejected event), or undefined if none was emitted. */
export async function rejectionReason(client: ChainClient, regId: string, fromBlock = 0): Promise<string | undefined> {
  const {poci, logs} = await eventLogs(client, 'Rejected', [regId], {fromBlock})
  const last = logs.at(-1)
  return last ? (poci.interface.parseLog(last)!.args[3] as string) : undefined
}

export async function latestBlockNumber(client: ChainClient): Promise<number> {
  try {
    return await client.provider.getBlockNumber()
  } catch (error) {
    throw toUnetError(error, 'read the block number')
  }
}
