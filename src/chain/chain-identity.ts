import type {ChainIdentity} from '../util/chain-identity.js'
import {ExitCode, UnetError} from '../errors/index.js'
import type {ChainClient} from './client.js'
import {toUnetError} from './tx.js'

/** The identity of the chain `client` talks to: its chain id, the hash of block 0 and its POCI contract. */
export async function readChainIdentity(client: ChainClient): Promise<ChainIdentity> {
  if (!client.pociAddress) throw new UnetError('no POCI contract address configured', ExitCode.NETWORK_NOT_CONFIGURED)
  let genesis
  try {
    genesis = await client.provider.getBlock(0)
  } catch (error) {
    throw toUnetError(error, 'read the genesis block')
  }
  if (!genesis?.hash) throw new UnetError('the node has no genesis block', ExitCode.RPC_UNREACHABLE, {hint: 'check networks.<name>.rpcUrls'})
  return {chainId: client.chainId, genesisHash: genesis.hash.toLowerCase(), contract: client.pociAddress.toLowerCase()}
}

/**
 * Whether `blockHash` is the hash of block `blockNumber` on this chain now: a receipt from a block that
 * a reorg or a restored-from-an-older-dump devnet replaced is no proof of anything.
 */
export async function isCanonicalBlock(client: ChainClient, blockNumber: bigint, blockHash: string): Promise<boolean> {
  let block
  try {
    block = await client.provider.getBlock(blockNumber)
  } catch (error) {
    throw toUnetError(error, 'read a block')
  }
  return block?.hash?.toLowerCase() === blockHash.toLowerCase()
}
