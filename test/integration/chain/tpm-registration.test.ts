import {randomBytes} from 'node:crypto'

import {keccak256} from 'ethers'
import {describe, expect, it} from 'vitest'

import {activate, approve, challengeCredential} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {register} from '../../../src/chain/register.js'
import {credentialChallenges, registrationState, registrations} from '../../../src/chain/registrations.js'
import {decodeEvidence, encodeEvidence, heartbeatChallenge, quoteQualifyingData} from '../../../src/evidence/index.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {makeCredential} from '../../../src/hw/tpm2/credential.js'
import {loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {leftPad, objectName, parseSignature, parseTpm2bPublic} from '../../../src/hw/tpm2/structures.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'
import {bytesToHex, concatBytes} from '../../../src/util/hex.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {swtpmEngine} from '../../helpers/swtpm-engine.js'
import {currentRegisterChallenge, revertName} from './helpers.js'

/**
 * A host registered with unet's own TPM engine (tpm2-tss through koffi) on a private swtpm, through the
 * whole v2 path: the contract accepts its quote over the register challenge (with its nonce); the
 * evidence read back from the Registered event verifies with the swtpm CA as trust root and not without;
 * the verifier's MakeCredential(EK, AK name) goes on chain, the TPM's ActivateCredential answers it, and
 * only then does approval (with the EK id) pass; the approved host earns with a real quote.
 */
describe('TPM host registration end to end (unet FFI + swtpm + contract + credential activation)', () => {
  const chain = pociSuite(['op'], {allowEmulator: false})
  const swtpmHost = swtpmEngine({own: true})

  it('registers, is verified only under the right trust roots, activates its credential and earns', async () => {
    const id = await swtpmHost.engine.identity()
    const operator = chain.op.signer!.address
    const challenge = await currentRegisterChallenge(chain.op, {payout: operator, deviceId: id.deviceId})
    const evidence = await buildHostEvidence(swtpmHost.engine, {qualifyingData: challenge, challenge})
    const sig = parseSignature(evidence.quote.signature)
    if (sig.alg !== 'ecdsa') throw new Error('expected an ECDSA AK')
    const proof = concatBytes(evidence.quote.attest, leftPad(sig.r, 32), leftPad(sig.s, 32))
    const reg = await register(chain.op, {kind: DeviceKind.HOST_TPM, publicKey: id.publicKey, payout: operator, proof, evidence: encodeEvidence(evidence)})
    expect(reg.deviceId).toBe(id.deviceId)

    // the verifier's view, from the event alone
    const [event] = await registrations(chain.op, {fromBlock: reg.blockNumber, toBlock: reg.blockNumber})
    expect(event).toMatchObject({regId: reg.regId, deviceId: id.deviceId, hostId: id.deviceId, nonce: 0n, kind: DeviceKind.HOST_TPM})
    const ctx = {network: 'test', allowEmulator: false, expected: {challenge}, now: new Date()}
    const trusted = verifyEvidence(decodeEvidence(event!.evidence), {...ctx, tpmRoots: loadTrustRoots([swtpmHost.tpm.caRootPath, swtpmHost.tpm.caIssuerPath])})
    expect(trusted.reasons).toEqual([])
    expect(verifyEvidence(decodeEvidence(event!.evidence), {...ctx, tpmRoots: []}).reasons.length).toBeGreaterThan(0)

    // no approval before the credential is activated
    const ekId = keccak256(id.ekPublic!)
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 10n, ekId}))).toBe('NotActivated')

    // verifier: MakeCredential for (EK, AK name) with a fresh secret, transcript on chain
    const secret = Uint8Array.from(randomBytes(32))
    const made = makeCredential(swtpmHost.engine.ekPublic('rsa2048'), objectName(parseTpm2bPublic(id.akPublic)), secret)
    const commitment = (await chain.verifier.poci!.getFunction('activationCommitment').staticCall(reg.regId, bytesToHex(secret))) as string
    await challengeCredential(chain.verifier, {regId: reg.regId, credentialBlob: made.credentialBlob, encryptedSecret: made.secret, commitment})

    // agent: reads the challenge back from chain, the TPM recovers the secret, the operator answers
    const [posted] = await credentialChallenges(chain.op, {fromBlock: reg.blockNumber, regId: reg.regId})
    expect(posted!.commitment).toBe(commitment)
    const recovered = await swtpmHost.engine.activateCredential(posted!.credentialBlob, posted!.encryptedSecret, 'rsa2048')
    expect(bytesToHex(recovered)).toBe(bytesToHex(secret))
    await activate(chain.op, {regId: reg.regId, secret: recovered})
    expect(await registrationState(chain.op, reg.regId)).toMatchObject({status: 'pending', activated: true, commitment})

    await approve(chain.verifier, {regId: reg.regId, power: 10n, ekId})
    expect(await registrationState(chain.op, reg.regId)).toMatchObject({status: 'approved'})
    const host = (await chain.op.poci!.getFunction('hostInfo').staticCall(id.deviceId)) as unknown[]
    expect(host[9]).toBe(ekId)
    expect(await chain.op.poci!.getFunction('ekHost').staticCall(ekId)).toBe(id.deviceId)

    // and it earns with a real quote over the heartbeat challenge
    const cb = await challengeBlock(chain.op)
    const hb = heartbeatChallenge({
      chainId: 31337n,
      contract: chain.deployed.poci,
      operator,
      hostId: id.deviceId,
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
    })
    const q = await swtpmHost.engine.quote(quoteQualifyingData(hb, []))
    const qs = parseSignature(q.signature)
    if (qs.alg !== 'ecdsa') throw new Error('expected an ECDSA AK')
    const beat = await heartbeat(chain.op, {
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
      akPublicKey: id.publicKey,
      attest: q.attest,
      signature: {r: leftPad(qs.r, 32), s: leftPad(qs.s, 32)},
      devices: [],
    })
    expect(beat.reward).toBe(10n * chain.deployed.rewardPerPowerEpoch)
  })
})
