import {verify as cryptoVerify, type X509Certificate} from 'node:crypto'

import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {bytesToHex, equalBytes} from '../../util/hex.js'
import {certificateExtensions} from '../../util/der.js'
import {checkCertPath} from './cert-path.js'
import {chainArchitecture, type NvidiaArchitecture, type NvidiaArchitectureName} from './architecture.js'
import {chipIdentity, type ChipIdentity} from './chip-identity.js'
import {diceFwids} from './der.js'
import {parseOpaqueData, type DecodedOpaque} from './opaque.js'
import {NVIDIA_DEVICE_IDENTITY_CA_SHA256, nvidiaDeviceIdentityCa} from './roots.js'
import {parseSpdmExchange, REQUEST_LENGTH, type MeasurementBlock, type SpdmExchange} from './spdm.js'
import {parseCertificate} from '../../util/x509.js'

/**
 * Pure, offline verifier of an NVIDIA confidential-computing attestation report (SPDM 1.1
 * GET_MEASUREMENTS request ‖ response) with its GPU attestation certificate chain. No I/O, no FFI.
 *
 * Checks, each reported separately:
 *  1. the report parses strictly (malformed input throws an InputError instead);
 *  2. the certificate chain has 5 certificates leaf→root (a 4-certificate chain is completed with the
 *     pinned root), each signed by the next, CA flags on issuers, all valid at `now`;
 *  3. the root is the pinned NVIDIA Device Identity CA (or one of `extraRootFingerprints`);
 *  4. ECDSA P-384/SHA-384 signature by the leaf key over request ‖ response-without-signature;
 *  5. the requested nonce equals the expected one;
 *  6. the chip architecture, read from the chain (architecture.ts): Hopper, Blackwell or the LS10 NVSwitch;
 *  7. the opaque data's FWID equals the FWID in the leaf's TCG DICE extension of that architecture.
 * Not claimed here: OCSP revocation (ocsp.ts) and golden measurements against NVIDIA's RIMs
 * (rim-check.ts), separate steps (docs/nvidia-attestation.md).
 */

const CHAIN_LENGTH = 5

export interface NvidiaVerifyOptions {
  /** The nonce the verifier asked for (32 bytes). */
  expectedNonce: Uint8Array
  /** Time for certificate validity; default now. */
  now?: Date
  /** Further accepted root fingerprints (SHA-256, colon hex as node prints them), e.g. from a network profile. */
  extraRootFingerprints?: string[]
  /**
   * Older GPU firmware puts no FWID in the opaque data (NVIDIA's own verifier then skips the
   * comparison). Strict by default: a report without FWID fails unless this is set.
   */
  allowMissingFwid?: boolean
}

export interface CertSummary {
  subject: string
  issuer: string
  serialNumber: string
  validTo: string
  fingerprint256: string
}

export interface NvidiaVerifyResult {
  valid: boolean
  reasons: string[]
  checks: {parsed: boolean; chain: boolean; root: boolean; signature: boolean; nonce: boolean; architecture: boolean; fwid: boolean}
  /** The chip architecture the chain names (undefined when it names none unet knows). */
  architecture?: NvidiaArchitectureName
  /** The physical chip (device identity certificate): stable across firmware updates, unlike the leaf key. */
  chip?: ChipIdentity
  nonce: string
  expectedNonce: string
  measurementCount: number
  opaque: Omit<DecodedOpaque, 'fields'> & {fieldTypes: number[]}
  leafFwid?: string
  chain: CertSummary[]
  /** Hex of the leaf public key (SPKI DER): the GPU's stable attestation identity. */
  leafPublicKey: string
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** Splits a PEM bundle into certificates; throws InputError when there is none or one is unreadable. */
export function parseCertChain(pem: string | Uint8Array): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1')
  const blocks = text.match(PEM_CERT) ?? []
  if (blocks.length === 0) throw new InputError('certificate chain has no PEM certificate', {hint: 'pass the chain as PEM, leaf first'})
  return blocks.map((b, i) => {
    try {
      return parseCertificate(b)
    } catch (error) {
      throw new InputError(`certificate ${i} of the chain is not a valid X.509 certificate`, {cause: error, hint: 'pass the chain as PEM, leaf first'})
    }
  })
}

function summary(c: X509Certificate): CertSummary {
  return {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    serialNumber: c.serialNumber,
    validTo: c.validTo,
    fingerprint256: c.fingerprint256,
  }
}

/** A report as verifyNvidiaReport parsed it (strictly): its measurement blocks and its signed opaque data, fields included. */
export interface ParsedNvidiaReport {
  blocks: MeasurementBlock[]
  opaque: DecodedOpaque
}

export function verifyNvidiaReport(report: Uint8Array, certChain: string | Uint8Array | X509Certificate[], options: NvidiaVerifyOptions): NvidiaVerifyResult {
  return verifyAndParseNvidiaReport(report, certChain, options).result
}

/** A report's offline verdict with the report as the check parsed it; `parsed` is kept out of `result`, which commands print as JSON. */
export interface VerifiedNvidiaReport {
  result: NvidiaVerifyResult
  parsed: ParsedNvidiaReport
}

/** verifyNvidiaReport, with the report as it parsed it: the steps after it read that instead of parsing the bytes again. */
export function verifyAndParseNvidiaReport(
  report: Uint8Array,
  certChain: string | Uint8Array | X509Certificate[],
  options: NvidiaVerifyOptions,
): VerifiedNvidiaReport {
  // 1: malformed input throws here, before any check
  if (options.expectedNonce.length !== 32) throw new InputError(`expected nonce must be 32 bytes, got ${options.expectedNonce.length}`)
  const exchange: SpdmExchange = parseSpdmExchange(report)
  const opaque = parseOpaqueData(exchange.response.opaque, REQUEST_LENGTH)
  const certs = Array.isArray(certChain) ? certChain : parseCertChain(certChain)
  const now = options.now ?? new Date()
  // Every check below runs whatever the ones before it found (none returns early), so the reasons
  // list every failure, in this order, and a failed check can never hide a later one.
  const outcome = new Outcome()
  const chain = withPinnedRoot(certs)
  checkChain(outcome, chain, now) // 2
  checkRoot(outcome, chain, options.extraRootFingerprints ?? []) // 3
  const leaf = chain[0]!
  checkSignature(outcome, leaf, exchange) // 4
  checkNonce(outcome, exchange.request.nonce, options.expectedNonce) // 5
  const arch = chainArchitecture(chain)
  if (!arch.architecture) outcome.fail('architecture', arch.reason) // 6
  const leafFwid = leafFwidOf(leaf, arch.architecture)
  checkFwid(outcome, arch.architecture, opaque.fwid, leafFwid, options.allowMissingFwid === true) // 7

  const {fields, ...decoded} = opaque
  const result: NvidiaVerifyResult = {
    valid: outcome.reasons.length === 0,
    reasons: outcome.reasons,
    checks: outcome.checks,
    architecture: arch.architecture?.name,
    chip: chipIdentity(chain),
    nonce: bytesToHex(exchange.request.nonce, false),
    expectedNonce: bytesToHex(options.expectedNonce, false),
    measurementCount: exchange.response.blocks.length,
    opaque: {...decoded, fieldTypes: fields.map((f) => f.type)},
    leafFwid,
    chain: chain.map(summary),
    leafPublicKey: bytesToHex(new Uint8Array(leaf.publicKey.export({type: 'spki', format: 'der'})), false),
  }
  return {result, parsed: {blocks: exchange.response.blocks, opaque}}
}

/** The checks' verdicts and the reasons, in the order the checks found them; a check may fail without a reason of its own. */
class Outcome {
  readonly reasons: string[] = []
  readonly checks: NvidiaVerifyResult['checks'] = {parsed: true, chain: true, root: true, signature: true, nonce: true, architecture: true, fwid: true}

  fail(check: keyof NvidiaVerifyResult['checks'], reason?: string): void {
    this.checks[check] = false
    if (reason !== undefined) this.reasons.push(reason)
  }
}

/** A 4-certificate chain whose last one the pinned root issued is completed with that root (GPUs often omit it). */
function withPinnedRoot(certs: X509Certificate[]): X509Certificate[] {
  const pinned = nvidiaDeviceIdentityCa()
  const chain = [...certs]
  if (chain.length === CHAIN_LENGTH - 1 && chain[chain.length - 1]!.checkIssued(pinned)) chain.push(pinned)
  return chain
}

/** 2: five certificates, leaf to root, each signed by the next, CA flags on issuers, all valid at `now`. */
function checkChain(outcome: Outcome, chain: X509Certificate[], now: Date): void {
  if (chain.length !== CHAIN_LENGTH)
    outcome.fail('chain', `certificate chain has ${chain.length} certificates, expected ${CHAIN_LENGTH} (leaf to NVIDIA Device Identity CA)`)
  for (const issue of checkCertPath(chain, now)) outcome.fail('chain', issue.message)
}

/** 3: the chain ends at the pinned NVIDIA Device Identity CA or at a root the profile adds. */
function checkRoot(outcome: Outcome, chain: X509Certificate[], extraRootFingerprints: string[]): void {
  const accepted = new Set([NVIDIA_DEVICE_IDENTITY_CA_SHA256, ...extraRootFingerprints.map((f) => f.toUpperCase())])
  const root = chain[chain.length - 1]!
  if (!accepted.has(root.fingerprint256.toUpperCase()))
    outcome.fail('root', `chain ends at ${summary(root).subject} (${root.fingerprint256}), not the pinned NVIDIA Device Identity CA`)
}

/** 4: the leaf's P-384 key signed request ‖ response-without-signature. */
function checkSignature(outcome: Outcome, leaf: X509Certificate, exchange: SpdmExchange): void {
  const details = leaf.publicKey.asymmetricKeyDetails
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') outcome.fail('signature', 'leaf certificate key is not ECDSA P-384')
  else if (!cryptoVerify('sha384', exchange.signedBytes, {key: leaf.publicKey, dsaEncoding: 'ieee-p1363'}, exchange.response.signature))
    outcome.fail('signature', 'report signature does not verify with the leaf certificate key')
}

/** 5: freshness: the report answers this verifier's nonce. */
function checkNonce(outcome: Outcome, nonce: Uint8Array, expected: Uint8Array): void {
  if (!equalBytes(nonce, expected)) outcome.fail('nonce', `report nonce ${bytesToHex(nonce, false)} differs from the expected ${bytesToHex(expected, false)}`)
}

/** The first FWID of the leaf's TCG DICE extension, at the OID where the architecture carries it. */
function leafFwidOf(leaf: X509Certificate, architecture: NvidiaArchitecture | undefined): string | undefined {
  const dice = architecture && certificateExtensions(new Uint8Array(leaf.raw)).find((e) => e.oid === architecture.fwidOid)
  if (!dice) return undefined
  const fwids = diceFwids(dice.value)
  return fwids[0] ? bytesToHex(fwids[0].digest, false) : undefined
}

/**
 * 7: the firmware the report measured is the firmware the leaf certificate was issued to. Without a
 * known architecture there is nowhere to read the leaf's FWID from: it fails (6 gave the reason).
 */
function checkFwid(
  outcome: Outcome,
  architecture: NvidiaArchitecture | undefined,
  reportFwid: string | undefined,
  leafFwid: string | undefined,
  allowMissing: boolean,
): void {
  if (!architecture) outcome.fail('fwid')
  else if (!reportFwid) {
    if (!allowMissing) outcome.fail('fwid', 'report opaque data has no FWID field (older firmware; allow it explicitly to skip this check)')
  } else if (!leafFwid) outcome.fail('fwid', `leaf certificate has no TCG DICE FWID extension (${architecture.fwidOid}, where ${architecture.name} carries it)`)
  else if (leafFwid !== reportFwid) outcome.fail('fwid', `report FWID ${reportFwid} differs from the leaf certificate FWID ${leafFwid}`)
}

/** Like verifyNvidiaReport, but throws EvidenceInvalidError (with every reason) unless valid. */
export function assertNvidiaReport(report: Uint8Array, certChain: string | Uint8Array | X509Certificate[], options: NvidiaVerifyOptions): NvidiaVerifyResult {
  const result = verifyNvidiaReport(report, certChain, options)
  if (!result.valid) throw new EvidenceInvalidError(`NVIDIA attestation report is invalid: ${result.reasons[0]}`, result.reasons)
  return result
}

/** Reads a report given as hex text (whitespace and 0x allowed) or as raw bytes. */
export function decodeReportFile(data: Uint8Array): Uint8Array {
  const text = Buffer.from(data).toString('latin1').trim()
  if (text.length > 0 && /^(0x)?[0-9a-fA-F\s]+$/.test(text)) {
    const hex = text.replace(/^0x/, '').replace(/\s+/g, '')
    if (hex.length % 2 !== 0) throw new InputError('report hex has an odd number of digits', {hint: 'the file is truncated or not a report'})
    return new Uint8Array(Buffer.from(hex, 'hex'))
  }
  return data
}
