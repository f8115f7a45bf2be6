import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import type {RegisterOutcome} from '../miner/register-host.js'
import type {DeviceRegisterOutcome} from '../miner/register-devices.js'
import type {StatusReport} from '../miner/status-report.js'
import type {MinerSession} from '../miner/miner-session.js'
import type {Steps} from '../cli/spinner.js'
import {MinerCommand} from '../cli/miner-command.js'
import {formatUnits} from '../util/units.js'
import {epochLine} from '../cli/render/epoch-line.js'
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
  static override summary = 'run the whole job on the embedded devnet: wallet, chain, register, heartbeats, earnings'
  static override description =
    'Creates an operator wallet if there is none (passphrase from UNET_PASSWORD / UNET_PASSWORD_FILE, or generated and stored 0600 ' +
    'in the data dir), starts the devnet (anvil + POCI contracts + automatic verifier; it funds the wallet) unless it runs, uses the ' +
    'real TPM when one answers and the software emulator otherwise (announced), registers, sends N epochs of heartbeats (one line ' +
    'each) and prints the rewards. Agent log lines show only with a log level set (--log-level, UNET_LOG_LEVEL, config logLevel). ' +
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
    const steps = await this.steps()
    // the order the devnet needs: it funds the wallet, so the wallet comes first
    const wallet = await this.walletStep(steps)
    const devnet = await this.devnetStep(steps)
    this.reloadConfig()

    steps.start('opening the security engine')
    const session = await this.openSession()
    const registration = await this.hostStep(session, steps)
    const accelerators = await this.acceleratorsStep(session, registration, steps)
    const heartbeats = await this.heartbeatsStep(session, steps)
    const status = await this.rewardsStep(session, heartbeats)
    return {devnet, wallet, engine: session.engine.kind, registration, ...(accelerators ? {accelerators} : {}), heartbeats, status}
  }

  private async walletStep(steps: Steps): Promise<QuickstartResult['wallet']> {
    steps.start('operator wallet')
    const wallet = await this.ensureWallet()
    steps.succeed(`operator wallet ${wallet.address} (${wallet.created ? 'created' : 'existing'})`)
    return wallet
  }

  private async devnetStep(steps: Steps): Promise<QuickstartResult['devnet']> {
    steps.start('starting the devnet (anvil, POCI contracts, verifier)')
    const devnet = await this.startDevnet()
    const how = devnet.alreadyRunning ? 'already running' : devnet.restored ? 'restored (its registrations and rewards kept)' : 'started (fresh chain)'
    steps.succeed(`devnet ${how} at ${devnet.rpcUrl} (epoch ${devnet.epochSeconds} s)`)
    return devnet
  }

  /** Registers the host and waits for the devnet verifier; the rest of the demo needs it approved. */
  private async hostStep(session: MinerSession, steps: Steps): Promise<RegisterOutcome> {
    steps.start('registering the host')
    const {registerHost} = await import('../miner/register-host.js')
    const registration = await registerHost(session, {waitMs: 60_000, onProgress: (m) => steps.update(`registering the host: ${m}`)})
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
    return registration
  }

  /** The accelerators with their own key, registered to the host (undefined when there are none); ends the host's step. */
  private async acceleratorsStep(session: MinerSession, registration: RegisterOutcome, steps: Steps): Promise<DeviceRegisterOutcome[] | undefined> {
    steps.update('registering accelerators')
    const {registerDevices} = await import('../miner/register-devices.js')
    const {deviceLocatorOf} = await import('../miner/attest-devices.js')
    const accel = await registerDevices(session, deviceLocatorOf(this.resolved.config), {
      waitMs: 60_000,
      onProgress: (m) => steps.update(`registering accelerators: ${m}`),
    })
    const accelerators = accel.devices.length > 0 ? accel.devices : undefined
    steps.succeed(
      `host ${session.hostId.slice(0, 10)}… registered and approved (${session.engine.kind} engine, power ${registration.power}); ` +
        (accelerators ? `${accelerators.length} accelerator(s) with their own key` : 'no accelerator with its own key'),
    )
    for (const d of accel.devices) {
      // bound elsewhere: the binding's status is 'approved', but it earns for the other host, not this one
      const state =
        d.action === 'bound-elsewhere'
          ? 'not earning under this host'
          : d.approved
            ? `${this.style().state('approved')}, power ${d.power}`
            : this.style().state(d.status)
      steps.line(`  ${d.kind} ${d.deviceId} (${d.device}): ${d.action}, ${state}${d.reason ? ` — ${d.reason}` : ''}`)
    }
    return accelerators
  }

  /** The agent for --epochs epochs: the spinner follows its state, one line per epoch. */
  private async heartbeatsStep(session: MinerSession, steps: Steps): Promise<QuickstartResult['heartbeats']> {
    const style = this.style()
    steps.start(`heartbeats: ${this.flags.epochs} epoch(s)`)
    const {runMinerAgent} = await import('../miner/run-miner.js')
    const run = await runMinerAgent(session, {
      epochs: this.flags.epochs,
      logger: await this.agentLogger(),
      onState: (state, info) => steps.update(heartbeatProgress(state, info.epoch, info.reason)),
      onEpoch: (e) => steps.line(epochLine(e, style)),
    })
    steps.stop()
    return run.epochs.map((e) => ({epoch: e.epoch.toString(), result: e.result, txHash: e.txHash, reason: e.reason}))
  }

  /** The status the demo ends with; a run that earned nothing fails (the demo's point is the reward). */
  private async rewardsStep(session: MinerSession, heartbeats: QuickstartResult['heartbeats']): Promise<StatusReport> {
    const {buildStatusReport, gatherStatus} = await import('../miner/status-report.js')
    const status = buildStatusReport(await gatherStatus(this.resolved, session.operator, session.payout), formatUnits)
    const credited = heartbeats.filter((h) => h.result === 'confirmed').length
    this.log(`accrued ${status.rewards.formatted.accrued} ${status.rewards.symbol} over ${credited} confirmed epoch(s)`)
    this.log('next: `unet status`, `unet rewards claim`, `unet devnet stop`')
    if (BigInt(status.rewards.accrued) === 0n)
      throw new UnetError('no reward accrued: no heartbeat was credited', ExitCode.TX_REJECTED, {hint: '`unet status --explain` says why'})
    return status
  }

  /**
   * quickstart tells its story in steps and epoch lines; the agent's own log lines (what `unet
   * heartbeat` prints for a service's journal) would repeat them, so they show only when a log level
   * was asked for (--log-level, UNET_LOG_LEVEL, config logLevel). Retries show in the spinner, results
   * in the epoch lines, and an error that stops the agent is printed once, by the error path.
   */
  private async agentLogger() {
    if (this.resolved.sources.logLevel && this.resolved.sources.logLevel !== 'default') return this.logger()
    const {createLogger} = await import('../util/logger.js')
    return createLogger('silent')
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
      this.notice(`generated the operator keystore passphrase into ${passphraseFile} (mode 0600); keep it with the keystore`)
    }
    const info = await storeWallet(
      {dataDir, backend: this.resolved.config.wallet.backend},
      randomSecretKey(),
      await getPassphrase({purpose: 'the new operator keystore'}),
    )
    return {address: info.address, created: true, passphraseFile}
  }

  /** `unet devnet start` as its own process: the devnet must outlive this command. Not spawnSync: the spinner keeps turning. */
  private async startDevnet(): Promise<QuickstartResult['devnet']> {
    const args = [join(this.config.root, 'bin', 'run.js'), 'devnet', 'start', '--json', '--port', String(this.flags.port)]
    if (this.flags['epoch-seconds']) args.push('--epoch-seconds', String(this.flags['epoch-seconds']))
    const r = await new Promise<{status: number | null; stdout: string; stderr: string}>((resolve) =>
      execFile(process.execPath, args, {env: process.env, encoding: 'utf8', timeout: 120_000}, (error, stdout, stderr) =>
        resolve({status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr}),
      ),
    )
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

/** The spinner's text while the agent runs: what the current epoch is doing. */
function heartbeatProgress(state: string, epoch: bigint | undefined, reason: string | undefined): string {
  const at = epoch !== undefined ? `epoch ${epoch}: ` : ''
  switch (state) {
    case 'Attesting':
      return `${at}quoting the security engine`
    case 'Submitting':
      return `${at}sending the heartbeat, waiting for its receipt`
    case 'Backoff':
      return `${at}retrying${reason ? ` (${reason})` : ''}`
    case 'Confirmed':
      return epoch !== undefined ? `waiting for epoch ${epoch + 1n}` : 'waiting for the next epoch'
    default:
      return `${at}preparing the heartbeat`
  }
}
