import {InputError} from '../../errors/index.js'

/**
 * Strict parser for the SPDM 1.1 GET_MEASUREMENTS exchange that an NVIDIA GPU returns as its
 * confidential-computing attestation report: the 37-byte request followed by the signed response.
 * Layout (DMTF DSP0274 1.1, little-endian lengths):
 *   request : version(1)=0x11 code(1)=0xE0 param1(1, bit0 = signature requested) param2(1, operation)
 *             nonce(32) slotIdParam(1)
 *   response: version(1) code(1)=0x60 param1(1) param2(1, slot id) numberOfBlocks(1) recordLength(3)
 *             record(recordLength) nonce(32) opaqueLength(2) opaque(opaqueLength) signature(rest)
 * Every length is checked against the buffer; trailing or missing bytes are errors.
 */

const SPDM_VERSION_11 = 0x11
const GET_MEASUREMENTS = 0xe0
const MEASUREMENTS = 0x60
export const REQUEST_LENGTH = 37
const NONCE_LENGTH = 32
/** ECDSA P-384 signature, r‖s. */
const P384_SIGNATURE_LENGTH = 96
/** DSP0274: OpaqueLength shall not exceed 1024. */
const MAX_OPAQUE_LENGTH = 1024

export interface SpdmRequest {
  version: number
  param1: number
  /** Measurement operation: 0xFF = all blocks, 0 = count only, else one index. */
  operation: number
  nonce: Uint8Array
  slotId: number
}

export interface MeasurementBlock {
  index: number
  specification: number
  valueType: number
  value: Uint8Array
}

export interface SpdmResponse {
  version: number
  param1: number
  slotId: number
  numberOfBlocks: number
  blocks: MeasurementBlock[]
  nonce: Uint8Array
  opaque: Uint8Array
  signature: Uint8Array
}

export interface SpdmExchange {
  request: SpdmRequest
  response: SpdmResponse
  /** request ‖ response without the signature: the bytes the GPU signed. */
  signedBytes: Uint8Array
  raw: Uint8Array
}

export class SpdmParseError extends InputError {
  constructor(message: string, offset: number) {
    super(`malformed SPDM report: ${message}`, {
      hint: 'pass the report exactly as nvmlDeviceGetConfComputeGpuAttestationReport returned it (hex or binary)',
      details: {offset},
    })
  }
}

class Reader {
  offset = 0
  constructor(readonly buf: Uint8Array) {}
  need(n: number, what: string): void {
    if (this.offset + n > this.buf.length)
      throw new SpdmParseError(`truncated at ${what}: need ${n} byte(s) at offset ${this.offset}, have ${this.buf.length - this.offset}`, this.offset)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.offset++]!
  }
  u16(what: string): number {
    this.need(2, what)
    const v = this.buf[this.offset]! | (this.buf[this.offset + 1]! << 8)
    this.offset += 2
    return v
  }
  u24(what: string): number {
    this.need(3, what)
    const v = this.buf[this.offset]! | (this.buf[this.offset + 1]! << 8) | (this.buf[this.offset + 2]! << 16)
    this.offset += 3
    return v
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what)
    const v = this.buf.slice(this.offset, this.offset + n)
    this.offset += n
    return v
  }
}

function parseSpdmRequest(buf: Uint8Array): SpdmRequest {
  if (buf.length !== REQUEST_LENGTH) throw new SpdmParseError(`GET_MEASUREMENTS request must be ${REQUEST_LENGTH} bytes, got ${buf.length}`, 0)
  const r = new Reader(buf)
  const version = r.u8('request version')
  if (version !== SPDM_VERSION_11) throw new SpdmParseError(`request version 0x${hex2(version)} is not SPDM 1.1 (0x11)`, 0)
  const code = r.u8('request code')
  if (code !== GET_MEASUREMENTS) throw new SpdmParseError(`request code 0x${hex2(code)} is not GET_MEASUREMENTS (0xe0)`, 1)
  const param1 = r.u8('request param1')
  if ((param1 & 0x01) === 0) throw new SpdmParseError('request did not ask for a signature (param1 bit 0 clear)', 2)
  if ((param1 & 0xfe) !== 0) throw new SpdmParseError(`request param1 has reserved bits set (0x${hex2(param1)})`, 2)
  const operation = r.u8('request param2')
  const nonce = r.bytes(NONCE_LENGTH, 'request nonce')
  const slot = r.u8('request slot id')
  if ((slot & 0xf0) !== 0) throw new SpdmParseError(`request slot id param has reserved bits set (0x${hex2(slot)})`, 36)
  return {version, param1, operation, nonce, slotId: slot & 0x0f}
}

function parseBlocks(record: Uint8Array, count: number, base: number): MeasurementBlock[] {
  const r = new Reader(record)
  const blocks: MeasurementBlock[] = []
  const seen = new Set<number>()
  for (let i = 0; i < count; i++) {
    const at = base + r.offset
    const index = r.u8('measurement block index')
    if (index === 0 || index === 0xff) throw new SpdmParseError(`measurement block ${i} has reserved index ${index}`, at)
    if (seen.has(index)) throw new SpdmParseError(`measurement index ${index} appears twice`, at)
    seen.add(index)
    const specification = r.u8('measurement specification')
    if (specification !== 0x01) throw new SpdmParseError(`measurement block ${index} is not in DMTF format (specification 0x${hex2(specification)})`, at + 1)
    const size = r.u16('measurement size')
    if (size < 3) throw new SpdmParseError(`measurement block ${index} is too short (${size} bytes)`, at + 2)
    const valueType = r.u8('DMTF value type')
    const valueSize = r.u16('DMTF value size')
    if (valueSize + 3 !== size) throw new SpdmParseError(`measurement block ${index}: value size ${valueSize} does not match block size ${size}`, at + 5)
    blocks.push({index, specification, valueType, value: r.bytes(valueSize, `measurement ${index} value`)})
  }
  if (r.offset !== record.length)
    throw new SpdmParseError(`measurement record has ${record.length - r.offset} trailing byte(s) after ${count} block(s)`, base + r.offset)
  return blocks
}

function parseSpdmResponse(buf: Uint8Array, signatureLength = P384_SIGNATURE_LENGTH, base = 0): SpdmResponse {
  const r = new Reader(buf)
  const version = r.u8('response version')
  if (version !== SPDM_VERSION_11) throw new SpdmParseError(`response version 0x${hex2(version)} is not SPDM 1.1 (0x11)`, base)
  const code = r.u8('response code')
  if (code !== MEASUREMENTS) throw new SpdmParseError(`response code 0x${hex2(code)} is not MEASUREMENTS (0x60)`, base + 1)
  const param1 = r.u8('response param1')
  const param2 = r.u8('response param2')
  const numberOfBlocks = r.u8('number of blocks')
  const recordLength = r.u24('measurement record length')
  const recordAt = base + r.offset
  const record = r.bytes(recordLength, 'measurement record')
  const blocks = parseBlocks(record, numberOfBlocks, recordAt)
  const nonce = r.bytes(NONCE_LENGTH, 'response nonce')
  const opaqueLength = r.u16('opaque length')
  if (opaqueLength > MAX_OPAQUE_LENGTH)
    throw new SpdmParseError(`opaque length ${opaqueLength} exceeds the SPDM limit of ${MAX_OPAQUE_LENGTH}`, base + r.offset - 2)
  const opaque = r.bytes(opaqueLength, 'opaque data')
  const rest = buf.length - r.offset
  if (rest !== signatureLength)
    throw new SpdmParseError(
      rest < signatureLength ? `truncated signature: ${rest} of ${signatureLength} bytes` : `${rest - signatureLength} trailing byte(s) after the signature`,
      base + r.offset,
    )
  const signature = r.bytes(signatureLength, 'signature')
  return {version, param1, slotId: param2 & 0x0f, numberOfBlocks, blocks, nonce, opaque, signature}
}

/** Parses request ‖ response as one NVML attestation report. */
export function parseSpdmExchange(raw: Uint8Array, signatureLength = P384_SIGNATURE_LENGTH): SpdmExchange {
  if (raw.length < REQUEST_LENGTH) throw new SpdmParseError(`report is ${raw.length} bytes, shorter than the ${REQUEST_LENGTH}-byte request`, 0)
  const request = parseSpdmRequest(raw.subarray(0, REQUEST_LENGTH))
  const response = parseSpdmResponse(raw.subarray(REQUEST_LENGTH), signatureLength, REQUEST_LENGTH)
  if (response.version !== request.version) throw new SpdmParseError('response version differs from the request version', REQUEST_LENGTH)
  if (response.slotId !== request.slotId)
    throw new SpdmParseError(`response slot ${response.slotId} differs from requested slot ${request.slotId}`, REQUEST_LENGTH + 3)
  return {request, response, signedBytes: raw.slice(0, raw.length - signatureLength), raw: raw.slice()}
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}
