/**
 * Just enough protobuf to read go-tpm-tools' attest.Attestation test vectors (proto/attest.proto,
 * proto/tpm.proto): ak_pub = 1 (TPMT_PUBLIC), quotes = 2 (Quote: quote = 1 TPMS_ATTEST,
 * raw_sig = 2 TPMT_SIGNATURE, pcrs = 3 PCRs{hash = 1, map<uint32, bytes> pcrs = 2}), ak_cert = 6,
 * intermediate_certs = 7.
 */
type Field = {no: number; wire: number; value: bigint | Uint8Array}

function varint(b: Uint8Array, pos: {i: number}): bigint {
  let result = 0n
  let shift = 0n
  for (;;) {
    if (pos.i >= b.length) throw new Error('truncated varint')
    const byte = b[pos.i++]!
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return result
    shift += 7n
  }
}

export function fields(b: Uint8Array): Field[] {
  const out: Field[] = []
  const pos = {i: 0}
  while (pos.i < b.length) {
    const key = Number(varint(b, pos))
    const no = key >> 3
    const wire = key & 7
    if (wire === 0) out.push({no, wire, value: varint(b, pos)})
    else if (wire === 2) {
      const len = Number(varint(b, pos))
      out.push({no, wire, value: b.subarray(pos.i, pos.i + len)})
      pos.i += len
    } else if (wire === 5) pos.i += 4
    else if (wire === 1) pos.i += 8
    else throw new Error(`wire type ${wire}`)
  }
  return out
}

export interface GceQuote {
  attest: Uint8Array
  signature: Uint8Array
  hash: number
  pcrs: Map<number, Uint8Array>
}

export interface GceAttestation {
  akPub: Uint8Array
  quotes: GceQuote[]
  akCert?: Uint8Array
  intermediates: Uint8Array[]
}

export function parseAttestation(b: Uint8Array): GceAttestation {
  const top = fields(b)
  const bytesOf = (f: Field) => f.value as Uint8Array
  const quotes = top
    .filter((f) => f.no === 2)
    .map((q) => {
      const qf = fields(bytesOf(q))
      const pcrsMsg = fields(bytesOf(qf.find((f) => f.no === 3)!))
      const pcrs = new Map<number, Uint8Array>()
      for (const entry of pcrsMsg.filter((f) => f.no === 2)) {
        const ef = fields(bytesOf(entry))
        pcrs.set(Number(ef.find((f) => f.no === 1)?.value ?? 0n), bytesOf(ef.find((f) => f.no === 2)!))
      }
      return {
        attest: bytesOf(qf.find((f) => f.no === 1)!),
        signature: bytesOf(qf.find((f) => f.no === 2)!),
        hash: Number(pcrsMsg.find((f) => f.no === 1)?.value ?? 0n),
        pcrs,
      }
    })
  const akCert = top.find((f) => f.no === 6)
  return {
    akPub: bytesOf(top.find((f) => f.no === 1)!),
    quotes,
    ...(akCert ? {akCert: bytesOf(akCert)} : {}),
    intermediates: top.filter((f) => f.no === 7).map(bytesOf),
  }
}
