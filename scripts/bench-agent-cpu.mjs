/**
 * Bench 1 of `npm run bench`: agent CPU per heartbeat for 8 devices, TPM and chain waits excluded.
 *
 * The real HeartbeatMachine.runEpoch() with the real evidence code: challenge derivation, 8 device
 * commitments whose evidence digests are computed from canonical evidence v1 (nvidia-cc shaped: a
 * 6 KiB report + 3 certificates, nonce bound to the challenge), devicesDigest/quoteQualifyingData,
 * the host quote packed by liveEnginePort (emulator engine), the real self-verify (verifyQuote over
 * that quote), real outbox/journal writes. Only the chain is in memory (answers at once).
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
const {liveEnginePort, liveSelfVerifyPort} = await load('agent/live-ports.js')
const {openEngine} = await load('hw/engine.js')
const {evidenceDeviceId, evidenceDigestHex} = await load('evidence/format.js')

const cpuMs = (d) => (d.user + d.system) / 1000
const hex32 = (seed) => '0x' + createHash('sha256').update(seed).digest('hex')

const dataDir = mkdtempSync(join(tmpdir(), 'unet-bench-cpu-'))
try {
  const engine = await openEngine({engine: 'emulator', tcti: '', dataDir, akHandle: 0x81010002, pcrs: [0, 1, 2, 3, 4, 5, 6, 7], profile: {name: 'devnet', allowEmulator: true}})
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
        return {deviceId: evidenceDeviceId(evidence), evidenceDigest: evidenceDigestHex(evidence), evidence}
      })
    },
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
      const sent = {txHash: hex32(`tx${submission.epoch}`), nonce: nonce++, fees: {maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n}, to: '0x' + '11'.repeat(20), data: '0x'}
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
    identity: {chainId: 31337n, contract: '0x' + '22'.repeat(20), operator: '0x' + '33'.repeat(20), hostId: identity.deviceId},
    chain,
    engine: liveEnginePort(timedEngine),
    devices: devicesPort,
    selfVerify: liveSelfVerifyPort(identity, true, 'devnet'),
    clock: realClock,
    outbox: new Outbox(dataDir),
  })

  const agent = []
  const signing = []
  const wall = []
  for (let i = 0; i < warmup + measured; i++) {
    epoch++
    block += 3n
    signCpu = 0
    const t = performance.now()
    const c = process.cpuUsage()
    const r = await machine.runEpoch()
    const total = cpuMs(process.cpuUsage(c))
    if (r.result !== 'confirmed') throw new Error(`epoch ${r.epoch}: ${r.result} ${r.reason ?? ''}`)
    if (i >= warmup) {
      agent.push(total - signCpu)
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
    emulatorSignMedianMs: pct(signing, 50),
    wallMedianMs: pct(wall, 50),
  })
} finally {
  rmSync(dataDir, {recursive: true, force: true})
}
