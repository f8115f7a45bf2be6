#!/usr/bin/env node
/**
 * Signs a Sophgo chip catalogue (format: docs/devices.md §Sophgo chip catalogue, src/hw/sophgo/catalogue.ts).
 * Runs the TypeScript sources through tsx (a dev dependency):
 *
 *   node --import tsx scripts/sign-sophgo-catalogue.mjs --key KEY.pem --issuer NAME [--issued-at UNIX_S] --out FILE CHIP...
 *     CHIP = <chip public key PEM (PKCS#1 or SPKI)>:<model>[:<serial>]
 *   node --import tsx scripts/sign-sophgo-catalogue.mjs --devnet [--new-keys]
 *     re-signs fixtures/sophgo-catalogue/devnet-catalogue.json (uminer's sample chip + the devnet stub chip)
 *     with the DEVNET catalogue key; --new-keys first replaces the DEVNET key pair and the stub chip key
 *     (which changes the stub chip's deviceId and the pinned key: only do that on purpose).
 *
 * ECDSA signatures are randomised, so re-signing changes the `signature` bytes but not the signed content.
 */
import {createPrivateKey, createPublicKey, generateKeyPairSync} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {deviceIdOf} from '../src/evidence/nonce.ts'
import {encodeCatalogue, parseCatalogue, signCatalogue, verifyCatalogue} from '../src/hw/sophgo/catalogue.ts'
import {rsaModulus} from '../src/hw/sophgo/verify-evidence.ts'
import {bytesToHex} from '../src/util/hex.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const DEVNET = join(ROOT, 'fixtures/sophgo-catalogue')
const LABEL = 'DEVNET ONLY - NOT FOR PRODUCTION: this private key is public (committed to the unet repository on purpose).\n'
/** Fixed so the devnet catalogue's signed content is reproducible (2026-12-02T13:28:35Z, when it was first made). */
const DEVNET_ISSUED_AT = 1796218115

function arg(name) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}

function chipEntry(spec) {
  const [path, model, serial] = spec.split(':')
  if (!path || !model) throw new Error(`chip "${spec}" is not <pubkey.pem>:<model>[:<serial>]`)
  const keyId = bytesToHex(deviceIdOf(rsaModulus(readFileSync(path, 'latin1'))))
  return serial ? {keyId, model, serial} : {keyId, model}
}

function newDevnetKeys() {
  const ec = generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
  writeFileSync(join(DEVNET, 'devnet-catalogue-key.pem'), LABEL + ec.privateKey.export({type: 'pkcs8', format: 'pem'}))
  writeFileSync(join(DEVNET, 'devnet-catalogue-pub.pem'), ec.publicKey.export({type: 'spki', format: 'pem'}))
  const rsa = generateKeyPairSync('rsa', {modulusLength: 2048, publicExponent: 65537})
  writeFileSync(join(DEVNET, 'devnet-chip0.key'), LABEL + rsa.privateKey.export({type: 'pkcs8', format: 'pem'}))
  writeFileSync(join(DEVNET, 'devnet-chip0.pem'), rsa.publicKey.export({type: 'pkcs1', format: 'pem'}))
}

let keyPath, issuer, issuedAt, out, chipSpecs
if (process.argv.includes('--devnet')) {
  if (process.argv.includes('--new-keys')) newDevnetKeys()
  keyPath = join(DEVNET, 'devnet-catalogue-key.pem')
  issuer = 'UNET DEVNET CATALOGUE - NOT FOR PRODUCTION'
  issuedAt = DEVNET_ISSUED_AT
  out = join(DEVNET, 'devnet-catalogue.json')
  chipSpecs = [`${join(ROOT, 'fixtures/uminer/pubkey_6.pem')}:BM1684`, `${join(DEVNET, 'devnet-chip0.pem')}:BM1684:DEVNET-STUB-0`]
} else {
  keyPath = arg('key')
  issuer = arg('issuer')
  issuedAt = Number(arg('issued-at') ?? Math.floor(Date.now() / 1000))
  out = arg('out')
  const flags = new Set(['--key', '--issuer', '--issued-at', '--out'])
  chipSpecs = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !flags.has(all[i - 1]))
  if (!keyPath || !issuer || !out) {
    console.error(
      'usage: node --import tsx scripts/sign-sophgo-catalogue.mjs --key KEY.pem --issuer NAME [--issued-at S] --out FILE <pubkey.pem>:<model>[:<serial>]...  |  --devnet [--new-keys]',
    )
    process.exit(2)
  }
}

const privateKey = createPrivateKey(readFileSync(keyPath, 'latin1'))
const catalogue = signCatalogue({version: 1, issuer, issuedAt, chips: chipSpecs.map(chipEntry)}, privateKey)
const bytes = encodeCatalogue(catalogue)
// read back exactly as a verifier will, under the public half of the signing key
const reasons = verifyCatalogue(parseCatalogue(bytes), [createPublicKey(privateKey)])
if (reasons.length > 0) throw new Error(`the signed catalogue does not verify: ${reasons.join('; ')}`)
writeFileSync(out, Buffer.concat([bytes, Buffer.from('\n')]))
console.log(`${out}: ${catalogue.chips.length} chips signed by ${issuer}`)
for (const c of catalogue.chips) console.log(`  ${c.keyId} ${c.model}${c.serial ? ' ' + c.serial : ''}`)
