import {generateKeyPairSync, type KeyObject} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {checkEkChain, certFacts, OID} from '../../../src/hw/tpm2/ek-policy.js'
import {cloudVtpmAllowed, ekPolicyFor, loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {verifyEkChain} from '../../../src/hw/tpm2/verify.js'
import {TPM2_ALG, TPM2_ECC, tpm2b, Writer} from '../../../src/hw/tpm2/wire.js'
import {ca, der, issue, type CertSpec, type Issued} from '../../helpers/x509.js'

/** TPM2B_PUBLIC of an EK (TCG template attributes) holding this key. */
function ekPublicOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({format: 'jwk'})
  const head = new Writer()
    .u16(jwk.kty === 'RSA' ? TPM2_ALG.RSA : TPM2_ALG.ECC)
    .u16(TPM2_ALG.SHA256)
    .u32(0x000300b2)
    .tpm2b(new Uint8Array(32))
    .u16(TPM2_ALG.AES)
    .u16(128)
    .u16(TPM2_ALG.CFB)
    .u16(TPM2_ALG.NULL)
  const body =
    jwk.kty === 'RSA'
      ? head.u16(2048).u32(0).tpm2b(Buffer.from(jwk.n!, 'base64url'))
      : head.u16(TPM2_ECC.NIST_P256).u16(TPM2_ALG.NULL).tpm2b(Buffer.from(jwk.x!, 'base64url')).tpm2b(Buffer.from(jwk.y!, 'base64url'))
  return tpm2b(body.bytes())
}

const rsaKey = generateKeyPairSync('rsa', {modulusLength: 2048})
const IFX = {manufacturer: 'id:49465800', model: 'SLB9670', version: 'id:00070055'}

/** An EK certificate as the TCG profile describes it: empty subject, SAN with the TPM attributes. */
function ekCert(issuer: Issued, more: Partial<CertSpec> = {}): Issued {
  return issue({subject: '', issuer, key: rsaKey, ca: {ca: false}, keyUsage: ['keyEncipherment'], eku: [OID.tcgKpEkCertificate], tpm: IFX, ...more})
}

describe('EK certificate policy', () => {
  const root = ca('Vendor EK Root')
  const inter = ca('Vendor EK Intermediate', root, {ca: {ca: true, pathLen: 0}})
  const good = ekCert(inter)

  it('accepts a TCG-profile EK certificate through a vendor intermediate, and reports the TPM', () => {
    const r = checkEkChain({chain: [good.der, inter.der], trusted: [root.pem], ekPublic: ekPublicOf(rsaKey.publicKey)})
    expect(r.reasons).toEqual([])
    expect(r.info).toMatchObject({
      class: 'dtpm',
      vendor: 'Infineon',
      tpm: {manufacturer: 'id:49465800', vendorId: 'IFX', model: 'SLB9670', version: 'id:00070055'},
    })
    expect(r.info.path).toHaveLength(3)
    // the intermediate may also come from the trust store
    expect(verifyEkChain({chain: [good.der], trusted: [root.pem, inter.pem]})).toEqual([])
  })

  it('an ECC EK certificate needs keyAgreement', () => {
    const ecc = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const ok = ekCert(inter, {key: ecc, keyUsage: ['keyAgreement']})
    expect(verifyEkChain({chain: [ok.der], trusted: [root.pem, inter.pem], ekPublic: ekPublicOf(ecc.publicKey)})).toEqual([])
    const wrong = ekCert(inter, {key: ecc, keyUsage: ['keyEncipherment']})
    expect(verifyEkChain({chain: [wrong.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/lacks keyAgreement/)
    const signing = ekCert(inter, {keyUsage: ['digitalSignature']})
    expect(verifyEkChain({chain: [signing.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/lacks keyEncipherment: it is not an EK certificate/)
    expect(verifyEkChain({chain: [ekCert(inter, {keyUsage: undefined}).der], trusted: [root.pem, inter.pem]}).join()).toMatch(/has no key usage/)
  })

  it('refuses a CA certificate without cA=TRUE as intermediate (and one without keyCertSign)', () => {
    for (const bc of [undefined, {ca: false}]) {
      const notCa = issue({subject: 'Not a CA', issuer: root, ca: bc, keyUsage: ['keyCertSign']})
      const leaf = ekCert(notCa)
      expect(verifyEkChain({chain: [leaf.der, notCa.der], trusted: [root.pem]}).join()).toMatch(/"CN=Not a CA" issues certificates but is not a CA/)
    }
    const noCertSign = ca('No CertSign', root, {keyUsage: ['digitalSignature']})
    // OpenSSL itself already refuses such an issuer, or the policy names it
    expect(verifyEkChain({chain: [ekCert(noCertSign).der, noCertSign.der], trusted: [root.pem]}).join()).toMatch(/lacks keyCertSign|does not chain/)
  })

  it('refuses a path longer than a pathLenConstraint allows (intermediate and root)', () => {
    const second = ca('Second Intermediate', inter)
    const r = verifyEkChain({chain: [ekCert(second).der, second.der, inter.der], trusted: [root.pem]})
    expect(r.join()).toMatch(/"CN=Vendor EK Intermediate" allows 0 intermediate CA\(s\) below it \(pathLenConstraint\), the path has 1/)
    const strictRoot = ca('Strict Root', undefined, {ca: {ca: true, pathLen: 0}})
    const under = ca('Under Strict', strictRoot)
    expect(verifyEkChain({chain: [ekCert(under).der, under.der], trusted: [strictRoot.pem]}).join()).toMatch(/"CN=Strict Root" allows 0/)
    // pathLen 1 allows exactly that one
    const root1 = ca('Root 1', undefined, {ca: {ca: true, pathLen: 1}})
    const under1 = ca('Under 1', root1)
    expect(verifyEkChain({chain: [ekCert(under1).der, under1.der], trusted: [root1.pem]})).toEqual([])
  })

  it('extended key usage: when present it must hold tcg-kp-EKCertificate; absent is accepted unless required', () => {
    const noEku = ekCert(inter, {eku: undefined})
    expect(verifyEkChain({chain: [noEku.der], trusted: [root.pem, inter.pem]})).toEqual([])
    expect(verifyEkChain({chain: [noEku.der], trusted: [root.pem, inter.pem], policy: {requireEkEku: true}}).join()).toMatch(
      /has no extended key usage \(tcg-kp-EKCertificate 2\.23\.133\.8\.1 is required\)/,
    )
    const tls = ekCert(inter, {eku: ['1.3.6.1.5.5.7.3.1']})
    expect(verifyEkChain({chain: [tls.der], trusted: [root.pem, inter.pem]}).join()).toMatch(
      /extended key usage \(1\.3\.6\.1\.5\.5\.7\.3\.1\) lacks tcg-kp-EKCertificate/,
    )
  })

  it('refuses an expired intermediate, a not-yet-valid leaf, and any certificate at a time outside it', () => {
    const expired = ca('Expired Intermediate', root, {notBefore: new Date('2015-01-01'), notAfter: new Date('2020-01-01')})
    expect(verifyEkChain({chain: [ekCert(expired).der, expired.der], trusted: [root.pem]}).join()).toMatch(
      /certificate "CN=Expired Intermediate" is not valid at/,
    )
    const future = ekCert(inter, {notBefore: new Date(Date.now() + 86_400_000)})
    expect(verifyEkChain({chain: [future.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/serial .* is not valid at/)
  })

  it('refuses a leaf that is a CA, an unrecognised critical extension, and another EK', () => {
    expect(verifyEkChain({chain: [ekCert(inter, {ca: {ca: true}}).der], trusted: [root.pem, inter.pem]}).join()).toMatch(/EK certificate is a CA certificate/)
    const odd = ekCert(inter, {extra: [['1.2.3.4.5', true, der.null()]]})
    expect(verifyEkChain({chain: [odd.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/unrecognised critical extension 1\.2\.3\.4\.5/)
    const other = generateKeyPairSync('rsa', {modulusLength: 2048})
    expect(verifyEkChain({chain: [good.der], trusted: [root.pem, inter.pem], ekPublic: ekPublicOf(other.publicKey)})).toContain(
      'the EK certificate is not for this EK',
    )
  })

  it('a self-made chain for a copied EK key does not reach the vendor root', () => {
    const fakeRoot = ca('Vendor EK Root') // same name, other key
    const fake = ekCert(ca('Vendor EK Intermediate', fakeRoot, {ca: {ca: true, pathLen: 0}}))
    expect(verifyEkChain({chain: [fake.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/does not chain to a trusted root/)
  })

  it('classifies firmware TPMs by their TCG vendor id', () => {
    for (const [id, vendor] of [
      ['id:414D4400', 'AMD fTPM'],
      ['id:494E5443', 'Intel PTT'],
    ] as const) {
      const r = checkEkChain({chain: [ekCert(inter, {tpm: {...IFX, manufacturer: id}}).der], trusted: [root.pem, inter.pem]})
      expect(r.reasons).toEqual([])
      expect(r.info).toMatchObject({class: 'ftpm', vendor})
    }
    expect(checkEkChain({chain: [ekCert(inter, {tpm: undefined}).der], trusted: [root.pem, inter.pem]}).info.class).toBe('unclassified')
  })

  it('malformed extensions are reasons, not exceptions', () => {
    const bad = ekCert(inter, {extra: [['2.5.29.19', false, Uint8Array.of(0x30, 0x05, 0x01)]]})
    expect(verifyEkChain({chain: [bad.der], trusted: [root.pem, inter.pem]}).join()).toMatch(/malformed certificate/)
    expect(() => certFacts(bad.cert)).toThrow(/malformed certificate/)
  })
})

describe('cloud vTPM EK certificates (Google Cloud, fixtures/go-tpm-tools)', () => {
  const dir = fileURLToPath(new URL('../../../fixtures/go-tpm-tools/', import.meta.url))
  const gceRoots = loadTrustRoots([dir + 'tpm_ek_root_1.cer', dir + 'tpm_ek_intermediate_3.crt'])
  const AT = new Date('2026-04-11T00:00:00Z')
  const certs = ['gce-ek-rsa.pem', 'gce-ek-ecc.pem'].map((f) => readFileSync(dir + f, 'utf8'))

  it('real GCE EK certificates are TCG-profile EK certificates (RSA keyEncipherment, ECC keyAgreement) of a cloud vTPM', () => {
    for (const pem of certs) {
      const r = checkEkChain({chain: [pem], trusted: gceRoots, now: AT, policy: {allowCloudVtpm: true}})
      expect(r.reasons).toEqual([])
      expect(r.info).toMatchObject({class: 'cloud-vtpm', tpm: {manufacturer: 'id:474F4F47', vendorId: 'GOOG', model: 'vTPM', version: 'id:20160511'}})
      expect(r.info.vendor).toMatch(/Google Cloud vTPM/)
    }
  })

  it('are refused where cloud vTPMs are off (the default, and every profile but the devnet)', () => {
    for (const pem of certs) {
      expect(verifyEkChain({chain: [pem], trusted: gceRoots, now: AT}).join()).toMatch(
        /the EK is a cloud vTPM's \(Google Cloud vTPM .*\): cloud vTPMs are not accepted on this network \(networks\.<name>\.trustRoots\.allowCloudVtpm is false\)/,
      )
      const mainnet = ekPolicyFor({name: 'mainnet', trustRoots: {tpm: [], nvidia: []}})
      expect(checkEkChain({chain: [pem], trusted: gceRoots, now: AT, policy: mainnet}).valid).toBe(false)
      const devnet = ekPolicyFor({name: 'devnet', trustRoots: {tpm: [], nvidia: []}})
      expect(checkEkChain({chain: [pem], trusted: gceRoots, now: AT, policy: devnet}).valid).toBe(true)
    }
  })

  it('trustRoots.allowCloudVtpm: default true only on the devnet; explicit values win', () => {
    const p = (name: string, allowCloudVtpm?: boolean) => ({name, trustRoots: {tpm: [], nvidia: [], ...(allowCloudVtpm === undefined ? {} : {allowCloudVtpm})}})
    expect(cloudVtpmAllowed(p('devnet'))).toBe(true)
    expect(cloudVtpmAllowed(p('mainnet'))).toBe(false)
    expect(cloudVtpmAllowed(p('my-net'))).toBe(false)
    expect(cloudVtpmAllowed(p('mainnet', true))).toBe(true)
    expect(cloudVtpmAllowed(p('devnet', false))).toBe(false)
  })

  it('the GCE AK certificate is not an EK certificate (digitalSignature only)', async () => {
    const {parseAttestation} = await import('./gce-pb.js')
    const akCert = parseAttestation(readFileSync(dir + 'gce-cos-85-nonce9009.pb')).akCert!
    const trusted = loadTrustRoots([dir])
    const r = verifyEkChain({chain: [akCert], trusted, now: new Date('2021-12-22T00:00:00Z'), policy: {allowCloudVtpm: true}})
    expect(r).toEqual(["the EK certificate's key usage (digitalSignature) lacks keyEncipherment: it is not an EK certificate"])
  })
})
