import type {X509Certificate} from 'node:crypto'

import {keccak_256} from '@noble/hashes/sha3.js'

import {bytesToHex} from '../../util/hex.js'

/**
 * The identity of one physical NVIDIA chip. The leaf attestation key is derived by DICE from the
 * firmware, so a firmware update gives the same chip a new leaf key (and so a new deviceId). The
 * certificate below the leaf, the device identity certificate ("GH100 A01 GSP BROM"), is issued once at
 * manufacture by NVIDIA's provisioner CA for a key the boot ROM derives from the chip's fuses: it is the
 * same for every firmware. Poci binds this id to at most one active device (docs/protocol.md §Approve),
 * as it binds a TPM's EK to one host.
 */
export interface ChipIdentity {
  /** keccak256 of the device identity certificate's SubjectPublicKeyInfo (DER), 0x-hex: Poci's chip id. */
  chipId: string
  /** Its serial number (NVIDIA prints the same value as the subject serialNumber). */
  serialNumber: string
  subject: string
}

/** The chip identity of a chain (leaf first); the chain must have been verified to the NVIDIA root. */
export function chipIdentity(chain: readonly X509Certificate[]): ChipIdentity | undefined {
  const identity = chain[1]
  if (!identity) return undefined
  const spki = new Uint8Array(identity.publicKey.export({type: 'spki', format: 'der'}))
  return {chipId: bytesToHex(keccak_256(spki)), serialNumber: identity.serialNumber, subject: identity.subject.replace(/\n/g, ', ')}
}
