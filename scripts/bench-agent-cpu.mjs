/**
 * Bench 1 of `npm run bench`: agent CPU per heartbeat for 8 devices, TPM and chain waits excluded.
 *
 * The real HeartbeatMachine.runEpoch() with the real evidence code: challenge derivation, 8 device
 * commitments whose evidence digests are computed from canonical evidence v1 (nvidia-cc shaped: a
 * 6 KiB report + 3 certificates, nonce bound to the challenge), devicesDigest/quoteQualifyingData,
 * the host quote packed by liveEnginePort (emulator engine), the real self-verify (verifyQuote over
 * that quote), real outbox/journal writes, and what the chain port spends CPU on without the node
 * (quote signature parsed, heartbeat call built and ABI-encoded, EIP-1559 transaction signed with
 * ethers). Only the chain's answers are in memory (at once): RPC round trips are the waits left out.
 * The emulator's own P-256 signing stands in for the TPM's: its CPU is measured around the call and
 * subtracted (a TPM signs on its own chip), and reported separately.
 *
 *   node scripts/bench-agent-cpu.mjs [--epochs 200] [--devices 8]
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash, randomBytes} from 'node:crypto'

import {FROM, load, pct, report} from './bench-agent-common.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const measured = arg('epochs', 200)
const deviceCount = arg('devices', 8)
const warmup = 30

const {HeartbeatMachine} = await load('agent/heartbeat-machine.js')
const {Outbox} = await load('agent/outbox.js')
const {realClock} = await load('agent/backoff.js')
const {liveEnginePort, liveSelfVerifyPort} = await load('miner/live-ports.js')
const {openEngine} = await load('hw/engine.js')
const {evidenceDeviceId, evidenceDigestHex} = await load('evidence/format.js')
const {heartbeatCallArgs} = await load('chain/heartbeat.js')
const {loadArtifact, DeviceKind} = await load('chain/artifacts.js')
const {parseSignature} = await load('hw/tpm2/structures.js')
const {leftPadBytes} = await load('util/hex.js')
const {Interface, SigningKey, Transaction} = await import('ethers')

const cpuMs = (d) => (d.user + d.system) / 1000
const hex32 = (seed) => '0x' + createHash('sha256').update(seed).digest('hex')

const dataDir = mkdtempSync(join(tmpdir(), 'unet-bench-cpu-'))
try {
  const engine = await openEngine({
    engine: 'emulator',
    tcti: '',
    dataDir,
    akHandle: 0x81010002,
    pcrs: [0, 1, 2, 3, 4, 5, 6, 7],
    profile: {name: 'devnet', allowEmulator: true},
  })
  const identity = await engine.identity()

  // The TPM stand-in: the emulator signs in-process, so its CPU is taken out of the agent's figure.
  let signCpu = 0
  const timedEngine = {
    kind: engine.kind,
    identity: () => engine.identity(),
    close: () => engine.close(),
    async quote(q) {
      const c = process.cpuUsage()
      try {
        return await engine.quote(q)
      } finally {
        signCpu += cpuMs(process.cpuUsage(c))
      }
    },
  }

  // 8 accelerators: fixed identity and report body (produced on the device), nonce per epoch.
  const devices = Array.from({length: deviceCount}, (_, i) => ({
    publicKey: Uint8Array.from([0x04, ...randomBytes(64)]),
    certChain: [randomBytes(1100), randomBytes(1000), randomBytes(900)].map((b) => new Uint8Array(b)),
    body: new Uint8Array(randomBytes(6 * 1024)),
    signature: new Uint8Array(randomBytes(96)),
    index: i,
  }))
  const devicesPort = {
    async attestAll(challenge) {
      return devices.map((d) => {
        const evidence = {
          v: 1,
          kind: 'nvidia-cc',
          device: {publicKey: d.publicKey, certChain: d.certChain},
          nonce: {qualifyingData: challenge, challenge},
          producedAt: Math.floor(Date.now() / 1000),
          report: {format: 'spdm-1.1-measurements', body: d.body, signature: d.signature, fields: {driver: '550.54.15', vbios: '96.00.9F.00.04'}},
        }
        // chainKind/proof ride along for the heartbeat call data (not part of the canonical evidence)
        return {
          deviceId: evidenceDeviceId(evidence),
          evidenceDigest: evidenceDigestHex(evidence),
          evidence: Object.assign(evidence, {chainKind: DeviceKind.P384, proof: d.signature}),
        }
      })
    },
  }

  // What liveChainPort.submitHeartbeat does without the node: parse the quote signature, build the
  // heartbeat call (8 commitments, kinds, proofs), ABI-encode it, sign an EIP-1559 transaction.
  const poci = new Interface(loadArtifact('Poci').abi)
  const operatorKey = new SigningKey('0x' + randomBytes(32).toString('hex'))
  const pociAddress = '0x' + '22'.repeat(20)
  let txCpu = 0
  const buildAndSign = (submission, nonce) => {
    const c = process.cpuUsage()
    const quote = submission.hostQuote
    const sig = parseSignature(quote.quote.signature)
    const args = heartbeatCallArgs({
      epoch: submission.epoch,
      blockNumber: submission.block.number,
      blockHash: submission.block.hash,
      akPublicKey: identity.publicKey,
      attest: quote.quote.attest,
      signature: {r: leftPadBytes(sig.r, 32), s: leftPadBytes(sig.s, 32)},
      devices: submission.devices.map((d) => ({deviceId: d.deviceId, evidenceDigest: d.evidenceDigest, kind: d.evidence.chainKind, proof: d.evidence.proof})),
    })
    const data = poci.encodeFunctionData('heartbeat', args)
    const tx = Transaction.from({
      type: 2,
      chainId: 31337n,
      nonce,
      to: pociAddress,
      data,
      gasLimit: 400_000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000n,
      value: 0n,
    })
    tx.signature = operatorKey.sign(tx.unsignedHash)
    const out = {txHash: tx.hash, data, raw: tx.serialized}
    txCpu += cpuMs(process.cpuUsage(c))
    return out
  }

  // The chain, in memory: every call answers at once; the epoch advances when the bench says so.
  let epoch = 1000n
  let block = 5000n
  let nonce = 0
  const chain = {
    currentEpoch: async () => epoch,
    recentBlock: async () => ({number: block, hash: hex32(`block${block}`), timestamp: 1_700_000_000n + block}),
    isRegistered: async () => true,
    async submitHeartbeat(submission, hooks) {
      const tx = buildAndSign(submission, nonce)
      const sent = {txHash: tx.txHash, nonce: nonce++, fees: {maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n}, to: pociAddress, data: tx.data}
      await hooks.beforeBroadcast(sent)
      block++
      return sent
    },
    receipt: async (txHash) => ({txHash, status: 'success', blockNumber: block}),
    replaceWithFeeBump: async () => {
      throw new Error('not used')
    },
    gasBalance: async () => ({balance: 10n ** 21n, costPerHeartbeat: 10n ** 14n}),
    accruedRewards: async () => 123n,
  }

  const machine = new HeartbeatMachine({
    identity: {chainId: 31337n, contract: pociAddress, operator: '0x' + '33'.repeat(20), hostId: identity.deviceId},
    chain,
    engine: liveEnginePort(timedEngine),
    devices: devicesPort,
    selfVerify: liveSelfVerifyPort(identity, true, 'devnet'),
    clock: realClock,
    outbox: new Outbox(dataDir),
  })

  const agent = []
  const agentNoTx = []
  const txs = []
  const signing = []
  const wall = []
  for (let i = 0; i < warmup + measured; i++) {
    epoch++
    block += 3n
    signCpu = 0
    txCpu = 0
    const t = performance.now()
    const c = process.cpuUsage()
    const r = await machine.runEpoch()
    const total = cpuMs(process.cpuUsage(c))
    if (r.result !== 'confirmed') throw new Error(`epoch ${r.epoch}: ${r.result} ${r.reason ?? ''}`)
    if (i >= warmup) {
      agent.push(total - signCpu)
      agentNoTx.push(total - signCpu - txCpu)
      txs.push(txCpu)
      signing.push(signCpu)
      wall.push(performance.now() - t)
    }
  }
  engine.close()
  report({
    bench: 'cpu',
    from: FROM,
    devices: deviceCount,
    epochs: agent.length,
    medianMs: pct(agent, 50),
    p95Ms: pct(agent, 95),
    withoutTxMedianMs: pct(agentNoTx, 50),
    withoutTxP95Ms: pct(agentNoTx, 95),
    txBuildSignMedianMs: pct(txs, 50),
    emulatorSignMedianMs: pct(signing, 50),
    wallMedianMs: pct(wall, 50),
  })
} finally {
  rmSync(dataDir, {recursive: true, force: true})
}
