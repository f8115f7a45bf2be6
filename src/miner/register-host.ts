/**
 * `unet register`: binds the host's attestation key to the operator on chain with a proof of
 * possession (a quote over the registration challenge) and the full evidence for the verifier, then
 * waits for the verifier's decision. Re-running is harmless: it reports the state it finds.
 */
import {register} from '../chain/register.js'
import {deviceState, type DeviceState} from '../chain/device-state.js'
import {encodeEvidence, registerChallenge, canonicalPublicKey} from '../evidence/index.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {buildHostEvidence} from '../hw/engine.js'
import {parseSignature} from '../hw/tpm2/structures.js'
import {concatBytes, leftPadBytes} from '../util/hex.js'
import {awaitApproval, type AwaitApprovalOptions} from './await-approval.js'
import type {MinerSession} from './miner-session.js'

export interface RegisterOutcome {
  deviceId: string
  kind: string
  engine: string
  /** What this run did. */
  action: 'registered' | 'already-registered'
  status: DeviceState['status']
  approved: boolean
  power: string
  payout: string
  txHash?: string
}

/** How long to wait for the verifier (0: do not wait), progress lines, cancellation. */
export type RegisterOptions = AwaitApprovalOptions

export async function registerHost(session: MinerSession, options: RegisterOptions): Promise<RegisterOutcome> {
  const {client, hostId, operator, payout} = session
  let state = await deviceState(client, hostId)
  let txHash: string | undefined
  if (state.status !== 'none' && state.operator && state.operator.toLowerCase() !== operator.toLowerCase())
    throw new UnetError(`this host key is bound to another operator (${state.operator})`, ExitCode.TX_REJECTED, {
      hint: 'that operator must release it first; one device is bound to at most one miner',
    })
  const action: RegisterOutcome['action'] = state.status === 'none' ? 'registered' : 'already-registered'
  if (state.status === 'none') {
    options.onProgress?.('quoting the registration challenge')
    const challenge = registerChallenge({chainId: client.chainId, contract: client.pociAddress!, operator, payout, deviceId: hostId})
    const evidence = await buildHostEvidence(session.engine, {qualifyingData: challenge, challenge})
    const sig = parseSignature(evidence.quote.signature)
    if (sig.alg !== 'ecdsa') throw new UnetError('the host key must sign with ECDSA P-256', ExitCode.EVIDENCE_INVALID)
    options.onProgress?.('sending the register transaction')
    const result = await register(client, {
      kind: session.hostKind,
      publicKey: canonicalPublicKey(session.identity.publicKey),
      payout,
      proof: concatBytes(evidence.quote.attest, leftPadBytes(sig.r, 32), leftPadBytes(sig.s, 32)),
      evidence: encodeEvidence(evidence),
    })
    txHash = result.txHash
    state = await deviceState(client, hostId)
  }
  if (state.status === 'pending') state = (await awaitApproval(client, [hostId], options)).get(hostId) ?? state
  return {
    deviceId: hostId,
    kind: state.kind,
    engine: session.engine.kind,
    action,
    status: state.status,
    approved: state.status === 'approved',
    power: state.power.toString(),
    payout: state.payout ?? payout,
    txHash,
  }
}

