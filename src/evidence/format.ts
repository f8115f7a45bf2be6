/**
 * Evidence format v1: what a device proves, in one canonical encoding the agent, the verifier and the
 * chain agree on byte for byte (docs/evidence.md). Canonical JSON: UTF-8, object keys sorted by code
 * unit, no whitespace, integers only, byte strings as unpadded base64url (chain values such as
 * deviceIds and digests as 0x-hex). decodeEvidence accepts only the canonical form (it re-encodes and
 * compares), so evidenceDigest (keccak256 of the canonical bytes) is a function of the content.
 * Pure: no I/O, no FFI.
 */
import {keccak_256} from '@noble/hashes/sha3.js'

import {InputError} from '../errors/index.js'
import {bytesToHex} from '../util/hex.js'
import {deviceIdOf, type DeviceCommitment} from './nonce.js'

const EVIDENCE_VERSION = 1
const EVIDENCE_KINDS = ['tpm2', 'emulator', 'nvidia-cc', 'sophgo'] as const
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number]
export type HostKind = 'tpm2' | 'emulator'
export type AcceleratorKind = 'nvidia-cc' | 'sophgo'

/** What the evidence is bound to: the quote's extraData / report nonce, and how it was derived. */
export interface NonceInputs {
  /** The bytes the device signed as its nonce (TPMS_ATTEST.extraData for host quotes). */
  qualifyingData: Uint8Array
  /** The chain challenge (heartbeatChallenge / registerChallenge), 32 bytes, when derived from one. */
  challenge?: Uint8Array
  /** Device commitments folded in: qualifyingData = quoteQualifyingData(challenge, devices). */
  devices?: DeviceCommitment[]
}

export interface DeviceIdentity {
  /** Raw public key (SEC1 uncompressed point for ECC; the RSA modulus); deviceId = keccak256(publicKey). */
  publicKey: Uint8Array
  /** DER certificates, leaf first (EK certificate; emulator root; vendor device chain). */
  certChain: Uint8Array[]
  /** Host engines: TPM2B_PUBLIC of the AK. */
  akPublic?: Uint8Array
  /** tpm2: TPM2B_PUBLIC of the EK the certificate is about. */
  ekPublic?: Uint8Array
}

export interface HostQuote {
  /** TPMS_ATTEST. */
  attest: Uint8Array
  /** TPMT_SIGNATURE. */
  signature: Uint8Array
  pcrs: {hash: 'sha256'; values: Map<number, Uint8Array>}
}

/** Slot for accelerator reports (nvidia-cc: SPDM measurement report; sophgo: signed report). */
export interface AcceleratorReport {
  /** Format tag owned by the accelerator verifier, e.g. "spdm-1.1-measurements". */
  format: string
  body: Uint8Array
  signature?: Uint8Array
  /** Extra string fields (driver version, firmware IDs...) owned by the accelerator verifier. */
  fields?: Record<string, string>
}

interface Common {
  v: 1
  device: DeviceIdentity
  nonce: NonceInputs
  /** Unix seconds when the evidence was produced (informational: freshness comes from the nonce). */
  producedAt: number
}

export interface HostEvidence extends Common {
  kind: HostKind
  quote: HostQuote
}

export interface AcceleratorEvidence extends Common {
  kind: AcceleratorKind
  report: AcceleratorReport
}

export type Evidence = HostEvidence | AcceleratorEvidence

export function isHostEvidence(e: Evidence): e is HostEvidence {
  return e.kind === 'tpm2' || e.kind === 'emulator'
}

/** deviceId of evidence: keccak256(device.publicKey), 0x-hex. */
export function evidenceDeviceId(e: Evidence): string {
  return bytesToHex(deviceIdOf(e.device.publicKey))
}

// ------------------------------------------------------------------------------------------------
// encoding

type Json = string | number | boolean | Json[] | {[k: string]: Json}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')

function toJson(e: Evidence): Json {
  if (e.v !== EVIDENCE_VERSION) throw new InputError(`evidence version ${String(e.v)} is not supported (v1)`)
  if (!EVIDENCE_KINDS.includes(e.kind)) throw new InputError(`evidence kind "${String(e.kind)}" is unknown`)
  if (!Number.isSafeInteger(e.producedAt) || e.producedAt < 0) throw new InputError('evidence producedAt must be a non-negative integer (unix seconds)')
  const device: Record<string, Json> = {publicKey: b64(e.device.publicKey), certChain: e.device.certChain.map(b64)}
  if (e.device.akPublic) device.akPublic = b64(e.device.akPublic)
  if (e.device.ekPublic) device.ekPublic = b64(e.device.ekPublic)
  const nonce: Record<string, Json> = {qualifyingData: b64(e.nonce.qualifyingData)}
  if (e.nonce.challenge) nonce.challenge = b64(e.nonce.challenge)
  if (e.nonce.devices) nonce.devices = e.nonce.devices.map((d) => ({deviceId: hex32(d.deviceId), evidenceDigest: hex32(d.evidenceDigest)}))
  const out: Record<string, Json> = {v: e.v, kind: e.kind, device, nonce, producedAt: e.producedAt}
  if (isHostEvidence(e)) {
    const indices = [...e.quote.pcrs.values.keys()].sort((a, b) => a - b)
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i > 23) throw new InputError(`PCR index ${i} is out of range`)
    out.quote = {
      attest: b64(e.quote.attest),
      signature: b64(e.quote.signature),
      pcrs: {hash: e.quote.pcrs.hash, indices, values: indices.map((i) => b64(e.quote.pcrs.values.get(i)!))},
    }
  } else {
    const report: Record<string, Json> = {format: e.report.format, body: b64(e.report.body)}
    if (e.report.signature) report.signature = b64(e.report.signature)
    if (e.report.fields) report.fields = {...e.report.fields}
    out.report = report
  }
  return out
}

function hex32(v: string): string {
  if (!/^0x[0-9a-f]{64}$/.test(v)) throw new InputError(`"${v}" is not 0x + 64 lowercase hex digits`)
  return v
}

/** JSON with sorted keys and no whitespace (integers and strings only: no float ambiguity). */
export function canonicalJson(value: Json): string {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new InputError('canonical JSON allows safe integers only')
    return String(value)
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']'
  const keys = Object.keys(value).sort()
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k]!)).join(',') + '}'
}

export function encodeEvidence(e: Evidence): Uint8Array {
  return new TextEncoder().encode(canonicalJson(toJson(e)))
}

export function evidenceDigest(e: Evidence): Uint8Array {
  return keccak_256(encodeEvidence(e))
}

/** evidenceDigest as 0x-hex (the form DeviceCommitment and the contracts use). */
export function evidenceDigestHex(e: Evidence): string {
  return bytesToHex(evidenceDigest(e))
}

// ------------------------------------------------------------------------------------------------
// decoding (strict)

const MAX_EVIDENCE_BYTES = 1 << 20

class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly path: string,
    allowed: string[],
  ) {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(`${path}.${k} is not a v1 field`)
  }
  str(k: string, optional?: false): string
  str(k: string, optional: true): string | undefined
  str(k: string, optional = false): string | undefined {
    const v = this.o[k]
    if (v === undefined && optional) return undefined
    if (typeof v !== 'string') throw bad(`${this.path}.${k} must be a string`)
    return v
  }
  bytes(k: string, optional?: false): Uint8Array
  bytes(k: string, optional: true): Uint8Array | undefined
  bytes(k: string, optional = false): Uint8Array | undefined {
    const v = this.str(k, optional as true)
    return v === undefined ? undefined : b64decode(v, `${this.path}.${k}`)
  }
  int(k: string): number {
    const v = this.o[k]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${this.path}.${k} must be a non-negative integer`)
    return v
  }
  obj(k: string, optional?: false): Record<string, unknown>
  obj(k: string, optional: true): Record<string, unknown> | undefined
  obj(k: string, optional = false): Record<string, unknown> | undefined {
    const v = this.o[k]
    if (v === undefined && optional) return undefined
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`${this.path}.${k} must be an object`)
    return v as Record<string, unknown>
  }
  arr(k: string, optional?: false): unknown[]
  arr(k: string, optional: true): unknown[] | undefined
  arr(k: string, optional = false): unknown[] | undefined {
    const v = this.o[k]
    if (v === undefined && optional) return undefined
    if (!Array.isArray(v)) throw bad(`${this.path}.${k} must be an array`)
    return v
  }
}

function bad(message: string): InputError {
  return new InputError(`invalid evidence: ${message}`, {hint: 'the file is not unet evidence v1 (see docs/evidence.md)'})
}

function b64decode(s: string, path: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw bad(`${path} is not unpadded base64url`)
  const out = Uint8Array.from(Buffer.from(s, 'base64url'))
  if (b64(out) !== s) throw bad(`${path} is not canonical base64url`)
  return out
}

export function decodeEvidence(bytes: Uint8Array): Evidence {
  const {text, top} = parseTopLevel(bytes)
  if (top.v !== EVIDENCE_VERSION) throw bad(`version ${JSON.stringify(top.v) ?? 'missing'} is not supported (v must be 1)`)
  const kind = top.kind
  if (typeof kind !== 'string' || !(EVIDENCE_KINDS as readonly string[]).includes(kind)) throw bad(`kind must be one of ${EVIDENCE_KINDS.join(', ')}`)
  // host evidence carries a TPM quote, accelerator evidence a vendor report: never both
  const host = kind === 'tpm2' || kind === 'emulator'
  const f = new Fields(top, 'evidence', ['v', 'kind', 'device', 'nonce', 'producedAt', host ? 'quote' : 'report'])
  // the parts are read in this order, so that the first fault named is the same on every input
  const device = decodeDevice(f.obj('device'))
  const nonce = decodeNonce(f.obj('nonce'))
  const producedAt = f.int('producedAt')
  const evidence: Evidence = host
    ? {v: 1, kind: kind as HostKind, device, nonce, producedAt, quote: decodeQuote(f.obj('quote'))}
    : {v: 1, kind: kind as AcceleratorKind, device, nonce, producedAt, report: decodeReport(f.obj('report'))}
  // only the canonical form is accepted, so that the digest is a function of the content
  if (canonicalJson(toJson(evidence)) !== text) throw bad('not in canonical form (sorted keys, no whitespace, see docs/evidence.md)')
  return evidence
}

/** The size limit, then UTF-8 JSON whose top level is an object; the text is kept for the canonical-form check. */
function parseTopLevel(bytes: Uint8Array): {text: string; top: Record<string, unknown>} {
  if (bytes.length > MAX_EVIDENCE_BYTES) throw bad(`${bytes.length} bytes is larger than the 1 MiB limit`)
  let text: string
  let raw: unknown
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes)
    raw = JSON.parse(text)
  } catch {
    throw bad('not UTF-8 JSON')
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('top level must be an object')
  return {text, top: raw as Record<string, unknown>}
}

/** An array item that must be a base64url string, named by its path. */
function b64Item(v: unknown, path: string): Uint8Array {
  if (typeof v !== 'string') throw bad(`${path} must be a string`)
  return b64decode(v, path)
}

function decodeDevice(o: Record<string, unknown>): DeviceIdentity {
  const d = new Fields(o, 'device', ['publicKey', 'certChain', 'akPublic', 'ekPublic'])
  const device: DeviceIdentity = {
    publicKey: d.bytes('publicKey'),
    certChain: d.arr('certChain').map((c, i) => b64Item(c, `device.certChain[${i}]`)),
  }
  const ak = d.bytes('akPublic', true)
  if (ak) device.akPublic = ak
  const ek = d.bytes('ekPublic', true)
  if (ek) device.ekPublic = ek
  if (device.publicKey.length === 0) throw bad('device.publicKey is empty')
  return device
}

function decodeNonce(o: Record<string, unknown>): NonceInputs {
  const n = new Fields(o, 'nonce', ['qualifyingData', 'challenge', 'devices'])
  const nonce: NonceInputs = {qualifyingData: n.bytes('qualifyingData')}
  const challenge = n.bytes('challenge', true)
  if (challenge) nonce.challenge = challenge
  const devices = n.arr('devices', true)
  if (devices) nonce.devices = devices.map(decodeCommitment)
  return nonce
}

/** One device commitment folded into a host nonce: chain values, so 0x-hex, not base64url. */
function decodeCommitment(x: unknown, i: number): DeviceCommitment {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw bad(`nonce.devices[${i}] must be an object`)
  const df = new Fields(x as Record<string, unknown>, `nonce.devices[${i}]`, ['deviceId', 'evidenceDigest'])
  const c = {deviceId: df.str('deviceId'), evidenceDigest: df.str('evidenceDigest')}
  for (const v of Object.values(c)) if (!/^0x[0-9a-f]{64}$/.test(v)) throw bad(`nonce.devices[${i}] values must be 0x + 64 lowercase hex digits`)
  return c
}

function decodeQuote(o: Record<string, unknown>): HostQuote {
  const q = new Fields(o, 'quote', ['attest', 'signature', 'pcrs'])
  const values = decodePcrValues(q.obj('pcrs'))
  return {attest: q.bytes('attest'), signature: q.bytes('signature'), pcrs: {hash: 'sha256', values}}
}

/** The quoted sha256 PCRs: indices 0..23 strictly ascending, each with its 32-byte value. */
function decodePcrValues(o: Record<string, unknown>): Map<number, Uint8Array> {
  const p = new Fields(o, 'quote.pcrs', ['hash', 'indices', 'values'])
  if (p.str('hash') !== 'sha256') throw bad('quote.pcrs.hash must be "sha256"')
  const indices = p.arr('indices')
  const values = p.arr('values')
  if (indices.length !== values.length) throw bad('quote.pcrs.indices and values differ in length')
  const map = new Map<number, Uint8Array>()
  indices.forEach((i, k) => {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i > 23) throw bad(`quote.pcrs.indices[${k}] must be an integer 0..23`)
    if (map.has(i) || (k > 0 && i <= (indices[k - 1] as number))) throw bad('quote.pcrs.indices must be strictly ascending')
    const value = b64Item(values[k], `quote.pcrs.values[${k}]`)
    if (value.length !== 32) throw bad(`quote.pcrs.values[${k}] must be 32 bytes (sha256)`)
    map.set(i, value)
  })
  return map
}

function decodeReport(o: Record<string, unknown>): AcceleratorReport {
  const r = new Fields(o, 'report', ['format', 'body', 'signature', 'fields'])
  const report: AcceleratorReport = {format: r.str('format'), body: r.bytes('body')}
  const sig = r.bytes('signature', true)
  if (sig) report.signature = sig
  const fields = r.obj('fields', true)
  if (fields) {
    report.fields = {}
    for (const [k, v] of Object.entries(fields)) {
      // names every object already has a meaning for are refused (no prototype pollution through a report)
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw bad(`report.fields.${k} is a reserved name`)
      if (typeof v !== 'string') throw bad(`report.fields.${k} must be a string`)
      report.fields[k] = v
    }
  }
  return report
}
