import {readFileSync} from 'node:fs'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {ExitCode, InputError} from '../../../src/errors/index.js'
import {diceFwids} from '../../../src/hw/nvidia/der.js'
import {certificateExtensions} from '../../../src/util/der.js'
import {parseOpaqueData} from '../../../src/hw/nvidia/opaque.js'
import {parseSpdmExchange, REQUEST_LENGTH, SpdmParseError} from '../../../src/hw/nvidia/spdm.js'
import {decodeReportFile, parseCertChain, verifyNvidiaReport} from '../../../src/hw/nvidia/verify.js'

const F = new URL('../../../fixtures/nvtrust/', import.meta.url)
const VALID = decodeReportFile(new Uint8Array(readFileSync(new URL('hopper-report.hex', F))))
const CHAIN = readFileSync(new URL('hopper-cert-chain.pem', F), 'latin1')
const NONCE = VALID.slice(4, 36)

interface Block {
  index: number
  valueType: number
  value: Uint8Array
}

/** A minimal SPDM 1.1 GET_MEASUREMENTS request ‖ response writer, to property-test the parser. */
function build(nonce: Uint8Array, blocks: Block[], opaque: Uint8Array, sigLen = 96, slot = 0): Uint8Array {
  const u16 = (n: number) => [n & 0xff, (n >> 8) & 0xff]
  const record = blocks.flatMap((b) => [b.index, 0x01, ...u16(b.value.length + 3), b.valueType, ...u16(b.value.length), ...b.value])
  const req = [0x11, 0xe0, 0x01, 0xff, ...nonce, slot]
  const resp = [
    0x11,
    0x60,
    0x00,
    slot,
    blocks.length,
    record.length & 0xff,
    (record.length >> 8) & 0xff,
    record.length >> 16,
    ...record,
    ...new Uint8Array(32).fill(7),
    ...u16(opaque.length),
    ...opaque,
    ...new Uint8Array(sigLen).fill(9),
  ]
  return Uint8Array.from([...req, ...resp])
}

const blockArb = fc.record({index: fc.integer({min: 1, max: 254}), valueType: fc.integer({min: 0, max: 255}), value: fc.uint8Array({maxLength: 80})})
const blocksArb = fc.uniqueArray(blockArb, {selector: (b) => b.index, maxLength: 12})

describe('strict SPDM 1.1 GET_MEASUREMENTS parser', () => {
  it('parses the NVIDIA sample: 37-byte request, 64 DMTF blocks, nonce, opaque TLVs, 96-byte signature', () => {
    const x = parseSpdmExchange(VALID)
    expect(x.request).toMatchObject({version: 0x11, operation: 0xff, slotId: 0})
    expect(x.response.blocks).toHaveLength(64)
    expect(x.response.blocks.map((b) => b.index)).toEqual(Array.from({length: 64}, (_, i) => i + 1))
    expect(x.response.signature).toHaveLength(96)
    expect(x.signedBytes.length).toBe(VALID.length - 96)
    const opaque = parseOpaqueData(x.response.opaque)
    expect(opaque.fields.map((f) => f.type)).toContain(20)
  })

  it('reads the FWID of the Hopper leaf certificate DICE extension (2.23.133.5.4.1)', () => {
    const leaf = parseCertChain(CHAIN)[0]!
    const ext = certificateExtensions(new Uint8Array(leaf.raw)).find((e) => e.oid === '2.23.133.5.4.1')!
    const [fwid] = diceFwids(ext.value)
    expect(fwid!.hashAlg).toBe('2.16.840.1.101.3.4.2.2') // SHA-384
    expect(Buffer.from(fwid!.digest).toString('hex')).toBe(Buffer.from(ext.value.slice(-48)).toString('hex'))
  })

  it.each([
    ['empty', new Uint8Array(0), /shorter than/],
    ['request only', VALID.slice(0, REQUEST_LENGTH), /truncated/],
    ['one byte short', VALID.slice(0, VALID.length - 1), /truncated signature/],
    ['one byte extra', Uint8Array.from([...VALID, 0]), /trailing byte/],
  ])('rejects %s with a typed error', (_name, bytes, message) => {
    expect(() => parseSpdmExchange(bytes)).toThrow(SpdmParseError)
    expect(() => parseSpdmExchange(bytes)).toThrow(message)
  })

  it.each([
    [0, 0x10, /not SPDM 1.1/],
    [1, 0xe1, /not GET_MEASUREMENTS/],
    [2, 0x00, /did not ask for a signature/],
    [REQUEST_LENGTH, 0x12, /not SPDM 1.1/],
    [REQUEST_LENGTH + 1, 0xe0, /not MEASUREMENTS/],
  ])('rejects a changed header byte at %i', (offset, value, message) => {
    const b = VALID.slice()
    b[offset] = value
    expect(() => parseSpdmExchange(b)).toThrow(message)
  })

  it('SpdmParseError is an InputError with exit code 19', () => {
    try {
      parseSpdmExchange(new Uint8Array(3))
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(InputError)
      expect((error as InputError).exitCode).toBe(ExitCode.INPUT_INVALID)
    }
  })

  it('property: well-formed messages round-trip through the parser', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({minLength: 32, maxLength: 32}),
        blocksArb,
        fc.uint8Array({maxLength: 200}),
        fc.integer({min: 0, max: 7}),
        (nonce, blocks, opaque, slot) => {
          const x = parseSpdmExchange(build(nonce, blocks, opaque, 96, slot))
          expect(Buffer.from(x.request.nonce).equals(Buffer.from(nonce))).toBe(true)
          expect(x.response.blocks.map((b) => [b.index, b.valueType, Buffer.from(b.value).toString('hex')])).toEqual(
            blocks.map((b) => [b.index, b.valueType, Buffer.from(b.value).toString('hex')]),
          )
          expect(Buffer.from(x.response.opaque).equals(Buffer.from(opaque))).toBe(true)
          expect(x.response.slotId).toBe(slot)
        },
      ),
      {numRuns: 300},
    )
  })

  it('property: every truncation of the real report is rejected with SpdmParseError', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: VALID.length - 1}), (n) => {
        expect(() => parseSpdmExchange(VALID.slice(0, n))).toThrow(SpdmParseError)
      }),
      {numRuns: 400},
    )
  })

  it('property: arbitrary bytes never crash the parser with anything but an InputError', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 600}), (bytes) => {
        try {
          parseSpdmExchange(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(InputError)
        }
      }),
      {numRuns: 500},
    )
  })

  it('property: any single-byte change to the real report is rejected (parse error or invalid evidence)', () => {
    fc.assert(
      fc.property(fc.integer({min: 0, max: VALID.length - 1}), fc.integer({min: 1, max: 255}), (offset, xor) => {
        const b = VALID.slice()
        b[offset]! ^= xor
        try {
          const r = verifyNvidiaReport(b, CHAIN, {expectedNonce: NONCE})
          expect(r.valid).toBe(false)
        } catch (error) {
          expect(error).toBeInstanceOf(InputError)
        }
      }),
      {numRuns: 150},
    )
  })
})
