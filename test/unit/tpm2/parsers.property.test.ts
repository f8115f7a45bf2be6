import {readFileSync} from 'node:fs'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import fc from 'fast-check'
import {beforeAll, describe, expect, it} from 'vitest'

import {decodeEvidence, encodeEvidence, type HostEvidence} from '../../../src/evidence/index.js'
import {InputError} from '../../../src/errors/index.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {certificatesIn} from '../../../src/hw/tpm2/roots.js'
import {parseQuoteAttest, parseSignature, parseTpm2bPublic, parseTpmtPublic, tpmPublicKeyObject} from '../../../src/hw/tpm2/structures.js'
import {readSerializedPcrs, writeSerializedPcrs} from '../../../src/hw/tpm2/tpm2-tools.js'
import {QuoteVerifier, verifyEkChain} from '../../../src/hw/tpm2/verify.js'
import {tpm2b} from '../../../src/hw/tpm2/wire.js'
import {verifyEvidence} from '../../../src/verifier/verify-evidence.js'
import {parseAttestation} from './gce-pb.js'

/**
 * Every parser, fed random bytes and mutations of valid inputs, either returns or throws an
 * InputError: never another exception, never a hang (each call is timed).
 */
const gce = parseAttestation(readFileSync(fileURLToPath(new URL('../../../fixtures/go-tpm-tools/gce-cos-85-nonce9009.pb', import.meta.url))))
let evidence: HostEvidence
let evidenceBytes: Uint8Array

beforeAll(async () => {
  const engine = await EmulatorEngine.open({dataDir: mkdtempSync(join(tmpdir(), 'unet-prop-')), pcrs: [0, 1, 2, 3, 4, 5, 6, 7]})
  evidence = await buildHostEvidence(engine, {qualifyingData: Uint8Array.of(1, 2, 3)}, 1_800_000_000)
  evidenceBytes = encodeEvidence(evidence)
})

function onlyTyped(fn: () => unknown): boolean {
  const start = performance.now()
  try {
    fn()
  } catch (error) {
    if (!(error instanceof InputError)) throw error
  }
  const ms = performance.now() - start
  if (ms > 250) throw new Error(`took ${ms} ms`)
  return true
}

/** A valid input with random flips, truncation, or inserted bytes. */
function mutated(base: () => Uint8Array) {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.integer({min: 1, max: 255})), {maxLength: 6}),
      fc.option(fc.nat(), {nil: undefined}),
      fc.option(fc.tuple(fc.nat(), fc.uint8Array({minLength: 1, maxLength: 8})), {nil: undefined}),
    )
    .map(([flipList, cut, insert]) => {
      let flips = flipList
      let b = Uint8Array.from(base())
      if (flips.length === 0 && cut === undefined && insert === undefined) flips = [[0, 1]]
      for (const [pos, x] of flips) if (b.length > 0) b[pos % b.length]! ^= x
      if (insert) {
        const at = insert[0] % (b.length + 1)
        b = Uint8Array.from([...b.subarray(0, at), ...insert[1], ...b.subarray(at)])
      }
      if (cut !== undefined && b.length > 0) b = b.subarray(0, cut % b.length)
      return b
    })
}

const random = fc.uint8Array({maxLength: 600})
const runs = {numRuns: 400}

/** `parse`, fed random bytes and then mutations of each valid input, gives only typed errors. */
function onlyTypedErrors(parse: (b: Uint8Array) => unknown, ...valid: Array<() => Uint8Array>): void {
  for (const input of [random, ...valid.map(mutated)])
    fc.assert(
      fc.property(input, (b) => onlyTyped(() => parse(b))),
      runs,
    )
}

describe('property: parsers give only typed errors', () => {
  it('TPMS_ATTEST', () => {
    onlyTypedErrors(
      parseQuoteAttest,
      () => gce.quotes[1]!.attest,
      () => evidence.quote.attest,
    )
  })

  it('TPMT_SIGNATURE', () => {
    onlyTypedErrors(
      parseSignature,
      () => gce.quotes[0]!.signature,
      () => evidence.quote.signature,
    )
  })

  it('TPMT_PUBLIC / TPM2B_PUBLIC and the key built from them', () => {
    onlyTypedErrors(
      (b) => tpmPublicKeyObject(parseTpmtPublic(b)),
      () => gce.akPub,
    )
    onlyTypedErrors(parseTpm2bPublic)
    fc.assert(
      fc.property(
        mutated(() => evidence.device.akPublic!),
        (b) => onlyTyped(() => new QuoteVerifier({tpm2bPublic: b})),
      ),
      runs,
    )
  })

  it('whole quote verification with mutated parts', () => {
    const v = new QuoteVerifier({tpm2bPublic: tpm2b(gce.akPub)})
    const q = gce.quotes[1]!
    fc.assert(
      fc.property(
        mutated(() => q.attest),
        mutated(() => q.signature),
        (a, s) => onlyTyped(() => expect(v.verify({attest: a, signature: s, expectedExtraData: Uint8Array.of(0x90, 0x09), pcrs: q.pcrs}).valid).toBe(false)),
      ),
      {numRuns: 300},
    )
  })

  it('tpm2-tools serialized PCR files', () => {
    const good = writeSerializedPcrs(
      [{hash: 0x0b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8]}],
      new Map(Array.from({length: 9}, (_, i) => [i, new Uint8Array(32).fill(i)])),
    )
    expect(readSerializedPcrs(good).values).toHaveLength(9)
    onlyTypedErrors(readSerializedPcrs, () => good)
  })

  it('evidence v1 decoding, and verifyEvidence never throws on what decodes', () => {
    const ctx = {network: 'devnet', allowEmulator: true, tpmRoots: []}
    onlyTypedErrors(decodeEvidence)
    fc.assert(
      fc.property(fc.string({maxLength: 300}), (s) => onlyTyped(() => decodeEvidence(new TextEncoder().encode(s)))),
      runs,
    )
    fc.assert(
      fc.property(
        mutated(() => evidenceBytes),
        (b) => {
          let decoded: ReturnType<typeof decodeEvidence> | undefined
          onlyTyped(() => (decoded = decodeEvidence(b)))
          if (decoded) expect(typeof verifyEvidence(decoded, ctx).valid).toBe('boolean')
          return true
        },
      ),
      {numRuns: 600},
    )
    // structurally valid JSON with random values in every field
    const text = new TextDecoder().decode(evidenceBytes)
    const json = JSON.parse(text) as Record<string, unknown>
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(json), 'device', 'quote', 'nonce'), fc.jsonValue(), (key, value) => {
        const copy = {...json, [key]: value}
        return onlyTyped(() => decodeEvidence(new TextEncoder().encode(JSON.stringify(copy))))
      }),
      runs,
    )
  })

  it('certificate files and EK chains', () => {
    onlyTypedErrors((b) => certificatesIn(Buffer.from(b)))
    const cert = gce.akCert!
    fc.assert(
      fc.property(
        mutated(() => cert),
        (b) => {
          const reasons = verifyEkChain({chain: [b], trusted: [cert]})
          return Array.isArray(reasons)
        },
      ),
      {numRuns: 200},
    )
  })
})
