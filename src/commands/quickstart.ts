import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import type {RegisterOutcome} from '../miner/register-host.js'
import type {DeviceRegisterOutcome} from '../miner/register-devices.js'
import type {StatusReport} from '../miner/status-report.js'
import {MinerCommand} from '../cli/miner-command.js'
import {formatUnits} from '../cli/render/chart.js'
import {ExitCode, UnetError} from '../errors/index.js'
import {randomSecretKey} from '../keys/address.js'
import {getPassphrase, quickstartPassphraseFile} from '../keys/passphrase.js'
import {storeWallet, walletInfo} from '../keys/wallet.js'
import {writeFileAtomic} from '../util/files.js'

export interface QuickstartResult {
  devnet: {rpcUrl: string; chainId: number; contracts: Record<string, string>; epochSeconds: number; alreadyRunning: boolean; restored: boolean}
  wallet: {address: string; created: boolean; passphraseFile?: string}
  engine: string
  registration: RegisterOutcome
  /** Accelerators with their own key registered to the host (absent when there are none). */
  accelerators?: DeviceRegisterOutcome[]
  heartbeats: Array<{epoch: string; result: string; txHash?: string; reason?: string}>
  status: StatusReport
}

export default class Quickstart extends MinerCommand<typeof Quickstart> {
  static override summary = 'run the whole job on the embedded devnet: chain, wallet, register, heartbeats, earnings'
  static override description =
    'Starts the devnet (anvil + POCI contracts + automatic verifier) unless it runs, creates an operator wallet if there is none ' +
    '(passphrase from UNET_PASSWORD / UNET_PASSWORD_FILE, or generated and stored 0600 in the data dir), uses the real TPM when ' +
    'one answers and the software emulator otherwise (announced), registers, sends N epochs of heartbeats and prints the status. ' +
    'The devnet keeps running so `unet status` and `unet rewards claim` work; `unet devnet stop` ends it.'
  static override examples = ['<%= config.bin %> quickstart', '<%= config.bin %> quickstart --epochs 3 --json']
  static override flags = {
    epochs: Flags.integer({description: 'heartbeat epochs to run', default: 3, min: 1, max: 100}),
    'epoch-seconds': Flags.integer({description: "epoch length when quickstart starts the devnet (default: the devnet's)", min: 2}),
    port: Flags.integer({description: 'devnet RPC port when quickstart starts it', default: 8545}),
  }

  async run(): Promise<QuickstartResult> {
    if (this.resolved.config.network !== 'devnet')
      throw new UnetError('quickstart runs on the embedded devnet only', ExitCode.USAGE, {
        hint: 'drop --network / UNET_NETWORK, or use `unet register` and `unet heartbeat` on real networks',
      })
    const wallet = await this.ensureWallet()
    const devnet = this.startDevnet()
    this.reloadConfig()
    const session = await this.openSession()
    if (session.engine.kind === 'emulator')
      process.stderr.write('Warning: using the software EMULATOR security engine: devnet only, it earns nothing on a real network\n')
    this.log(`engine ${session.engine.kind}; host ${session.hostId}`)

    const {registerHost} = await import('../miner/register-host.js')
    const registration = await registerHost(session, {waitMs: 60_000, onProgress: (m) => this.logToStderr(`register: ${m}`)})
    if (!registration.approved)
      throw new UnetError(
        `the devnet verifier did not approve the host (registration ${registration.regId} ${registration.status}${registration.reason ? `: ${registration.reason}` : ''})`,
        ExitCode.NOT_REGISTERED,
        {
          hint:
            registration.status === 'pending'
              ? 'the devnet verifier did not decide within 60 s: `unet devnet status`, then `unet register` resumes the registration'
              : 'see decisions.jsonl in the devnet data dir',
        },
      )
    this.log(`registered and approved: power ${registration.power}`)
    const {registerDevices} = await import('../miner/register-devices.js')
    const {deviceLocatorOf} = await import('../miner/attest-devices.js')
    const accel = await registerDevices(session, deviceLocatorOf(this.resolved.config), {waitMs: 60_000, onProgress: (m) => this.logToStderr(`register: ${m}`)})
    for (const d of accel.devices)
      this.log(`${d.kind} ${d.deviceId} (${d.device}): ${d.action}, ${d.approved ? `approved, power ${d.power}` : d.status}${d.reason ? ` — ${d.reason}` : ''}`)
    const accelerators = accel.devices.length > 0 ? accel.devices : undefined

    const {runMinerAgent} = await import('../miner/run-miner.js')
    const run = await runMinerAgent(session, {epochs: this.flags.epochs, logger: await this.logger()})
    const heartbeats = run.epochs.map((e) => ({epoch: e.epoch.toString(), result: e.result, txHash: e.txHash, reason: e.reason}))
    for (const h of heartbeats) this.log(`epoch ${h.epoch}: ${h.result}${h.txHash ? ` ${h.txHash}` : ''}${h.reason ? ` — ${h.reason}` : ''}`)

    const {buildStatusReport, gatherStatus} = await import('../miner/status-report.js')
    const status = buildStatusReport(await gatherStatus(this.resolved, session.operator, session.payout), formatUnits)
    this.log(`\naccrued ${status.rewards.formatted.accrued} UNC over ${heartbeats.filter((h) => h.result === 'confirmed').length} epochs`)
    this.log('next: `unet status`, `unet rewards claim`, `unet devnet stop`')
    if (BigInt(status.rewards.accrued) === 0n)
      throw new UnetError('no reward accrued: no heartbeat was credited', ExitCode.TX_REJECTED, {hint: '`unet status --explain` says why'})
    return {devnet, wallet, engine: session.engine.kind, registration, ...(accelerators ? {accelerators} : {}), heartbeats, status}
  }

  /** The operator wallet; created when missing, with a generated passphrase if none was given. */
  private async ensureWallet(): Promise<QuickstartResult['wallet']> {
    const {dataDir} = this.resolved.paths
    const existing = walletInfo(dataDir)
    if (existing) return {address: existing.address, created: false}
    let passphraseFile: string | undefined
    if (!process.env.UNET_PASSWORD && !process.env.UNET_PASSWORD_FILE) {
      passphraseFile = quickstartPassphraseFile(dataDir)
      if (!existsSync(passphraseFile)) writeFileAtomic(passphraseFile, randomBytes(24).toString('base64url') + '\n', 0o600)
      process.env.UNET_PASSWORD_FILE = passphraseFile
      process.stderr.write(`Notice: generated the operator keystore passphrase into ${passphraseFile} (mode 0600); keep it with the keystore\n`)
    }
    const info = await storeWallet(
      {dataDir, backend: this.resolved.config.wallet.backend},
      randomSecretKey(),
      await getPassphrase({purpose: 'the new operator keystore'}),
    )
    this.log(`created operator wallet ${info.address}`)
    return {address: info.address, created: true, passphraseFile}
  }

  /** `unet devnet start` as its own process: the devnet must outlive this command. */
  private startDevnet(): QuickstartResult['devnet'] {
    const args = [join(this.config.root, 'bin', 'run.js'), 'devnet', 'start', '--json', '--port', String(this.flags.port)]
    if (this.flags['epoch-seconds']) args.push('--epoch-seconds', String(this.flags['epoch-seconds']))
    const r = spawnSync(process.execPath, args, {env: process.env, encoding: 'utf8', timeout: 120_000})
    let parsed: {
      rpcUrl: string
      chainId: number
      contracts: Record<string, string>
      epochSeconds: number
      alreadyRunning: boolean
      restored?: boolean
      error?: {message: string; hint?: string; exitCode: number}
    }
    try {
      parsed = JSON.parse(r.stdout)
    } catch {
      throw new UnetError(`the devnet did not start (exit ${r.status})`, ExitCode.DEVNET_ERROR, {hint: r.stderr.trim().split('\n').at(-1)})
    }
    if (parsed.error) throw new UnetError(parsed.error.message, ExitCode.DEVNET_ERROR, {hint: parsed.error.hint})
    const how = parsed.alreadyRunning ? 'already running' : parsed.restored ? 'restored (its registrations and rewards kept)' : 'started (fresh chain)'
    this.log(`devnet ${how} at ${parsed.rpcUrl} (epoch ${parsed.epochSeconds} s)`)
    return {
      rpcUrl: parsed.rpcUrl,
      chainId: parsed.chainId,
      contracts: parsed.contracts,
      epochSeconds: parsed.epochSeconds,
      alreadyRunning: parsed.alreadyRunning,
      restored: parsed.restored ?? false,
    }
  }
}
