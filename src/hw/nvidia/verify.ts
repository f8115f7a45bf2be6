import {X509Certificate, verify as cryptoVerify} from 'node:crypto'

import {EvidenceInvalidError, InputError} from '../../errors/index.js'
import {bytesToHex, equalBytes} from '../../util/hex.js'
import {certificateExtensions} from '../../util/der.js'
import {checkCertPath} from './cert-path.js'
import {chainArchitecture, type NvidiaArchitectureName} from './architecture.js'
import {chipIdentity, type ChipIdentity} from './chip-identity.js'
import {diceFwids} from './der.js'
import {parseOpaqueData, type DecodedOpaque} from './opaque.js'
import {NVIDIA_DEVICE_IDENTITY_CA_PEM, NVIDIA_DEVICE_IDENTITY_CA_SHA256} from './roots.js'
import {parseSpdmExchange, REQUEST_LENGTH, type SpdmExchange} from './spdm.js'
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

export function verifyNvidiaReport(report: Uint8Array, certChain: string | Uint8Array | X509Certificate[], options: NvidiaVerifyOptions): NvidiaVerifyResult {
  if (options.expectedNonce.length !== 32) throw new InputError(`expected nonce must be 32 bytes, got ${options.expectedNonce.length}`)
  const exchange: SpdmExchange = parseSpdmExchange(report)
  const opaque = parseOpaqueData(exchange.response.opaque, REQUEST_LENGTH)
  const certs = Array.isArray(certChain) ? certChain : parseCertChain(certChain)
  const now = options.now ?? new Date()
  const reasons: string[] = []
  const checks = {parsed: true, chain: true, root: true, signature: true, nonce: true, architecture: true, fwid: true}

  // 2 + 3: chain to the pinned root
  const pinned = new X509Certificate(NVIDIA_DEVICE_IDENTITY_CA_PEM)
  const accepted = new Set([NVIDIA_DEVICE_IDENTITY_CA_SHA256, ...(options.extraRootFingerprints ?? []).map((f) => f.toUpperCase())])
  const chain = [...certs]
  if (chain.length === CHAIN_LENGTH - 1 && chain[chain.length - 1]!.checkIssued(pinned)) chain.push(pinned)
  if (chain.length !== CHAIN_LENGTH) {
    checks.chain = false
    reasons.push(`certificate chain has ${chain.length} certificates, expected ${CHAIN_LENGTH} (leaf to NVIDIA Device Identity CA)`)
  }
  for (const issue of checkCertPath(chain, now)) {
    checks.chain = false
    reasons.push(issue.message)
  }
  const root = chain[chain.length - 1]!
  if (!accepted.has(root.fingerprint256.toUpperCase())) {
    checks.root = false
    reasons.push(`chain ends at ${root.subject.replace(/\n/g, ', ')} (${root.fingerprint256}), not the pinned NVIDIA Device Identity CA`)
  }

  // 4: the report signature with the leaf key
  const leaf = chain[0]!
  const details = leaf.publicKey.asymmetricKeyDetails
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') {
    checks.signature = false
    reasons.push('leaf certificate key is not ECDSA P-384')
  } else if (!cryptoVerify('sha384', exchange.signedBytes, {key: leaf.publicKey, dsaEncoding: 'ieee-p1363'}, exchange.response.signature)) {
    checks.signature = false
    reasons.push('report signature does not verify with the leaf certificate key')
  }

  // 5: freshness
  if (!equalBytes(exchange.request.nonce, options.expectedNonce)) {
    checks.nonce = false
    reasons.push(`report nonce ${bytesToHex(exchange.request.nonce, false)} differs from the expected ${bytesToHex(options.expectedNonce, false)}`)
  }

  // 6: the architecture, which says where the leaf carries its FWID
  const arch = chainArchitecture(chain)
  if (!arch.architecture) {
    checks.architecture = false
    reasons.push(arch.reason)
  }

  // 7: FWID binding between the measured firmware and the leaf certificate
  let leafFwid: string | undefined
  const dice = arch.architecture && certificateExtensions(new Uint8Array(leaf.raw)).find((e) => e.oid === arch.architecture.fwidOid)
  if (dice) {
    const fwids = diceFwids(dice.value)
    if (fwids[0]) leafFwid = bytesToHex(fwids[0].digest, false)
  }
  if (!arch.architecture) {
    checks.fwid = false
  } else if (!opaque.fwid) {
    if (!options.allowMissingFwid) {
      checks.fwid = false
      reasons.push('report opaque data has no FWID field (older firmware; allow it explicitly to skip this check)')
    }
  } else if (!leafFwid) {
    checks.fwid = false
    reasons.push(`leaf certificate has no TCG DICE FWID extension (${arch.architecture.fwidOid}, where ${arch.architecture.name} carries it)`)
  } else if (leafFwid !== opaque.fwid) {
    checks.fwid = false
    reasons.push(`report FWID ${opaque.fwid} differs from the leaf certificate FWID ${leafFwid}`)
  }

  const {fields, ...decoded} = opaque
  return {
    valid: reasons.length === 0,
    reasons,
    checks,
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
