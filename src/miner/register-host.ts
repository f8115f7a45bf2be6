/**
 * `unet register`, the host: binds the host's attestation key to the operator on chain with a proof of
 * possession (a quote over the registration challenge with the key's registration nonce) and the full
 * evidence for the verifier, then waits on that registration id until the verifier decides, answering
 * its credential challenge on the way (TPM hosts). Re-running is harmless: a bound host is reported, a
 * pending registration of this operator is resumed, not sent again.
 */
import {DEVICE_KIND_NAMES} from '../chain/artifacts.js'
import {deviceState} from '../chain/device-state.js'
import {register, registrationNonce} from '../chain/register.js'
import {rejectionReason, type RegistrationState} from '../chain/registrations.js'
import {encodeEvidence, registerChallenge, canonicalPublicKey} from '../evidence/index.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {buildHostEvidence} from '../hw/engine.js'
import {parseSignature} from '../hw/tpm2/structures.js'
import {concatBytes, leftPadBytes} from '../util/hex.js'
import {credentialAnswerer} from './answer-credential.js'
import {awaitRegistrations, type AwaitApprovalOptions} from './await-approval.js'
import type {MinerSession} from './miner-session.js'
import {operatorRegistrations, pendingRegistrationOf} from './pending-registration.js'

export interface RegisterOutcome {
  deviceId: string
  /** The registration this run sent, resumed or found bound. */
  regId: string
  kind: string
  engine: string
  /** What this run did. */
  action: 'registered' | 'resumed' | 'already-registered'
  /** The registration's status after this run (pending: the wait ended first). */
  status: RegistrationState['status']
  approved: boolean
  power: string
  payout: string
  txHash?: string
  /** The verifier's reason, when it rejected the registration. */
  reason?: string
}

/** How long to wait for the verifier (0: do not wait), progress lines, cancellation. */
export type RegisterOptions = AwaitApprovalOptions

export async function registerHost(session: MinerSession, options: RegisterOptions): Promise<RegisterOutcome> {
  const {client, hostId, operator} = session
  const bound = await deviceState(client, hostId)
  if (bound.status === 'approved') {
    if (bound.operator?.toLowerCase() !== operator.toLowerCase())
      throw new UnetError(`this host key is bound to another operator (${bound.operator})`, ExitCode.TX_REJECTED, {
        hint: 'that operator must release it first; one device is bound to at most one miner',
      })
    return {
      ...base(session, bound.regId!, bound.kind, bound.payout ?? session.payout),
      action: 'already-registered',
      status: 'approved',
      approved: true,
      power: bound.power.toString(),
    }
  }

  const pending = await pendingRegistrationOf(client, await operatorRegistrations(client, operator), hostId)
  let sent: {regId: string; fromBlock: number; payout: string; txHash?: string}
  if (pending) {
    options.onProgress?.(`resuming the pending registration ${pending.state.regId}`)
    sent = {regId: pending.state.regId, fromBlock: pending.registration.blockNumber, payout: pending.state.payout}
  } else {
    const result = await sendHostRegistration(session, options)
    sent = {regId: result.regId, fromBlock: result.blockNumber, payout: session.payout, txHash: result.txHash}
  }

  const answer = credentialAnswerer(session, {fromBlock: sent.fromBlock, onProgress: options.onProgress})
  const state = (await awaitRegistrations(client, [sent.regId], {...options, onPending: answer})).get(sent.regId)!
  const outcome: RegisterOutcome = {
    ...base(session, sent.regId, DEVICE_KIND_NAMES[state.kind] ?? String(state.kind), sent.payout),
    action: pending ? 'resumed' : 'registered',
    status: state.status,
    approved: state.status === 'approved',
    power: '0',
    ...(sent.txHash ? {txHash: sent.txHash} : {}),
  }
  if (outcome.approved) outcome.power = (await deviceState(client, hostId)).power.toString()
  if (state.status === 'rejected') outcome.reason = (await rejectionReason(client, sent.regId, sent.fromBlock)) ?? 'rejected by the verifier'
  return outcome
}

function base(session: MinerSession, regId: string, kind: string, payout: string): Pick<RegisterOutcome, 'deviceId' | 'regId' | 'kind' | 'engine' | 'payout'> {
  return {deviceId: session.hostId, regId, kind, engine: session.engine.kind, payout}
}

/** Quotes registerChallenge(…, hostId = deviceId, nonce) and sends the register transaction with the deposit. */
async function sendHostRegistration(session: MinerSession, options: RegisterOptions) {
  const {client, hostId, operator, payout} = session
  options.onProgress?.('quoting the registration challenge')
  const nonce = await registrationNonce(client, hostId)
  const challenge = registerChallenge({chainId: client.chainId, contract: client.pociAddress!, operator, payout, deviceId: hostId, hostId, nonce})
  const evidence = await buildHostEvidence(session.engine, {qualifyingData: challenge, challenge})
  const sig = parseSignature(evidence.quote.signature)
  if (sig.alg !== 'ecdsa') throw new UnetError('the host key must sign with ECDSA P-256', ExitCode.EVIDENCE_INVALID)
  options.onProgress?.('sending the register transaction (with the registration deposit)')
  return register(client, {
    kind: session.hostKind,
    publicKey: canonicalPublicKey(session.identity.publicKey),
    payout,
    proof: concatBytes(evidence.quote.attest, leftPadBytes(sig.r, 32), leftPadBytes(sig.s, 32)),
    evidence: encodeEvidence(evidence),
  })
}
