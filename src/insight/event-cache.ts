import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import type {ChainClient} from '../chain/client.js'
import type {Deployment, RewardEvent} from '../chain/reward-events.js'
import {chainKey, type ChainIdentity} from '../util/chain-identity.js'
import {writeFileAtomic} from '../util/files.js'

/**
 * The reward events of a deployment, scanned once and kept in the cache dir. The file is keyed by
 * chain id + contract address + genesis block hash, so a reset devnet (same chain id and contract
 * address, new genesis) never reads another chain's events; on load the hash of the last cached
 * block must still be the chain's (a reorg below it or a swapped node drops the cache). Blocks
 * younger than FINALITY_BLOCKS are scanned every time and never stored.
 */
const FINALITY_BLOCKS = 12
const VERSION = 1

export interface RewardEventSet {
  identity: ChainIdentity
  deployment: Deployment
  events: RewardEvent[]
  /** Unix seconds of every block holding a heartbeat or claim. */
  times: Map<number, number>
  /** The chain head the set is complete up to. */
  head: number
  /** Blocks read from the node this time (the rest came from the cache). */
  scanned: {fromBlock: number; toBlock: number}
  cachedTo: number
  /** Why the cache could not be written (the result is still complete; the next run scans again). */
  cacheError?: string
}

interface CacheFile {
  version: number
  key: string
  /** Blocks [deployment.deployBlock, scannedTo] are in `events`; scannedToHash is block scannedTo's hash. */
  scannedTo: number
  scannedToHash: string
  events: RewardEvent[]
  times: Record<string, number>
}

export interface LoadOptions {
  cacheDir: string
  /** Called with (blocks done, blocks to do) while scanning. */
  onProgress?: (done: number, total: number) => void
  /** Called once before scanning with the number of blocks to read from the node. */
  onScanStart?: (blocks: number) => void | Promise<void>
}

export function cacheFile(cacheDir: string, identity: ChainIdentity): string {
  const name = createHash('sha256').update(chainKey(identity)).digest('hex').slice(0, 24)
  return join(cacheDir, 'chain-events', `${name}.json`)
}

export async function loadRewardEvents(client: ChainClient, options: LoadOptions): Promise<RewardEventSet> {
  const {readDeployment, headAndHash, scanRewardEvents, blockTimes} = await import('../chain/reward-events.js')
  const {readChainIdentity} = await import('../chain/chain-identity.js')
  const [identity, deployment] = await Promise.all([readChainIdentity(client), readDeployment(client)])
  const file = cacheFile(options.cacheDir, identity)
  let cached = readCache(file, chainKey(identity))
  const {head, hash} = await headAndHash(client, cached?.scannedTo)
  if (cached && hash !== cached.scannedToHash) cached = undefined
  const start = cached ? cached.scannedTo + 1 : deployment.deployBlock
  const total = Math.max(0, head - start + 1)
  await options.onScanStart?.(total)
  const fresh = total > 0 ? await scanRewardEvents(client, start, head, (to) => options.onProgress?.(to - start + 1, total)) : []
  const events = [...(cached?.events ?? []), ...fresh]
  const times = new Map(Object.entries(cached?.times ?? {}).map(([b, t]) => [Number(b), t]))
  const missing = [...new Set(events.filter((e) => (e.type === 'heartbeat' || e.type === 'claimed') && !times.has(e.block)).map((e) => e.block))]
  for (const [b, t] of await blockTimes(client, missing)) times.set(b, t)

  let cacheError: string | undefined
  const finalTo = Math.max(cached?.scannedTo ?? deployment.deployBlock - 1, head - FINALITY_BLOCKS)
  if (finalTo > (cached?.scannedTo ?? deployment.deployBlock - 1)) {
    const {hash: finalHash} = await headAndHash(client, finalTo)
    const kept = events.filter((e) => e.block <= finalTo)
    const keptTimes = Object.fromEntries([...times].filter(([b]) => b <= finalTo))
    if (finalHash)
      cacheError = writeCache(file, {version: VERSION, key: chainKey(identity), scannedTo: finalTo, scannedToHash: finalHash, events: kept, times: keptTimes})
  }
  const cachedTo = cached?.scannedTo ?? deployment.deployBlock - 1
  return {identity, deployment, events, times, head, scanned: {fromBlock: start, toBlock: head}, cachedTo, ...(cacheError ? {cacheError} : {})}
}

function readCache(file: string, key: string): CacheFile | undefined {
  if (!existsSync(file)) return undefined
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile
    // a foreign, older or damaged file is only a cache: scan again rather than fail
    if (c.version !== VERSION || c.key !== key || !Array.isArray(c.events) || typeof c.scannedTo !== 'number') return undefined
    return c
  } catch {
    return undefined
  }
}

/** A cache that cannot be written costs a rescan next time, not this result: the reason is returned, not thrown. */
function writeCache(file: string, c: CacheFile): string | undefined {
  try {
    writeFileAtomic(file, JSON.stringify(c) + '\n')
    return undefined
  } catch (error) {
    return `cannot write the event cache ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`
  }
}
