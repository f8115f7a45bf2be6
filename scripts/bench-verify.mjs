#!/usr/bin/env node
/**
 * npm run bench:verify — TPM-quote verifications/s (full QuoteVerifier: strict parse, extraData,
 * pcrDigest, AK name, ECDSA P-256 signature) next to raw node:crypto P-256 verifications/s of the same
 * message in the same run, and quote latency on a private swtpm through unet's FFI (median, p95).
 * Runs the TypeScript sources through tsx (a dev dependency). Options: --seconds N --quotes N.
 */
import {createPublicKey, verify} from 'node:crypto'

import {startSwtpm} from '../test/helpers/swtpm.ts'
import {Tpm2Engine} from '../src/hw/tpm2/engine.ts'
import {parseSignature, parseTpm2bPublic, tpmPublicKeyObject} from '../src/hw/tpm2/structures.ts'
import {QuoteVerifier} from '../src/hw/tpm2/verify.ts'

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const seconds = arg('seconds', 2)
const quotes = arg('quotes', 200)

function rate(fn) {
  for (let i = 0; i < 200; i++) fn() // warm up
  let n = 0
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn()
    n += 50
  }
  return n / ((performance.now() - start) / 1000)
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

const sw = await startSwtpm()
let engine
try {
  engine = await Tpm2Engine.open({tcti: sw.tcti, akHandle: 0x81010002, pcrs: [0, 1, 2, 3, 4, 5, 6, 7]})
  const id = await engine.identity()
  const nonce = new Uint8Array(32).fill(9)
  await engine.quote(nonce)

  const latencies = []
  let last
  for (let i = 0; i < quotes; i++) {
    nonce[0] = i & 0xff
    const t0 = performance.now()
    last = await engine.quote(nonce)
    latencies.push(performance.now() - t0)
  }
  latencies.sort((a, b) => a - b)

  // verification: one reused KeyObject for the raw baseline, one reused QuoteVerifier for unet
  const key = tpmPublicKeyObject(parseTpm2bPublic(id.akPublic))
  const sig = parseSignature(last.signature)
  const p1363 = Buffer.concat([Buffer.alloc(32 - sig.r.length), sig.r, Buffer.alloc(32 - sig.s.length), sig.s])
  const rawKey = createPublicKey(key.export({type: 'spki', format: 'pem'}))
  if (!verify('sha256', last.attest, {key: rawKey, dsaEncoding: 'ieee-p1363'}, p1363)) throw new Error('baseline signature does not verify')
  const verifier = new QuoteVerifier({tpm2bPublic: id.akPublic})
  const check = {attest: last.attest, signature: last.signature, expectedExtraData: nonce, pcrs: last.pcrs.values}
  const first = verifier.verify(check)
  if (!first.valid) throw new Error(`quote does not verify: ${first.reasons.join('; ')}`)

  const raw = rate(() => verify('sha256', last.attest, {key: rawKey, dsaEncoding: 'ieee-p1363'}, p1363))
  const full = rate(() => verifier.verify(check))
  const result = {
    node: process.version,
    rawP256VerifyPerSec: Math.round(raw),
    tpmQuoteVerifyPerSec: Math.round(full),
    ratio: Number((full / raw).toFixed(3)),
    goalRatio: 0.75,
    swtpmQuoteLatencyMs: {
      n: quotes,
      median: Number(pct(latencies, 50).toFixed(2)),
      p95: Number(pct(latencies, 95).toFixed(2)),
      min: Number(latencies[0].toFixed(2)),
      max: Number(latencies.at(-1).toFixed(2)),
    },
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(result))
  else {
    console.log(`raw node:crypto P-256 verify      ${result.rawP256VerifyPerSec.toLocaleString('en')}/s`)
    console.log(`TPM quote verify (QuoteVerifier)  ${result.tpmQuoteVerifyPerSec.toLocaleString('en')}/s   ratio ${result.ratio} (goal ≥ ${result.goalRatio})`)
    console.log(`swtpm quote latency (FFI, n=${quotes}) median ${result.swtpmQuoteLatencyMs.median} ms  p95 ${result.swtpmQuoteLatencyMs.p95} ms`)
  }
} finally {
  engine?.close()
  sw.stop()
}
