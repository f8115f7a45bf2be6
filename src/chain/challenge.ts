/** The challenge game over committed (P-384) evidence, docs/protocol.md §6: open, answer, slash, read. */
import {bytesToHex} from '../util/hex.js'
import {requirePoci, type ChainClient} from './client.js'
import {pociEvents, receiptEvent} from './events.js'
import {callView, callViewRecord, sendTx, type TxResult} from './tx.js'

const CHALLENGE_STATUS_NAMES = ['none', 'open', 'answered', 'slashed'] as const

export interface ChallengeTarget {
  hostId: string
  epoch: bigint
  deviceId: string
  /** The heartbeat's fields, as its calldata carried them (the contract checks them against its record). */
  blockNumber: bigint
  blockHash: string
  operator: string
  /** deviceId_0, evidenceDigest_0, … of that heartbeat, and the kinds byte string. */
  commits: string[]
  kinds: Uint8Array
  /** Position of the device in the heartbeat's list. */
  index: number
}

export interface OpenedChallenge extends TxResult {
  challengeId: string
  deadline: bigint
}

/** The arguments of Poci.challenge, in its order. */
export function challengeArgs(target: ChallengeTarget): unknown[] {
  return [
    target.hostId,
    target.epoch,
    target.deviceId,
    target.blockNumber,
    target.blockHash,
    target.operator,
    target.commits,
    bytesToHex(target.kinds),
    target.index,
  ]
}

/** Anyone: challenge a committed device of a past heartbeat, with the contract's deposit. */
export async function openChallenge(client: ChainClient, target: ChallengeTarget): Promise<OpenedChallenge> {
  const poci = requirePoci(client)
  const deposit = await callView<bigint>(poci, 'challengeDeposit', [], 'read challenge deposit')
  const result = await sendTx(client, poci, 'challenge', challengeArgs(target), 'challenge', {value: deposit})
  const event = receiptEvent(client, result.receipt, 'Challenged')!
  return {...result, challengeId: event[0] as string, deadline: event[4] as bigint}
}

/** Anyone (the operator's agent): the committed SPDM exchange and the device's P-384 key (x‖y). */
export async function answerChallenge(client: ChainClient, params: {challengeId: string; publicKey: Uint8Array; report: Uint8Array}): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'answer', [params.challengeId, bytesToHex(params.publicKey), bytesToHex(params.report)], 'answer the challenge')
}

/** Anyone, after the deadline of an unanswered challenge. */
export async function slashChallenge(client: ChainClient, challengeId: string): Promise<TxResult> {
  return sendTx(client, requirePoci(client), 'slash', [challengeId], 'slash')
}

export interface ChallengeState {
  challengeId: string
  hostId: string
  deviceId: string
  epoch: bigint
  challenger: string
  /** Last block an answer is accepted in. */
  deadline: bigint
  status: (typeof CHALLENGE_STATUS_NAMES)[number]
  evidenceDigest: string
  /** The device challenge the committed report must carry as its SPDM requester nonce. */
  nonce: string
}

export async function challengeState(client: ChainClient, challengeId: string): Promise<ChallengeState> {
  type Info = Omit<ChallengeState, 'challengeId' | 'status'> & {status: bigint}
  const c = await callViewRecord<Info>(requirePoci(client), 'challengeInfo', [challengeId], 'read challenge')
  return {challengeId, ...c, status: CHALLENGE_STATUS_NAMES[Number(c.status)] ?? 'none'}
}

/** Challenges opened against a host (Challenged events) from `fromBlock`, with their current state. */
export async function challengesOf(client: ChainClient, hostId: string, fromBlock = 0): Promise<ChallengeState[]> {
  const events = await pociEvents(client, 'Challenged', {fromBlock}, [null, hostId])
  return Promise.all(events.map((e) => challengeState(client, e.args[0] as string)))
}
