import {join} from 'node:path'

import {keccak256} from 'ethers'
import {describe, expect, it} from 'vitest'

import {activate, approve, release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeState} from '../../../src/chain/challenge.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {credentialChallenges, registrationState} from '../../../src/chain/registrations.js'
import {activateCredential} from '../../../src/hw/tpm2/activation.js'
import {loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {auditDecisions} from '../../../src/verifier/audit.js'
import {CONTRACT_MAX_POWER} from '../../../src/evidence/power-table.js'
import type {DecisionRecord, SpotCheckRecord} from '../../../src/verifier/service.js'
import {swtpm} from '../../helpers/env.js'
import {swtpmEngine} from '../../helpers/swtpm-engine.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, buildBeat, emulatorHost, mine, nextEpoch, p256Device, p384Device, registerDevice, registerHost} from '../chain/helpers.js'
import {devnetPolicy, emulatorEngine, registerHostWith, tempDir, verifierPass} from './helpers.js'

const decisionsOf = (records: unknown[]) => records.filter((r): r is DecisionRecord => (r as DecisionRecord).type === 'decision')

describe('verifier service: isolation, cursor, audit (real anvil)', () => {
  const chain = pociSuite(['op'], {epochBlocks: 50})
  const cursorFile = join(tempDir(), 'cursor.json')

  it("the power table stays within the contract's maxPower for every kind", async () => {
    for (const [kind, cap] of Object.entries(CONTRACT_MAX_POWER)) expect(await chain.op.poci!.getFunction('maxPower').staticCall(Number(kind))).toBe(cap)
  })

  it('records a reverting approve (HostChanged) once, still decides the next registration, and decides nothing twice after a restart', async () => {
    // a stale device: registered under an approved host that is then released
    const hostReg = await registerHostWith(chain.op, await emulatorEngine())
    await approveHost(chain.verifier, chain.op, hostReg)
    const stale = await registerDevice(chain.op, p256Device(), hostReg.deviceId)
    await release(chain.op, {deviceId: hostReg.deviceId})
    // the next registration: an emulator host with evidence over its challenge
    const next = await registerHostWith(chain.op, await emulatorEngine())
    // and one the policy refuses: a host without evidence
    const bare = await registerHost(chain.op, emulatorHost())

    const options = {policy: devnetPolicy(), cursorFile, fromBlock: chain.deployed.blockNumber}
    const first = decisionsOf(await verifierPass(chain.verifier, options))
    expect(first.map((d) => [d.regId, d.outcome, d.revert])).toEqual([
      [stale.regId, 'reverted', 'HostChanged'],
      [next.regId, 'approved', undefined],
      [bare.regId, 'rejected', undefined],
    ])
    expect(first[1]).toMatchObject({deviceId: next.deviceId, kind: 'host-emulator', approve: true, power: '1', txHash: next.txHash})
    expect(first[1]!.onChainTx).toMatch(/^0x[0-9a-f]{64}$/)
    expect(first[2]!.reasons).toEqual(['a host-emulator registration must carry emulator evidence'])
    expect((await registrationState(chain.op, next.regId)).status).toBe('approved')
    expect((await registrationState(chain.op, stale.regId)).status).toBe('pending')

    // a restart (a new service on the same cursor) decides nothing again, then decides what is new
    expect(await verifierPass(chain.verifier, options)).toEqual([])
    const later = await registerDevice(chain.op, p256Device(), next.deviceId)
    const again = decisionsOf(await verifierPass(chain.verifier, options))
    expect(again.map((d) => [d.regId, d.outcome, d.power])).toEqual([[later.regId, 'approved', '100']])
  })

  it('audit: every decision so far recomputes to what is on chain', async () => {
    const report = await auditDecisions(chain.op, devnetPolicy(), {fromBlock: chain.deployed.blockNumber})
    // the host approved by hand (approveHost: power 1, what the policy gives it) and the service's three decisions
    expect(report.mismatches).toEqual([])
    expect(report.checked).toBe(4)
  })
})

describe('verifier service: an honest swtpm host is approved after credential activation', () => {
  const chain = pociSuite(['op'], {allowEmulator: false})
  const tpm = swtpmEngine()

  it('posts MakeCredential for (EK, AK name), waits, and approves with the EK id once the agent answered', async () => {
    const policy = {network: 'test', allowEmulator: false, tpmRoots: loadTrustRoots([swtpm().caRootPath, swtpm().caIssuerPath])}
    const options = {policy, cursorFile: join(tempDir(), 'cursor.json'), fromBlock: chain.deployed.blockNumber, activationTimeoutBlocks: 50}
    const reg = await registerHostWith(chain.op, tpm.engine, DeviceKind.HOST_TPM)
    const ekPublic = reg.evidence.device.ekPublic!

    const posted = decisionsOf(await verifierPass(chain.verifier, options))
    expect(posted.map((d) => [d.regId, d.outcome])).toEqual([[reg.regId, 'challenged']])
    expect(posted[0]!.ekId).toBe(keccak256(ekPublic))
    // waiting: another pass changes nothing
    expect(await verifierPass(chain.verifier, options)).toEqual([])
    expect((await registrationState(chain.op, reg.regId)).status).toBe('pending')

    // the agent's half: read the challenge back from chain, ActivateCredential on the TPM, answer
    const [challenge] = await credentialChallenges(chain.op, {fromBlock: reg.blockNumber, regId: reg.regId})
    const secret = await activateCredential(tpm.engine, challenge!.credentialBlob, challenge!.encryptedSecret, ekPublic)
    await activate(chain.op, {regId: reg.regId, secret})

    const approved = decisionsOf(await verifierPass(chain.verifier, options))
    expect(approved.map((d) => [d.regId, d.outcome, d.power, d.ekId])).toEqual([[reg.regId, 'approved', '10', keccak256(ekPublic)]])
    expect((await registrationState(chain.op, reg.regId)).status).toBe('approved')
    expect(await chain.op.poci!.getFunction('ekHost').staticCall(keccak256(ekPublic))).toBe(reg.deviceId)
    const report = await auditDecisions(chain.op, policy, {fromBlock: chain.deployed.blockNumber})
    expect(report).toMatchObject({checked: 1, mismatches: []})
  })
})

describe('verifier service: spot checks of committed (P-384) heartbeats', () => {
  const epochBlocks = 12
  const chain = pociSuite(['op'], {epochBlocks})

  it('challenges a drawn heartbeat once its epoch is over (fields from its calldata) and slashes it unanswered after the deadline', async () => {
    const host = emulatorHost()
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host))
    const gpu = p384Device()
    const gpuReg = await registerDevice(chain.op, gpu, host.hostId)
    await approve(chain.verifier, {regId: gpuReg.regId, power: 300n, chipId: gpu.chipId})
    const beat = await heartbeat(chain.op, await buildBeat(chain.op, host, [{device: gpu}]))

    const options = {policy: devnetPolicy(), cursorFile: join(tempDir(), 'cursor.json'), fromBlock: beat.blockNumber, spotCheckRate: 1}
    // the draw block (the first of the next epoch) does not exist yet: nothing happens
    expect(await verifierPass(chain.verifier, options)).toEqual([])
    await nextEpoch(chain.url, chain.op)
    const opened = (await verifierPass(chain.verifier, options)) as SpotCheckRecord[]
    expect(opened).toEqual([
      expect.objectContaining({
        type: 'spot-check',
        outcome: 'spot-opened',
        hostId: host.hostId,
        deviceId: gpu.deviceId,
        epoch: beat.epoch.toString(),
        heartbeatTx: beat.txHash,
      }),
    ])
    const challengeId = opened[0]!.challengeId!
    const state = await challengeState(chain.op, challengeId)
    expect(state.status).toBe('open')
    expect(await verifierPass(chain.verifier, options)).toEqual([]) // still inside the answer window

    await mine(chain.url, Number(state.deadline) - (await chain.op.provider.getBlockNumber()) + 1)
    const slashed = (await verifierPass(chain.verifier, options)) as SpotCheckRecord[]
    expect(slashed.map((r) => [r.outcome, r.challengeId])).toEqual([['spot-slashed', challengeId]])
    expect((await challengeState(chain.op, challengeId)).status).toBe('slashed')
    expect((await registrationState(chain.op, gpuReg.regId)).status).toBe('ended') // the device was revoked
  })

  it('rate 0 never challenges', async () => {
    const host = emulatorHost()
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, host))
    const gpu = p384Device()
    await approve(chain.verifier, {regId: (await registerDevice(chain.op, gpu, host.hostId)).regId, power: 300n, chipId: gpu.chipId})
    const beat = await heartbeat(chain.op, await buildBeat(chain.op, host, [{device: gpu}]))
    await nextEpoch(chain.url, chain.op)
    expect(
      await verifierPass(chain.verifier, {policy: devnetPolicy(), cursorFile: join(tempDir(), 'cursor.json'), fromBlock: beat.blockNumber, spotCheckRate: 0}),
    ).toEqual([])
  })
})
