/** The measurements behind `npm run bench:gas` (scripts/bench-gas.mjs prints them). */
import {keccak256} from 'ethers'

import {activate, approve, challengeCredential} from '../src/chain/approve.js'
import {startAnvil} from '../src/chain/anvil.js'
import {DeviceKind} from '../src/chain/artifacts.js'
import {challengeBlock} from '../src/chain/block.js'
import {answerChallenge, openChallenge, slashChallenge, type ChallengeTarget} from '../src/chain/challenge.js'
import {claim} from '../src/chain/claim.js'
import {disconnect, type ChainClient} from '../src/chain/client.js'
import {heartbeat, type HeartbeatResult} from '../src/chain/heartbeat.js'
import {heartbeatChallenge} from '../src/evidence/nonce.js'
import {bytesToHex} from '../src/util/hex.js'
import {spdmExchange} from '../test/helpers/spdm-exchange.js'
import {startSwtpm} from '../test/helpers/swtpm.js'
// the chain test kit: the same deploy, devices and heartbeats as the contract tests
import * as kit from '../test/integration/chain/helpers.js'

export interface GasRow {
  what: string
  gas: bigint
  marginal?: bigint
  goal?: string
}

const EPOCH_BLOCKS = 20
/** Heartbeat records live in a ring of 16 slots per host (Poci.CHALLENGE_WINDOW): after 16 epochs a heartbeat rewrites one. */
const CHALLENGE_WINDOW = 16n
/** Blocks and opaque bytes of a Hopper-sized (~4 KB) SPDM exchange. */
const REPORT = {blocks: 64, opaque: 422}

interface BenchHost {
  label: string
  op: ChainClient
  host: kit.Quoter & {hostId: string}
  devs: Array<kit.TestDevice & {key?: ReturnType<typeof kit.p384Device>['key']}>
  /** The last heartbeat's committed reports and challenge fields (for the challenge game rows). */
  last?: {target: ChallengeTarget; reports: Uint8Array[]}
}

export async function runGasBench(): Promise<GasRow[]> {
  const anvil = await startAnvil()
  const rows: GasRow[] = []
  const clients: ChainClient[] = []
  try {
    const url = anvil.rpcUrl
    const dep = await kit.deployFresh(url, {epochBlocks: EPOCH_BLOCKS})
    const verifier = dep.verifier
    clients.push(verifier)
    const poci = dep.deployed.poci
    rows.push({what: 'deploy (Poci + UNC token)', gas: dep.deployed.gasUsed})

    const setups: Array<{label: string; devs: BenchHost['devs']}> = [
      {label: '0 devices', devs: []},
      {label: '1 committed device', devs: [kit.p384Device()]},
      {label: '2 committed devices', devs: Array.from({length: 2}, () => kit.p384Device())},
      {label: '4 committed devices', devs: Array.from({length: 4}, () => kit.p384Device())},
      {label: '8 committed devices', devs: Array.from({length: 8}, () => kit.p384Device())},
      {label: '1 own-key P-256 device', devs: [kit.p256Device()]},
      {label: '1 own-key RSA-2048 device', devs: [kit.rsaDevice()]},
      {label: '1 own-key secp256k1 device', devs: [kit.k1Device()]},
    ]
    const hosts: BenchHost[] = []
    const regByKind = new Map<number, bigint>()
    let regHost = 0n
    let approveHostGas = 0n
    let approveDevice = 0n
    for (const s of setups) {
      const op = await kit.clientFor(url, poci)
      clients.push(op)
      const host = kit.emulatorHost()
      const reg = await kit.registerHost(op, host)
      regHost = reg.gasUsed
      approveHostGas = (await approve(verifier, {regId: reg.regId, power: 10n})).gasUsed
      for (const d of s.devs) {
        const r = await kit.registerDevice(op, d, host.hostId)
        regByKind.set(d.kind, r.gasUsed)
        const g = (await approve(verifier, {regId: r.regId, power: 100n, chipId: d.chipId})).gasUsed
        if (s.label === '8 committed devices') approveDevice = g
      }
      hosts.push({label: s.label, op, host, devs: s.devs})
    }

    // a host-tpm registration: credential challenge, activation, approval with the EK id
    const tpmOp = await kit.clientFor(url, poci)
    clients.push(tpmOp)
    const tpmReg = await kit.registerHost(tpmOp, kit.emulatorHost(), {kind: DeviceKind.HOST_TPM})
    const secret = new Uint8Array(32).fill(7)
    const commitment = (await tpmOp.poci!.getFunction('activationCommitment').staticCall(tpmReg.regId, bytesToHex(secret))) as string
    // MakeCredential output for an RSA-2048 EK: TPM2B_ID_OBJECT body ~ 68 bytes, encrypted seed 256 bytes
    const cc = await challengeCredential(verifier, {
      regId: tpmReg.regId,
      credentialBlob: new Uint8Array(68).fill(1),
      encryptedSecret: new Uint8Array(256).fill(2),
      commitment,
    })
    const act = await activate(tpmOp, {regId: tpmReg.regId, secret})
    const approveTpm = await approve(verifier, {regId: tpmReg.regId, power: 10n, ekId: keccak256(new Uint8Array(32).fill(3))})

    rows.push({what: 'register host (quote, P-256 precompile, deposit)', gas: regHost})
    rows.push({what: 'register P-256 device', gas: regByKind.get(DeviceKind.P256)!})
    rows.push({what: 'register RSA-2048 device', gas: regByKind.get(DeviceKind.RSA2048)!})
    rows.push({what: 'register secp256k1 device', gas: regByKind.get(DeviceKind.SECP256K1)!})
    rows.push({what: 'register P-384 device (recorded)', gas: regByKind.get(DeviceKind.P384)!})
    rows.push({what: 'challengeCredential (host-tpm, RSA EK transcript)', gas: cc.gasUsed})
    rows.push({what: 'activate (host-tpm)', gas: act.gasUsed})
    rows.push({what: 'approve host (emulator, deposit refund)', gas: approveHostGas})
    rows.push({what: 'approve host-tpm (activated, EK id)', gas: approveTpm.gasUsed})
    rows.push({what: 'approve device (8th on its host)', gas: approveDevice})

    const beat = async (h: BenchHost): Promise<HeartbeatResult> => {
      const cb = await challengeBlock(h.op)
      const operator = h.op.signer!.address
      const reports: Uint8Array[] = []
      const devices: kit.BeatDevice[] = h.devs.map((device) => {
        if (device.kind !== DeviceKind.P384) return {device}
        const nonce = heartbeatChallenge({
          chainId: h.op.chainId,
          contract: poci,
          operator,
          hostId: device.deviceId,
          epoch: cb.epoch,
          blockNumber: cb.blockNumber,
          blockHash: cb.blockHash,
        })
        const report = spdmExchange((device as ReturnType<typeof kit.p384Device>).key, nonce, REPORT)
        reports.push(report)
        return {device, evidenceDigest: keccak256(report)}
      })
      const params = await kit.buildBeat(h.op, h.host, devices, {block: cb})
      const result = await heartbeat(h.op, params)
      h.last = {
        reports,
        target: {
          hostId: h.host.hostId,
          epoch: cb.epoch,
          deviceId: params.devices[0]?.deviceId ?? '',
          blockNumber: cb.blockNumber,
          blockHash: cb.blockHash,
          operator,
          commits: params.devices.flatMap((d) => [d.deviceId, d.evidenceDigest]),
          kinds: Uint8Array.from(params.devices.map((d) => d.kind)),
          index: 0,
        },
      }
      return result
    }

    // epoch f (a fresh one, so all hosts fit): each host's first heartbeat (its slot and, for committed
    // sets, a ring slot go from zero)
    const f = await kit.nextEpoch(url, verifier)
    const first = new Map<string, bigint>()
    for (const h of hosts) first.set(h.label, (await beat(h)).gasUsed)
    // epochs f+1..f+16: the host slot is warm, each ring slot is written for the first time
    const ringFirst = new Map<string, bigint>()
    for (let i = 1n; i <= CHALLENGE_WINDOW; i++) {
      await kit.nextEpoch(url, verifier)
      for (const h of hosts) {
        const g = (await beat(h)).gasUsed
        if (i === 1n) ringFirst.set(h.label, g)
      }
    }
    // epoch f+17: its ring slot was written in epoch f+1, every slot the heartbeat touches is warm (steady state)
    const steadyEpoch = await kit.nextEpoch(url, verifier)
    if (steadyEpoch !== f + CHALLENGE_WINDOW + 1n) throw new Error('the bench lost an epoch')
    const steady = new Map<string, bigint>()
    for (const h of hosts) steady.set(h.label, (await beat(h)).gasUsed)

    const base = steady.get('0 devices')!
    const goals: Record<string, string> = {
      '8 committed devices': '≤ 65,000 total (ring record included)',
      '1 own-key P-256 device': '≤ 12,000 marginal',
      '1 own-key RSA-2048 device': '≤ 45,000 marginal',
    }
    rows.push({what: 'heartbeat, first of a host (0 devices)', gas: first.get('0 devices')!})
    rows.push({what: 'heartbeat, first of a host (8 committed devices)', gas: first.get('8 committed devices')!})
    rows.push({what: 'heartbeat, first write of a ring slot (8 committed, 2nd epoch)', gas: ringFirst.get('8 committed devices')!})
    for (const s of setups) {
      const g = steady.get(s.label)!
      const n = BigInt(Math.max(1, s.devs.length))
      rows.push({
        what: `heartbeat (steady, ${CHALLENGE_WINDOW + 2n}th epoch): host quote + ${s.label}`,
        gas: g,
        marginal: s.devs.length === 0 ? undefined : (g - base) / n,
        goal: goals[s.label],
      })
    }

    // the challenge game on the 1-committed host: the steady epoch's heartbeat, challenged in the next one
    const game = hosts.find((h) => h.label === '1 committed device')!
    const eight = hosts.find((h) => h.label === '8 committed devices')!
    await kit.nextEpoch(url, verifier)
    const challenger = await kit.clientFor(url, poci)
    clients.push(challenger)
    const opened = await openChallenge(challenger, game.last!.target)
    rows.push({what: 'challenge (deposit, record check)', gas: opened.gasUsed})
    const answered = await answerChallenge(game.op, {challengeId: opened.challengeId, publicKey: game.devs[0]!.publicKey, report: game.last!.reports[0]!})
    rows.push({what: `answer (on-chain P-384 over a ${game.last!.reports[0]!.length}-byte SPDM report)`, gas: answered.gasUsed, goal: '≤ 5,000,000'})
    // an unanswered challenge of the 8-committed host, slashed after the deadline
    const unanswered = await openChallenge(challenger, eight.last!.target)
    await kit.mine(url, Number(unanswered.deadline) - (await verifier.provider.getBlockNumber()))
    rows.push({what: 'slash (no answer: revoke, forfeit, bounty mint, deposit back)', gas: (await slashChallenge(challenger, unanswered.challengeId)).gasUsed})

    // the same heartbeat path with a real TPM: an ECC P-256 AK in swtpm, quoted by tpm2-tools (4 PCRs)
    const tpm = await startSwtpm().catch((error: Error) => {
      console.error(`(no swtpm row: ${error.message.split('\n')[0]})`)
      return undefined
    })
    if (tpm)
      try {
        const ak = new kit.SwtpmAk(tpm.tcti).create()
        const op = await kit.clientFor(url, poci)
        clients.push(op)
        await kit.approveHost(verifier, op, await kit.registerHost(op, ak, {kind: DeviceKind.HOST_TPM}), {power: 10n})
        await heartbeat(op, await kit.buildBeat(op, ak, []))
        await kit.nextEpoch(url, verifier)
        rows.push({what: 'heartbeat: real swtpm quote (4 PCRs) + 0 devices', gas: (await heartbeat(op, await kit.buildBeat(op, ak, []))).gasUsed})
      } finally {
        tpm.stop()
      }
    const claimed = await claim(hosts[0]!.op, {id: hosts[0]!.host.hostId})
    rows.push({what: 'claim (mint to payout)', gas: claimed.gasUsed})
    return rows
  } finally {
    for (const c of clients) disconnect(c)
    anvil.stop()
  }
}
