import {createPrivateKey, generateKeyPairSync} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadConfig} from '../../../src/config/index.js'
import {BUILTIN_PROFILES, DEVNET_SOPHGO_CATALOGUE, DEVNET_SOPHGO_CATALOGUE_KEY} from '../../../src/config/schema.js'
import {ConfigError, InputError} from '../../../src/errors/index.js'
import {deviceIdOf} from '../../../src/evidence/nonce.js'
import {
  catalogueSigningBytes,
  encodeCatalogue,
  lookupChip,
  parseCatalogue,
  signCatalogue,
  verifyCatalogue,
  type SophgoCatalogue,
} from '../../../src/hw/sophgo/catalogue.js'
import {loadSophgoTrust} from '../../../src/hw/sophgo/catalogue-files.js'
import {rsaModulus} from '../../../src/hw/sophgo/verify-evidence.js'
import {bytesToHex} from '../../../src/util/hex.js'

const fixture = (f: string) => readFileSync(new URL(`../../../fixtures/${f}`, import.meta.url))
const FILE = fixture('sophgo-catalogue/devnet-catalogue.json')
const PINNED = fixture('sophgo-catalogue/devnet-catalogue-pub.pem').toString('latin1')
const chipId = (pem: string) => bytesToHex(deviceIdOf(rsaModulus(pem)))
const UMINER_CHIP = chipId(fixture('uminer/pubkey_6.pem').toString('latin1'))
const STUB_CHIP = chipId(fixture('sophgo-catalogue/devnet-chip0.pem').toString('latin1'))
const text = (c: unknown) => new TextEncoder().encode(typeof c === 'string' ? c : JSON.stringify(c))
const raw = () => JSON.parse(FILE.toString('utf8')) as Record<string, unknown> & {chips: Array<Record<string, string>>}

function parseError(content: unknown): string {
  try {
    parseCatalogue(text(content))
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return (error as Error).message
  }
  throw new Error('expected a parse error')
}

describe('Sophgo chip catalogue (format v1, ECDSA P-256 over the canonical JSON)', () => {
  it('the devnet catalogue lists the uminer sample chip and the stub chip, and verifies under the pinned devnet key', () => {
    const c = parseCatalogue(FILE)
    expect(c).toMatchObject({version: 1, issuer: 'UNET DEVNET CATALOGUE - NOT FOR PRODUCTION'})
    expect(verifyCatalogue(c, [PINNED])).toEqual([])
    expect(lookupChip(c, UMINER_CHIP)).toEqual({keyId: UMINER_CHIP, model: 'BM1684'})
    expect(lookupChip(c, STUB_CHIP.toUpperCase().replace('0X', '0x'))).toEqual({keyId: STUB_CHIP, model: 'BM1684', serial: 'DEVNET-STUB-0'})
    // the file is the canonical encoding, so it re-encodes byte for byte
    expect(Buffer.from(encodeCatalogue(c)).toString() + '\n').toBe(FILE.toString())
    // the committed private key is the pinned key's other half
    const key = createPrivateKey(fixture('sophgo-catalogue/devnet-catalogue-key.pem').toString('latin1'))
    expect(verifyCatalogue(signCatalogue(c, key), [PINNED])).toEqual([])
  })

  it('a tampered chip entry, an added chip or a changed issuer no longer verifies', () => {
    const c = parseCatalogue(FILE)
    const model = {...c, chips: c.chips.map((x, i) => (i === 0 ? {...x, model: 'BM1684X' as const} : x))}
    const keyId = {...c, chips: [{...c.chips[0]!, keyId: '0x' + '11'.repeat(32)}, c.chips[1]!]}
    const added = {...c, chips: [...c.chips, {keyId: '0x' + '22'.repeat(32), model: 'BM1684' as const}]}
    const serialDropped = {...c, chips: [c.chips[0]!, {keyId: c.chips[1]!.keyId, model: c.chips[1]!.model}]}
    for (const t of [model, keyId, added, serialDropped, {...c, issuer: 'someone else'}, {...c, issuedAt: c.issuedAt + 1}])
      expect(verifyCatalogue(t, [PINNED])).toEqual(['the catalogue signature does not verify under any pinned catalogue key'])
    // the same through the file: edit the JSON, parse, verify
    const file = raw()
    file.chips[0]!.model = 'BM1684X'
    expect(verifyCatalogue(parseCatalogue(text(file)), [PINNED])).toHaveLength(1)
  })

  it('a wrong key, a non-P-256 key or no pinned key: not trusted, with the reason', () => {
    const c = parseCatalogue(FILE)
    const other = generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).publicKey
    expect(verifyCatalogue(c, [other])).toEqual(['the catalogue signature does not verify under any pinned catalogue key'])
    // any one pinned key that verifies is enough (key rotation: old and new pinned together)
    expect(verifyCatalogue(c, [other, PINNED])).toEqual([])
    const p384 = generateKeyPairSync('ec', {namedCurve: 'secp384r1'}).publicKey
    const rsa = generateKeyPairSync('rsa', {modulusLength: 2048}).publicKey
    expect(verifyCatalogue(c, [p384, rsa])).toEqual([
      'pinned catalogue key 0 is not an EC P-256 key',
      'pinned catalogue key 1 is not an EC P-256 key',
      'the catalogue signature does not verify under any pinned catalogue key',
    ])
    expect(verifyCatalogue(c, ['not a pem'])[0]).toMatch(/^pinned catalogue key 0 is not a public key/)
    expect(verifyCatalogue(c, [])).toEqual(['no Sophgo catalogue key is pinned (networks.<name>.trustRoots.sophgoCatalogueKeys)'])
    const sig = {...c, signature: Uint8Array.from(c.signature).fill(1, 10, 20)} as SophgoCatalogue
    expect(verifyCatalogue(sig, [PINNED])).toHaveLength(1)
  })

  it('an unknown chip is not found', () => {
    const c = parseCatalogue(FILE)
    const stranger = generateKeyPairSync('rsa', {modulusLength: 2048}).publicKey.export({type: 'pkcs1', format: 'pem'}).toString()
    expect(lookupChip(c, chipId(stranger))).toBeUndefined()
    expect(lookupChip(c, '0x' + '00'.repeat(32))).toBeUndefined()
  })

  it('strict parse: wrong version and wrong fields are errors naming the field', () => {
    expect(parseError({...raw(), version: 2})).toMatch(/version 2 is not supported/)
    const {version: _v, ...noVersion} = raw()
    expect(parseError(noVersion)).toMatch(/version missing is not supported/)
    expect(parseError({...raw(), extra: 1})).toMatch(/extra is not a v1 field/)
    expect(parseError({...raw(), issuer: ''})).toMatch(/issuer must be a non-empty string/)
    expect(parseError({...raw(), issuedAt: 1.5})).toMatch(/issuedAt must be a non-negative integer/)
    expect(parseError({...raw(), issuedAt: '1'})).toMatch(/issuedAt/)
    expect(parseError({...raw(), chips: {}})).toMatch(/chips must be an array/)
    expect(parseError({...raw(), signature: 'a+b/'})).toMatch(/signature must be unpadded base64url/)
    expect(parseError({...raw(), signature: undefined})).toMatch(/signature must be a non-empty string/)
    const chips = raw().chips
    expect(parseError({...raw(), chips: [chips[0], {...chips[1], model: 'BM9999'}]})).toMatch(/chips\[1\]\.model must be one of BM1684, BM1684X, BM1690/)
    expect(parseError({...raw(), chips: [{...chips[0], keyId: chips[0]!.keyId!.toUpperCase()}]})).toMatch(/chips\[0\]\.keyId must be 0x \+ 64 lowercase hex/)
    expect(parseError({...raw(), chips: [chips[0], chips[0]]})).toMatch(/chips\[1\]\.keyId .* is listed twice/)
    expect(parseError({...raw(), chips: [{...chips[0], serial: 7}]})).toMatch(/chips\[0\]\.serial must be a non-empty string/)
    expect(parseError({...raw(), chips: [{...chips[0], owner: 'x'}]})).toMatch(/chips\[0\]\.owner is not a v1 field/)
    expect(parseError({...raw(), chips: ['x']})).toMatch(/chips\[0\] must be an object/)
    expect(parseError('[1]')).toMatch(/top level must be an object/)
    expect(() => parseCatalogue(Uint8Array.of(0xff, 0xfe))).toThrow(/not UTF-8 JSON/)
  })

  it('a non-canonical re-encoding verifies exactly when its canonical bytes are the signed ones', () => {
    const signed = catalogueSigningBytes(parseCatalogue(FILE))
    // pretty-printed, keys in another order, a string written with escapes: same content
    const file = raw()
    const reordered = {
      signature: file.signature,
      chips: file.chips.map((c) => ({model: c.model, ...c})),
      issuer: file.issuer,
      issuedAt: file.issuedAt,
      version: 1,
    }
    const pretty = JSON.stringify(reordered, null, 2).replace('"BM1684"', '"\\u0042M1684"')
    expect(pretty).not.toBe(FILE.toString().trim())
    const same = parseCatalogue(text(pretty))
    expect(catalogueSigningBytes(same)).toEqual(signed)
    expect(verifyCatalogue(same, [PINNED])).toEqual([])
    // a re-encoding that changes the content changes the canonical bytes: refused
    const changed = JSON.stringify({...reordered, issuer: file.issuer + ' '}, null, 2)
    const other = parseCatalogue(text(changed))
    expect(catalogueSigningBytes(other)).not.toEqual(signed)
    expect(verifyCatalogue(other, [PINNED])).toHaveLength(1)
  })

  it('signCatalogue ↔ encodeCatalogue ↔ parseCatalogue round-trip; only P-256 keys sign', () => {
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
    const c = signCatalogue(
      {version: 1, issuer: 'Example Foundation', issuedAt: 1_700_000_000, chips: [{keyId: UMINER_CHIP, model: 'BM1684', serial: 'HQDZKC5BAJIAJ0272'}]},
      privateKey,
    )
    const back = parseCatalogue(encodeCatalogue(c))
    expect(back).toEqual(c)
    expect(verifyCatalogue(back, [publicKey.export({type: 'spki', format: 'pem'}).toString()])).toEqual([])
    expect(verifyCatalogue(back, [PINNED])).toHaveLength(1)
    expect(() => signCatalogue(c, generateKeyPairSync('ec', {namedCurve: 'secp384r1'}).privateKey)).toThrow(/EC P-256/)
  })
})

describe('network profiles pin the Sophgo catalogue', () => {
  function configDirs(content: unknown) {
    const root = mkdtempSync(join(tmpdir(), 'unet-sophgo-cfg-'))
    mkdirSync(join(root, 'config'))
    writeFileSync(join(root, 'config', 'config.json'), JSON.stringify(content))
    return {configDir: join(root, 'config'), dataDir: join(root, 'data'), cacheDir: join(root, 'cache'), env: {}}
  }

  it('devnet defaults to the committed devnet catalogue and key; testnet and mainnet pin none', () => {
    expect(BUILTIN_PROFILES.devnet).toMatchObject({sophgoCatalogue: DEVNET_SOPHGO_CATALOGUE, trustRoots: {sophgoCatalogueKeys: [DEVNET_SOPHGO_CATALOGUE_KEY]}})
    const devnet = loadSophgoTrust(BUILTIN_PROFILES.devnet!)
    expect(devnet.keys).toHaveLength(1)
    expect(verifyCatalogue(devnet.catalogue!, devnet.keys)).toEqual([])
    for (const name of ['testnet', 'mainnet']) {
      const p = BUILTIN_PROFILES[name]!
      expect(p.sophgoCatalogue).toBeUndefined()
      expect(loadSophgoTrust(p)).toEqual({keys: []})
    }
  })

  it('a profile may pin its own catalogue and keys in the config file; unknown keys are still refused', () => {
    const r = loadConfig({
      ...configDirs({
        network: 'testnet',
        networks: {testnet: {sophgoCatalogue: DEVNET_SOPHGO_CATALOGUE, trustRoots: {sophgoCatalogueKeys: [DEVNET_SOPHGO_CATALOGUE_KEY]}}},
      }),
    })
    expect(r.profile.sophgoCatalogue).toBe(DEVNET_SOPHGO_CATALOGUE)
    expect(r.profile.trustRoots).toEqual({tpm: [], nvidia: [], sophgoCatalogueKeys: [DEVNET_SOPHGO_CATALOGUE_KEY]})
    expect(verifyCatalogue(loadSophgoTrust(r.profile).catalogue!, loadSophgoTrust(r.profile).keys)).toEqual([])
    expect(() => loadConfig(configDirs({networks: {testnet: {trustRoots: {sophgoCatalogue: 'x'}}}}))).toThrow(ConfigError)
    expect(() => loadConfig(configDirs({networks: {testnet: {trustRoots: {sophgoCatalogue: 'x'}}}}))).toThrow(
      /unknown config key "networks\.testnet\.trustRoots\.sophgoCatalogue"/,
    )
    expect(() => loadConfig(configDirs({networks: {testnet: {sophgoCatalogue: ['a']}}}))).toThrow(/sophgoCatalogue" must be a string/)
  })

  it('unreadable files and key files without a public key are input errors naming the config key', () => {
    expect(() => loadSophgoTrust({sophgoCatalogue: '/nonexistent/catalogue.json', trustRoots: {}})).toThrow(/cannot be read/)
    const dir = mkdtempSync(join(tmpdir(), 'unet-sophgo-keys-'))
    writeFileSync(join(dir, 'empty.pem'), 'nothing here\n')
    expect(() => loadSophgoTrust({trustRoots: {sophgoCatalogueKeys: [join(dir, 'empty.pem')]}})).toThrow(/holds no PEM "PUBLIC KEY"/)
    writeFileSync(join(dir, 'two.pem'), PINNED + PINNED)
    expect(loadSophgoTrust({trustRoots: {sophgoCatalogueKeys: [join(dir, 'two.pem')]}}).keys).toHaveLength(2)
  })
})
