import {Contract, FallbackProvider, JsonRpcProvider, Network, Wallet, type AbstractProvider, type Provider} from 'ethers'

import type {NetworkProfile} from '../config/schema.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {bytesToHex} from '../util/hex.js'
import {loadArtifact} from './artifacts.js'
import {jsonRpc} from './rpc.js'

export interface ChainClient {
  provider: Provider
  /** Present when connect() got a private key. Never logged. */
  signer?: Wallet
  chainId: bigint
  rpcUrls: string[]
  profile: NetworkProfile
  /** The POCI contract (registry = heartbeat = rewards), when the profile names it. */
  poci?: Contract
  pociAddress?: string
  tokenAddress?: string
}

export interface ConnectOptions {
  /** 0x-hex or raw bytes of the operator (or deployer) key. */
  privateKey?: string | Uint8Array
  /** Per-RPC timeout for the chain id probe. */
  timeoutMs?: number
  /** Contract addresses to use instead of the profile's (deploy, tests). */
  pociAddress?: string
  /** Polling interval for receipts, ms (devnet: short). */
  pollingIntervalMs?: number
}

/**
 * Connects to the profile's RPC URLs. Every URL is asked its chain id first: one that answers with
 * another chain id is refused (CHAIN_MISMATCH: acting on the wrong chain must never happen), and if
 * none answers the error is RPC_UNREACHABLE. Several reachable URLs are combined in a FallbackProvider.
 */
export async function connect(profile: NetworkProfile, options: ConnectOptions = {}): Promise<ChainClient> {
  if (profile.rpcUrls.length === 0)
    throw new UnetError(`network "${profile.name}" has no RPC URL`, ExitCode.NETWORK_NOT_CONFIGURED, {
      hint: `set networks.${profile.name}.rpcUrls or pass --rpc-url`,
    })
  const expected = profile.chainId === undefined ? undefined : BigInt(profile.chainId)
  const timeoutMs = options.timeoutMs ?? 5000
  const probes = await Promise.all(profile.rpcUrls.map(async (url) => ({url, result: await probeChainId(url, timeoutMs)})))
  const reachable = probes.filter((p) => typeof p.result === 'bigint') as Array<{url: string; result: bigint}>
  if (reachable.length === 0)
    throw new UnetError(`no RPC endpoint of network "${profile.name}" answers`, ExitCode.RPC_UNREACHABLE, {
      hint: profile.name === 'devnet' ? 'start the local chain with `unet devnet start`' : 'check the network connection and networks.<name>.rpcUrls',
      details: {rpcUrls: probes.map((p) => ({url: p.url, error: String(p.result)}))},
    })
  const chainId = expected ?? reachable[0]!.result
  const wrong = reachable.find((p) => p.result !== chainId)
  if (wrong)
    throw new UnetError(`${wrong.url} serves chain id ${wrong.result}, but network "${profile.name}" is chain ${chainId}`, ExitCode.CHAIN_MISMATCH, {
      hint: 'fix networks.<name>.rpcUrls / chainId; unet refuses to act on another chain',
      details: {url: wrong.url, expected: chainId.toString(), actual: wrong.result.toString()},
    })
  const network = Network.from(chainId)
  const pollingInterval = options.pollingIntervalMs ?? (chainId === 31337n ? 200 : 2000)
  // cacheTimeout -1: ethers otherwise answers repeated calls (nonce, latest block) from a 250 ms cache
  const providers = reachable.map((p) => {
    const provider = new JsonRpcProvider(p.url, network, {staticNetwork: network, batchMaxCount: 1, cacheTimeout: -1})
    provider.pollingInterval = pollingInterval
    return provider
  })
  const provider: AbstractProvider =
    providers.length === 1
      ? providers[0]!
      : new FallbackProvider(
          providers.map((provider, i) => ({provider, priority: i + 1, weight: 1, stallTimeout: 1500})),
          network,
          {quorum: 1, cacheTimeout: -1, pollingInterval},
        )
  const client: ChainClient = {provider, chainId, rpcUrls: reachable.map((p) => p.url), profile}
  if (options.privateKey !== undefined) {
    const key = typeof options.privateKey === 'string' ? options.privateKey : bytesToHex(options.privateKey)
    client.signer = new Wallet(key, provider)
  }
  const pociAddress = options.pociAddress ?? profile.contracts.heartbeat ?? profile.contracts.registry
  if (pociAddress) attachPoci(client, pociAddress, profile.contracts.token)
  return client
}

export function attachPoci(client: ChainClient, pociAddress: string, tokenAddress?: string): ChainClient {
  client.pociAddress = pociAddress
  client.tokenAddress = tokenAddress
  client.poci = new Contract(pociAddress, loadArtifact('Poci').abi as never, client.signer ?? client.provider)
  return client
}

/** Releases the client's sockets and timers. */
export function disconnect(client: ChainClient): void {
  ;(client.provider as AbstractProvider).destroy()
}

/** Connects, gives `use` the client, and disconnects whatever happens: a read's whole life with a node. */
export async function withClient<T>(profile: NetworkProfile, use: (client: ChainClient) => Promise<T> | T, options: ConnectOptions = {}): Promise<T> {
  const client = await connect(profile, options)
  try {
    return await use(client)
  } finally {
    disconnect(client)
  }
}

/** The node's chain id, or why it gave none (one line: "ECONNREFUSED", "no answer in 5000 ms", …). */
async function probeChainId(url: string, timeoutMs: number): Promise<bigint | string> {
  try {
    return BigInt(await jsonRpc<string>(url, 'eth_chainId', [], {timeoutMs}))
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

export function requirePoci(client: ChainClient): Contract {
  if (!client.poci)
    throw new UnetError(`network "${client.profile.name}" names no POCI contract`, ExitCode.NETWORK_NOT_CONFIGURED, {
      hint: client.profile.name === 'devnet' ? 'start the local chain first: `unet devnet start`' : `set networks.${client.profile.name}.contracts.heartbeat`,
    })
  return client.poci
}

export function requireSigner(client: ChainClient): Wallet {
  if (!client.signer)
    throw new UnetError('this action needs the operator key', ExitCode.WALLET_MISSING, {hint: 'run `unet wallet create` or `unet wallet import`'})
  return client.signer
}
