import {children, decodeOid, DerError, readTlv, type Tlv} from '../../util/der.js'

/** NVIDIA DICE extensions, on top of the shared DER reader (src/util/der.ts). */
const GPU_HINT = 'pass the PEM certificate chain exactly as the GPU returned it'

export interface Fwid {
  hashAlg: string
  digest: Uint8Array
}

/**
 * FWIDs in a TCG DICE FWID-bearing extension (which OID per architecture: architecture.ts). Two shapes occur:
 *  - TCG DICE TcbInfo under 2.23.133.5.4.1.1: SEQUENCE { ..., fwids [6] IMPLICIT SEQUENCE OF FWID, ... } (Blackwell);
 *  - 2.23.133.5.4.1: SEQUENCE { INTEGER version, SubjectPublicKeyInfo, FWID } (Hopper, LS10; NVIDIA's verifier reads the
 *    last 48 bytes, which is this FWID's digest).
 * FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }.
 */
export function diceFwids(extValue: Uint8Array): Fwid[] {
  const outer = readTlv(extValue, 0)
  if (outer.tag !== 0x30 || outer.end !== extValue.length) throw new DerError('DICE extension is not one SEQUENCE', GPU_HINT)
  const asFwid = (f: Tlv): Fwid | undefined => {
    if (f.tag !== 0x30) return undefined
    const parts = children(f)
    const [alg, digest] = parts
    if (parts.length !== 2 || alg!.tag !== 0x06 || digest!.tag !== 0x04) return undefined
    return {hashAlg: decodeOid(alg!.content), digest: digest!.content.slice()}
  }
  const items = children(outer)
  const list = items.find((c) => c.tag === 0xa6)
  const candidates = list ? children(list) : items
  const fwids = candidates.map(asFwid).filter((f): f is Fwid => f !== undefined)
  if (list && fwids.length !== candidates.length) throw new DerError('TcbInfo fwids holds an element that is not an FWID', GPU_HINT)
  return fwids
}
