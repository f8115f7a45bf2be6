/**
 * Which chain a piece of persisted state belongs to: chain id + genesis block hash + POCI contract
 * address. The chain id alone does not tell two devnets apart (both 31337), nor the contract address
 * (the same deployer and nonce give the same address on every fresh devnet); the genesis hash does.
 * Pure: the reads live in src/chain/chain-identity.ts.
 */

export interface ChainIdentity {
  chainId: bigint
  /** 0x-prefixed hash of block 0. */
  genesisHash: string
  /** The POCI contract address. */
  contract: string
}

const HASH = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** One string per chain, the same however the hex was cased: `<chainId>:<genesisHash>:<contract>`. */
export function chainKey(id: ChainIdentity): string {
  return `${id.chainId}:${id.genesisHash.toLowerCase()}:${id.contract.toLowerCase()}`
}

export function sameChain(a: ChainIdentity, b: ChainIdentity): boolean {
  return chainKey(a) === chainKey(b)
}

/** A short name for logs and archive folders: chain id and the first bytes of the genesis hash. */
export function chainLabel(id: ChainIdentity): string {
  return `chain ${id.chainId} genesis ${id.genesisHash.toLowerCase().slice(0, 10)}… POCI ${id.contract.toLowerCase()}`
}

export function encodeChainIdentity(id: ChainIdentity): {chainId: string; genesisHash: string; contract: string} {
  return {chainId: id.chainId.toString(), genesisHash: id.genesisHash.toLowerCase(), contract: id.contract.toLowerCase()}
}

/** The identity in a parsed JSON value, or undefined when it is not one (never throws). */
export function decodeChainIdentity(v: unknown): ChainIdentity | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const {chainId, genesisHash, contract} = v as Record<string, unknown>
  if (typeof chainId !== 'string' || !/^\d+$/.test(chainId)) return undefined
  if (typeof genesisHash !== 'string' || !HASH.test(genesisHash)) return undefined
  if (typeof contract !== 'string' || !ADDRESS.test(contract)) return undefined
  return {chainId: BigInt(chainId), genesisHash: genesisHash.toLowerCase(), contract: contract.toLowerCase()}
}
