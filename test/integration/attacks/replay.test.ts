/**
 * Attack (issue 9 #3): several credits per epoch by replay. v1: heartbeat → release → re-send the old
 * register bytes → re-approved → re-send the same heartbeat calldata earned again in the same epoch.
 * v2: the register challenge carries the key's registration nonce (it moved), and the host's credit
 * memory survives release.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {heartbeat, heartbeatCallArgs} from '../../../src/chain/heartbeat.js'
import {registrationNonce} from '../../../src/chain/register.js'
import {sendTx} from '../../../src/chain/tx.js'
import {deviceIdOf} from '../../../src/evidence/nonce.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {anvilUrl, swtpm} from '../../helpers/env.js'
import {SwtpmAk, approveHost, buildBeat, clientFor, deployFresh, nextEpoch, registerHost, revertName, roomInEpoch, type Deployment} from '../chain/helpers.js'

describe('attack: replay of registration and heartbeat across a release', () => {
  const url = anvilUrl()
  let dep: Deployment
  let op: ChainClient
  let ak: SwtpmAk

  beforeAll(async () => {
    dep = await deployFresh(url, {epochBlocks: 50})
    op = await clientFor(url, dep.deployed.poci)
    ak = new SwtpmAk(swtpm().tcti).create()
  })
  afterAll(() => {
    for (const c of [dep?.verifier, op]) if (c) disconnect(c)
  })

  it('refuses the old register bytes (WrongExtraData) and the old heartbeat calldata (AlreadyCredited)', async () => {
    const hostId = bytesToHex(deviceIdOf(ak.publicKey))
    const first = await registerHost(op, ak, {kind: DeviceKind.HOST_TPM})
    const oldRegister = op.poci!.interface.decodeFunctionData('register', (await op.provider.getTransaction(first.txHash))!.data)
    await approveHost(dep.verifier, op, first, {power: 10n})
    await roomInEpoch(url, op, 10)

    // a real swtpm quote credits this epoch
    const beat = await buildBeat(op, ak, [])
    const credited = await heartbeat(op, beat)
    const oldHeartbeat = heartbeatCallArgs(beat)

    // release pays out and unbinds; the old registration bytes no longer match the register challenge
    await release(op, {deviceId: hostId})
    expect(await registrationNonce(op, hostId)).toBe(1n)
    const deposit = dep.deployed.registrationDeposit
    expect(await revertName(sendTx(op, op.poci!, 'register', [...oldRegister], 'register', {value: deposit}))).toBe('WrongExtraData')

    // an honest re-registration (new nonce, new regId) is approved again...
    const second = await registerHost(op, ak, {kind: DeviceKind.HOST_TPM})
    expect(second.nonce).toBe(1n)
    expect(second.regId).not.toBe(first.regId)
    await approveHost(dep.verifier, op, second, {power: 10n})

    // ...but the epoch it was credited for stays credited: the old calldata and a fresh quote are refused
    expect((await challengeBlock(op)).epoch).toBe(credited.epoch)
    expect(await revertName(sendTx(op, op.poci!, 'heartbeat', oldHeartbeat, 'heartbeat'))).toBe('AlreadyCredited')
    expect(await revertName(heartbeat(op, await buildBeat(op, ak, [])))).toBe('AlreadyCredited')

    // the honest flow still earns in the next epoch
    await nextEpoch(url, op)
    expect((await heartbeat(op, await buildBeat(op, ak, []))).reward).toBe(10n * dep.deployed.rewardPerPowerEpoch)
  })
})
