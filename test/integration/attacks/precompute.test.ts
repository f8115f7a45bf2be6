/**
 * Attack (issue 10 #1): precomputed quotes. v1 could not tell which epoch a challenge block belonged to:
 * four quotes made at once at one block earned four epochs after the TPM went away, and one online moment
 * at an epoch boundary earned two. v2 counts epochs in blocks and credits epoch e only for a B inside e.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {heartbeat, type HeartbeatParams} from '../../../src/chain/heartbeat.js'
import {anvilUrl, swtpm} from '../../helpers/env.js'
import {SwtpmAk, approveHost, buildBeat, clientFor, deployFresh, mine, nextEpoch, registerHost, reverted, type Deployment} from '../chain/helpers.js'

const EPOCH_BLOCKS = 20

describe('attack: quotes made ahead of their epoch', () => {
  const url = anvilUrl()
  let dep: Deployment
  let op: ChainClient
  let ak: SwtpmAk

  beforeAll(async () => {
    dep = await deployFresh(url, {epochBlocks: EPOCH_BLOCKS})
    op = await clientFor(url, dep.deployed.poci)
    ak = new SwtpmAk(swtpm().tcti).create()
    await approveHost(dep.verifier, op, await registerHost(op, ak, {kind: DeviceKind.HOST_TPM}), {power: 10n})
  })
  afterAll(() => {
    for (const c of [dep?.verifier, op]) if (c) disconnect(c)
  })

  it('four real quotes made at one block B of epoch 1: only epoch 1 is creditable, epochs 2-4 revert StaleBlock', async () => {
    const b = await challengeBlock(op)
    expect(b.epoch).toBe(1n)
    const quotes: HeartbeatParams[] = []
    for (let k = 0n; k < 4n; k++) quotes.push(await buildBeat(op, ak, [], {block: b, epoch: b.epoch + k}))
    // from here on the TPM is not asked again
    await heartbeat(op, quotes[0]!)
    for (let k = 1; k < 4; k++) {
      const epoch = await nextEpoch(url, op)
      expect(epoch).toBe(b.epoch + BigInt(k))
      const start = b.epochStartBlock + BigInt(k * EPOCH_BLOCKS)
      expect(await reverted(heartbeat(op, quotes[k]!))).toEqual({name: 'StaleBlock', args: {blockNumber: b.blockNumber.toString(), minBlock: start.toString()}})
    }
  })

  it('a B from the previous epoch is refused one block after the boundary; a B inside the epoch is credited', async () => {
    // the last block of an epoch: a quote there, naming the next epoch, sent as soon as it starts
    const cb = await challengeBlock(op)
    await mine(url, Number(cb.blocksLeft))
    const last = await challengeBlock(op)
    expect(last.blocksLeft).toBe(0n)
    const early = await buildBeat(op, ak, [], {block: last, epoch: last.epoch + 1n})
    await mine(url, 1) // the first block of the next epoch
    const first = await challengeBlock(op)
    expect(first.epoch).toBe(last.epoch + 1n)
    expect(first.blockNumber).toBe(first.epochStartBlock)
    expect(await reverted(heartbeat(op, early))).toEqual({
      name: 'StaleBlock',
      args: {blockNumber: last.blockNumber.toString(), minBlock: first.epochStartBlock.toString()},
    })
    const honest = await heartbeat(op, await buildBeat(op, ak, []))
    expect(honest.epoch).toBe(first.epoch)
    expect(honest.reward).toBe(10n * dep.deployed.rewardPerPowerEpoch)
  })
})
