/** The measurements behind `npm run bench:gas` (scripts/bench-gas.mjs prints them). */
import {approve} from '../src/chain/approve.js'
import {startAnvil} from '../src/chain/anvil.js'
import {DeviceKind} from '../src/chain/artifacts.js'
import {challengeBlock} from '../src/chain/block.js'
import {claim} from '../src/chain/claim.js'
import {disconnect, type ChainClient} from '../src/chain/client.js'
import {heartbeat, type HeartbeatDevice} from '../src/chain/heartbeat.js'
import {register} from '../src/chain/register.js'
import {deviceIdOf, heartbeatChallenge, quoteQualifyingData, registerChallenge} from '../src/evidence/nonce.js'
import {bytesToHex, concatBytes} from '../src/util/hex.js'
import {startSwtpm} from '../test/helpers/swtpm.js'
import {SwtpmAk, clientFor, deployFresh, emulatorQuote, increaseTime, k1Key, k1Sign, p256Key, p256Sign, rsaKey, rsaSign, type P256Key} from '../test/integration/chain/helpers.js'

export interface GasRow {
  what: string
  gas: bigint
  marginal?: bigint
  goal?: string
}

interface Dev {
  kind: number
  pub: Uint8Array
  proofOf(challenge: Uint8Array): Uint8Array
  beatProof?(challenge: Uint8Array): Uint8Array
}

const hex = bytesToHex

export async function runGasBench(): Promise<GasRow[]> {
  const anvil = await startAnvil()
  const rows: GasRow[] = []
  const clients: ChainClient[] = []
  try {
    const url = anvil.rpcUrl
    const dep = await deployFresh(url, {epochSeconds: 600})
    clients.push(dep.verifier)
    const poci = dep.deployed.poci
    rows.push({what: 'deploy (Poci + UNC token)', gas: dep.deployed.gasUsed})
    const chainId = 31337n

    const committed = (seed: number): Dev => ({kind: DeviceKind.P384, pub: new Uint8Array(96).fill(seed), proofOf: () => Uint8Array.of(1)})
    const p256Dev = (): Dev => {
      const k = p256Key()
      return {kind: DeviceKind.P256, pub: k.publicKey, proofOf: (c) => p256Sign(k, c).rs, beatProof: (c) => concatBytes(k.publicKey, p256Sign(k, c).rs)}
    }
    const rsaDev = (): Dev => {
      const k = rsaKey()
      return {kind: DeviceKind.RSA2048, pub: k.modulus, proofOf: (c) => rsaSign(k, c), beatProof: (c) => concatBytes(k.modulus, rsaSign(k, c))}
    }
    const k1Dev = (): Dev => {
      const k = k1Key()
      return {kind: DeviceKind.SECP256K1, pub: k.publicKey, proofOf: (c) => k1Sign(k, c), beatProof: (c) => k1Sign(k, c)}
    }

    let seed = 1
    const setups: Array<{label: string; devs: Dev[]}> = [
      {label: '0 devices', devs: []},
      {label: '1 committed device', devs: [committed(seed++)]},
      {label: '2 committed devices', devs: [committed(seed++), committed(seed++)]},
      {label: '4 committed devices', devs: Array.from({length: 4}, () => committed(seed++))},
      {label: '8 committed devices', devs: Array.from({length: 8}, () => committed(seed++))},
      {label: '1 own-key P-256 device', devs: [p256Dev()]},
      {label: '1 own-key RSA-2048 device', devs: [rsaDev()]},
      {label: '1 own-key secp256k1 device', devs: [k1Dev()]},
    ]
    const hosts: Array<{label: string; op: ChainClient; key: P256Key; hostId: string; devs: Dev[]}> = []
    let regHost = 0n
    let regDevice = 0n
    let approveHost = 0n
    let approveDevice = 0n
    const regByKind = new Map<number, bigint>()
    for (const s of setups) {
      const op = await clientFor(url, poci)
      clients.push(op)
      const payout = op.signer!.address
      const key = p256Key()
      const hostId = hex(deviceIdOf(key.publicKey))
      const q = emulatorQuote(key, registerChallenge({chainId, contract: poci, operator: payout, payout, deviceId: hostId}))
      const r = await register(op, {kind: DeviceKind.HOST_EMULATOR, publicKey: key.publicKey, payout, proof: concatBytes(q.attest, q.r, q.s)})
      regHost = r.gasUsed
      approveHost = (await approve(dep.verifier, {deviceId: hostId, power: 10n})).gasUsed
      for (const d of s.devs) {
        const id = hex(deviceIdOf(d.pub))
        const rr = await register(op, {kind: d.kind as never, publicKey: d.pub, payout, hostId, proof: d.proofOf(registerChallenge({chainId, contract: poci, operator: payout, payout, deviceId: id}))})
        regByKind.set(d.kind, rr.gasUsed)
        regDevice = rr.gasUsed
        approveDevice = (await approve(dep.verifier, {deviceId: id, power: 100n})).gasUsed
      }
      hosts.push({label: s.label, op, key, hostId, devs: s.devs})
    }
    rows.push({what: 'register host (quote, P-256 precompile)', gas: regHost})
    rows.push({what: 'register P-256 device', gas: regByKind.get(DeviceKind.P256)!})
    rows.push({what: 'register RSA-2048 device', gas: regByKind.get(DeviceKind.RSA2048)!})
    rows.push({what: 'register secp256k1 device', gas: regByKind.get(DeviceKind.SECP256K1)!})
    rows.push({what: 'register P-384 device (recorded)', gas: regByKind.get(DeviceKind.P384)!})
    rows.push({what: 'approve host', gas: approveHost})
    rows.push({what: 'approve device (8th on its host)', gas: approveDevice})
    void regDevice

    const beat = async (h: (typeof hosts)[number]) => {
      const cb = await challengeBlock(h.op)
      const operator = h.op.signer!.address
      const devices: HeartbeatDevice[] = h.devs.map((d, i) => {
        const deviceId = hex(deviceIdOf(d.pub))
        const ch = heartbeatChallenge({chainId, contract: poci, operator, hostId: deviceId, epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash})
        return {deviceId, kind: d.kind, evidenceDigest: hex(new Uint8Array(32).fill(0x40 + i)), proof: d.beatProof?.(ch)}
      })
      const challenge = heartbeatChallenge({chainId, contract: poci, operator, hostId: h.hostId, epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash})
      const q = emulatorQuote(h.key, quoteQualifyingData(challenge, devices))
      return heartbeat(h.op, {epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash, akPublicKey: h.key.publicKey, attest: q.attest, signature: {r: q.r, s: q.s}, devices})
    }
    const first = new Map<string, bigint>()
    for (const h of hosts) first.set(h.label, (await beat(h)).gasUsed)
    await increaseTime(url, 600)
    const steady = new Map<string, bigint>()
    for (const h of hosts) steady.set(h.label, (await beat(h)).gasUsed)
    const base = steady.get('0 devices')!
    const goals: Record<string, string> = {
      '8 committed devices': '≤ 60,000 total; ≤ 5,000 per device',
      '1 own-key P-256 device': '≤ 12,000 marginal',
      '1 own-key RSA-2048 device': '≤ 45,000 marginal',
    }
    rows.push({what: 'heartbeat, first of a host (0 devices)', gas: first.get('0 devices')!})
    for (const s of setups) {
      const g = steady.get(s.label)!
      const n = BigInt(Math.max(1, s.devs.length))
      rows.push({what: `heartbeat: host quote + ${s.label}`, gas: g, marginal: s.devs.length === 0 ? undefined : (g - base) / n, goal: goals[s.label]})
    }
    // the same path with a real TPM: an ECC P-256 AK in swtpm, quoted by tpm2-tools (4 PCRs)
    const tpm = await startSwtpm().catch((error: Error) => {
      console.error(`(no swtpm row: ${error.message.split('\n')[0]})`)
      return undefined
    })
    if (tpm) try {
      const ak = new SwtpmAk(tpm.tcti).create()
      const op = await clientFor(url, poci)
      clients.push(op)
      const operator = op.signer!.address
      const hostId = hex(deviceIdOf(ak.publicKey))
      const rq = ak.quote(registerChallenge({chainId, contract: poci, operator, payout: operator, deviceId: hostId}))
      await register(op, {kind: DeviceKind.HOST_TPM, publicKey: ak.publicKey, payout: operator, proof: concatBytes(rq.attest, rq.r, rq.s)})
      await approve(dep.verifier, {deviceId: hostId, power: 10n})
      const tpmBeat = async () => {
        const cb = await challengeBlock(op)
        const challenge = heartbeatChallenge({chainId, contract: poci, operator, hostId, epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash})
        const q = ak.quote(quoteQualifyingData(challenge, []))
        return heartbeat(op, {epoch: cb.epoch, blockNumber: cb.blockNumber, blockHash: cb.blockHash, akPublicKey: ak.publicKey, attest: q.attest, signature: {r: q.r, s: q.s}, devices: []})
      }
      await tpmBeat()
      await increaseTime(url, 600)
      rows.push({what: 'heartbeat: real swtpm quote (4 PCRs) + 0 devices', gas: (await tpmBeat()).gasUsed})
    } finally {
      tpm.stop()
    }
    const claimed = await claim(hosts[4]!.op, {id: hosts[4]!.hostId})
    rows.push({what: 'claim (mint to payout)', gas: claimed.gasUsed})
    return rows
  } finally {
    for (const c of clients) disconnect(c)
    anvil.stop()
  }
}
