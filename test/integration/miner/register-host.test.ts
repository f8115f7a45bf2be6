import {randomBytes} from 'node:crypto'

import {keccak256} from 'ethers'
import {afterAll, describe, expect, it} from 'vitest'

import {approve, challengeCredential, reject} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {registrationNonce} from '../../../src/chain/register.js'
import {registrations, registrationState, type Registration} from '../../../src/chain/registrations.js'
import type {ResolvedConfig} from '../../../src/config/index.js'
import {decodeEvidence, type HostEvidence} from '../../../src/evidence/index.js'
import {credentialChallengeFor} from '../../../src/hw/tpm2/activation.js'
import {registerDevices} from '../../../src/miner/register-devices.js'
import {registerHost} from '../../../src/miner/register-host.js'
import type {MinerSession} from '../../../src/miner/miner-session.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {anvilUrl} from '../../helpers/env.js'
import {swtpmEngine} from '../../helpers/swtpm-engine.js'
import {clientFor, deployFresh, type Deployment} from '../chain/helpers.js'

type Verdict = {approve: bigint} | {reject: string} | 'silent'

/**
 * The verifier's side of a host-tpm registration, driven by the test with the project's own pieces
 * (credentialChallengeFor = MakeCredential to the EK in the evidence, bound to the AK's name; the
 * chain's challengeCredential/approve/reject): for each pending registration it sees, it posts a
 * credential challenge, and approves (with the EK id) once the operator's activation is on chain, or
 * rejects with a reason.
 */
function runTestVerifier(verifier: ChainClient, fromBlock: number, verdict: (reg: Registration) => Verdict, signal: AbortSignal): Promise<void> {
  const seen = new Set<string>()
  const decide = async (reg: Registration, v: Exclude<Verdict, 'silent'>) => {
    if ('reject' in v) return void (await reject(verifier, {regId: reg.regId, reason: v.reject}))
    const {device} = decodeEvidence(reg.evidence) as HostEvidence
    const secret = Uint8Array.from(randomBytes(32))
    const made = credentialChallengeFor(device.ekPublic!, device.akPublic!, secret, reg.regId)
    await challengeCredential(verifier, {
      regId: reg.regId,
      credentialBlob: made.credentialBlob,
      encryptedSecret: made.encryptedSecret,
      commitment: bytesToHex(made.commitment!),
    })
    while (!signal.aborted && !(await registrationState(verifier, reg.regId)).activated) await new Promise((r) => setTimeout(r, 200))
    if (!signal.aborted) await approve(verifier, {regId: reg.regId, power: v.approve, ekId: keccak256(device.ekPublic!)})
  }
  return (async () => {
    while (!signal.aborted) {
      for (const reg of await registrations(verifier, {fromBlock})) {
        const v = verdict(reg)
        if (v === 'silent' || seen.has(reg.regId) || (await registrationState(verifier, reg.regId)).status !== 'pending') continue
        seen.add(reg.regId)
        await decide(reg, v)
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  })()
}

describe('register-host: a swtpm host through credential activation, resume, rejection (real anvil + swtpm)', () => {
  const swtpmHost = swtpmEngine({own: true})
  const clients: ChainClient[] = []
  afterAll(() => {
    for (const c of clients) disconnect(c)
  })

  /** A fresh contract (emulators refused), an operator session on the swtpm, and a test verifier to steer. */
  async function setUp() {
    const dep: Deployment = await deployFresh(anvilUrl(), {allowEmulator: false})
    const client = await clientFor(anvilUrl(), dep.deployed.poci)
    clients.push(client, dep.verifier)
    const identity = await swtpmHost.engine.identity()
    const session = (operatorClient: ChainClient, payout = '0x00000000000000000000000000000000000000A1'): MinerSession => ({
      resolved: {} as ResolvedConfig, // not read by the registration workflows
      client: operatorClient,
      engine: swtpmHost.engine,
      identity,
      hostId: identity.deviceId,
      hostKind: DeviceKind.HOST_TPM,
      operator: operatorClient.signer!.address,
      payout,
      close: () => undefined,
    })
    let verdict: (reg: Registration) => Verdict = () => ({approve: 10n})
    const stop = new AbortController()
    const verifierLoop = runTestVerifier(dep.verifier, dep.deployed.blockNumber, (reg) => verdict(reg), stop.signal)
    return {
      dep,
      client,
      session,
      setVerdict: (v: Verdict | ((reg: Registration) => Verdict)) => (verdict = typeof v === 'function' ? v : () => v),
      stop: async () => {
        stop.abort()
        await verifierLoop
      },
    }
  }

  /** A test on its own contract and test verifier (setUp), the verifier loop stopped however the test ends. */
  function scenario(name: string, body: (t: Awaited<ReturnType<typeof setUp>>) => Promise<void>): void {
    it(
      name,
      async () => {
        const t = await setUp()
        try {
          await body(t)
        } finally {
          await t.stop()
        }
      },
      120_000,
    )
  }

  scenario('registers, answers the credential challenge with the real TPM, and is approved; the secret is never in the progress lines', async (t) => {
    const lines: string[] = []
    const out = await registerHost(t.session(t.client), {waitMs: 60_000, onProgress: (m) => lines.push(m)})
    expect(out).toMatchObject({action: 'registered', status: 'approved', approved: true, power: '10', kind: 'host-tpm', engine: 'tpm2'})
    expect(out.regId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(lines).toContain("answering the verifier's credential challenge (TPM2_ActivateCredential)")
    const state = await registrationState(t.client, out.regId)
    expect(state).toMatchObject({status: 'approved', activated: true})
    // the secret the contract checked is not in any progress line (nor is anything 32 bytes long)
    expect(lines.join('\n')).not.toMatch(/[0-9a-f]{64}/i)

    // re-running reports the bound host and sends nothing
    const again = await registerHost(t.session(t.client), {waitMs: 0})
    expect(again).toMatchObject({action: 'already-registered', approved: true, regId: out.regId, power: '10'})
    expect(await registrationNonce(t.client, out.deviceId)).toBe(1n)
  })

  scenario('a run that stops waiting leaves the registration pending; the next run resumes it (no second registration) and activates it', async (t) => {
    t.setVerdict('silent')
    const first = await registerHost(t.session(t.client), {waitMs: 0})
    expect(first).toMatchObject({action: 'registered', status: 'pending', approved: false})
    t.setVerdict({approve: 7n})
    const lines: string[] = []
    const resumed = await registerHost(t.session(t.client), {waitMs: 60_000, onProgress: (m) => lines.push(m)})
    expect(resumed).toMatchObject({action: 'resumed', regId: first.regId, status: 'approved', power: '7'})
    expect(resumed).not.toHaveProperty('txHash')
    expect(lines[0]).toBe(`resuming the pending registration ${first.regId}`)
    expect(lines).toContain("answering the verifier's credential challenge (TPM2_ActivateCredential)")
    expect(await registrationNonce(t.client, first.deviceId)).toBe(1n)
  })

  scenario("a rejection reports the verifier's reason from its Rejected event; the next run registers anew", async (t) => {
    t.setVerdict({reject: 'EK certificate does not chain to a trusted root'})
    const out = await registerHost(t.session(t.client), {waitMs: 60_000})
    expect(out).toMatchObject({action: 'registered', status: 'rejected', approved: false, reason: 'EK certificate does not chain to a trusted root'})
    t.setVerdict({approve: 10n})
    const again = await registerHost(t.session(t.client), {waitMs: 60_000})
    expect(again).toMatchObject({action: 'registered', status: 'approved'})
    expect(again.regId).not.toBe(out.regId)
    expect(await registrationNonce(t.client, out.deviceId)).toBe(2n)
  })

  scenario('a host key bound to another operator is a clear error; devices are refused before the host is approved', async (t) => {
    t.setVerdict('silent')
    // our own pending host: no accelerator may register under it yet (NotApproved on chain)
    await registerHost(t.session(t.client), {waitMs: 0})
    await expect(registerDevices(t.session(t.client), {}, {waitMs: 0})).rejects.toMatchObject({message: expect.stringMatching(/only under an approved host/)})

    // another operator with the same TPM gets it approved; a pending claim never blocks anyone
    const other = await clientFor(anvilUrl(), t.dep.deployed.poci)
    clients.push(other)
    t.setVerdict((reg) => (reg.operator === other.signer!.address ? {approve: 10n} : 'silent'))
    expect(await registerHost(t.session(other), {waitMs: 60_000})).toMatchObject({status: 'approved'})
    await expect(registerHost(t.session(t.client), {waitMs: 0})).rejects.toMatchObject({
      exitCode: 15,
      message: `this host key is bound to another operator (${other.signer!.address})`,
    })
  })
})
