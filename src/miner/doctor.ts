import {existsSync, readFileSync, statSync} from 'node:fs'
import {connect as netConnect} from 'node:net'
import {join} from 'node:path'

import {keccak_256} from '@noble/hashes/sha3.js'

import {HEARTBEAT_GAS_ESTIMATE} from '../chain/gas.js'
import {jsonRpc} from '../chain/rpc.js'
import type {ResolvedConfig} from '../config/index.js'
import {requireChainReady} from '../config/index.js'
import {UnetError} from '../errors/index.js'
import {DEFAULT_NVML_LIBRARY} from '../hw/nvidia/ffi.js'
import {tctiDevicePath, tpmDeviceAccess} from '../hw/tpm2/device.js'
import {TSS_PACKAGES} from '../hw/tpm2/ffi.js'
import {decryptKeystore, readKeystoreFile} from '../keys/keystore.js'
import {getPassphrase, quickstartPassphraseFile} from '../keys/passphrase.js'
import {keystorePath, walletInfo, type WalletInfo} from '../keys/wallet.js'
import {formatGas, formatGasPrice} from '../util/units.js'

/**
 * `unet doctor`: every prerequisite of a working miner, each with pass / warn / fail / skip and a
 * one-line hint. It only looks: nothing is written, no key is decrypted, no transaction is sent.
 * Chain checks are single JSON-RPC calls (src/chain/rpc.ts: eth_chainId, eth_getBlockByNumber,
 * eth_getBalance, eth_gasPrice, eth_call of epochBlocks()), so doctor works even when the chain layer
 * would refuse to connect. The checks are one list (CHECKS), run in order.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface DoctorCheck {
  id: string
  title: string
  status: CheckStatus
  detail: string
  hint?: string
}

export interface DoctorReport {
  ok: boolean
  summary: Record<CheckStatus, number>
  checks: DoctorCheck[]
}

export interface DoctorInputs {
  /** The resolved config, or the error that loading it raised. */
  resolved?: ResolvedConfig
  configError?: unknown
  dataDir: string
  configDir: string
  /** Directories searched for shared libraries (default: the usual Linux lib dirs + LD_LIBRARY_PATH). */
  libDirs?: string[]
  /** Where the service file is expected (the caller asks src/service, so miner/ needs no service/ import). */
  servicePath: string
  rpcTimeoutMs?: number
  /** ms clock (tests). */
  now?: () => number
  env?: NodeJS.ProcessEnv
}

/** Runway below this many epochs is a warning. */
const LOW_RUNWAY_EPOCHS = 48n
/** Chain head timestamp ahead of the local clock by more than this: the local clock is slow. */
const MAX_CLOCK_BEHIND_S = 30
/** The chain's newest block older than this (non-devnet): the chain stalled or the local clock is fast. */
const MAX_HEAD_AGE_S = 300

function defaultLibDirs(env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)
  const arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu'
  return [...fromEnv, `/usr/lib/${arch}`, `/lib/${arch}`, '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib', '/usr/lib/wsl/lib']
}

function findLibrary(soname: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const p = join(dir, soname)
    if (existsSync(p)) return p
  }
  return undefined
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** What the checks share: the inputs with their defaults, the wallet, and what the RPC check found. */
interface DoctorContext {
  inputs: DoctorInputs
  r?: ResolvedConfig
  env: NodeJS.ProcessEnv
  now: () => number
  libDirs: string[]
  timeoutMs: number
  engine: string
  wallet: {value?: WalletInfo; error?: unknown}
  /** Set by rpcCheck: the first URL that answered eth_chainId, and its answer. */
  rpc?: {url: string; chainId: bigint}
}

/** One check: its row, or undefined where it does not apply (the network profile without a config). */
type Check = (ctx: DoctorContext) => DoctorCheck | undefined | Promise<DoctorCheck | undefined>

const CHECKS: readonly Check[] = [
  configCheck,
  networkCheck,
  tssCheck,
  tpmCheck,
  nvmlCheck,
  walletCheck,
  keystoreModeCheck,
  (ctx) => passphraseCheck(ctx.env),
  keystoreCheck,
  rpcCheck,
  chainIdCheck,
  clockCheck,
  gasBalanceCheck,
  serviceCheck,
]

export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const env = inputs.env ?? process.env
  const ctx: DoctorContext = {
    inputs,
    r: inputs.resolved,
    env,
    now: inputs.now ?? Date.now,
    libDirs: inputs.libDirs ?? defaultLibDirs(env),
    timeoutMs: inputs.rpcTimeoutMs ?? 4000,
    engine: inputs.resolved?.config.engine ?? 'auto',
    wallet: safe(() => walletInfo(inputs.dataDir)),
  }
  const checks: DoctorCheck[] = []
  for (const check of CHECKS) {
    const c = await check(ctx)
    if (c) checks.push(c)
  }
  const summary: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const c of checks) summary[c.status]++
  return {ok: summary.fail === 0, summary, checks}
}

// --- config ---

function configCheck({r, inputs}: DoctorContext): DoctorCheck {
  if (r) return {id: 'config', title: 'config', status: 'pass', detail: `${r.paths.configFile} (network ${r.profile.name})`}
  const e = inputs.configError
  return {id: 'config', title: 'config', status: 'fail', detail: errText(e), hint: e instanceof UnetError ? e.hint : 'fix the config file'}
}

function networkCheck({r}: DoctorContext): DoctorCheck | undefined {
  if (!r) return undefined
  try {
    requireChainReady(r.profile, true)
    return {id: 'network', title: 'network profile', status: 'pass', detail: `chain ${r.profile.chainId}, contracts set`}
  } catch (error) {
    return {id: 'network', title: 'network profile', status: 'fail', detail: errText(error), hint: error instanceof UnetError ? error.hint : undefined}
  }
}

// --- host security engine ---

function tssCheck({engine, libDirs}: DoctorContext): DoctorCheck {
  const title = 'tpm2-tss libraries'
  if (engine === 'emulator') return {id: 'tss', title, status: 'skip', detail: 'engine is the emulator'}
  const sonames = Object.keys(TSS_PACKAGES)
  const missing = sonames.filter((s) => !findLibrary(s, libDirs))
  if (missing.length === 0) return {id: 'tss', title, status: 'pass', detail: sonames.map((s) => findLibrary(s, libDirs)).join(', ')}
  return {
    id: 'tss',
    title,
    status: engine === 'tpm2' ? 'fail' : 'warn',
    detail: `missing ${missing.join(', ')}`,
    hint: `sudo apt install ${missing.map((s) => TSS_PACKAGES[s]).join(' ')} (or your distribution's tpm2-tss)`,
  }
}

async function tpmCheck({r, engine}: DoctorContext): Promise<DoctorCheck> {
  const title = 'TPM access'
  if (engine === 'emulator') return {id: 'tpm', title, status: 'skip', detail: 'engine is the emulator'}
  const tcti = r?.config.tcti ?? 'device:/dev/tpmrm0'
  const device = tctiDevicePath(tcti)
  if (device !== undefined) return tpmDeviceCheck(device, engine === 'tpm2' ? 'fail' : 'warn')
  const [kind, conf = ''] = tcti.split(/:(.*)/s)
  if (kind === 'swtpm' || kind === 'mssim') {
    const o = tctiOptions(conf)
    const host = o.host ?? 'localhost'
    const port = Number(o.port ?? 2321)
    const ok = await tcpReachable(host, port, 2000)
    return ok
      ? {id: 'tpm', title, status: 'pass', detail: `${kind} at ${host}:${port} accepts connections`}
      : {
          id: 'tpm',
          title,
          status: 'fail',
          detail: `${kind} at ${host}:${port} does not answer`,
          hint: 'start swtpm (swtpm socket --tpm2 --server port=...) or fix --tcti',
        }
  }
  return {id: 'tpm', title, status: 'warn', detail: `TCTI "${tcti}" is not checked by doctor`}
}

/** The same device check the tpm2 engine makes before opening the TCTI, with doctor's hints. */
function tpmDeviceCheck(path: string, missingStatus: CheckStatus): DoctorCheck {
  const title = 'TPM access'
  const access = tpmDeviceAccess(path)
  if (access === 'missing')
    return {
      id: 'tpm',
      title,
      status: missingStatus,
      detail: `${path} does not exist`,
      hint: 'enable the TPM in firmware (fTPM/PTT), load tpm_crb/tpm_tis; on the devnet the emulator stands in',
    }
  if (access === 'no-permission') {
    const inTss = userInGroup('tss')
    return {
      id: 'tpm',
      title,
      status: 'fail',
      detail: `${path} is not readable and writable by this user${inTss ? '' : ' (not in group tss)'}`,
      hint: inTss ? `check the udev rule for ${path} (owner tss, mode 0660)` : 'sudo usermod -aG tss $USER, then log in again',
    }
  }
  return {id: 'tpm', title, status: 'pass', detail: `${path} read/write`}
}

// --- accelerators ---

function nvmlCheck({r, libDirs}: DoctorContext): DoctorCheck {
  const configured = r?.config.nvmlPath
  const nvml = configured ?? findLibrary(DEFAULT_NVML_LIBRARY, libDirs)
  if (nvml && existsSync(nvml)) return {id: 'nvml', title: 'NVIDIA NVML', status: 'pass', detail: nvml}
  return {
    id: 'nvml',
    title: 'NVIDIA NVML',
    status: configured ? 'fail' : 'warn',
    detail: configured ? `${configured} does not exist` : `${DEFAULT_NVML_LIBRARY} not found: NVIDIA GPUs will not be attested`,
    hint: `install the NVIDIA driver (it ships ${DEFAULT_NVML_LIBRARY}), or set nvmlPath`,
  }
}

// --- wallet ---

function walletCheck({wallet, inputs}: DoctorContext): DoctorCheck {
  if (wallet.value) return {id: 'wallet', title: 'operator wallet', status: 'pass', detail: `${wallet.value.address} (${wallet.value.backend})`}
  return {
    id: 'wallet',
    title: 'operator wallet',
    status: 'fail',
    detail: wallet.error ? `unreadable: ${errText(wallet.error)}` : `none in ${join(inputs.dataDir, 'keys')}`,
    hint: 'run `unet wallet create` or `unet wallet import`',
  }
}

function keystoreModeCheck({wallet, inputs}: DoctorContext): DoctorCheck {
  const id = 'keystore-mode'
  const title = 'keystore permissions'
  if (wallet.value?.backend !== 'keystore') return {id, title, status: 'skip', detail: wallet.value ? 'the key is in the OS keychain' : 'no wallet'}
  const path = wallet.value.path ?? keystorePath(inputs.dataDir)
  const mode = safe(() => statSync(path).mode & 0o777).value
  if (mode === undefined) return {id, title, status: 'fail', detail: `${path} missing`, hint: 're-import the wallet'}
  if (process.platform !== 'win32' && (mode & 0o077) !== 0)
    return {id, title, status: 'fail', detail: `${path} is mode ${mode.toString(8)}`, hint: `chmod 600 ${path}`}
  return {id, title, status: 'pass', detail: `${path} mode ${mode.toString(8).padStart(3, '0')}`}
}

/**
 * The keystore parses as a v3 keystore (a truncated or edited file fails here, not at the first
 * heartbeat), and decrypts to the wallet's address when a passphrase is at hand without a prompt
 * (UNET_PASSWORD, UNET_PASSWORD_FILE, or on the devnet quickstart's generated file).
 */
async function keystoreCheck({wallet, inputs, env, r}: DoctorContext): Promise<DoctorCheck> {
  const id = 'keystore'
  const title = 'keystore parses and decrypts'
  if (wallet.value?.backend !== 'keystore') return {id, title, status: 'skip', detail: wallet.value ? 'the key is in the OS keychain' : 'no wallet'}
  const path = wallet.value.path ?? keystorePath(inputs.dataDir)
  const keystore = safe(() => readKeystoreFile(path))
  if (!keystore.value) return {id, title, status: 'fail', detail: errText(keystore.error), hint: (keystore.error as UnetError).hint}
  const fallbackFile = r?.profile.name === 'devnet' ? quickstartPassphraseFile(inputs.dataDir) : undefined
  if (!env.UNET_PASSWORD && !env.UNET_PASSWORD_FILE && !(fallbackFile && existsSync(fallbackFile)))
    return {id, title, status: 'pass', detail: `${path} parses (not decrypted: no passphrase given)`}
  try {
    const {secretKey, address} = decryptKeystore(keystore.value, await getPassphrase({env, fallbackFile}))
    secretKey.fill(0)
    if (address !== wallet.value.address)
      return {id, title, status: 'fail', detail: `${path} holds ${address}, not the wallet's ${wallet.value.address}`, hint: 're-import the wallet'}
    return {id, title, status: 'pass', detail: `${path} decrypts to ${address}`}
  } catch (error) {
    return {id, title, status: 'fail', detail: errText(error), hint: error instanceof UnetError ? error.hint : undefined}
  }
}

// --- chain ---

/** The first configured URL that answers eth_chainId; remembers it (ctx.rpc) for the checks after it. */
async function rpcCheck(ctx: DoctorContext): Promise<DoctorCheck> {
  const {r, timeoutMs} = ctx
  const rpcUrls = r?.profile.rpcUrls ?? []
  if (rpcUrls.length === 0)
    return {id: 'rpc', title: 'RPC reachable', status: 'fail', detail: 'no RPC URL configured', hint: 'set networks.<name>.rpcUrls or pass --rpc-url'}
  const errors: string[] = []
  for (const url of rpcUrls) {
    try {
      ctx.rpc = {url, chainId: BigInt(await jsonRpc<string>(url, 'eth_chainId', [], {timeoutMs}))}
      return {id: 'rpc', title: 'RPC reachable', status: 'pass', detail: url}
    } catch (error) {
      errors.push(`${url}: ${errText(error)}`)
    }
  }
  return {
    id: 'rpc',
    title: 'RPC reachable',
    status: 'fail',
    detail: errors.join('; '),
    hint: r?.profile.name === 'devnet' ? 'start the local chain: `unet devnet start`' : 'check the network and networks.<name>.rpcUrls',
  }
}

function chainIdCheck({r, rpc}: DoctorContext): DoctorCheck {
  if (!rpc) return {id: 'chain-id', title: 'chain id', status: 'skip', detail: 'no RPC answered'}
  const {url, chainId} = rpc
  const expected = r?.profile.chainId
  if (expected === undefined)
    return {
      id: 'chain-id',
      title: 'chain id',
      status: 'warn',
      detail: `node says ${chainId}; the profile pins none`,
      hint: `unet config set networks.${r?.profile.name}.chainId ${chainId}`,
    }
  if (BigInt(expected) === chainId) return {id: 'chain-id', title: 'chain id', status: 'pass', detail: `${chainId}`}
  return {
    id: 'chain-id',
    title: 'chain id',
    status: 'fail',
    detail: `${url} serves chain ${chainId}, the profile "${r?.profile.name}" is chain ${expected}`,
    hint: 'fix rpcUrls / chainId: unet refuses to act on another chain',
  }
}

async function clockCheck({r, rpc, now, timeoutMs}: DoctorContext): Promise<DoctorCheck> {
  const title = 'clock vs chain'
  if (!rpc) return {id: 'clock', title, status: 'skip', detail: 'no RPC answered'}
  try {
    const block = await jsonRpc<{timestamp: string; number: string}>(rpc.url, 'eth_getBlockByNumber', ['latest', false], {timeoutMs})
    const head = Number(BigInt(block.timestamp))
    const local = Math.floor(now() / 1000)
    const behind = head - local // >0: the chain is "in the future" for us
    const age = local - head
    if (behind > MAX_CLOCK_BEHIND_S)
      return {
        id: 'clock',
        title,
        status: 'fail',
        detail: `the chain's newest block is ${behind} s ahead of this clock`,
        hint: 'the local clock is slow: enable NTP (timedatectl set-ntp true)',
      }
    if (age > MAX_HEAD_AGE_S && r?.profile.name !== 'devnet')
      return {
        id: 'clock',
        title,
        status: 'warn',
        detail: `the chain's newest block is ${age} s old`,
        hint: 'the RPC node may be stalled or this clock fast: check NTP and the node',
      }
    return {
      id: 'clock',
      title,
      status: 'pass',
      detail: `newest block #${BigInt(block.number)} is ${age} s old${age > MAX_HEAD_AGE_S ? ' (devnet mines on demand)' : ''}`,
    }
  } catch (error) {
    return {id: 'clock', title, status: 'fail', detail: errText(error), hint: 'the RPC node does not serve eth_getBlockByNumber'}
  }
}

async function gasBalanceCheck({r, rpc, wallet, timeoutMs}: DoctorContext): Promise<DoctorCheck> {
  if (!rpc) return {id: 'gas', title: 'gas balance', status: 'skip', detail: 'no RPC answered'}
  if (!wallet.value) return {id: 'gas', title: 'gas balance', status: 'skip', detail: 'no wallet'}
  const {address} = wallet.value
  try {
    const [balanceHex, priceHex] = await Promise.all([
      jsonRpc<string>(rpc.url, 'eth_getBalance', [address, 'latest'], {timeoutMs}),
      jsonRpc<string>(rpc.url, 'eth_gasPrice', [], {timeoutMs}),
    ])
    // the runway's wall time: heartbeats × epochBlocks (the contract's) × blockSeconds (the profile's estimate)
    const epochBlocks = await readEpochBlocks(rpc.url, r?.profile.contracts.heartbeat, timeoutMs)
    const blockSeconds = r?.profile.blockSeconds
    return gasCheck(BigInt(balanceHex), BigInt(priceHex), address, epochBlocks && blockSeconds ? Number(epochBlocks) * blockSeconds : undefined)
  } catch (error) {
    return {id: 'gas', title: 'gas balance', status: 'fail', detail: errText(error), hint: 'the RPC node does not serve eth_getBalance'}
  }
}

// --- service ---

function serviceCheck({inputs: {servicePath}}: DoctorContext): DoctorCheck {
  return existsSync(servicePath)
    ? {id: 'service', title: 'service installed', status: 'pass', detail: servicePath}
    : {
        id: 'service',
        title: 'service installed',
        status: 'warn',
        detail: `no ${servicePath}`,
        hint: 'sudo unet service install (or run `unet heartbeat` in the foreground)',
      }
}

function safe<T>(fn: () => T): {value?: T; error?: unknown} {
  try {
    return {value: fn()}
  } catch (error) {
    return {error}
  }
}

/** The contract's epochBlocks() by a plain eth_call; undefined when there is no contract there to answer. */
async function readEpochBlocks(rpc: string, contract: string | undefined, timeoutMs: number): Promise<bigint | undefined> {
  if (!contract) return undefined
  const selector = '0x' + Buffer.from(keccak_256(new TextEncoder().encode('epochBlocks()')).subarray(0, 4)).toString('hex')
  try {
    const word = await jsonRpc<string>(rpc, 'eth_call', [{to: contract, data: selector}, 'latest'], {timeoutMs})
    return word.length === 66 && BigInt(word) > 0n ? BigInt(word) : undefined
  } catch {
    return undefined
  }
}

/** `epochSeconds`: the estimated wall time of an epoch (epochBlocks × blockSeconds), for the runway's span. */
function gasCheck(balance: bigint, gasPrice: bigint, address: string, epochSeconds?: number): DoctorCheck {
  const cost = HEARTBEAT_GAS_ESTIMATE * (gasPrice > 0n ? gasPrice : 1n)
  const runway = balance / cost
  const span = epochSeconds ? ` (~${formatDuration(Number(runway) * epochSeconds)})` : ''
  const detail = `${formatGas(balance)} on ${address}: about ${runway} heartbeats${span} at ${formatGasPrice(gasPrice)}`
  if (balance === 0n || runway === 0n) return {id: 'gas', title: 'gas balance', status: 'fail', detail, hint: `send gas to ${address}`}
  if (runway < LOW_RUNWAY_EPOCHS) return {id: 'gas', title: 'gas balance', status: 'warn', detail, hint: `top up ${address} soon`}
  return {id: 'gas', title: 'gas balance', status: 'pass', detail}
}

function formatDuration(s: number): string {
  if (s >= 86400) return `${Math.floor(s / 86400)} d`
  if (s >= 3600) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / 60)} min`
}

function passphraseCheck(env: NodeJS.ProcessEnv): DoctorCheck {
  const title = 'passphrase for unattended runs'
  if (env.UNET_PASSWORD) return {id: 'passphrase', title, status: 'pass', detail: 'UNET_PASSWORD is set'}
  const file = env.UNET_PASSWORD_FILE
  if (!file)
    return {
      id: 'passphrase',
      title,
      status: 'warn',
      detail: 'neither UNET_PASSWORD_FILE nor UNET_PASSWORD is set',
      hint: 'a service needs UNET_PASSWORD_FILE (0600); `unet service install` wires it',
    }
  const st = safe(() => statSync(file))
  if (!st.value)
    return {
      id: 'passphrase',
      title,
      status: 'fail',
      detail: `UNET_PASSWORD_FILE ${file} cannot be read`,
      hint: `create it with the passphrase, chmod 600 ${file}`,
    }
  if (process.platform !== 'win32' && (st.value.mode & 0o077) !== 0)
    return {id: 'passphrase', title, status: 'fail', detail: `${file} is mode ${(st.value.mode & 0o777).toString(8)}`, hint: `chmod 600 ${file}`}
  if (safe(() => readFileSync(file, 'utf8')).value?.trim() === '') return {id: 'passphrase', title, status: 'fail', detail: `${file} is empty`}
  return {id: 'passphrase', title, status: 'pass', detail: `UNET_PASSWORD_FILE ${file} (0600)`}
}

/** Parses "host=H,port=P" style TCTI options. */
function tctiOptions(conf: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of conf.split(',')) {
    const [k, v] = part.split('=')
    if (k && v !== undefined) out[k.trim()] = v.trim()
  }
  return out
}

function userInGroup(group: string): boolean {
  if (typeof process.getgroups !== 'function') return false
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${group}:`))
    const gid = line ? Number(line.split(':')[2]) : Number.NaN
    return process.getgroups().includes(gid)
  } catch {
    return false
  }
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({host, port})
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}
