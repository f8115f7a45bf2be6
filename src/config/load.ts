import {ConfigError, NetworkNotConfiguredError, UsageError} from '../errors/index.js'
import {BUILTIN_PROFILES, DEFAULTS, TOP_LEVEL_KEYS, envVarName, type NetworkProfile, type UnetConfig} from './schema.js'
import {configFilePath, readConfigFile} from './store.js'
import {checkValue, flatten, parseValue, unknownNetworkProblem} from './validate.js'

export interface Paths {
  configDir: string
  dataDir: string
  cacheDir: string
  configFile: string
}

export type Source = 'default' | 'file' | 'env' | 'flag'

export interface ResolvedConfig {
  config: UnetConfig
  profile: NetworkProfile
  paths: Paths
  /** Which layer set each dotted key, for `unet config list`. */
  sources: Record<string, Source>
}

export interface LoadOptions {
  configDir: string
  dataDir: string
  cacheDir: string
  env?: NodeJS.ProcessEnv
  /** Flag overrides by dotted config key (e.g. {network: 'devnet', rpcUrl: '...'}); undefined = not given. */
  flags?: Record<string, string | undefined>
}

/** defaults < config file < UNET_* env < flags. */
export function loadConfig(options: LoadOptions): ResolvedConfig {
  const env = options.env ?? process.env
  const configFile = configFilePath(options.configDir)
  const config = structuredClone(DEFAULTS) as unknown as Record<string, unknown>
  const sources: Record<string, Source> = {}
  for (const [key] of flatten(DEFAULTS as unknown as Record<string, unknown>)) sources[key] = 'default'

  for (const [key, value] of flatten(readConfigFile(configFile))) {
    setPath(config, key, value)
    sources[key] = 'file'
  }

  for (const [key, rule] of Object.entries(TOP_LEVEL_KEYS)) {
    const name = envVarName(key)
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const value = parseValue(rule, raw)
    const reason = checkValue(rule, value)
    if (reason) throw new ConfigError(`environment variable ${name} ${reason}`, {hint: `fix or unset ${name}`, details: {key, env: name}})
    setPath(config, key, value)
    sources[key] = 'env'
  }

  for (const [key, raw] of Object.entries(options.flags ?? {})) {
    if (raw === undefined) continue
    const rule = TOP_LEVEL_KEYS[key]
    if (!rule) continue
    const value = parseValue(rule, raw)
    const reason = checkValue(rule, value)
    if (reason) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`
      throw new UsageError(`${flag} ${reason}`, {hint: rule.example ? `for example ${flag} ${rule.example}` : undefined, details: {key}})
    }
    setPath(config, key, value)
    sources[key] = 'flag'
  }

  const resolved = config as unknown as UnetConfig
  return {
    config: resolved,
    profile: resolveProfile(resolved, sources.network ?? 'default'),
    paths: {configDir: options.configDir, dataDir: options.dataDir, cacheDir: options.cacheDir, configFile},
    sources,
  }
}

function resolveProfile(config: UnetConfig, source: Source): NetworkProfile {
  const builtin = BUILTIN_PROFILES[config.network]
  const override = config.networks[config.network] ?? {}
  if (!builtin && Object.keys(override).length === 0) {
    const {message, hint} = unknownNetworkProblem(config.network)
    if (source === 'flag') throw new UsageError(`--network: ${message}`, {hint: hint.replace(/`unet config set network (\S+)`/, '--network $1')})
    if (source === 'env') throw new ConfigError(`environment variable UNET_NETWORK: ${message}`, {hint: 'fix or unset UNET_NETWORK'})
    throw new ConfigError(message, {hint})
  }
  const base: NetworkProfile = builtin ?? {name: config.network, rpcUrls: [], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator: false}
  const profile: NetworkProfile = {
    ...base,
    ...override,
    name: config.network,
    contracts: {...base.contracts, ...override.contracts},
    trustRoots: {...base.trustRoots, ...override.trustRoots},
    nvidia: override.nvidia ? {...base.nvidia, ...override.nvidia} : base.nvidia,
  }
  if (config.rpcUrl)
    profile.rpcUrls = config.rpcUrl
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
  return profile
}

/** Throws unless the profile has what talking to its chain needs. */
export function requireChainReady(profile: NetworkProfile, needContracts = true): Required<Pick<NetworkProfile, 'chainId'>> & NetworkProfile {
  const missing: string[] = []
  if (profile.chainId === undefined) missing.push('chainId')
  if (profile.rpcUrls.length === 0) missing.push('rpcUrls')
  if (needContracts) for (const c of ['registry', 'heartbeat', 'rewards', 'token'] as const) if (!profile.contracts[c]) missing.push(`contracts.${c}`)
  if (missing.length > 0) {
    if (profile.name === 'devnet' && missing.some((m) => m.startsWith('contracts.')))
      throw new NetworkNotConfiguredError('devnet', missing, 'start the local chain first: `unet devnet start`')
    throw new NetworkNotConfiguredError(profile.name, missing)
  }
  return profile as Required<Pick<NetworkProfile, 'chainId'>> & NetworkProfile
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    if (node[part] === undefined || typeof node[part] !== 'object' || node[part] === null) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts.at(-1)!] = Array.isArray(value) ? [...value] : value
}

export function getPath(source: unknown, key: string): unknown {
  let node = source
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}
