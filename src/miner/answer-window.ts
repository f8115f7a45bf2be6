import {epochTiming} from '../chain/block.js'
import {requirePoci, type ChainClient} from '../chain/client.js'
import {callView} from '../chain/tx.js'

/**
 * Blocks from a challenge to its answer deadline (the contract's ANSWER_EPOCHS × epochBlocks): no
 * challenge that can still be answered was opened longer ago, so scans of Challenged events start there.
 */
export async function answerWindowBlocks(client: ChainClient): Promise<bigint> {
  const [answerEpochs, timing] = await Promise.all([callView<bigint>(requirePoci(client), 'ANSWER_EPOCHS', [], 'read ANSWER_EPOCHS'), epochTiming(client)])
  return answerEpochs * timing.epochBlocks
}
