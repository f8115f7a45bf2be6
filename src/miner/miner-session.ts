/**
 * Everything a miner command needs, opened once: the operator key (unlocked), the chain client
 * (chain id checked), the host security engine and its identity, and the payout address.
 */
import {connect, type ChainClient} from '../chain/client.js'
import {DeviceKind, type DeviceKindValue} from '../chain/artifacts.js'
import {requireChainReady, type ResolvedConfig} from '../config/index.js'
import {parseAddress} from '../keys/address.js'
import {unlockWallet} from '../keys/wallet.js'
import {engineOptionsFrom, openEngine, type EngineIdentity, type SecurityEngine} from '../hw/engine.js'

export interface MinerSession {
  resolved: ResolvedConfig
  client: ChainClient
  engine: SecurityEngine
  identity: EngineIdentity
  /** The host's deviceId on chain (keccak256 of the AK public key). */
  hostId: string
  hostKind: DeviceKindValue
  operator: string
  payout: string
  close(): void
}

export interface OpenMinerOptions {
  passphrase: () => Promise<string>
  /** One-line notices for the user (e.g. the emulator fallback). */
  onNotice?: (message: string) => void
}

/** The payout address a registration names: the configured one, else the operator address. */
export function configuredPayout(config: ResolvedConfig['config'], operator: string): string {
  return config.payout ? parseAddress(config.payout, 'payout') : operator
}

export async function openMinerSession(resolved: ResolvedConfig, options: OpenMinerOptions): Promise<MinerSession> {
  const {config, profile, paths} = resolved
  requireChainReady(profile)
  const {secretKey, info} = await unlockWallet(paths.dataDir, options.passphrase)
  const client = await connect(profile, {privateKey: secretKey})
  secretKey.fill(0)
  const engine = await openEngine(engineOptionsFrom(resolved, options.onNotice))
  try {
    const identity = await engine.identity()
    return {
      resolved,
      client,
      engine,
      identity,
      hostId: identity.deviceId,
      hostKind: engine.kind === 'tpm2' ? DeviceKind.HOST_TPM : DeviceKind.HOST_EMULATOR,
      operator: info.address,
      payout: configuredPayout(config, info.address),
      close: () => engine.close(),
    }
  } catch (error) {
    engine.close()
    throw error
  }
}
