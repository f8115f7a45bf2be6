import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {recordJson, runVerifier} from '../../verifier/service.js'
import {policyFromProfile} from '../../verifier/policy.js'
import {BaseCommand} from '../../cli/base-command.js'
import {disconnect, type ChainClient} from '../../chain/client.js'
import {
  commandLineHas,
  DEVNET_CHAIN_ID,
  DEVNET_DEFAULT_EPOCH_SECONDS,
  DEVNET_DEFAULT_PORT,
  bootDevnet,
  clearDevnetFiles,
  devnetEpochBlocks,
  stopDevnet,
  devnetPaths,
  isAlive,
  logTail,
  readDevnetState,
  readPid,
  writeDevnetProfile,
  writeDevnetState,
  type BootedDevnet,
  type DevnetState,
} from '../../chain/devnet.js'
import {BUILTIN_PROFILES} from '../../config/schema.js'
import {ExitCode, InputError, UnetError} from '../../errors/index.js'
import {walletInfo} from '../../keys/wallet.js'

export interface DevnetStartResult {
  rpcUrl: string
  chainId: number
  contracts: DevnetState['contracts']
  /** The contract counts epochs in blocks; epochSeconds is the length asked for (blocks × block time). */
  epochBlocks: number
  epochSeconds: number
  pid: number
  logFile: string
  alreadyRunning: boolean
  /** The saved chain was restored (registrations and rewards kept); false: a fresh chain. */
  restored: boolean
  genesisHash?: string
}

export default class DevnetStart extends BaseCommand<typeof DevnetStart> {
  static override summary = 'start the embedded local chain (anvil + POCI contracts + automatic verifier)'
  static override description =
    'Spawns anvil on 127.0.0.1 in the background, deploys the POCI contracts, funds the operator wallet, writes the devnet profile into the config file, and runs the verifier role that approves registrations. `unet devnet stop` ends it. ' +
    'The chain persists in the data dir (anvil state, dumped on exit and every 2 s): the next start restores it, registrations and rewards included, with its epoch length; `--fresh` sets it aside and deploys a new chain.'
  static override examples = [
    '<%= config.bin %> devnet start --json',
    '<%= config.bin %> devnet start --port 8546 --epoch-seconds 10',
    '<%= config.bin %> devnet start --attach',
    '<%= config.bin %> devnet start --fresh --epoch-seconds 10',
  ]
  static override flags = {
    port: Flags.integer({description: 'RPC port on 127.0.0.1', default: DEVNET_DEFAULT_PORT, min: 1, max: 65535}),
    // A block every second by default: epochs follow wall time even when nobody sends a transaction.
    // No oclif defaults: on a restored chain only a value the user gave differs from the chain's own.
    'block-time': Flags.integer({description: 'seconds between blocks of a new chain [default: 1]', min: 1}),
    'epoch-seconds': Flags.integer({description: `epoch length of a new chain's contract [default: ${DEVNET_DEFAULT_EPOCH_SECONDS}]`, min: 1}),
    fresh: Flags.boolean({description: 'set the saved chain aside and start a new one (registrations and rewards start over)'}),
    'anvil-path': Flags.string({description: 'anvil binary to use instead of the bundled one'}),
    attach: Flags.boolean({description: 'run in the foreground (this process owns anvil and the verifier)'}),
    'spot-check-rate': Flags.string({description: "the devnet verifier's spot-check probability for committed (P-384) heartbeats, 0..1 (default: off)"}),
  }

  async run(): Promise<DevnetStartResult> {
    const {dataDir} = this.resolved.paths
    const paths = devnetPaths(dataDir)
    const pid = readPid(paths.pidFile)
    const state = readDevnetState(dataDir)
    if (isAlive(pid) && commandLineHas(pid!, 'devnet') && state) {
      if (this.flags.attach) throw new UnetError(`the devnet already runs (pid ${pid})`, ExitCode.ALREADY_RUNNING, {hint: 'stop it with `unet devnet stop`'})
      this.log(`devnet already running at ${state.rpcUrl} (pid ${pid})`)
      return result(state, paths.logFile, true)
    }
    // a crashed devnet leaves files behind, maybe an anvil without its supervisor (SIGTERM: it dumps its state)
    if (pid || state) await stopDevnet(dataDir)
    return this.flags.attach ? this.supervise() : this.spawnSupervisor()
  }

  /** Starts `unet devnet start --attach` detached, its output in the log file, and waits until it is ready. */
  private async spawnSupervisor(): Promise<DevnetStartResult> {
    const {dataDir} = this.resolved.paths
    const paths = devnetPaths(dataDir)
    mkdirSync(paths.dir, {recursive: true, mode: 0o700})
    const log = openSync(paths.logFile, 'a')
    const args = [join(this.config.root, 'bin', 'run.js'), 'devnet', 'start', '--attach', '--port', String(this.flags.port)]
    if (this.flags['epoch-seconds']) args.push('--epoch-seconds', String(this.flags['epoch-seconds']))
    if (this.flags['block-time']) args.push('--block-time', String(this.flags['block-time']))
    if (this.flags.fresh) args.push('--fresh')
    if (this.flags['anvil-path']) args.push('--anvil-path', this.flags['anvil-path'])
    if (this.flags.network) args.push('--network', this.flags.network)
    if (this.flags['spot-check-rate'] !== undefined) args.push('--spot-check-rate', this.flags['spot-check-rate'])
    const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', log, log], env: process.env})
    closeSync(log)
    let exited: number | null | undefined
    child.once('exit', (code) => (exited = code))
    child.unref()
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      const state = readDevnetState(dataDir)
      if (state && state.pid === child.pid) return this.announce(this.warnIfKept(state, result(state, paths.logFile, false)))
      if (exited !== undefined) throw supervisorFailed(dataDir, exited)
      await new Promise((r) => setTimeout(r, 100))
    }
    try {
      process.kill(child.pid!, 'SIGTERM')
    } catch {
      // gone
    }
    throw new UnetError('the devnet did not become ready within 90 s', ExitCode.DEVNET_ERROR, {hint: `see ${paths.logFile}`})
  }

  /** Foreground: owns anvil, deploys, runs the verifier until SIGTERM/SIGINT or until anvil dies. */
  private async supervise(): Promise<DevnetStartResult> {
    const {dataDir, configFile} = this.resolved.paths
    const paths = devnetPaths(dataDir)
    const spotCheckRate = spotCheckRateOf(this.flags['spot-check-rate'])
    mkdirSync(paths.dir, {recursive: true, mode: 0o700})
    writeFileSync(paths.pidFile, `${process.pid}\n`)
    const operator = walletInfo(dataDir)?.address
    const booted = await this.boot(operator)
    const {anvil, client} = booted
    const state = devnetState(booted, operator)
    writeDevnetProfile(configFile, state)
    writeDevnetState(dataDir, state)
    const out = this.warnIfKept(state, result(state, paths.logFile, false))
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(out) + '\n')
    else this.announce(out)

    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    let died: number | null | undefined
    let stopping = false
    const anvilExit = new Promise<void>((resolve) =>
      anvil.child.once('exit', (code) => {
        if (!stopping) died = code
        controller.abort()
        resolve()
      }),
    )
    await this.verify(client, booted.chain.deployBlock, spotCheckRate, controller.signal)
    disconnect(client)
    stopping = true
    anvil.stop()
    // it dumps the chain's state on the way out; one that hangs is killed (the last interval dump stays)
    const hung = setTimeout(() => anvil.child.kill('SIGKILL'), 15_000)
    await anvilExit
    clearTimeout(hung)
    clearDevnetFiles(dataDir)
    if (died !== undefined) {
      // leave the state behind so `unet devnet status` can say what happened
      writeDevnetState(dataDir, {...state, diedAt: new Date().toISOString(), anvilExitCode: died})
      throw new UnetError(`the devnet node (anvil pid ${anvil.pid}) died (exit ${died})`, ExitCode.DEVNET_ERROR, {
        hint: `see ${paths.logFile}; start it again with \`unet devnet start\``,
      })
    }
    this.statusLine('devnet stopped')
    // --json already printed the result when the devnet became ready
    if (this.jsonEnabled()) process.exit(0)
    return out
  }

  /** Restores the saved chain or deploys a new one; a failed boot leaves no devnet files behind. */
  private async boot(operator: string | undefined): Promise<BootedDevnet> {
    const {dataDir} = this.resolved.paths
    try {
      return await bootDevnet({
        devnetDir: devnetPaths(dataDir).dir,
        fresh: this.flags.fresh,
        port: this.flags.port,
        blockTime: this.flags['block-time'] ?? 1,
        epochSeconds: this.flags['epoch-seconds'],
        anvilPath: this.flags['anvil-path'],
        operator,
      })
    } catch (error) {
      clearDevnetFiles(dataDir)
      throw error
    }
  }

  /**
   * The devnet's verifier until `signal`: the same service `unet verifier run` is, with the devnet's key
   * and profile (TPM hosts are approved when their EK chain reaches networks.devnet.trustRoots.tpm and
   * their credential is activated). Each record goes to decisions.jsonl and one status line.
   */
  private async verify(client: ChainClient, fromBlock: number, spotCheckRate: number, signal: AbortSignal): Promise<void> {
    const paths = devnetPaths(this.resolved.paths.dataDir)
    const decisions = openSync(paths.decisionsFile, 'a')
    const profile = this.resolved.profile.name === 'devnet' ? this.resolved.profile : BUILTIN_PROFILES.devnet!
    await runVerifier(client, {
      policy: policyFromProfile({...profile, allowEmulator: true}),
      // keyed by the chain's genesis: a fresh chain starts over, a restored one goes on (rewound if the dump is older)
      cursorFile: join(paths.dir, 'verifier-cursor.json'),
      fromBlock,
      pollMs: 500,
      spotCheckRate,
      signal,
      onRecord: (r) => {
        writeFileSync(decisions, recordJson(r) + '\n')
        const what =
          r.type === 'decision'
            ? `${r.outcome} ${r.kind} ${r.deviceId} power ${r.power}${r.revert ? ` (${r.revert})` : !r.approve && r.reasons.length ? ` (${r.reasons.join('; ')})` : ''}`
            : `${r.outcome} host ${r.hostId} epoch ${r.epoch}`
        this.statusLine(`verifier: ${what}`)
      },
      onError: (error) => this.statusLine(`verifier: ${error.message}`),
    })
    closeSync(decisions)
  }

  /** A restored chain keeps the epoch length and block time it was deployed with, whatever the flags ask. */
  private warnIfKept(state: DevnetState, out: DevnetStartResult): DevnetStartResult {
    const kept = [
      ['--epoch-seconds', this.flags['epoch-seconds'], state.epochSeconds],
      ['--block-time', this.flags['block-time'], state.blockTime ?? 1],
    ] as const
    for (const [flag, asked, value] of kept)
      if (out.restored && asked !== undefined && asked !== value)
        this.warning(`the restored chain keeps its ${flag} ${value}; \`--fresh\` starts a new chain with ${asked}`)
    return out
  }

  private announce(out: DevnetStartResult): DevnetStartResult {
    this.log(`devnet running at ${out.rpcUrl} (chain ${out.chainId}, epoch ${out.epochBlocks} blocks ≈ ${out.epochSeconds} s, pid ${out.pid})`)
    this.log(
      out.restored
        ? `  chain   restored (genesis ${out.genesisHash}): registrations and rewards kept; \`--fresh\` starts over`
        : `  chain   fresh (genesis ${out.genesisHash})`,
    )
    this.log(`  POCI    ${out.contracts.heartbeat}`)
    this.log(`  UNC     ${out.contracts.token}`)
    this.log(`  log     ${out.logFile}`)
    return out
  }
}

/** Spot checks are off on the devnet unless asked for. */
function spotCheckRateOf(flag: string | undefined): number {
  if (flag === undefined) return 0
  const rate = Number(flag)
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new InputError(`--spot-check-rate ${flag} is not a probability in 0..1`)
  return rate
}

/** What devnet/state.json records of a booted devnet supervised by this process. */
function devnetState({anvil, client, contracts, chain, restored}: BootedDevnet, operator: string | undefined): DevnetState {
  return {
    rpcUrl: anvil.rpcUrl,
    chainId: DEVNET_CHAIN_ID,
    contracts,
    epochSeconds: chain.epochSeconds,
    blockTime: chain.blockTime,
    port: anvil.port,
    pid: process.pid,
    anvilPid: anvil.pid,
    deployBlock: chain.deployBlock,
    verifier: client.signer!.address,
    operator,
    genesisHash: chain.genesisHash,
    restored,
    chainCreatedAt: chain.createdAt,
    startedAt: new Date().toISOString(),
  }
}

function result(state: DevnetState, logFile: string, alreadyRunning: boolean): DevnetStartResult {
  const epochBlocks = devnetEpochBlocks(state.epochSeconds, state.blockTime)
  return {
    rpcUrl: state.rpcUrl,
    chainId: state.chainId,
    contracts: state.contracts,
    epochBlocks,
    epochSeconds: state.epochSeconds,
    pid: state.pid,
    logFile,
    alreadyRunning,
    restored: state.restored ?? false,
    genesisHash: state.genesisHash,
  }
}

/** The supervisor printed its error ("Error: …" / "Hint: …") into the log: surface that line. */
function supervisorFailed(dataDir: string, code: number | null): UnetError {
  const lines = logTail(dataDir).split('\n')
  let at = lines.length - 1
  while (at >= 0 && !lines[at]!.startsWith('Error: ')) at--
  if (at >= 0) {
    const hint = lines[at + 1]?.startsWith('Hint: ') ? lines[at + 1]!.slice(6) : undefined
    return new UnetError(lines[at]!.slice(7), ExitCode.DEVNET_ERROR, {hint, details: {supervisorExitCode: code}})
  }
  return new UnetError(`the devnet supervisor exited (code ${code}) before it was ready`, ExitCode.DEVNET_ERROR, {
    hint: 'see the devnet log',
    details: {log: lines.slice(-20).join('\n')},
  })
}
