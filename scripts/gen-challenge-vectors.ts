/**
 * Writes fixtures/vectors/challenges.json: inputs and the outputs src/evidence/nonce.ts computes for them.
 * Inputs are deterministic (sha256 counter), so re-running reproduces the file byte for byte.
 * test/integration/chain/vectors.test.ts checks every vector against nonce.ts, against ethers'
 * solidityPackedKeccak256, and against the deployed Poci contract's view functions on real anvil.
 * Run: npx tsx scripts/gen-challenge-vectors.ts
 */
import {createHash} from 'node:crypto'
import {writeFileSync} from 'node:fs'

import {
  HEARTBEAT_DOMAIN,
  REGISTER_DOMAIN,
  deviceIdOf,
  devicesDigest,
  heartbeatChallenge,
  quoteQualifyingData,
  registerChallenge,
  registrationId,
} from '../src/evidence/nonce.js'
import {bytesToHex, hexToBytes} from '../src/util/hex.js'

let counter = 0
const bytes = (n: number) => {
  const out = Buffer.alloc(n)
  for (let o = 0; o < n; o += 32) createHash('sha256').update(`unet-vectors-${counter++}`).digest().copy(out, o)
  return Uint8Array.from(out)
}
const hex = (n: number) => bytesToHex(bytes(n))
const addr = () => hex(20)

const chainIds = [31337n, 31337n, 31337n, 2026n]
const heartbeat = chainIds.map((chainId, i) => {
  const input = {
    chainId,
    contract: addr(),
    operator: addr(),
    hostId: hex(32),
    epoch: i === 0 ? 1n : i === 1 ? (1n << 64n) - 1n : BigInt(1000 + i),
    blockNumber: i === 1 ? (1n << 64n) - 1n : BigInt(123456 + i * 7),
    blockHash: hex(32),
  }
  return {
    ...input,
    chainId: input.chainId.toString(),
    epoch: input.epoch.toString(),
    blockNumber: input.blockNumber.toString(),
    challenge: bytesToHex(heartbeatChallenge(input)),
  }
})
// hosts name themselves (hostId = deviceId); devices name their host; nonces 0, 1, a large one and the maximum
const nonces = [0n, 1n, 123456789n, (1n << 64n) - 1n]
const register = chainIds.map((chainId, i) => {
  const deviceId = hex(32)
  const input = {chainId, contract: addr(), operator: addr(), payout: addr(), deviceId, hostId: i % 2 === 0 ? deviceId : hex(32), nonce: nonces[i]!}
  return {
    ...input,
    chainId: input.chainId.toString(),
    nonce: input.nonce.toString(),
    challenge: bytesToHex(registerChallenge(input)),
    registrationId: registrationId(deviceId, input.nonce),
  }
})
const qualifying = [0, 1, 2, 8].map((n) => {
  const challenge = hex(32)
  const devices = Array.from({length: n}, () => ({deviceId: hex(32), evidenceDigest: hex(32)}))
  return {
    challenge,
    devices,
    devicesDigest: bytesToHex(devicesDigest(devices)),
    qualifyingData: bytesToHex(quoteQualifyingData(hexToBytes(challenge), devices)),
  }
})
const deviceIds = [
  {kind: 'p256', publicKey: hex(64)},
  {kind: 'secp256k1', publicKey: hex(64)},
  {kind: 'p384', publicKey: hex(96)},
  {kind: 'rsa2048', publicKey: hex(256)},
].map((d) => ({...d, deviceId: bytesToHex(deviceIdOf(hexToBytes(d.publicKey)))}))

const doc = {
  description:
    'POCI v2 challenge vectors (docs/protocol.md §Challenges). Computed by src/evidence/nonce.ts; checked against ethers solidityPackedKeccak256 and the Poci contract views on anvil.',
  generator: 'scripts/gen-challenge-vectors.ts',
  domains: {heartbeat: bytesToHex(HEARTBEAT_DOMAIN), register: bytesToHex(REGISTER_DOMAIN)},
  heartbeat,
  register,
  qualifyingData: qualifying,
  deviceIds,
}
writeFileSync(new URL('../fixtures/vectors/challenges.json', import.meta.url), JSON.stringify(doc, null, 2) + '\n')
console.log('wrote fixtures/vectors/challenges.json')
