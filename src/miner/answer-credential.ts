/**
 * The miner's half of credential activation (docs/protocol.md §6): once the verifier has posted a
 * CredentialChallenge for a pending host-tpm registration, the host's TPM opens it with
 * TPM2_ActivateCredential (which only the TPM holding both the EK and the AK can do) and the operator
 * answers activate(regId, secret). The secret is never logged and is wiped after the answer.
 */
import {activate} from '../chain/approve.js'
import {DeviceKind} from '../chain/artifacts.js'
import {credentialChallenges, type RegistrationState} from '../chain/registrations.js'
import {ExitCode, UnetError} from '../errors/index.js'
import type {Tpm2Engine} from '../hw/tpm2/engine.js'
import type {MinerSession} from './miner-session.js'

const NO_COMMITMENT = /^0x0{64}$/

/**
 * The onPending hook of awaitRegistrations for the host's registrations: answers each posted, not yet
 * activated credential challenge once (the TPM gives the same secret for the same blob, so a reverted
 * answer is not retried with it). Other registrations and kinds pass through untouched.
 */
export function credentialAnswerer(
  session: MinerSession,
  options: {fromBlock?: number; onProgress?: (message: string) => void} = {},
): (state: RegistrationState) => Promise<void> {
  const answered = new Set<string>()
  return async (state) => {
    if (state.kind !== DeviceKind.HOST_TPM || state.activated || NO_COMMITMENT.test(state.commitment) || answered.has(state.commitment)) return
    if (session.engine.kind !== 'tpm2')
      throw new UnetError('the verifier asks for TPM credential activation but this host runs the emulator engine', ExitCode.TPM_ERROR)
    const posted = (await credentialChallenges(session.client, {regId: state.regId, fromBlock: options.fromBlock ?? 0}))
      .filter((c) => c.commitment === state.commitment)
      .at(-1)
    if (!posted) return // the event is not visible on this RPC node yet: the next poll looks again
    answered.add(state.commitment)
    options.onProgress?.("answering the verifier's credential challenge (TPM2_ActivateCredential)")
    const {activateCredential} = await import('../hw/tpm2/activation.js')
    let secret: Uint8Array
    try {
      secret = await activateCredential(session.engine as Tpm2Engine, posted.credentialBlob, posted.encryptedSecret, session.identity.ekPublic)
    } catch (error) {
      throw new UnetError(`the TPM could not open the verifier's credential challenge: ${(error as Error).message}`, ExitCode.TPM_ERROR, {
        hint: 'the challenge is made for the EK in the registration evidence and this AK; the TPM opens it only if it holds both',
        cause: error,
      })
    }
    try {
      await activate(session.client, {regId: state.regId, secret})
    } finally {
      secret.fill(0)
    }
    options.onProgress?.('credential challenge answered; waiting for the approval')
  }
}
