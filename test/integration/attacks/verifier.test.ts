/**
 * Attacks on the verifier actor (issue 9):
 * - a copied EK certificate and EK public key of a real TPM (the worker's swtpm) with a software AK:
 *   the quote verifies and the EK chain is genuine, so only credential activation can tell — the
 *   attacker cannot answer the challenge, the registration is rejected after the timeout, never approved;
 * - a decision forged by sending approve straight from the verifier key, for a registration the policy
 *   rejects: `unet verifier audit` (auditDecisions) reports it.
 */
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {activate, approve} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {credentialChallenges, registrationState} from '../../../src/chain/registrations.js'
import {activateCredential} from '../../../src/hw/tpm2/activation.js'
import {loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {auditDecisions} from '../../../src/verifier/audit.js'
import type {DecisionRecord} from '../../../src/verifier/service.js'
import {swtpm} from '../../helpers/env.js'
import {swtpmEngine} from '../../helpers/swtpm-engine.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {emulatorHost, mine, registerHost, revertName} from '../chain/helpers.js'
import {devnetPolicy, emulatorEngine, registerHostWith, tempDir, verifierPass} from '../verifier/helpers.js'

describe('attack: a copied EK certificate with a software AK', () => {
  const chain = pociSuite(['attacker'], {allowEmulator: false})
  const victim = swtpmEngine()

  it('passes the evidence checks, but cannot answer the credential challenge: rejected after the timeout, never approved', async () => {
    const stolen = await victim.engine.identity()
    const ekCerts = stolen.certChain.map((pem) => Uint8Array.from(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')))
    // the software AK quotes like a TPM; the evidence claims the victim's EK (certificate and public key)
    const soft = await emulatorEngine()
    const reg = await registerHostWith(chain.attacker, soft, DeviceKind.HOST_TPM, (e) => ({
      ...e,
      kind: 'tpm2',
      device: {...e.device, certChain: ekCerts, ekPublic: stolen.ekPublic},
    }))

    const timeout = 6
    const policy = {network: 'test', allowEmulator: false, tpmRoots: loadTrustRoots([swtpm().caRootPath, swtpm().caIssuerPath])}
    const options = {policy, cursorFile: join(tempDir(), 'cursor.json'), fromBlock: chain.deployed.blockNumber, activationTimeoutBlocks: timeout}
    const first = (await verifierPass(chain.verifier, options)) as DecisionRecord[]
    // the evidence alone is indistinguishable from an honest host's: the verifier challenges the credential
    expect(first.map((d) => [d.regId, d.outcome, d.reasons])).toEqual([[reg.regId, 'challenged', []]])

    // no TPM holds both this EK and this AK: even the victim's own TPM refuses the blob
    const [challenge] = await credentialChallenges(chain.attacker, {fromBlock: reg.blockNumber, regId: reg.regId})
    await expect(activateCredential(victim.engine, challenge!.credentialBlob, challenge!.encryptedSecret, stolen.ekPublic)).rejects.toThrow()
    // a guessed answer does not match the commitment, and approval before activation reverts
    expect(await revertName(activate(chain.attacker, {regId: reg.regId, secret: new Uint8Array(32).fill(7)}))).toBe('BadActivation')
    expect(await revertName(approve(chain.verifier, {regId: reg.regId, power: 10n, ekId: first[0]!.ekId}))).toBe('NotActivated')

    // before the timeout nothing happens; after it, the registration is rejected
    expect(await verifierPass(chain.verifier, options)).toEqual([])
    await mine(chain.url, timeout)
    const closed = (await verifierPass(chain.verifier, options)) as DecisionRecord[]
    expect(closed).toHaveLength(1)
    expect(closed[0]).toMatchObject({regId: reg.regId, outcome: 'rejected', approve: false})
    expect(closed[0]!.reasons[0]).toMatch(/^credential activation not answered/)
    expect((await registrationState(chain.attacker, reg.regId)).status).toBe('rejected')

    // and the audit agrees: a challenge was posted, never answered
    expect(await auditDecisions(chain.attacker, policy, {fromBlock: chain.deployed.blockNumber})).toMatchObject({checked: 1, mismatches: []})
  })
})

describe('attack: a forged approval straight from the verifier key', () => {
  const chain = pociSuite(['op'])

  it('is listed by the audit next to the honest decisions, with the policy reasons and the power', async () => {
    const honest = await registerHostWith(chain.op, await emulatorEngine())
    await verifierPass(chain.verifier, {policy: devnetPolicy(), cursorFile: join(tempDir(), 'cursor.json'), fromBlock: chain.deployed.blockNumber})
    expect(await auditDecisions(chain.op, devnetPolicy(), {fromBlock: chain.deployed.blockNumber})).toEqual({checked: 1, skipped: 0, mismatches: []})

    // no evidence at all: the policy rejects it, yet the verifier key approves it with 10x the power
    const forged = await registerHost(chain.op, emulatorHost())
    await approve(chain.verifier, {regId: forged.regId, power: 10n})
    const report = await auditDecisions(chain.op, devnetPolicy(), {fromBlock: chain.deployed.blockNumber})
    expect(report.checked).toBe(2)
    expect(report.mismatches).toHaveLength(1)
    expect(report.mismatches[0]).toMatchObject({
      regId: forged.regId,
      problem: 'approved, but the recomputation rejects',
      onChain: {approved: true, power: '10', verifier: chain.verifier.signer!.address},
      recomputed: {approve: false, power: '1', reasons: ['a host-emulator registration must carry emulator evidence']},
    })
    expect(report.mismatches.map((m) => m.regId)).not.toContain(honest.regId)
  })
})
