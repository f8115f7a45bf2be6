/**
 * A test NVIDIA attestation PKI shaped like the real one (fixtures/nvidia/PROVENANCE.md): root → "NVIDIA
 * GH100 Identity" → provisioner CA → the chip's device identity certificate ("GH100 A01 GSP BROM") →
 * firmware leaves ("GH100 A01 GSP FMC LF", P-384, FWID under 2.23.133.5.4.1; a GB100 chip's in a TCG DiceTcbInfo
 * under 2.23.133.5.4.1.1, as Blackwell carries it). NVIDIA's real chips cannot
 * sign a fresh registration challenge for a test, and a firmware update cannot be recorded: with this PKI
 * one chip gets several firmware keys, as DICE gives it after each update. Trusted only where a test
 * passes `root.pem` as an extra NVIDIA root.
 */
import {createPublicKey, randomBytes} from 'node:crypto'

import {concatBytes} from '../../src/util/hex.js'
import {le, p384Key, spdmExchange, type P384Key} from './spdm-exchange.js'
import {ca, der, issue, type Issued} from './x509.js'

export interface TestNvidiaChip {
  root: Issued
  /** Leaf first, to the root: the PEM chain a driver returns, minus the leaf. */
  above: Issued[]
  /** The chip's device identity certificate (its key is fused: the same for every firmware). */
  identity: Issued
}

export interface TestFirmware {
  key: P384Key
  leaf: Issued
  fwid: Uint8Array
  /** Leaf first, 5 certificates. */
  chainPem: string
}

const SHA384_OID = '2.16.840.1.101.3.4.2.2'

/** One chip of architecture `chip` (its certificate names) under a fresh root, or under `root` to share one. */
export function testNvidiaChip(chip = 'GH100', root: Issued = ca('NVIDIA Device Identity CA (TEST)')): TestNvidiaChip {
  const family = ca(`NVIDIA ${chip} Identity (TEST)`, root)
  const provisioner = ca(`NVIDIA ${chip} Provisioner ICA (TEST)`, family)
  const identity = ca(`${chip} A01 GSP BROM`, provisioner)
  return {root, identity, above: [identity, provisioner, family, root]}
}

/** A firmware of `chip`: a new DICE leaf key, certified by the chip's identity key, with its FWID. */
export function testFirmware(chip: TestNvidiaChip, fwid: Uint8Array = Uint8Array.from(randomBytes(48))): TestFirmware {
  const key = p384Key()
  const publicKey = createPublicKey(key.privateKey)
  const spki = new Uint8Array(publicKey.export({type: 'spki', format: 'der'}))
  const fwidDer = der.seq(der.oid(SHA384_OID), der.octet(fwid))
  // Blackwell: TCG DiceTcbInfo { ..., fwids [6] IMPLICIT SEQUENCE OF FWID }; Hopper: SEQUENCE { version, SubjectPublicKeyInfo, FWID }
  const blackwell = chip.identity.subject.startsWith('GB100 ')
  const dice = blackwell ? der.seq(der.explicit(6, fwidDer)) : der.seq(der.int(1), spki, fwidDer)
  const cn = chip.identity.subject.replace(/ BROM$/, ' FMC LF')
  const leaf = issue({
    subject: cn,
    issuer: chip.identity,
    key: {publicKey, privateKey: key.privateKey},
    extra: [[blackwell ? '2.23.133.5.4.1.1' : '2.23.133.5.4.1', false, dice]],
  })
  return {key, leaf, fwid, chainPem: [leaf, ...chip.above].map((c) => c.pem).join('')}
}

/** Text opaque fields by type, as NVIDIA's firmware writes them (NUL-terminated): e.g. {15: '885'} for CHIP_SKU, {17: 'G520'} for PROJECT. */
export type OpaqueText = Record<number, string>

export interface TestReportOptions {
  /** Signed text opaque fields (driver version 3, CHIP_SKU 15, PROJECT 17, PROJECT_SKU 18, ...), NUL-terminated as the firmware writes them. */
  fields?: OpaqueText
  /** Signed binary opaque fields by type (VBIOS version 6, PROTECTED_PCIE_STATUS 21, FEATURE_FLAG 36, ...), after the FWID. */
  opaque?: Record<number, Uint8Array>
  /** SHA-384 values of measurement blocks 1, 2, ... (default: one random block). */
  measurements?: Uint8Array[]
}

/**
 * An SPDM GET_MEASUREMENTS exchange over `nonce`, signed by the firmware's leaf key, its opaque data
 * carrying the text `fields`, the FWID (field 20) and the binary `opaque` fields (all signed with the rest).
 */
export function testReport(fw: TestFirmware, nonce: Uint8Array, options: TestReportOptions = {}): Uint8Array {
  const field = (type: number | string, value: Uint8Array) => concatBytes(le(Number(type), 2), le(value.length, 2), value)
  const text = Object.entries(options.fields ?? {}).map(([type, v]) => field(type, Buffer.from(v + '\0', 'latin1')))
  const binary = Object.entries(options.opaque ?? {}).map(([type, v]) => field(type, v))
  return spdmExchange(fw.key, nonce, {blocks: options.measurements ?? 1, opaque: concatBytes(...text, field(20, fw.fwid), ...binary)})
}
