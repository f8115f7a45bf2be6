import type {X509Certificate} from 'node:crypto'

import {InputError} from '../../errors/index.js'
import {certName, checkCertPath} from './cert-path.js'
import {NVIDIA_RIM_ROOT_SHA256, nvidiaRimRoot} from './rim-root.js'
import {parseXml, verifyEnvelopedSignature} from './rim-xmldsig.js'

/**
 * NVIDIA reference integrity manifests (RIMs): ISO/IEC 19770-2 SWID tags in the TCG RIM information
 * model, signed with XML-DSig. A driver RIM and a VBIOS RIM each list golden measurements: a
 * `Resource` per measurement index with one or more alternative SHA-384 values, `active="True"` for
 * the ones to compare. Pure and offline.
 *
 * Checks, each reported separately:
 *  1. signature: the enveloped XML signature verifies (rim-xmldsig.ts);
 *  2. chain: the embedded certificates form a path leaf → root, each signed by the next, CAs above;
 *  3. root: the path ends at the pinned NVIDIA CoRIM signing Root CA (or an extra pinned root);
 *  4. validity: every certificate of the path is valid at `now` (apart from 2, so "expired" is told);
 *  5. version: when an expected version is given, Meta/@colloquialVersion equals it (case-insensitive,
 *     as NVIDIA's verifier compares).
 * The golden measurements are read from the canonical XML the signature covers, never from the raw
 * document, so nothing unsigned can add or change one.
 */

const SWID = 'http://standards.iso.org/iso/19770/-2/2015/schema.xsd'
/** The attribute namespace NVIDIA gives the Hash0..HashN values: it names their algorithm. */
const SHA384_VALUE_NS = 'http://www.w3.org/2001/04/xmlenc#sha384'
const SHA384_SIZE = 48

export interface GoldenMeasurement {
  /** RIM index (0-based; the SPDM measurement block index is this + 1). */
  index: number
  name: string
  size: number
  active: boolean
  /** Lower-case hex of each accepted value. */
  alternatives: string[]
}

export interface RimInfo {
  tagId: string
  /** SoftwareIdentity/@name, the chip (e.g. GH100, LS10). */
  name: string
  colloquialVersion: string
  product?: string
  edition?: string
  measurements: GoldenMeasurement[]
}

export interface RimCertSummary {
  subject: string
  issuer: string
  serialNumber: string
  validFrom: string
  validTo: string
  fingerprint256: string
}

export interface RimVerifyResult {
  valid: boolean
  reasons: string[]
  checks: {signature: boolean; chain: boolean; root: boolean; validity: boolean; version: boolean}
  /** Parsed from the signed XML; absent when the signature does not hold (nothing unsigned is reported as the RIM's). */
  rim?: RimInfo
  chain: RimCertSummary[]
  /** The colloquialVersion as the document states it, signed or not: for messages only. */
  claimedVersion?: string
}

export interface RimVerifyOptions {
  now?: Date
  /** Further accepted root fingerprints (SHA-256, colon hex). */
  extraRootFingerprints?: string[]
  /** The version the RIM must be for (the report's driver or VBIOS version). */
  expectedVersion?: string
}

function child(parent: Element, name: string): Element | undefined {
  for (let n = parent.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).namespaceURI === SWID && (n as Element).localName === name) return n as Element
  return undefined
}

function elements(parent: Element, name: string): Element[] {
  const out: Element[] = []
  for (let n = parent.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).namespaceURI === SWID && (n as Element).localName === name) out.push(n as Element)
  return out
}

function attr(el: Element, name: string, where: string): string {
  const value = el.getAttribute(name)
  if (value === null || value === '') throw new InputError(`RIM ${where} has no ${name} attribute`)
  return value
}

function integer(value: string, what: string, min: number): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) < min) throw new InputError(`RIM ${what} "${value}" is not an integer ≥ ${min}`)
  return Number(value)
}

function parseResource(resource: Element): GoldenMeasurement {
  const where = `Resource ${resource.getAttribute('name') ?? '(unnamed)'}`
  const index = integer(attr(resource, 'index', where), `${where} index`, 0)
  const activeText = attr(resource, 'active', where)
  if (activeText !== 'True' && activeText !== 'False') throw new InputError(`RIM ${where} active="${activeText}" is neither True nor False`)
  const count = integer(attr(resource, 'alternatives', where), `${where} alternatives`, 1)
  const size = integer(attr(resource, 'size', where), `${where} size`, 1)
  if (size !== SHA384_SIZE) throw new InputError(`RIM ${where} size ${size} is not a SHA-384 digest (48 bytes)`)
  const alternatives: string[] = []
  for (let k = 0; k < count; k++) {
    const value = resource.getAttributeNS(SHA384_VALUE_NS, `Hash${k}`)
    if (!value || !/^[0-9a-fA-F]+$/.test(value) || value.length !== size * 2)
      throw new InputError(`RIM ${where} Hash${k} is missing or not ${size} bytes of hex (namespace ${SHA384_VALUE_NS})`)
    alternatives.push(value.toLowerCase())
  }
  return {index, name: resource.getAttribute('name') ?? `Measurement_${index}`, size, active: activeText === 'True', alternatives}
}

/** Reads a RIM's identity and golden measurements from (signed) SWID XML; malformed content throws InputError. */
export function parseRimXml(xml: string): RimInfo {
  const root = parseXml(xml, 'RIM').documentElement as Element
  if (root.namespaceURI !== SWID || root.localName !== 'SoftwareIdentity')
    throw new InputError(`RIM root element is ${root.localName}, not a SWID SoftwareIdentity`)
  const meta = child(root, 'Meta')
  if (!meta) throw new InputError('RIM has no Meta element')
  const payload = child(root, 'Payload')
  if (!payload) throw new InputError('RIM has no Payload element')
  const measurements = elements(payload, 'Resource')
    .filter((r) => r.getAttribute('type') === 'Measurement')
    .map(parseResource)
  if (measurements.length === 0) throw new InputError('RIM Payload has no Measurement resources')
  return {
    tagId: attr(root, 'tagId', 'SoftwareIdentity'),
    name: attr(root, 'name', 'SoftwareIdentity'),
    colloquialVersion: attr(meta, 'colloquialVersion', 'Meta'),
    product: meta.getAttribute('product') ?? undefined,
    edition: meta.getAttribute('edition') ?? undefined,
    measurements,
  }
}

function summary(c: X509Certificate): RimCertSummary {
  return {
    subject: certName(c),
    issuer: c.issuer.replace(/\n/g, ', '),
    serialNumber: c.serialNumber,
    validFrom: c.validFrom,
    validTo: c.validTo,
    fingerprint256: c.fingerprint256,
  }
}

/** The colloquialVersion as written, before any check: lets a message name the manifest. */
function claimedVersion(xml: string): string | undefined {
  return /colloquialVersion="([^"]*)"/.exec(xml)?.[1]
}

/** A RIM's signing path (signer first), completed with the pinned root when the document stops below it. */
function completedPath(embedded: X509Certificate[]): X509Certificate[] {
  const pinned = nvidiaRimRoot()
  const chain = [...embedded]
  const last = chain[chain.length - 1]!
  if (last.fingerprint256 !== pinned.fingerprint256 && !last.checkIssued(last) && last.checkIssued(pinned)) chain.push(pinned)
  return chain
}

/** A RIM's verdict with the signing path it checked (checks 2-4), which OCSP of the RIM chain asks about. */
export interface VerifiedRim {
  result: RimVerifyResult
  /** Signer first, completed with the pinned root when the document stops below it; kept out of `result`, which commands print as JSON. */
  signingPath: X509Certificate[]
}

export function verifyRim(data: string | Uint8Array, options: RimVerifyOptions = {}): RimVerifyResult {
  return verifyRimWithPath(data, options).result
}

/** verifyRim, with the signing path it verified: the document is parsed once for both. */
export function verifyRimWithPath(data: string | Uint8Array, options: RimVerifyOptions = {}): VerifiedRim {
  const xml = typeof data === 'string' ? data : Buffer.from(data).toString('utf8')
  const now = options.now ?? new Date()
  const reasons: string[] = []
  const checks = {signature: true, chain: true, root: true, validity: true, version: true}

  const sig = verifyEnvelopedSignature(xml, 'RIM')
  let rim: RimInfo | undefined
  if (sig.valid) rim = parseRimXml(sig.signedXml!)
  else {
    checks.signature = false
    reasons.push(`RIM signature invalid: ${sig.reason}`)
    parseRimXml(xml) // still malformed → InputError, so a broken file is told apart from a forged one
  }

  // 2-4: the embedded path, completed with the pinned root when the document stops below it
  const accepted = new Set([NVIDIA_RIM_ROOT_SHA256, ...(options.extraRootFingerprints ?? []).map((f) => f.toUpperCase())])
  const chain = completedPath(sig.certificates)
  for (const issue of checkCertPath(chain, now)) {
    if (issue.kind === 'validity') checks.validity = false
    else checks.chain = false
    reasons.push(`RIM certificate ${issue.message}`)
  }
  const root = chain[chain.length - 1]!
  if (!accepted.has(root.fingerprint256.toUpperCase())) {
    checks.root = false
    reasons.push(`RIM chain ends at ${certName(root)} (${root.fingerprint256}), not the pinned NVIDIA CoRIM signing Root CA`)
  }

  const result: RimVerifyResult = {
    valid: reasons.length === 0,
    reasons,
    checks,
    rim,
    chain: chain.map(summary),
    claimedVersion: rim?.colloquialVersion ?? claimedVersion(xml),
  }
  return {result: options.expectedVersion === undefined ? result : withVersionCheck(result, options.expectedVersion), signingPath: chain}
}

/** 5: the manifest is for the firmware the report names (case-insensitive, as NVIDIA compares). */
export function withVersionCheck(result: RimVerifyResult, expected: string): RimVerifyResult {
  if (result.claimedVersion?.toLowerCase() === expected.toLowerCase()) return result
  return {
    ...result,
    valid: false,
    checks: {...result.checks, version: false},
    reasons: [...result.reasons, `RIM version ${result.claimedVersion ?? '(none)'} differs from the report's ${expected}`],
  }
}
