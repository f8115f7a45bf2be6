import {constants, createHash, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject} from 'node:crypto'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode, InputError} from '../../../src/errors/index.js'
import {openEngine, parseHandle} from '../../../src/hw/engine.js'
import {EmulatorEngine, emulatorAkTpmt} from '../../../src/hw/emulator/engine.js'
import {emulatorIdentityReasons} from '../../../src/hw/emulator/verify.js'
import {EMULATOR_ROOT_CN} from '../../../src/hw/emulator/x509.js'
import {trimDer} from '../../../src/hw/tpm2/engine.js'
import {kdfa} from '../../../src/hw/tpm2/credential.js'
import {encodeEcdsaSignature, objectName, parseQuoteAttest, parseTpm2bPublic, primaryQualifiedName, TPM_RH} from '../../../src/hw/tpm2/structures.js'
import {readSerializedPcrs, serializedToMap, writeSerializedPcrs} from '../../../src/hw/tpm2/tpm2-tools.js'
import {QuoteVerifier} from '../../../src/hw/tpm2/verify.js'
import {akTemplateEccP256, ekTemplateEccP256, ekTemplateRsa2048, encodePcrSelection, TPM2_ALG, TPMA_OBJECT, tpm2b, Writer} from '../../../src/hw/tpm2/wire.js'

/** A software "TPM" quote with full control over every field, for the verifier's negative cases. */
function makeQuote(
  opts: {
    attributes?: number
    safe?: number
    reset?: number
    restart?: number
    clock?: bigint
    extra?: Uint8Array
    rsa?: 'pss' | 'pkcs1'
    shortR?: boolean
  } = {},
) {
  const rsa = opts.rsa !== undefined
  const {privateKey, publicKey} = rsa ? generateKeyPairSync('rsa', {modulusLength: 2048}) : generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const jwk = publicKey.export({format: 'jwk'})
  let tpmt: Uint8Array
  if (rsa) {
    tpmt = new Writer()
      .u16(TPM2_ALG.RSA)
      .u16(TPM2_ALG.SHA256)
      .u32(opts.attributes ?? 0x00050072)
      .tpm2b(new Uint8Array(0))
      .u16(TPM2_ALG.NULL)
      .u16(opts.rsa === 'pss' ? TPM2_ALG.RSAPSS : TPM2_ALG.RSASSA)
      .u16(TPM2_ALG.SHA256)
      .u16(2048)
      .u32(0)
      .tpm2b(Buffer.from(jwk.n!, 'base64url'))
      .bytes()
  } else {
    const t = emulatorAkTpmt(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'))
    if (opts.attributes !== undefined) Buffer.from(t.buffer, t.byteOffset).writeUInt32BE(opts.attributes, 4)
    tpmt = t
  }
  const name = primaryQualifiedName(objectName(parseTpm2bPublic(tpm2b(tpmt))), TPM2_ALG.SHA256, TPM_RH.ENDORSEMENT)
  const pcrs = new Map([
    [0, new Uint8Array(32).fill(1)],
    [7, new Uint8Array(32).fill(7)],
  ])
  const digest = createHash('sha256').update(pcrs.get(0)!).update(pcrs.get(7)!).digest()
  const extra = opts.extra ?? Uint8Array.of(1, 2, 3, 4)
  const attest = new Writer()
    .u32(0xff544347)
    .u16(0x8018)
    .tpm2b(name)
    .tpm2b(extra)
    .u64(opts.clock ?? 1000n)
    .u32(opts.reset ?? 5)
    .u32(opts.restart ?? 2)
    .u8(opts.safe ?? 1)
    .u64(0n)
    .raw(encodePcrSelection([{hash: TPM2_ALG.SHA256, pcrs: [0, 7]}]))
    .tpm2b(digest)
    .bytes()
  let signature: Uint8Array
  if (rsa) {
    const padding = opts.rsa === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING
    const sig = sign('sha256', attest, {key: privateKey, padding, saltLength: 32})
    signature = new Writer()
      .u16(opts.rsa === 'pss' ? TPM2_ALG.RSAPSS : TPM2_ALG.RSASSA)
      .u16(TPM2_ALG.SHA256)
      .tpm2b(sig)
      .bytes()
  } else {
    let sig = sign('sha256', attest, {key: privateKey, dsaEncoding: 'ieee-p1363'})
    if (opts.shortR) for (let i = 0; i < 100 && sig[0] !== 0; i++) sig = sign('sha256', attest, {key: privateKey, dsaEncoding: 'ieee-p1363'})
    const r = opts.shortR && sig[0] === 0 ? sig.subarray(1, 32) : sig.subarray(0, 32)
    signature = encodeEcdsaSignature(TPM2_ALG.SHA256, r, sig.subarray(32))
  }
  return {akPublic: tpm2b(tpmt), attest, signature, pcrs, extra, privateKey: privateKey as KeyObject}
}

const run = (q: ReturnType<typeof makeQuote>, extra: Partial<Parameters<QuoteVerifier['verify']>[0]> = {}) =>
  new QuoteVerifier({tpm2bPublic: q.akPublic}).verify({attest: q.attest, signature: q.signature, expectedExtraData: q.extra, pcrs: q.pcrs, ...extra})

describe('QuoteVerifier', () => {
  it('accepts well-formed ECDSA, RSASSA and RSAPSS quotes', () => {
    expect(run(makeQuote()).reasons).toEqual([])
    expect(run(makeQuote({rsa: 'pkcs1'})).reasons).toEqual([])
    expect(run(makeQuote({rsa: 'pss'})).reasons).toEqual([])
  })

  it('accepts an ECDSA r shorter than 32 bytes (left-padded)', () => {
    const q = makeQuote({shortR: true})
    expect(run(q).valid).toBe(true)
  })

  it('reports each missing AK attribute, and decrypt', () => {
    const all = 0x00050072
    for (const [bit, name] of [
      [TPMA_OBJECT.fixedTPM, 'fixedTPM'],
      [TPMA_OBJECT.fixedParent, 'fixedParent'],
      [TPMA_OBJECT.restricted, 'restricted'],
      [TPMA_OBJECT.sign, 'sign'],
      [TPMA_OBJECT.sensitiveDataOrigin, 'sensitiveDataOrigin'],
    ] as const) {
      const r = run(makeQuote({attributes: all & ~bit}))
      expect(r.valid).toBe(false)
      expect(r.reasons.join()).toContain(name)
    }
    expect(run(makeQuote({attributes: all | TPMA_OBJECT.decrypt})).reasons.join()).toMatch(/decrypt/)
  })

  it('clockInfo.safe = 0 is refused unless allowed; counters must not go back', () => {
    const q = makeQuote({safe: 0})
    expect(run(q).reasons.join()).toMatch(/safe is 0/)
    expect(run(q, {requireSafe: false}).valid).toBe(true)
    const p = makeQuote({reset: 5, restart: 2, clock: 1000n})
    expect(run(p, {previous: {resetCount: 5, restartCount: 3, clock: 0n}}).reasons.join()).toMatch(/restartCount went back/)
    expect(run(p, {previous: {resetCount: 6, restartCount: 0, clock: 0n}}).reasons.join()).toMatch(/resetCount went back/)
    expect(run(p, {previous: {resetCount: 5, restartCount: 2, clock: 999n}}).valid).toBe(true)
    expect(run(p, {previous: {resetCount: 4, restartCount: 9, clock: 99999n}}).valid).toBe(true)
  })

  it('PCR values: missing, extra, wrong size', () => {
    const q = makeQuote()
    expect(run(q, {pcrs: new Map([[0, q.pcrs.get(0)!]])}).reasons.join()).toMatch(/PCR 7 is quoted but its value is missing/)
    expect(run(q, {pcrs: new Map([...q.pcrs, [3, new Uint8Array(32)]])}).reasons.join()).toMatch(/PCR values given for 3/)
    expect(
      run(q, {
        pcrs: new Map([
          [0, new Uint8Array(20)],
          [7, q.pcrs.get(7)!],
        ]),
      }).reasons.join(),
    ).toMatch(/20 bytes/)
  })

  it('another key, a signature of the wrong scheme, a wrong signer name', () => {
    const a = makeQuote()
    const b = makeQuote()
    expect(new QuoteVerifier({tpm2bPublic: b.akPublic}).verify({attest: a.attest, signature: a.signature, expectedExtraData: a.extra}).reasons.join()).toMatch(
      /signature does not verify.*|qualifiedSigner/,
    )
    const rsa = makeQuote({rsa: 'pkcs1'})
    const ecdsaSigOnRsa = new QuoteVerifier({tpm2bPublic: rsa.akPublic}).verify({attest: rsa.attest, signature: a.signature, expectedExtraData: rsa.extra})
    expect(ecdsaSigOnRsa.reasons.join()).toMatch(/scheme/)
    // bare key (tpm2-tools ak.pem): no name/attribute checks, but the signature must verify with that key
    const own = createPublicKey(a.privateKey).export({type: 'spki', format: 'pem'}) as string
    expect(new QuoteVerifier({key: own}).verify({attest: a.attest, signature: a.signature, expectedExtraData: a.extra}).valid).toBe(true)
    const stranger = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey
    expect(new QuoteVerifier({key: stranger}).verify({attest: a.attest, signature: a.signature, expectedExtraData: a.extra}).reasons).toEqual([
      'signature does not verify with the AK public key',
    ])
  })

  it('a bad PEM key is INPUT_INVALID', () => {
    expect(() => new QuoteVerifier({key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'})).toThrow(InputError)
  })
})

describe('wire templates and helpers', () => {
  it('templates parse back with the TCG attributes; EK policy is PolicySecret(endorsement)', () => {
    const ak = parseTpm2bPublic(tpm2b(akTemplateEccP256()))
    expect(ak.attributes).toBe(0x00050072)
    expect(ak.scheme).toBe(TPM2_ALG.ECDSA)
    const rsa = parseTpm2bPublic(tpm2b(ekTemplateRsa2048()))
    expect(rsa.attributes).toBe(0x000300b2)
    expect(Buffer.from(rsa.authPolicy).toString('hex')).toBe('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa')
    expect(parseTpm2bPublic(tpm2b(ekTemplateEccP256())).curve).toBe(3)
  })

  it('serialized PCR files round-trip, more than 8 values spread over digest lists', () => {
    const values = new Map(Array.from({length: 12}, (_, i) => [i, new Uint8Array(32).fill(i + 1)] as const))
    const bytes = writeSerializedPcrs([{hash: 0x0b, pcrs: [...values.keys()]}], values)
    expect(bytes.length).toBe(132 + 4 + 2 * 532)
    expect(serializedToMap(readSerializedPcrs(bytes))).toEqual(values)
    expect(() => readSerializedPcrs(bytes.subarray(0, bytes.length - 1))).toThrow(InputError)
  })

  it('trimDer drops NV padding after the certificate', () => {
    const der = Uint8Array.from([0x30, 0x03, 1, 2, 3])
    expect(trimDer(Uint8Array.from([...der, 0xff, 0xff]))).toEqual(der)
    expect(trimDer(der)).toEqual(der)
  })

  it('KDFa matches its definition (first block = HMAC(key, 1 || label\\0 || u || v || bits))', () => {
    const key = new Uint8Array(32).fill(3)
    const out = kdfa(TPM2_ALG.SHA256, key, 'STORAGE', Uint8Array.of(9), new Uint8Array(0), 128)
    expect(out).toHaveLength(16)
    expect(kdfa(TPM2_ALG.SHA256, key, 'STORAGE', Uint8Array.of(9), new Uint8Array(0), 512).subarray(0, 16)).not.toEqual(out) // bits are part of the input
  })

  it('parseHandle accepts only persistent handles', () => {
    expect(parseHandle('0x81010002')).toBe(0x81010002)
    expect(() => parseHandle('0x01c00002')).toThrow(InputError)
    expect(() => parseHandle('81010002')).toThrow(InputError)
  })
})

describe('emulator engine', () => {
  it('its root is "UNET EMULATOR - NOT FOR PRODUCTION", self-signed, holding the AK key; the key is reused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-emu-unit-'))
    const e = await EmulatorEngine.open({dataDir, pcrs: [0, 1]})
    const id = await e.identity()
    const cert = new X509Certificate(id.certChain[0]!)
    expect(cert.subject).toBe(`CN=${EMULATOR_ROOT_CN}`)
    expect(cert.ca).toBe(true)
    const der = Uint8Array.from(cert.raw)
    expect(emulatorIdentityReasons([der], id.akPublic)).toEqual([])
    const again = await EmulatorEngine.open({dataDir, pcrs: [0, 1]})
    expect((await again.identity()).deviceId).toBe(id.deviceId)
    const other = await (await EmulatorEngine.open({dataDir: mkdtempSync(join(tmpdir(), 'unet-emu-unit-')), pcrs: [0]})).identity()
    expect(emulatorIdentityReasons([der], other.akPublic).join()).toMatch(/not the AK/)
    const q = await e.quote(Uint8Array.of(5))
    const a = parseQuoteAttest(q.attest)
    expect(a.clockInfo.safe).toBe(true)
    expect(a.extraData).toEqual(Uint8Array.of(5))
    await expect(e.quote(new Uint8Array(65))).rejects.toMatchObject({exitCode: ExitCode.INPUT_INVALID})
  })

  it('openEngine refuses the emulator where allowEmulator=false (EMULATOR_REFUSED)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-emu-unit-'))
    await expect(
      openEngine({engine: 'emulator', tcti: 'device:/dev/none', dataDir, akHandle: '0x81010002', pcrs: [0], profile: {name: 'mainnet', allowEmulator: false}}),
    ).rejects.toMatchObject({exitCode: ExitCode.EMULATOR_REFUSED})
    const notices: string[] = []
    const e = await openEngine({
      engine: 'auto',
      tcti: 'device:/dev/none',
      dataDir,
      akHandle: '0x81010002',
      pcrs: [0],
      profile: {name: 'devnet', allowEmulator: true},
      onNotice: (m) => notices.push(m),
    })
    expect(e.kind).toBe('emulator')
    expect(notices.join()).toMatch(/EMULATOR/)
  })
})
