import {InputError} from '../errors/index.js'

/**
 * A minimal, strict DER reader: enough to walk an X.509 certificate to its extensions and decode the
 * few extensions the verifiers check (NVIDIA DICE FWIDs, TPM EK certificate profile). Malformed input
 * always throws DerError (an InputError, exit 19), never anything else.
 */
export interface Tlv {
  tag: number
  /** Offset of the tag byte within the parsed buffer. */
  start: number
  /** Offset of the first content byte. */
  contentStart: number
  end: number
  content: Uint8Array
}

export class DerError extends InputError {
  constructor(message: string, hint = 'pass the certificate chain exactly as the device returned it') {
    super(`malformed certificate: ${message}`, {hint})
  }
}

export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated DER header at ${offset}`)
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported')
  let len = buf[offset + 1]!
  let o = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) throw new DerError(`unsupported DER length form at ${offset}`)
    if (o + n > limit) throw new DerError(`truncated DER length at ${offset}`)
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[o + i]!
    o += n
  }
  if (o + len > limit) throw new DerError(`DER element at ${offset} runs past its container`)
  return {tag, start: offset, contentStart: o, end: o + len, content: buf.subarray(o, o + len)}
}

/** The children of a constructed element. */
export function children(tlv: Tlv): Tlv[] {
  const out: Tlv[] = []
  let o = 0
  while (o < tlv.content.length) {
    const c = readTlv(tlv.content, o)
    out.push(c)
    o = c.end
  }
  return out
}

/** The one DER element that `bytes` must be, exactly (no trailing bytes). */
export function readOne(bytes: Uint8Array, tag: number, what: string): Tlv {
  const tlv = readTlv(bytes, 0)
  if (tlv.tag !== tag || tlv.end !== bytes.length) throw new DerError(`${what} is not one DER element of tag 0x${tag.toString(16)}`)
  return tlv
}

export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError('empty OID')
  const parts: number[] = []
  let v = 0
  for (const b of content) {
    v = v * 128 + (b & 0x7f)
    if ((b & 0x80) === 0) {
      parts.push(v)
      v = 0
    }
  }
  const first = parts.shift()!
  const a = first < 80 ? Math.floor(first / 40) : 2
  return [a, first - a * 40, ...parts].join('.')
}

export interface Extension {
  oid: string
  critical: boolean
  value: Uint8Array
}

/** Extensions of a DER X.509 certificate (RFC 5280: tbsCertificate [3] EXPLICIT Extensions). */
export function certificateExtensions(der: Uint8Array): Extension[] {
  const cert = readOne(der, 0x30, 'certificate')
  const [tbs] = children(cert)
  if (!tbs || tbs.tag !== 0x30) throw new DerError('missing tbsCertificate')
  const ext = children(tbs).find((c) => c.tag === 0xa3)
  if (!ext) return []
  const [seq] = children(ext)
  if (!seq || seq.tag !== 0x30) throw new DerError('extensions are not a SEQUENCE')
  return children(seq).map((e) => {
    const parts = children(e)
    const oid = parts[0]
    if (!oid || oid.tag !== 0x06) throw new DerError('extension without OID')
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && parts[1]!.content[0] !== 0
    const value = parts[parts.length - 1]
    if (!value || value.tag !== 0x04) throw new DerError('extension value is not an OCTET STRING')
    return {oid: decodeOid(oid.content), critical, value: value.content.slice()}
  })
}
