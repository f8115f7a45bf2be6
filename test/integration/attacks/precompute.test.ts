/**
 * Attack (issue 10 #1): precomputed quotes. v1 could not tell which epoch a challenge block belonged to:
 * four quotes made at once at one block earned four epochs after the TPM went away, and one online moment
 * at an epoch boundary earned two. v2 counts epochs in blocks and credits epoch e only for a B inside e.
 */
import {beforeAll, describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {heartbeat, type HeartbeatParams} from '../../../src/chain/heartbeat.js'
import {swtpm} from '../../helpers/env.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {SwtpmAk, approveHost, buildBeat, mine, nextEpoch, registerHost, reverted} from '../chain/helpers.js'

const EPOCH_BLOCKS = 20

describe('attack: quotes made ahead of their epoch', () => {
  const chain = pociSuite(['op'], {epochBlocks: EPOCH_BLOCKS})
  let ak: SwtpmAk

  beforeAll(async () => {
    ak = new SwtpmAk(swtpm().tcti).create()
    await approveHost(chain.verifier, chain.op, await registerHost(chain.op, ak, {kind: DeviceKind.HOST_TPM}), {power: 10n})
  })

  it('four real quotes made at one block B of epoch 1: only epoch 1 is creditable, epochs 2-4 revert StaleBlock', async () => {
    const b = await challengeBlock(chain.op)
    expect(b.epoch).toBe(1n)
    const quotes: HeartbeatParams[] = []
    for (let k = 0n; k < 4n; k++) quotes.push(await buildBeat(chain.op, ak, [], {block: b, epoch: b.epoch + k}))
    // from here on the TPM is not asked again
    await heartbeat(chain.op, quotes[0]!)
    for (let k = 1; k < 4; k++) {
      const epoch = await nextEpoch(chain.url, chain.op)
      expect(epoch).toBe(b.epoch + BigInt(k))
      const start = b.epochStartBlock + BigInt(k * EPOCH_BLOCKS)
      expect(await reverted(heartbeat(chain.op, quotes[k]!))).toEqual({
        name: 'StaleBlock',
        args: {blockNumber: b.blockNumber.toString(), minBlock: start.toString()},
      })
    }
  })

  it('a B from the previous epoch is refused one block after the boundary; a B inside the epoch is credited', async () => {
    // the last block of an epoch: a quote there, naming the next epoch, sent as soon as it starts
    const cb = await challengeBlock(chain.op)
    await mine(chain.url, Number(cb.blocksLeft))
    const last = await challengeBlock(chain.op)
    expect(last.blocksLeft).toBe(0n)
    const early = await buildBeat(chain.op, ak, [], {block: last, epoch: last.epoch + 1n})
    await mine(chain.url, 1) // the first block of the next epoch
    const first = await challengeBlock(chain.op)
    expect(first.epoch).toBe(last.epoch + 1n)
    expect(first.blockNumber).toBe(first.epochStartBlock)
    expect(await reverted(heartbeat(chain.op, early))).toEqual({
      name: 'StaleBlock',
      args: {blockNumber: last.blockNumber.toString(), minBlock: first.epochStartBlock.toString()},
    })
    const honest = await heartbeat(chain.op, await buildBeat(chain.op, ak, []))
    expect(honest.epoch).toBe(first.epoch)
    expect(honest.reward).toBe(10n * chain.deployed.rewardPerPowerEpoch)
  })
})
