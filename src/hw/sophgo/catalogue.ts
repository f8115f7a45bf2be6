/**
 * The Sophgo chip catalogue: the list of genuine chip keys a manufacturer or foundation publishes,
 * signed by a catalogue key that the network profile pins (docs/devices.md §Sophgo chip catalogue).
 * A Sophgo chip key carries no vendor certificate, so "this RSA key is a real BM1684" can only come
 * from such a list; UtilityNet's own chip registration works from one too.
 *
 * Format v1 (JSON): {version: 1, issuer, issuedAt (unix s), chips: [{keyId, model, serial?}], signature}.
 * keyId = keccak256(RSA modulus), 0x-hex: the chip's on-chain deviceId. signature = ECDSA P-256 over
 * SHA-256 of the canonical JSON (src/evidence/format.ts canonicalJson) of the document without
 * `signature`, DER, unpadded base64url (what `openssl dgst -sha256 -sign` writes, re-encoded).
 * The file itself may be pretty-printed: what is signed is the canonical form of its content.
 * Pure: no I/O, no FFI.
 */
import {createPublicKey, sign, verify, type KeyObject} from 'node:crypto'

import {InputError} from '../../errors/index.js'
import {canonicalJson} from '../../evidence/format.js'

const CATALOGUE_VERSION = 1
/** Chip models the catalogue may name (the chip ids bmlib reports, src/hw/sophgo/probe.ts; BM1690 from the PCIe driver). */
const SOPHGO_MODELS = ['BM1684', 'BM1684X', 'BM1690'] as const
export type SophgoModel = (typeof SOPHGO_MODELS)[number]

export interface CatalogueChip {
  /** keccak256 of the chip's RSA-2048 modulus, 0x + 64 lowercase hex: the on-chain deviceId. */
  keyId: string
  model: SophgoModel
  /** Board/chip serial as the manufacturer records it (informational). */
  serial?: string
}

export interface SophgoCatalogue {
  version: 1
  /** Who publishes the list (free text, e.g. the manufacturer's name). */
  issuer: string
  /** Unix seconds when the list was signed. */
  issuedAt: number
  chips: CatalogueChip[]
  /** DER ECDSA P-256 signature over SHA-256(catalogueSigningBytes). */
  signature: Uint8Array
}

const MAX_CATALOGUE_BYTES = 16 << 20
const KEY_ID = /^0x[0-9a-f]{64}$/
const TOP_FIELDS = ['version', 'issuer', 'issuedAt', 'chips', 'signature']
const CHIP_FIELDS = ['keyId', 'model', 'serial']

function bad(message: string): InputError {
  return new InputError(`invalid Sophgo catalogue: ${message}`, {hint: 'the file is not a unet Sophgo chip catalogue v1 (docs/devices.md)'})
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function onlyFields(o: Record<string, unknown>, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(`${path}${k} is not a v1 field`)
}

function nonEmptyString(o: Record<string, unknown>, k: string, path: string): string {
  const v = o[k]
  if (typeof v !== 'string' || v.length === 0) throw bad(`${path}${k} must be a non-empty string`)
  return v
}

/** Strict parse: unknown or missing fields, a wrong version, malformed or duplicate keyIds are errors naming the field. */
export function parseCatalogue(bytes: Uint8Array): SophgoCatalogue {
  if (bytes.length > MAX_CATALOGUE_BYTES) throw bad(`${bytes.length} bytes is larger than the 16 MiB limit`)
  let raw: unknown
  try {
    raw = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes))
  } catch {
    throw bad('not UTF-8 JSON')
  }
  if (!isObject(raw)) throw bad('the top level must be an object')
  onlyFields(raw, '', TOP_FIELDS)
  if (raw.version !== CATALOGUE_VERSION) throw bad(`version ${JSON.stringify(raw.version) ?? 'missing'} is not supported (version must be 1)`)
  const issuer = nonEmptyString(raw, 'issuer', '')
  const issuedAt = raw.issuedAt
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt) || issuedAt < 0) throw bad('issuedAt must be a non-negative integer (unix seconds)')
  if (!Array.isArray(raw.chips)) throw bad('chips must be an array')
  const seen = new Set<string>()
  const chips = raw.chips.map((c: unknown, i): CatalogueChip => {
    const path = `chips[${i}].`
    if (!isObject(c)) throw bad(`chips[${i}] must be an object`)
    onlyFields(c, path, CHIP_FIELDS)
    const keyId = nonEmptyString(c, 'keyId', path)
    if (!KEY_ID.test(keyId)) throw bad(`${path}keyId must be 0x + 64 lowercase hex digits (keccak256 of the modulus)`)
    if (seen.has(keyId)) throw bad(`${path}keyId ${keyId} is listed twice`)
    seen.add(keyId)
    const model = nonEmptyString(c, 'model', path)
    if (!(SOPHGO_MODELS as readonly string[]).includes(model)) throw bad(`${path}model must be one of ${SOPHGO_MODELS.join(', ')}`)
    const chip: CatalogueChip = {keyId, model: model as SophgoModel}
    if (c.serial !== undefined) chip.serial = nonEmptyString(c, 'serial', path)
    return chip
  })
  const sig = nonEmptyString(raw, 'signature', '')
  if (!/^[A-Za-z0-9_-]+$/.test(sig) || Buffer.from(sig, 'base64url').toString('base64url') !== sig) throw bad('signature must be unpadded base64url')
  return {version: 1, issuer, issuedAt, chips, signature: Uint8Array.from(Buffer.from(sig, 'base64url'))}
}

function chipJson(x: CatalogueChip): CatalogueChip & Record<string, string> {
  return x.serial === undefined ? {keyId: x.keyId, model: x.model} : {keyId: x.keyId, model: x.model, serial: x.serial}
}

function unsignedJson(c: Omit<SophgoCatalogue, 'signature'>) {
  return {version: c.version, issuer: c.issuer, issuedAt: c.issuedAt, chips: c.chips.map(chipJson)}
}

/** The bytes the catalogue key signs: canonical JSON of everything but `signature`. */
export function catalogueSigningBytes(c: Omit<SophgoCatalogue, 'signature'>): Uint8Array {
  return new TextEncoder().encode(canonicalJson(unsignedJson(c)))
}

/** The catalogue as a file: canonical JSON including the signature (parseCatalogue reads it back). */
export function encodeCatalogue(c: SophgoCatalogue): Uint8Array {
  return new TextEncoder().encode(canonicalJson({...unsignedJson(c), signature: Buffer.from(c.signature).toString('base64url')}))
}

/** Signs a catalogue with an EC P-256 private key (the publisher's side; scripts/sign-sophgo-catalogue.mjs). */
export function signCatalogue(unsigned: Omit<SophgoCatalogue, 'signature'>, privateKey: KeyObject): SophgoCatalogue {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new InputError('a catalogue key must be EC P-256')
  const signature = Uint8Array.from(sign('sha256', catalogueSigningBytes(unsigned), {key: privateKey, dsaEncoding: 'der'}))
  return {...unsignedJson(unsigned), version: 1, signature}
}

function asKey(k: string | KeyObject): KeyObject {
  return typeof k === 'string' ? createPublicKey(k) : k
}

/**
 * Reasons the catalogue is not trusted (empty: its signature verifies under one of the pinned keys,
 * which must be EC P-256). Pinned keys as PEM text (SPKI) or KeyObjects.
 */
export function verifyCatalogue(catalogue: SophgoCatalogue, pinnedKeys: ReadonlyArray<string | KeyObject>): string[] {
  if (pinnedKeys.length === 0) return ['no Sophgo catalogue key is pinned (networks.<name>.trustRoots.sophgoCatalogueKeys)']
  const reasons: string[] = []
  const message = catalogueSigningBytes(catalogue)
  for (const [i, pinned] of pinnedKeys.entries()) {
    let key: KeyObject
    try {
      key = asKey(pinned)
    } catch (error) {
      reasons.push(`pinned catalogue key ${i} is not a public key: ${(error as Error).message}`)
      continue
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      reasons.push(`pinned catalogue key ${i} is not an EC P-256 key`)
      continue
    }
    if (verify('sha256', message, {key, dsaEncoding: 'der'}, catalogue.signature)) return []
  }
  return [...reasons, 'the catalogue signature does not verify under any pinned catalogue key']
}

/** The catalogue entry of a chip by its deviceId (keccak256 of the modulus; any hex case). */
export function lookupChip(catalogue: SophgoCatalogue, deviceId: string): CatalogueChip | undefined {
  const id = deviceId.toLowerCase()
  return catalogue.chips.find((c) => c.keyId === id)
}
