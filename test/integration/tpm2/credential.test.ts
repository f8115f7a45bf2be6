import {randomBytes, X509Certificate} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../../src/errors/index.js'
import {makeCredential} from '../../../src/hw/tpm2/credential.js'
import {objectName, parseTpm2bPublic} from '../../../src/hw/tpm2/structures.js'
import {ekPolicyFor} from '../../../src/hw/tpm2/roots.js'
import {checkEkChain, verifyEkChain} from '../../../src/hw/tpm2/verify.js'
import {readFileSync} from 'node:fs'
import {swtpm} from '../../helpers/env.js'
import {swtpmEngine} from '../../helpers/swtpm-engine.js'

describe('AK↔EK credential activation: MakeCredential in TS, ActivateCredential on swtpm', () => {
  const tpm = swtpmEngine({pcrs: [0, 1, 2, 3, 4, 5, 6, 7]})

  for (const type of ['rsa2048', 'eccP256'] as const) {
    it(`round-trips a random credential through the ${type} EK`, async () => {
      const id = await tpm.engine.identity()
      const akName = objectName(parseTpm2bPublic(id.akPublic))
      const credential = randomBytes(32)
      const made = makeCredential(tpm.engine.ekPublic(type), akName, credential)
      const out = await tpm.engine.activateCredential(made.credentialBlob, made.secret, type)
      expect(Buffer.from(out).equals(credential)).toBe(true)
    })
  }

  it('fails for another AK name (the TPM refuses the integrity check)', async () => {
    const other = new Uint8Array(34)
    other[1] = 0x0b
    const made = makeCredential(tpm.engine.ekPublic('rsa2048'), other, randomBytes(16))
    await expect(tpm.engine.activateCredential(made.credentialBlob, made.secret, 'rsa2048')).rejects.toMatchObject({exitCode: ExitCode.TPM_ERROR})
    // and the engine still works afterwards: sessions and the EK were flushed
    for (let i = 0; i < 20; i++) {
      const made2 = makeCredential(tpm.engine.ekPublic('rsa2048'), other, randomBytes(16))
      await tpm.engine.activateCredential(made2.credentialBlob, made2.secret, 'rsa2048').catch(() => undefined)
    }
    expect((await tpm.engine.quote(new Uint8Array(8))).attest.length).toBeGreaterThan(0)
  })

  it("the EK certificate from NV chains to swtpm's local CA and is for this EK", async () => {
    const id = await tpm.engine.identity()
    const sw = swtpm()
    const trusted = [readFileSync(sw.caRootPath, 'utf8'), readFileSync(sw.caIssuerPath, 'utf8')]
    expect(verifyEkChain({chain: id.certChain, trusted, ekPublic: id.ekPublic})).toEqual([])
    // a root that did not sign it
    expect(
      verifyEkChain({
        chain: id.certChain,
        trusted: [readFileSync(new URL('../../../fixtures/go-tpm-tools/tpm_ek_root_1.cer', import.meta.url))],
        ekPublic: id.ekPublic,
      }).join(),
    ).toMatch(/does not chain/)
    // the right chain for the wrong key
    expect(verifyEkChain({chain: id.certChain, trusted, ekPublic: tpm.engine.ekPublic('eccP256')})).toContain('the EK certificate is not for this EK')
  })

  it("under the devnet's EK policy the swtpm local-CA chain is accepted, and its TPM attributes reported", async () => {
    const id = await tpm.engine.identity()
    const sw = swtpm()
    const trusted = [readFileSync(sw.caRootPath, 'utf8'), readFileSync(sw.caIssuerPath, 'utf8')]
    const policy = ekPolicyFor({name: 'devnet', trustRoots: {tpm: [sw.caRootPath], nvidia: []}})
    const r = checkEkChain({chain: id.certChain, trusted, ekPublic: id.ekPublic, policy: {...policy, requireEkEku: true}})
    expect(r.reasons).toEqual([])
    // swtpm's manufacturer id is 0x00001014 (no TCG vendor): neither a vendor dTPM nor a firmware TPM
    expect(r.info).toMatchObject({class: 'unclassified', tpm: {manufacturer: 'id:00001014', model: 'swtpm'}})
    // the issuing CA is in the trust store, so the path ends there
    expect(r.info.path).toEqual(['"CN=unknown"', '"CN=swtpm-localca"'])
  })

  it('swtpm holds RSA 2048 and ECC P-384 EK certificates (no P-256 one), each chaining to its local CA', async () => {
    const certs = tpm.engine.ekCertificates()
    expect(Object.keys(certs).sort()).toEqual(['eccP384', 'rsa2048'])
    const sw = swtpm()
    const trusted = [readFileSync(sw.caRootPath, 'utf8'), readFileSync(sw.caIssuerPath, 'utf8')]
    for (const der of Object.values(certs)) expect(verifyEkChain({chain: [der], trusted})).toEqual([])
    expect(new X509Certificate(Buffer.from(certs.eccP384!)).publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1')
  })
})
