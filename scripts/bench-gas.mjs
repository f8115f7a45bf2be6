#!/usr/bin/env node
// Gas table of the POCI v2 contract on a private anvil (the binary from @foundry-rs/anvil-*, default
// hardfork): register, credential challenge/activation, approve, heartbeat (host quote + 0/1/2/4/8 P-384
// devices committed by digest), per-device on-chain P-256 / RSA-2048 / secp256k1 proofs, the challenge
// game (challenge, answer with the on-chain P-384 check of a ~4 KB SPDM report when the P384Verifier
// artifact exists, slash), claim. Heartbeats are measured first (a ring slot of the challenge records
// goes from zero) and in steady state (17 epochs later, every slot written before).
// Usage: npm run bench:gas [-- --json]
import {register as registerTsx} from 'tsx/esm/api'

registerTsx()
const {runGasBench} = await import('./gas-bench.ts')
const rows = await runGasBench()
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v), 2))
} else {
  const w = Math.max(...rows.map((r) => r.what.length))
  console.log(`${'operation'.padEnd(w)}  ${'gas'.padStart(8)}  ${'marginal'.padStart(8)}  goal`)
  for (const r of rows)
    console.log(`${r.what.padEnd(w)}  ${String(r.gas).padStart(8)}  ${(r.marginal === undefined ? '' : String(r.marginal)).padStart(8)}  ${r.goal ?? ''}`)
}
