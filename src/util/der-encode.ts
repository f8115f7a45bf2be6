/**
 * A minimal DER writer: the few universal types an OCSP request and the test certificates need.
 * The reader is src/util/der.ts; this is its inverse for building, never for parsing.
 */
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
  return Uint8Array.from(Buffer.concat([Buffer.from([tag, ...len]), body]))
}

export const der = {
  seq: (...p: Uint8Array[]) => tlv(0x30, ...p),
  set: (...p: Uint8Array[]) => tlv(0x31, ...p),
  explicit: (n: number, ...p: Uint8Array[]) => tlv(0xa0 + n, ...p),
  bool: (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0)),
  int: (v: number | Uint8Array) => {
    let b =
      typeof v === 'number'
        ? Buffer.from(
            v
              .toString(16)
              .padStart(2, '0')
              .replace(/^(.(..)*)$/, '0$1'),
            'hex',
          )
        : Buffer.from(v)
    // DER integers are minimal: a random serial starting 00 0x (x < 8) is refused by OpenSSL
    while (b.length > 1 && b[0] === 0 && !(b[1]! & 0x80)) b = b.subarray(1)
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b])
    return tlv(0x02, b)
  },
  oid: (s: string) => {
    const [a, b, ...rest] = s.split('.').map(Number)
    const out = [a! * 40 + b!]
    for (const v of rest) {
      const bytes = [v & 0x7f]
      for (let x = v >>> 7; x > 0; x >>>= 7) bytes.unshift((x & 0x7f) | 0x80)
      out.push(...bytes)
    }
    return tlv(0x06, Uint8Array.from(out))
  },
  octet: (b: Uint8Array) => tlv(0x04, b),
  bits: (b: Uint8Array, unused = 0) => tlv(0x03, Uint8Array.of(unused), b),
  utf8: (s: string) => tlv(0x0c, Buffer.from(s, 'utf8')),
  null: () => Uint8Array.of(0x05, 0),
  time: (d: Date) => {
    const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'
    return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso))
  },
}
