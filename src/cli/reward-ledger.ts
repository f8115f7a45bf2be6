import type {ChainClient} from '../chain/client.js'
import type {NetworkProfile} from '../config/index.js'
import type {RewardEventSet} from '../insight/event-cache.js'
import type {HostLedger} from '../insight/reward-ledger.js'
import type {Steps} from './spinner.js'

/** A scan of fewer blocks (a warm cache's tail: the unfinal blocks plus those since the last run) shows no progress line. */
const LONG_SCAN_BLOCKS = 64

/**
 * The reward events (cached) and their ledger, with a spinner while a long scan runs (the command's
 * steps: a terminal only, so --json and piped output stay clean).
 */
export async function readLedger(
  client: ChainClient,
  cacheDir: string,
  progress: Steps,
  warn: (message: string) => void,
): Promise<{set: RewardEventSet; ledger: Map<string, HostLedger>}> {
  const {readRewardLedger} = await import('../insight/reward-history.js')
  try {
    const {set, ledger} = await readRewardLedger(client, {
      cacheDir,
      onScanStart: async (blocks) => {
        if (blocks >= LONG_SCAN_BLOCKS) progress.start(`scanning ${blocks} blocks for reward events`)
      },
      onProgress: (done, total) => progress.update(`scanning blocks for reward events: ${done}/${total} (${Math.floor((done / total) * 100)}%)`),
    })
    progress.stop()
    if (set.cacheError) warn(set.cacheError)
    return {set, ledger}
  } catch (error) {
    progress.fail()
    throw error
  }
}

/**
 * A read-only command's way to the ledger: connects to the profile's node, reads the ledger as
 * readLedger does, gives `use` the client and the ledger, and disconnects whatever happens.
 */
export async function withLedger<T>(
  profile: NetworkProfile,
  o: {cacheDir: string; progress: Steps; warn: (message: string) => void},
  use: (client: ChainClient, read: {set: RewardEventSet; ledger: Map<string, HostLedger>}) => Promise<T> | T,
): Promise<T> {
  const {withClient} = await import('../chain/client.js')
  return withClient(profile, async (client) => use(client, await readLedger(client, o.cacheDir, o.progress, o.warn)))
}
