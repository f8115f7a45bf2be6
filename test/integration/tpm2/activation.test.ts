import {generateKeyPairSync, randomBytes} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode} from '../../../src/errors/index.js'
import {activationCommitment} from '../../../src/evidence/nonce.js'
import {emulatorAkTpmt} from '../../../src/hw/emulator/engine.js'
import {activateCredential, credentialChallengeFor} from '../../../src/hw/tpm2/activation.js'
import {Tpm2Engine} from '../../../src/hw/tpm2/engine.js'
import {ESYS_TR} from '../../../src/hw/tpm2/ffi.js'
import {ekTemplateRsa2048, tpm2b} from '../../../src/hw/tpm2/wire.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {swtpm} from '../../helpers/env.js'
import {SWTPM_AK} from '../../helpers/swtpm-engine.js'
import {startSwtpm, type SwtpmHandle} from '../../helpers/swtpm.js'

const PCRS = [0, 7]
const REG_ID = bytesToHex(randomBytes(32))

/**
 * The verifier's challenge and the agent's answer through the helpers, on real swtpm + tpm2-tss; and
 * the attack of issue 9: a copied EK (certificate and public key of the victim's TPM) paired with an
 * AK the attacker holds (in another TPM, or in software) never yields the secret.
 */
describe('credential activation (activation.ts) on swtpm', () => {
  let victim: Tpm2Engine
  let attackerTpm: SwtpmHandle
  let attacker: Tpm2Engine
  beforeAll(async () => {
    victim = await Tpm2Engine.open({tcti: swtpm().tcti, akHandle: SWTPM_AK, pcrs: PCRS})
    attackerTpm = await startSwtpm()
    attacker = await Tpm2Engine.open({tcti: attackerTpm.tcti, akHandle: SWTPM_AK, pcrs: PCRS})
  })
  afterAll(() => {
    victim?.close()
    attacker?.close()
    attackerTpm?.stop()
  })

  for (const type of ['rsa2048', 'eccP256'] as const) {
    it(`honest round trip with the ${type} EK: the TPM returns the secret behind the commitment`, async () => {
      const id = await victim.identity()
      const ekPublic = victim.ekPublic(type)
      const secret = randomBytes(32)
      const challenge = credentialChallengeFor(ekPublic, id.akPublic, secret, REG_ID)
      expect(challenge.ekType).toBe(type)
      expect(challenge.commitment).toEqual(activationCommitment(REG_ID, secret))
      // with the registration's EK, and without it (the EK type is read from the encrypted secret)
      expect(Buffer.from(await activateCredential(victim, challenge.credentialBlob, challenge.encryptedSecret, ekPublic)).equals(secret)).toBe(true)
      const answer = await activateCredential(victim, challenge.credentialBlob, challenge.encryptedSecret)
      expect(activationCommitment(REG_ID, answer)).toEqual(challenge.commitment)
    })
  }

  it("attack: the victim's EK with the AK of another TPM — that TPM cannot open the credential", async () => {
    const victimEk = victim.ekPublic('rsa2048')
    const attackerAk = (await attacker.identity()).akPublic
    expect(Buffer.from(attackerAk).equals(Buffer.from((await victim.identity()).akPublic))).toBe(false)
    const secret = randomBytes(32)
    const challenge = credentialChallengeFor(victimEk, attackerAk, secret, REG_ID)
    // the attacker's TPM holds the AK but not the EK: the seed does not decrypt, the integrity check fails
    await expect(activateCredential(attacker, challenge.credentialBlob, challenge.encryptedSecret)).rejects.toMatchObject({exitCode: ExitCode.TPM_ERROR})
    // naming the registration's EK, the agent refuses before asking its TPM
    await expect(activateCredential(attacker, challenge.credentialBlob, challenge.encryptedSecret, victimEk)).rejects.toThrow(
      /not the EK the credential challenge was made for/,
    )
    // the victim's TPM holds the EK but not the attacker's AK: its own AK has another name
    await expect(activateCredential(victim, challenge.credentialBlob, challenge.encryptedSecret)).rejects.toMatchObject({exitCode: ExitCode.TPM_ERROR})
  })

  it("attack: a software AK's public area loaded next to the victim's EK (LoadExternal) cannot activate", async () => {
    const soft = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'jwk'})
    const softAk = tpm2b(emulatorAkTpmt(Buffer.from(soft.x!, 'base64url'), Buffer.from(soft.y!, 'base64url')))
    const victimEk = victim.ekPublic('rsa2048')
    // the software key carries every AK attribute: only the TPM can tell it was never inside one
    const challenge = credentialChallengeFor(victimEk, softAk, randomBytes(32), REG_ID)
    const tpm = victim.tpm
    const loaded = tpm.loadExternalPublic(softAk)
    const ek = tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, ekTemplateRsa2048())
    try {
      // TPM_RC_AUTH_UNAVAILABLE: an object without a sensitive part cannot authorize ActivateCredential
      expect(() => tpm.activateCredential(loaded, ek.handle, challenge.credentialBlob, challenge.encryptedSecret)).toThrow(
        /authValue or authPolicy is not available for selected entity \(0x12f\)/,
      )
    } finally {
      tpm.flush(ek.handle)
      tpm.flush(loaded)
    }
    // and the victim's TPM still answers its own challenges afterwards (nothing leaked)
    const secret = randomBytes(32)
    const own = credentialChallengeFor(victimEk, (await victim.identity()).akPublic, secret)
    expect(Buffer.from(await activateCredential(victim, own.credentialBlob, own.encryptedSecret, victimEk)).equals(secret)).toBe(true)
  })

  it('a guessed answer does not match the commitment', () => {
    const secret = randomBytes(32)
    const commitment = activationCommitment(REG_ID, secret)
    expect(activationCommitment(REG_ID, randomBytes(32))).not.toEqual(commitment)
    expect(activationCommitment(bytesToHex(randomBytes(32)), secret)).not.toEqual(commitment)
  })
})
