/**
 * contracts/src/P384Verifier.sol on the worker's real anvil, against node:crypto: SHA-384 at the padding
 * edges, ECDSA P-384 signatures (random keys and messages, the recorded NVIDIA Hopper report under its
 * leaf certificate's key), tampered and out-of-range inputs (false, never a revert), and its gas.
 */
import {readFileSync} from 'node:fs'
import {randomBytes, sign, X509Certificate} from 'node:crypto'

import {Contract, ContractFactory, JsonRpcProvider, Wallet} from 'ethers'
import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {loadArtifact} from '../../../src/chain/artifacts.js'
import {decodeReportFile, parseCertChain} from '../../../src/hw/nvidia/verify.js'
import {parseSpdmExchange} from '../../../src/hw/nvidia/spdm.js'
import {bytesToHex, concatBytes} from '../../../src/util/hex.js'
import {anvilUrl} from '../../helpers/env.js'
import {p384Key, sha384, type P384Key} from '../../helpers/spdm-exchange.js'
import {fundedKey, rawEcPublicKey} from './helpers.js'

const P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n
const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n
const B = 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn
/** The on-chain goal for a full verify of a ~4 KB SPDM exchange (docs/p384-verifier.md). */
const VERIFY_GAS_GOAL = 5_000_000n

const NVT = new URL('../../../fixtures/nvtrust/', import.meta.url)
const report = (name: string) => decodeReportFile(new Uint8Array(readFileSync(new URL(name, NVT))))
const leafKey = rawEcPublicKey(parseCertChain(readFileSync(new URL('hopper-cert-chain.pem', NVT), 'latin1'))[0]!.publicKey)

const be48 = (v: bigint) => Uint8Array.from(Buffer.from(v.toString(16).padStart(96, '0'), 'hex'))
const big = (b: Uint8Array) => BigInt(bytesToHex(b))
const flip = (b: Uint8Array, bit: number) => {
  const c = Uint8Array.from(b)
  c[bit >> 3]! ^= 0x80 >> (bit & 7)
  return c
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n
  for (base %= m; exp > 0n; exp >>= 1n, base = (base * base) % m) if (exp & 1n) r = (r * base) % m
  return r
}

/** node:crypto's ECDSA P-384 over SHA-384, r‖s as is (high s included). */
const signRaw = (key: P384Key, message: Uint8Array) => Uint8Array.from(sign('sha384', message, {key: key.privateKey, dsaEncoding: 'ieee-p1363'}))

let provider: JsonRpcProvider
let verifier: Contract
const verify = (m: Uint8Array, sig: Uint8Array, pk: Uint8Array) => verifier.getFunction('verify').staticCall(m, sig, pk) as Promise<boolean>
const verifyDigest = (d: Uint8Array, sig: Uint8Array, pk: Uint8Array) => verifier.getFunction('verifyDigest').staticCall(d, sig, pk) as Promise<boolean>

beforeAll(async () => {
  provider = new JsonRpcProvider(anvilUrl(), undefined, {staticNetwork: true})
  const artifact = loadArtifact('P384Verifier')
  const contract = await new ContractFactory(artifact.abi as never, artifact.bytecode, new Wallet(await fundedKey(anvilUrl()), provider)).deploy()
  await contract.deploymentTransaction()!.wait()
  verifier = new Contract(await contract.getAddress(), artifact.abi as never, provider)
})

afterAll(() => provider?.destroy())

describe('P384Verifier.sha384', () => {
  it('equals node:crypto at every padding edge', async () => {
    for (const length of [0, 1, 111, 112, 127, 128, 129, 1000, 4100]) {
      const data = Uint8Array.from(randomBytes(length))
      expect(await verifier.getFunction('sha384').staticCall(data), `${length} bytes`).toBe(bytesToHex(sha384(data)))
    }
  })
})

describe('P384Verifier.verify', () => {
  it('accepts node:crypto signatures over random messages (both halves of s), and verifyDigest agrees', async () => {
    for (let i = 0; i < 20; i++) {
      const key = p384Key()
      const message = Uint8Array.from(randomBytes(i * 53))
      const sig = signRaw(key, message)
      expect(await verify(message, sig, key.publicKey), `message ${i}`).toBe(true)
      expect(await verifyDigest(sha384(message), sig, key.publicKey), `digest ${i}`).toBe(true)
      // (r, n - s) is the same signature's other valid form
      const other = concatBytes(sig.subarray(0, 48), be48(N - big(sig.subarray(48))))
      expect(await verify(message, other, key.publicKey), `message ${i}, n - s`).toBe(true)
    }
  }, 120_000)

  it('rejects a flipped bit in the message, r, s, x or y', async () => {
    const key = p384Key()
    const message = Uint8Array.from(randomBytes(300))
    const sig = signRaw(key, message)
    expect(await verify(message, sig, key.publicKey)).toBe(true)
    expect(await verify(flip(message, 1234), sig, key.publicKey)).toBe(false)
    for (const bit of [0, 200, 383]) {
      expect(await verify(message, flip(sig, bit), key.publicKey), `r bit ${bit}`).toBe(false)
      expect(await verify(message, flip(sig, 384 + bit), key.publicKey), `s bit ${bit}`).toBe(false)
      expect(await verify(message, sig, flip(key.publicKey, bit)), `x bit ${bit}`).toBe(false)
      expect(await verify(message, sig, flip(key.publicKey, 384 + bit)), `y bit ${bit}`).toBe(false)
    }
  }, 120_000)

  it('returns false, without reverting, for r or s outside [1, n-1], keys off the curve or out of range, and wrong lengths', async () => {
    const key = p384Key()
    const message = Uint8Array.from(randomBytes(64))
    const sig = signRaw(key, message)
    const [r, s] = [big(sig.subarray(0, 48)), big(sig.subarray(48))]
    const [x, y] = [big(key.publicKey.subarray(0, 48)), big(key.publicKey.subarray(48))]
    const rs = (a: bigint, b: bigint) => concatBytes(be48(a), be48(b))
    for (const [what, bad] of [
      ['r = 0', rs(0n, s)],
      ['s = 0', rs(r, 0n)],
      ['r = n', rs(N, s)],
      ['s = n', rs(r, N)],
      ['r = 2^384 - 1', rs(2n ** 384n - 1n, s)],
      ['s = 2^384 - 1', rs(r, 2n ** 384n - 1n)],
    ] as const)
      expect(await verify(message, bad, key.publicKey), what).toBe(false)

    // a point with a small x, so that x + p still fits 48 bytes: the same point mod p, out of range
    let sx = 1n
    let sy = 0n
    for (; ; sx++) {
      const rhs = (((sx ** 3n - 3n * sx + B) % P) + P) % P
      sy = modPow(rhs, (P + 1n) / 4n, P)
      if ((sy * sy) % P === rhs) break
    }
    const keys: Array<[string, Uint8Array]> = [
      ['off the curve', rs(x, (y + 1n) % P)],
      ['(0, 0)', rs(0n, 0n)],
      ['x = p', rs(P, y)],
      ['y = p', rs(x, P)],
      ['x + p (same point mod p)', rs(sx + P, sy)],
      ['y = 2^384 - 1', rs(x, 2n ** 384n - 1n)],
    ]
    for (const [what, pk] of keys) expect(await verify(message, sig, pk), what).toBe(false)
    // the small-x point itself is a valid key (on the curve, in range): nothing signs for it here
    expect(await verify(message, sig, rs(sx, sy))).toBe(false)

    expect(await verify(message, sig.subarray(0, 95), key.publicKey)).toBe(false)
    expect(await verify(message, concatBytes(sig, Uint8Array.of(0)), key.publicKey)).toBe(false)
    expect(await verify(message, sig, key.publicKey.subarray(1))).toBe(false)
    expect(await verify(message, sig, concatBytes(Uint8Array.of(4), key.publicKey))).toBe(false)
    expect(await verifyDigest(sha384(message).subarray(0, 47), sig, key.publicKey)).toBe(false)
    expect(await verifyDigest(concatBytes(sha384(message), Uint8Array.of(0)), sig, key.publicKey)).toBe(false)
  }, 120_000)

  it('holds for random keys and messages (fast-check): valid signatures pass, any other message fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({maxLength: 600}), fc.uint8Array({minLength: 1, maxLength: 600}), async (message, other) => {
        const key = p384Key()
        const sig = signRaw(key, message)
        expect(await verify(message, sig, key.publicKey)).toBe(true)
        expect(await verify(other, sig, key.publicKey)).toBe(Buffer.compare(other, message) === 0)
      }),
      {numRuns: 6},
    )
  }, 120_000)
})

describe('P384Verifier on the NVIDIA Hopper sample (fixtures/nvtrust)', () => {
  const valid = report('hopper-report.hex')
  const exchange = parseSpdmExchange(valid)
  // what Poci passes: the SPDM request ‖ response up to the signature, and the last 96 bytes
  const message = valid.subarray(0, valid.length - 96)
  const signature = valid.subarray(valid.length - 96)

  it('verifies the GPU signature under the leaf certificate key, on the bytes the parser says are signed', async () => {
    expect(bytesToHex(message)).toBe(bytesToHex(exchange.signedBytes))
    expect(bytesToHex(signature)).toBe(bytesToHex(exchange.response.signature))
    expect(new X509Certificate(readFileSync(new URL('hopper-cert-chain.pem', NVT))).publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1')
    expect(await verify(message, signature, leafKey)).toBe(true)
    expect(await verifyDigest(sha384(message), signature, leafKey)).toBe(true)
  })

  it('rejects the invalid-signature sample', async () => {
    const bad = report('hopper-report-invalid-signature.hex')
    expect(await verify(bad.subarray(0, bad.length - 96), bad.subarray(bad.length - 96), leafKey)).toBe(false)
  })

  it(`costs at most ${VERIFY_GAS_GOAL} gas for a full verify (eth_estimateGas, printed)`, async () => {
    const to = await verifier.getAddress()
    const estimate = (fn: string, args: unknown[]) => provider.estimateGas({to, data: verifier.interface.encodeFunctionData(fn, args)})
    const full = await estimate('verify', [message, signature, leafKey])
    const digest = await estimate('verifyDigest', [sha384(message), signature, leafKey])
    const hash = await estimate('sha384', [message])
    console.log(
      `P384Verifier gas (eth_estimateGas, whole tx): verify of the ${message.length}-byte Hopper message ${full}, verifyDigest ${digest}, sha384 alone ${hash}`,
    )
    expect(full).toBeLessThanOrEqual(VERIFY_GAS_GOAL)
  })
})
