/**
 * The config schema: every key a user may set, its type and its default. One table drives
 * validation, `unet config set` parsing, env-var names and docs, so they cannot drift apart.
 */
import {fileURLToPath} from 'node:url'

export type ValueType = 'string' | 'integer' | 'boolean' | 'string[]' | 'integer[]'

export interface KeyRule {
  type: ValueType
  description: string
  enum?: readonly string[]
  pattern?: RegExp
  min?: number
  max?: number
  /** A secret: never printed by `unet config list|get`, never taken on the command line by `config set`. */
  secret?: boolean
  /** What a value matching `pattern` looks like, for the error: "must be <expected>, got …". */
  expected?: string
  /** A valid value, for the hint's `unet config set <key> <example>`. */
  example?: string
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const HANDLE = /^0x81[0-9a-fA-F]{6}$/
const ADDRESS_TEXT = 'a 0x-prefixed address of 40 hex digits'
const ADDRESS_EXAMPLE = '0x52908400098527886E0F7030069857D2E4169EE7'

/** The alert rules (src/alerts/rules.ts, docs/alerts.md); here so the schema can check `alerts.rules`. */
export const ALERT_RULE_NAMES = [
  'missed-epoch',
  'agent-down',
  'gas-runway-low',
  'device-lost',
  'device-unhealthy',
  'registration-rejected',
  'challenge-open',
] as const

/** Top-level (non-network) keys. Env var: UNET_ + SCREAMING_SNAKE of the dotted path. */
export const TOP_LEVEL_KEYS: Record<string, KeyRule> = {
  network: {type: 'string', description: 'network profile to use', pattern: /^[a-z][a-z0-9-]*$/, expected: 'a lowercase profile name', example: 'devnet'},
  logLevel: {type: 'string', description: 'log level', enum: LOG_LEVELS},
  rpcUrl: {
    type: 'string',
    description: 'RPC URL(s), comma-separated; overrides the profile',
    pattern: /^https?:\/\/[^\s,]+(,\s*https?:\/\/[^\s,]+)*$/,
    expected: 'an http(s) URL such as http://127.0.0.1:8545 (several: comma-separated)',
    example: 'http://127.0.0.1:8545',
  },
  payout: {type: 'string', description: 'payout address that receives rewards', pattern: ADDRESS, expected: ADDRESS_TEXT, example: ADDRESS_EXAMPLE},
  tcti: {
    type: 'string',
    description: 'TPM transport: device:/dev/tpmrm0, swtpm:host=H,port=P, mssim:...',
    pattern: /^(device|swtpm|mssim|tabrmd)(:.*)?$/,
    expected: 'device:, swtpm:, mssim: or tabrmd: and its options',
    example: 'swtpm:host=127.0.0.1,port=2321',
  },
  pcrs: {type: 'integer[]', description: 'sha256 PCRs to quote', min: 0, max: 23},
  akHandle: {
    type: 'string',
    description: 'persistent handle of the attestation key',
    pattern: HANDLE,
    expected: 'a persistent handle 0x81xxxxxx',
    example: '0x81010002',
  },
  engine: {type: 'string', description: 'host security engine', enum: ['auto', 'tpm2', 'emulator']},
  'wallet.backend': {type: 'string', description: 'where the operator key lives', enum: ['auto', 'keychain', 'keystore']},
  nvmlPath: {type: 'string', description: 'path of libnvidia-ml.so.1 (default: the loader search path)'},
  bmlibPath: {type: 'string', description: 'path of libbmlib.so (default: the loader search path)'},
  amdsmiPath: {type: 'string', description: 'path of libamd_smi.so (default: the loader search path)'},
  sysfsRoot: {type: 'string', description: 'root of sysfs (tests and fixtures replace /sys)'},
  'alerts.webhook.url': {type: 'string', description: 'alerts: URL that receives each alert as a signed JSON POST', pattern: /^https?:\/\/\S+$/},
  'alerts.webhook.secret': {
    type: 'string',
    description: 'alerts: shared secret of the webhook signature (HMAC-SHA256); prefer the env var or secretFile',
    secret: true,
  },
  'alerts.webhook.secretFile': {type: 'string', description: 'alerts: file (mode 0600) holding the webhook secret'},
  'alerts.webhook.retries': {type: 'integer', description: 'alerts: webhook retries after the first attempt (backoff between)', min: 0, max: 10},
  'alerts.command': {
    type: 'string[]',
    description: 'alerts: program and arguments run per alert with the JSON on stdin (no shell), e.g. ["/usr/local/bin/notify"]',
  },
  'alerts.rules': {type: 'string[]', description: 'alerts: the rules evaluated', enum: ALERT_RULE_NAMES},
  'alerts.missedEpochs': {type: 'integer', description: 'alerts: whole epochs without a credit before "missed-epoch" fires', min: 1},
  'alerts.gasRunwayEpochs': {type: 'integer', description: 'alerts: "gas-runway-low" fires below this many epochs of heartbeats', min: 1},
  'alerts.agentStaleEpochs': {type: 'integer', description: 'alerts: "agent-down" fires when agent/state.json is older than this many epochs', min: 1},
  'alerts.xidClearEpochs': {
    type: 'integer',
    description: 'alerts: a GPU\'s critical Xid keeps "device-unhealthy" open until this many whole epochs pass without a new one',
    min: 1,
  },
}

/** Keys of a network profile, under networks.<name>. */
export const NETWORK_KEYS: Record<string, KeyRule> = {
  chainId: {type: 'integer', description: 'EVM chain id', min: 1, example: '8899'},
  rpcUrls: {
    type: 'string[]',
    description: 'RPC endpoints, tried in order',
    pattern: /^https?:\/\/\S+$/,
    expected: 'http(s) URLs such as http://127.0.0.1:8545',
    example: 'https://rpc.example.org,https://rpc2.example.org',
  },
  'contracts.registry': {type: 'string', description: 'POCI registry address', pattern: ADDRESS, expected: ADDRESS_TEXT, example: ADDRESS_EXAMPLE},
  'contracts.heartbeat': {type: 'string', description: 'POCI heartbeat address', pattern: ADDRESS, expected: ADDRESS_TEXT, example: ADDRESS_EXAMPLE},
  'contracts.rewards': {type: 'string', description: 'POCI rewards address', pattern: ADDRESS, expected: ADDRESS_TEXT, example: ADDRESS_EXAMPLE},
  'contracts.token': {type: 'string', description: 'UNC token address', pattern: ADDRESS, expected: ADDRESS_TEXT, example: ADDRESS_EXAMPLE},
  'trustRoots.tpm': {type: 'string[]', description: 'PEM files of accepted TPM EK roots'},
  'trustRoots.nvidia': {type: 'string[]', description: 'PEM files of accepted NVIDIA roots'},
  'trustRoots.allowCloudVtpm': {type: 'boolean', description: 'accept cloud vTPM EK certificates (Google Cloud...); default: devnet only'},
  'trustRoots.sophgoCatalogueKeys': {type: 'string[]', description: 'PEM files of the pinned Sophgo chip-catalogue keys (EC P-256 public keys)'},
  sophgoCatalogue: {type: 'string', description: 'signed Sophgo chip catalogue (JSON, docs/devices.md): the chip keys accepted as genuine'},
  allowEmulator: {type: 'boolean', description: 'accept emulator evidence (devnet only)'},
  blockSeconds: {type: 'integer', description: "typical seconds per block: turns the contract's block-counted epochs into wall time", min: 1},
  'nvidia.ocsp': {
    type: 'string',
    description: 'OCSP revocation check of NVIDIA certificate chains: off, warn (report only) or enforce',
    enum: ['off', 'warn', 'enforce'],
  },
  'nvidia.ocspUrl': {
    type: 'string',
    description: "OCSP responder for every NVIDIA certificate (default: the certificate's own, else NVIDIA's)",
    pattern: /^https?:\/\/\S+$/,
  },
  'nvidia.requireCc': {type: 'boolean', description: 'NVIDIA reports must show CC mode on (not PPCIE) and DevTools off'},
  'nvidia.rimDir': {type: 'string', description: 'directory of NVIDIA RIMs named by RIM id: golden measurements compared (offline)'},
  'nvidia.rimRoots': {type: 'string[]', description: 'PEM files of further accepted RIM roots (the NVIDIA CoRIM root is pinned)'},
}

export interface NetworkProfile {
  name: string
  chainId?: number
  rpcUrls: string[]
  contracts: {registry?: string; heartbeat?: string; rewards?: string; token?: string}
  /** sophgoCatalogueKeys: absent = none pinned, so Sophgo chips are refused. */
  /** allowCloudVtpm: absent = only the devnet accepts cloud vTPM EKs (src/hw/tpm2/roots.ts cloudVtpmAllowed). */
  trustRoots: {tpm: string[]; nvidia: string[]; sophgoCatalogueKeys?: string[]; allowCloudVtpm?: boolean}
  /** Path of the signed Sophgo chip catalogue (absent: no Sophgo chip is genuine on this network). */
  sophgoCatalogue?: string
  allowEmulator: boolean
  /** Typical seconds per block (epochs are counted in blocks on chain; this estimates their wall time). */
  blockSeconds?: number
  /** NVIDIA verification policy (docs/nvidia-attestation.md): OCSP mode and responder, CC mode / DevTools requirement. Absent: STRICT_NVIDIA_POLICY. */
  nvidia?: Partial<NvidiaPolicy>
}

export interface NvidiaPolicy {
  ocsp: 'off' | 'warn' | 'enforce'
  ocspUrl?: string
  requireCc: boolean
  /** Directory of RIMs (NV_GPU_DRIVER_..., NV_GPU_VBIOS_...): without it measurements are not-checked, so DevTools is not proven off. */
  rimDir?: string
  /** PEM files of further accepted RIM roots. */
  rimRoots?: string[]
}

/** Mainnet's NVIDIA policy, and the one of a profile (or a verifier policy) that sets none. */
export const STRICT_NVIDIA_POLICY: NvidiaPolicy = {ocsp: 'enforce', requireCc: true}

export function nvidiaPolicy(profile: NetworkProfile): NvidiaPolicy {
  return {...STRICT_NVIDIA_POLICY, ...profile.nvidia}
}

export interface UnetConfig {
  network: string
  logLevel: (typeof LOG_LEVELS)[number]
  rpcUrl?: string
  payout?: string
  tcti: string
  pcrs: number[]
  akHandle: string
  engine: 'auto' | 'tpm2' | 'emulator'
  wallet: {backend: 'auto' | 'keychain' | 'keystore'}
  nvmlPath?: string
  bmlibPath?: string
  amdsmiPath?: string
  sysfsRoot: string
  alerts: AlertsConfig
  networks: Record<string, Partial<NetworkProfile>>
}

export interface AlertsConfig {
  webhook?: {url?: string; secret?: string; secretFile?: string; retries?: number}
  command?: string[]
  rules: Array<(typeof ALERT_RULE_NAMES)[number]>
  missedEpochs: number
  gasRunwayEpochs: number
  agentStaleEpochs: number
  xidClearEpochs: number
}

export const DEFAULTS: UnetConfig = {
  network: 'devnet',
  logLevel: 'info',
  tcti: 'device:/dev/tpmrm0',
  pcrs: [0, 1, 2, 3, 4, 5, 6, 7],
  akHandle: '0x81010002',
  engine: 'auto',
  wallet: {backend: 'auto'},
  sysfsRoot: '/sys',
  alerts: {rules: [...ALERT_RULE_NAMES], missedEpochs: 1, gasRunwayEpochs: 48, agentStaleEpochs: 3, xidClearEpochs: 3},
  networks: {},
}

/** The devnet's Sophgo chip catalogue and its DEVNET ONLY key (fixtures/sophgo-catalogue/PROVENANCE.md), found from src/ or dist/ alike. */
const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url))
export const DEVNET_SOPHGO_CATALOGUE = fixture('sophgo-catalogue/devnet-catalogue.json')
export const DEVNET_SOPHGO_CATALOGUE_KEY = fixture('sophgo-catalogue/devnet-catalogue-pub.pem')

/** Built-in profiles. testnet/mainnet are placeholders that refuse to run until configured. */
export const BUILTIN_PROFILES: Record<string, NetworkProfile> = {
  devnet: {
    name: 'devnet',
    chainId: 31337,
    rpcUrls: ['http://127.0.0.1:8545'],
    contracts: {},
    trustRoots: {tpm: [], nvidia: [], sophgoCatalogueKeys: [DEVNET_SOPHGO_CATALOGUE_KEY]},
    sophgoCatalogue: DEVNET_SOPHGO_CATALOGUE,
    allowEmulator: true,
    blockSeconds: 1,
    // offline by default: the devnet runs without NVIDIA's services
    nvidia: {ocsp: 'off', requireCc: false},
  },
  testnet: {name: 'testnet', rpcUrls: [], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator: false, nvidia: {ocsp: 'warn', requireCc: true}},
  mainnet: {name: 'mainnet', rpcUrls: [], contracts: {}, trustRoots: {tpm: [], nvidia: []}, allowEmulator: false, nvidia: STRICT_NVIDIA_POLICY},
}

export function envVarName(key: string): string {
  return (
    'UNET_' +
    key
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()
  )
}
