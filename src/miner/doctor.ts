import {accessSync, constants, existsSync, readFileSync, statSync} from 'node:fs'
import {connect as netConnect} from 'node:net'
import {join} from 'node:path'

import {keccak_256} from '@noble/hashes/sha3.js'

import {HEARTBEAT_GAS_ESTIMATE} from '../chain/gas.js'
import type {ResolvedConfig} from '../config/index.js'
import {requireChainReady} from '../config/index.js'
import {UnetError} from '../errors/index.js'
import {keystorePath, walletInfo} from '../keys/wallet.js'

/**
 * `unet doctor`: every prerequisite of a working miner, each with pass / warn / fail / skip and a
 * one-line hint. It only looks: nothing is written, no key is decrypted, no transaction is sent.
 * Chain checks are plain JSON-RPC over fetch (eth_chainId, eth_getBlockByNumber, eth_getBalance,
 * eth_gasPrice, eth_call of epochBlocks()), so doctor works even when the chain layer would refuse to connect.
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
export const LOW_RUNWAY_EPOCHS = 48n
/** Chain head timestamp ahead of the local clock by more than this: the local clock is slow. */
export const MAX_CLOCK_BEHIND_S = 30
/** The chain's newest block older than this (non-devnet): the chain stalled or the local clock is fast. */
export const MAX_HEAD_AGE_S = 300

export const TSS_SONAMES: Record<string, string> = {
  'libtss2-esys.so.0': 'libtss2-esys-3.0.2-0',
  'libtss2-tctildr.so.0': 'libtss2-tctildr0',
  'libtss2-mu.so.0': 'libtss2-mu0',
  'libtss2-rc.so.0': 'libtss2-rc0',
}
export const NVML_SONAME = 'libnvidia-ml.so.1'

export function defaultLibDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)
  const arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu'
  return [...fromEnv, `/usr/lib/${arch}`, `/lib/${arch}`, '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib', '/usr/lib/wsl/lib']
}

export function findLibrary(soname: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const p = join(dir, soname)
    if (existsSync(p)) return p
  }
  return undefined
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e))

export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const checks: DoctorCheck[] = []
  const add = (c: DoctorCheck) => void checks.push(c)
  const env = inputs.env ?? process.env
  const now = inputs.now ?? Date.now
  const libDirs = inputs.libDirs ?? defaultLibDirs(env)
  const r = inputs.resolved

  // --- config ---
  if (r) add({id: 'config', title: 'config', status: 'pass', detail: `${r.paths.configFile} (network ${r.profile.name})`})
  else {
    const e = inputs.configError
    add({id: 'config', title: 'config', status: 'fail', detail: errText(e), hint: e instanceof UnetError ? e.hint : 'fix the config file'})
  }
  if (r) {
    try {
      requireChainReady(r.profile, true)
      add({id: 'network', title: 'network profile', status: 'pass', detail: `chain ${r.profile.chainId}, contracts set`})
    } catch (error) {
      add({id: 'network', title: 'network profile', status: 'fail', detail: errText(error), hint: error instanceof UnetError ? error.hint : undefined})
    }
  }

  // --- host security engine ---
  const engine = r?.config.engine ?? 'auto'
  const tcti = r?.config.tcti ?? 'device:/dev/tpmrm0'
  if (engine === 'emulator') {
    add({id: 'tss', title: 'tpm2-tss libraries', status: 'skip', detail: 'engine is the emulator'})
    add({id: 'tpm', title: 'TPM access', status: 'skip', detail: 'engine is the emulator'})
  } else {
    const missing = Object.keys(TSS_SONAMES).filter((s) => !findLibrary(s, libDirs))
    add(
      missing.length === 0
        ? {id: 'tss', title: 'tpm2-tss libraries', status: 'pass', detail: Object.keys(TSS_SONAMES).map((s) => findLibrary(s, libDirs)).join(', ')}
        : {
            id: 'tss',
            title: 'tpm2-tss libraries',
            status: engine === 'tpm2' ? 'fail' : 'warn',
            detail: `missing ${missing.join(', ')}`,
            hint: `sudo apt install ${missing.map((s) => TSS_SONAMES[s]).join(' ')} (or your distribution's tpm2-tss)`,
          },
    )
    add(await tpmCheck(tcti, engine))
  }

  // --- accelerators ---
  const nvml = r?.config.nvmlPath ?? findLibrary(NVML_SONAME, libDirs)
  if (nvml && existsSync(nvml)) add({id: 'nvml', title: 'NVIDIA NVML', status: 'pass', detail: nvml})
  else
    add({
      id: 'nvml',
      title: 'NVIDIA NVML',
      status: r?.config.nvmlPath ? 'fail' : 'warn',
      detail: r?.config.nvmlPath ? `${r.config.nvmlPath} does not exist` : `${NVML_SONAME} not found: NVIDIA GPUs will not be attested`,
      hint: 'install the NVIDIA driver (it ships libnvidia-ml.so.1), or set nvmlPath',
    })

  // --- wallet ---
  const wallet = safe(() => walletInfo(inputs.dataDir))
  if (wallet.value) add({id: 'wallet', title: 'operator wallet', status: 'pass', detail: `${wallet.value.address} (${wallet.value.backend})`})
  else
    add({
      id: 'wallet',
      title: 'operator wallet',
      status: 'fail',
      detail: wallet.error ? `unreadable: ${errText(wallet.error)}` : `none in ${join(inputs.dataDir, 'keys')}`,
      hint: 'run `unet wallet create` or `unet wallet import`',
    })
  if (wallet.value?.backend === 'keystore') {
    const path = wallet.value.path ?? keystorePath(inputs.dataDir)
    const mode = safe(() => statSync(path).mode & 0o777).value
    if (mode === undefined) add({id: 'keystore-mode', title: 'keystore permissions', status: 'fail', detail: `${path} missing`, hint: 're-import the wallet'})
    else if (process.platform !== 'win32' && (mode & 0o077) !== 0)
      add({id: 'keystore-mode', title: 'keystore permissions', status: 'fail', detail: `${path} is mode ${mode.toString(8)}`, hint: `chmod 600 ${path}`})
    else add({id: 'keystore-mode', title: 'keystore permissions', status: 'pass', detail: `${path} mode ${mode.toString(8).padStart(3, '0')}`})
  } else add({id: 'keystore-mode', title: 'keystore permissions', status: 'skip', detail: wallet.value ? 'the key is in the OS keychain' : 'no wallet'})
  add(passphraseCheck(env))

  // --- chain ---
  const rpcUrls = r?.profile.rpcUrls ?? []
  const timeoutMs = inputs.rpcTimeoutMs ?? 4000
  let rpc: string | undefined
  let chainId: bigint | undefined
  if (rpcUrls.length === 0) add({id: 'rpc', title: 'RPC reachable', status: 'fail', detail: 'no RPC URL configured', hint: 'set networks.<name>.rpcUrls or pass --rpc-url'})
  else {
    const errors: string[] = []
    for (const url of rpcUrls) {
      try {
        chainId = BigInt(await rpcCall<string>(url, 'eth_chainId', [], timeoutMs))
        rpc = url
        break
      } catch (error) {
        errors.push(`${url}: ${errText(error)}`)
      }
    }
    if (rpc) add({id: 'rpc', title: 'RPC reachable', status: 'pass', detail: rpc})
    else
      add({
        id: 'rpc',
        title: 'RPC reachable',
        status: 'fail',
        detail: errors.join('; '),
        hint: r?.profile.name === 'devnet' ? 'start the local chain: `unet devnet start`' : 'check the network and networks.<name>.rpcUrls',
      })
  }
  const expected = r?.profile.chainId
  if (rpc && chainId !== undefined) {
    if (expected === undefined) add({id: 'chain-id', title: 'chain id', status: 'warn', detail: `node says ${chainId}; the profile pins none`, hint: `unet config set networks.${r?.profile.name}.chainId ${chainId}`})
    else if (BigInt(expected) === chainId) add({id: 'chain-id', title: 'chain id', status: 'pass', detail: `${chainId}`})
    else add({id: 'chain-id', title: 'chain id', status: 'fail', detail: `${rpc} serves chain ${chainId}, the profile "${r?.profile.name}" is chain ${expected}`, hint: 'fix rpcUrls / chainId: unet refuses to act on another chain'})
  } else add({id: 'chain-id', title: 'chain id', status: 'skip', detail: 'no RPC answered'})

  if (rpc) {
    try {
      const block = await rpcCall<{timestamp: string; number: string}>(rpc, 'eth_getBlockByNumber', ['latest', false], timeoutMs)
      const head = Number(BigInt(block.timestamp))
      const local = Math.floor(now() / 1000)
      const behind = head - local // >0: the chain is "in the future" for us
      const age = local - head
      if (behind > MAX_CLOCK_BEHIND_S)
        add({id: 'clock', title: 'clock vs chain', status: 'fail', detail: `the chain's newest block is ${behind} s ahead of this clock`, hint: 'the local clock is slow: enable NTP (timedatectl set-ntp true)'})
      else if (age > MAX_HEAD_AGE_S && r?.profile.name !== 'devnet')
        add({id: 'clock', title: 'clock vs chain', status: 'warn', detail: `the chain's newest block is ${age} s old`, hint: 'the RPC node may be stalled or this clock fast: check NTP and the node'})
      else add({id: 'clock', title: 'clock vs chain', status: 'pass', detail: `newest block #${BigInt(block.number)} is ${age} s old${age > MAX_HEAD_AGE_S ? ' (devnet mines on demand)' : ''}`})
    } catch (error) {
      add({id: 'clock', title: 'clock vs chain', status: 'fail', detail: errText(error), hint: 'the RPC node does not serve eth_getBlockByNumber'})
    }
    if (wallet.value) {
      try {
        const [balanceHex, priceHex] = await Promise.all([
          rpcCall<string>(rpc, 'eth_getBalance', [wallet.value.address, 'latest'], timeoutMs),
          rpcCall<string>(rpc, 'eth_gasPrice', [], timeoutMs),
        ])
        // the runway's wall time: heartbeats × epochBlocks (the contract's) × blockSeconds (the profile's estimate)
        const epochBlocks = await readEpochBlocks(rpc, r?.profile.contracts.heartbeat, timeoutMs)
        const blockSeconds = r?.profile.blockSeconds
        add(gasCheck(BigInt(balanceHex), BigInt(priceHex), wallet.value.address, epochBlocks && blockSeconds ? Number(epochBlocks) * blockSeconds : undefined))
      } catch (error) {
        add({id: 'gas', title: 'gas balance', status: 'fail', detail: errText(error), hint: 'the RPC node does not serve eth_getBalance'})
      }
    } else add({id: 'gas', title: 'gas balance', status: 'skip', detail: 'no wallet'})
  } else {
    add({id: 'clock', title: 'clock vs chain', status: 'skip', detail: 'no RPC answered'})
    add({id: 'gas', title: 'gas balance', status: 'skip', detail: 'no RPC answered'})
  }

  // --- service ---
  const servicePath = inputs.servicePath
  add(
    existsSync(servicePath)
      ? {id: 'service', title: 'service installed', status: 'pass', detail: servicePath}
      : {id: 'service', title: 'service installed', status: 'warn', detail: `no ${servicePath}`, hint: 'sudo unet service install (or run `unet heartbeat` in the foreground)'},
  )

  const summary: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const c of checks) summary[c.status]++
  return {ok: summary.fail === 0, summary, checks}
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
    const word = await rpcCall<string>(rpc, 'eth_call', [{to: contract, data: selector}, 'latest'], timeoutMs)
    return word.length === 66 && BigInt(word) > 0n ? BigInt(word) : undefined
  } catch {
    return undefined
  }
}

/** `epochSeconds`: the estimated wall time of an epoch (epochBlocks × blockSeconds), for the runway's span. */
export function gasCheck(balance: bigint, gasPrice: bigint, address: string, epochSeconds?: number): DoctorCheck {
  const cost = HEARTBEAT_GAS_ESTIMATE * (gasPrice > 0n ? gasPrice : 1n)
  const runway = balance / cost
  const eth = formatUnits18(balance)
  const span = epochSeconds ? ` (~${formatDuration(Number(runway) * epochSeconds)})` : ''
  const detail = `${eth} native on ${address}: about ${runway} heartbeats${span} at ${gasPrice} wei/gas`
  if (balance === 0n || runway === 0n) return {id: 'gas', title: 'gas balance', status: 'fail', detail, hint: `send gas to ${address}`}
  if (runway < LOW_RUNWAY_EPOCHS) return {id: 'gas', title: 'gas balance', status: 'warn', detail, hint: `top up ${address} soon`}
  return {id: 'gas', title: 'gas balance', status: 'pass', detail}
}

function formatUnits18(v: bigint): string {
  const whole = v / 10n ** 18n
  const frac = (v % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : `${whole}`
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
  if (!file) return {id: 'passphrase', title, status: 'warn', detail: 'neither UNET_PASSWORD_FILE nor UNET_PASSWORD is set', hint: 'a service needs UNET_PASSWORD_FILE (0600); `unet service install` wires it'}
  const st = safe(() => statSync(file))
  if (!st.value) return {id: 'passphrase', title, status: 'fail', detail: `UNET_PASSWORD_FILE ${file} cannot be read`, hint: `create it with the passphrase, chmod 600 ${file}`}
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

async function tpmCheck(tcti: string, engine: string): Promise<DoctorCheck> {
  const title = 'TPM access'
  const missingStatus: CheckStatus = engine === 'tpm2' ? 'fail' : 'warn'
  const [kind, conf = ''] = tcti.split(/:(.*)/s)
  if (kind === 'device') {
    const path = conf || '/dev/tpmrm0'
    if (!existsSync(path))
      return {id: 'tpm', title, status: missingStatus, detail: `${path} does not exist`, hint: 'enable the TPM in firmware (fTPM/PTT), load tpm_crb/tpm_tis; on the devnet the emulator stands in'}
    try {
      accessSync(path, constants.R_OK | constants.W_OK)
    } catch {
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
  if (kind === 'swtpm' || kind === 'mssim') {
    const o = tctiOptions(conf)
    const host = o.host ?? 'localhost'
    const port = Number(o.port ?? 2321)
    const ok = await tcpReachable(host, port, 2000)
    return ok
      ? {id: 'tpm', title, status: 'pass', detail: `${kind} at ${host}:${port} accepts connections`}
      : {id: 'tpm', title, status: 'fail', detail: `${kind} at ${host}:${port} does not answer`, hint: 'start swtpm (swtpm socket --tpm2 --server port=...) or fix --tcti'}
  }
  return {id: 'tpm', title, status: 'warn', detail: `TCTI "${tcti}" is not checked by doctor`}
}

function userInGroup(group: string): boolean {
  if (typeof process.getgroups !== 'function') return false
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${group}:`))
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

/** One JSON-RPC call over fetch, with a timeout. */
export async function rpcCall<T>(url: string, method: string, params: unknown[], timeoutMs: number): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({jsonrpc: '2.0', id: 1, method, params}),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: unknown) => {
    const cause = (error as {cause?: {code?: string; message?: string}}).cause
    if ((error as Error).name === 'TimeoutError') throw new Error(`no answer in ${timeoutMs} ms`)
    throw new Error(cause?.code ?? cause?.message ?? errText(error))
  })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  const body = (await res.json().catch(() => undefined)) as {result?: T; error?: {message?: string}} | undefined
  if (!body || typeof body !== 'object') throw new Error('not a JSON-RPC answer')
  if (body.error) throw new Error(`${method}: ${body.error.message ?? 'error'}`)
  if (body.result === undefined || body.result === null) throw new Error(`${method}: empty result`)
  return body.result
}
