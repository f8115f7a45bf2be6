/**
 * Attack (issue 9 #3): several credits per epoch by replay. v1: heartbeat → release → re-send the old
 * register bytes → re-approved → re-send the same heartbeat calldata earned again in the same epoch.
 * v2: the register challenge carries the key's registration nonce (it moved), and the host's credit
 * memory survives release.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {heartbeat, heartbeatCallArgs} from '../../../src/chain/heartbeat.js'
import {registrationNonce} from '../../../src/chain/register.js'
import {sendTx} from '../../../src/chain/tx.js'
import {deviceIdOf} from '../../../src/evidence/nonce.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {swtpm} from '../../helpers/env.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {SwtpmAk, approveHost, buildBeat, nextEpoch, registerHost, revertName, roomInEpoch} from '../chain/helpers.js'

describe('attack: replay of registration and heartbeat across a release', () => {
  const chain = pociSuite(['op'], {epochBlocks: 50})
  let ak: SwtpmAk

  beforeAll(async () => {
    ak = new SwtpmAk(swtpm().tcti).create()
  })

  it('refuses the old register bytes (WrongExtraData) and the old heartbeat calldata (AlreadyCredited)', async () => {
    const hostId = bytesToHex(deviceIdOf(ak.publicKey))
    const first = await registerHost(chain.op, ak, {kind: DeviceKind.HOST_TPM})
    const oldRegister = chain.op.poci!.interface.decodeFunctionData('register', (await chain.op.provider.getTransaction(first.txHash))!.data)
    await approveHost(chain.verifier, chain.op, first, {power: 10n})
    await roomInEpoch(chain.url, chain.op, 10)

    // a real swtpm quote credits this epoch
    const beat = await buildBeat(chain.op, ak, [])
    const credited = await heartbeat(chain.op, beat)
    const oldHeartbeat = heartbeatCallArgs(beat)

    // release pays out and unbinds; the old registration bytes no longer match the register challenge
    await release(chain.op, {deviceId: hostId})
    expect(await registrationNonce(chain.op, hostId)).toBe(1n)
    const deposit = chain.deployed.registrationDeposit
    expect(await revertName(sendTx(chain.op, chain.op.poci!, 'register', [...oldRegister], 'register', {value: deposit}))).toBe('WrongExtraData')

    // an honest re-registration (new nonce, new regId) is approved again...
    const second = await registerHost(chain.op, ak, {kind: DeviceKind.HOST_TPM})
    expect(second.nonce).toBe(1n)
    expect(second.regId).not.toBe(first.regId)
    await approveHost(chain.verifier, chain.op, second, {power: 10n})

    // ...but the epoch it was credited for stays credited: the old calldata and a fresh quote are refused
    expect((await challengeBlock(chain.op)).epoch).toBe(credited.epoch)
    expect(await revertName(sendTx(chain.op, chain.op.poci!, 'heartbeat', oldHeartbeat, 'heartbeat'))).toBe('AlreadyCredited')
    expect(await revertName(heartbeat(chain.op, await buildBeat(chain.op, ak, [])))).toBe('AlreadyCredited')

    // the honest flow still earns in the next epoch
    await nextEpoch(chain.url, chain.op)
    expect((await heartbeat(chain.op, await buildBeat(chain.op, ak, []))).reward).toBe(10n * chain.deployed.rewardPerPowerEpoch)
  })
})
